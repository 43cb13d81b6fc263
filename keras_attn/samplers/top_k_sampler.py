"""keras-hub's top-k sampling with the decoding controls."""

import keras
import keras_hub

from keras_attn.samplers._decoding_controls import DecodingControls


@keras.saving.register_keras_serializable(package="keras_attn")
class TopKSampler(DecodingControls, keras_hub.samplers.TopKSampler):
    """keras-hub's `TopKSampler` with n-gram blocking, a minimum length and
    a repetition penalty; `"top_k"` in `keras_attn.samplers.get`.

    The controls act on the logits before the sampler's softmax, top-k cut
    and draw, which are keras-hub's; with every control off it samples as
    keras-hub's `TopKSampler`.

    Args:
        k, seed, temperature: as `keras_hub.samplers.TopKSampler`.
        no_repeat_ngram_size, min_length, repetition_penalty: as
            `keras_attn.samplers.GreedySampler`.
    """
