"""Greedy search that takes the argmax of the logits."""

import keras
import keras_hub

from keras_attn.samplers._decoding_controls import DecodingControls


@keras.saving.register_keras_serializable(package="keras_attn")
class GreedySampler(DecodingControls, keras_hub.samplers.GreedySampler):
    """keras-hub's greedy search without the softmax it does not need.

    The softmax is monotonic, so the most probable token is the argmax of
    the logits themselves. keras-hub's `GreedySampler` still computes a
    float32 softmax over the whole vocabulary at every step; at batch 64 and
    8,000 words that is 512,000 exponentials a step, for nothing. This
    sampler returns the same tokens without them. `"greedy"` in
    `keras_attn.samplers.get`, `AttentionSeq2SeqLM.compile` and
    `AttentionSeq2SeqLM.generate` is this sampler.

    Args:
        no_repeat_ngram_size: int, no n-gram of this many generated tokens
            appears twice in an output (0: off): the tokens that would
            repeat one are banned at each step.
        min_length: int, no stop token before this many generated tokens
            (0: off).
        repetition_penalty: float, CTRL's θ (Keskar et al., 2019): the logit
            `l` of a token already generated becomes `l / θ` if `l > 0`,
            else `l · θ` (1: off).

    The prompt (`[START]`, and every position the `mask` marks) counts
    toward none of them.

    Call arguments are those of `keras_hub.samplers.Sampler`: `next(prompt,
    cache, index)` returns `(logits (batch, vocabulary), hidden, cache)`.

    Example:
    A toy model whose next-token logits depend only on the previous token:
    >>> import numpy as np
    >>> from keras import ops
    >>> import keras_attn
    >>> table = ops.convert_to_tensor(np.log([
    ...     [0.1, 0.6, 0.3],  # after token 0
    ...     [0.2, 0.2, 0.6],  # after token 1
    ...     [0.5, 0.3, 0.2],  # after token 2
    ... ]), "float32")
    >>> def next(prompt, cache, index):
    ...     return ops.take(table, ops.take(prompt, index - 1, axis=1), 0), None, cache
    >>> sampler = keras_attn.samplers.GreedySampler()
    >>> prompt = ops.zeros((1, 4), "int32")  # the prompt is token 0
    >>> ops.convert_to_numpy(sampler(next, prompt, index=1)).tolist()
    [[0, 1, 2, 0]]

    Longer, it loops; forbidding a repeated bigram breaks the loop:
    >>> prompt = ops.zeros((1, 7), "int32")
    >>> ops.convert_to_numpy(sampler(next, prompt, index=1)).tolist()
    [[0, 1, 2, 0, 1, 2, 0]]
    >>> sampler = keras_attn.samplers.GreedySampler(no_repeat_ngram_size=2)
    >>> ops.convert_to_numpy(sampler(next, prompt, index=1)).tolist()
    [[0, 1, 2, 0, 2, 1, 0]]

    With a model: `lm.generate(texts, sampler="greedy")`.
    """

    def compute_probabilities(self, logits):
        # Only their argmax is used: the logits order tokens as the
        # probabilities would.
        return logits
