"""keras-hub's sampling from the whole distribution, with the decoding
controls."""

import keras
import keras_hub

from keras_attn.samplers._decoding_controls import DecodingControls


@keras.saving.register_keras_serializable(package="keras_attn")
class RandomSampler(DecodingControls, keras_hub.samplers.RandomSampler):
    """keras-hub's `RandomSampler` with n-gram blocking, a minimum length
    and a repetition penalty; `"random"` in `keras_attn.samplers.get`.

    The controls act on the logits before the sampler's softmax and draw,
    which are keras-hub's; with every control off it samples as keras-hub's
    `RandomSampler`.

    Args:
        seed, temperature: as `keras_hub.samplers.RandomSampler`.
        no_repeat_ngram_size, min_length, repetition_penalty: as
            `keras_attn.samplers.GreedySampler`.
    """
