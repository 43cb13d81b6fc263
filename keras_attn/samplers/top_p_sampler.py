"""keras-hub's top-p (nucleus) sampling with the decoding controls."""

import keras
import keras_hub

from keras_attn.samplers._decoding_controls import DecodingControls


@keras.saving.register_keras_serializable(package="keras_attn")
class TopPSampler(DecodingControls, keras_hub.samplers.TopPSampler):
    """keras-hub's `TopPSampler` with n-gram blocking, a minimum length and
    a repetition penalty; `"top_p"` in `keras_attn.samplers.get`.

    The controls act on the logits before the sampler's softmax, nucleus
    cut and draw, which are keras-hub's; with every control off it samples
    as keras-hub's `TopPSampler`.

    Args:
        p, k, seed, temperature: as `keras_hub.samplers.TopPSampler`.
        no_repeat_ngram_size, min_length, repetition_penalty: as
            `keras_attn.samplers.GreedySampler`.
    """
