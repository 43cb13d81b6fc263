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
    sampler returns the same tokens without them. `compile(sampler="greedy")`
    of `AttentionSeq2SeqLM` uses it.

    Call arguments are those of `keras_hub.samplers.Sampler`: `next(prompt,
    cache, index)` returns `(logits (batch, vocabulary), hidden, cache)`.

    Example:
    >>> lm.compile(sampler=keras_attn.samplers.GreedySampler())
    >>> lm.generate(["hola"])
    """

    def compute_probabilities(self, logits):
        # Only their argmax is used: the logits order tokens as the
        # probabilities would.
        return logits
