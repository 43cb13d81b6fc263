"""Greedy search that takes the argmax of the logits."""

import keras
import keras_hub


@keras.saving.register_keras_serializable(package="keras_attn")
class GreedySampler(keras_hub.samplers.GreedySampler):
    """keras-hub's greedy search without the softmax it does not need.

    The softmax is monotonic, so the most probable token is the argmax of
    the logits themselves. keras-hub's `GreedySampler` still computes a
    float32 softmax over the whole vocabulary at every step; at batch 64 and
    8,000 words that is 512,000 exponentials a step, for nothing. This
    sampler returns the same tokens without them. `"greedy"` in
    `keras_attn.samplers.get`, `AttentionSeq2SeqLM.compile` and
    `AttentionSeq2SeqLM.generate` is this sampler.

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

    With a model: `lm.generate(texts, sampler="greedy")`.
    """

    def compute_probabilities(self, logits):
        # Only their argmax is used: the logits order tokens as the
        # probabilities would.
        return logits
