"""Additive (Bahdanau) attention with learned query and key projections."""

import math

import keras
from keras import ops

from keras_attn._validation import check_positive_int
from keras_attn.layers.base_attention import BaseAttention


@keras.saving.register_keras_serializable(package="keras_attn")
class BahdanauAttention(BaseAttention):
    """Additive attention: `score(q, h_j) = vᵀ tanh(W_q q + W_k h_j)`.

    The query and the memory are projected to `units` dimensions by separate
    learned matrices; the memory projection `W_k h` is the layer's keys,
    computed once per source sequence by `compute_keys(value)`. With
    `normalize=True` the score vector is weight-normalised,
    `v ← g · v / ‖v‖` with a learned scalar `g`, and a learned bias `b` is
    added inside the tanh (Salimans & Kingma, 2016), which makes training
    less sensitive to the scale of `v`.

    Unlike `keras.layers.AdditiveAttention`, which adds query and key as they
    are, this layer learns both projections, so query and memory may have
    different sizes.

    Masking: a Keras mask on `value` is used as `value_mask`; the weights are
    exactly zero at masked memory positions, and a row whose positions are
    all masked gives a zero context, never NaN.

    Args:
        units: int, the size of the projected space.
        normalize: bool, use the weight-normalised score.
        kernel_initializer: initializer of `W_q`, `W_k` and `v`.
        **kwargs: base layer arguments, such as `name` and `dtype`.

    Call arguments:
        query: `(batch, dim_q)` for one decoding step or `(batch, Tq, dim_q)`.
        value: the memory `(batch, S, dim_v)`.
        value_mask: optional boolean `(batch, S)`.
        keys: optional `compute_keys(value)` result `(batch, S, units)`.
        return_attention_scores: bool, also return the weights.
        training: unused.

    Returns:
        The context `(batch[, Tq], dim_v)` and, when asked, the weights
        `(batch[, Tq], S)` (float32).

    Example:
    >>> import numpy as np
    >>> attention = keras_attn.layers.BahdanauAttention(16)
    >>> query = np.random.rand(2, 8).astype("float32")     # one step
    >>> memory = np.random.rand(2, 5, 12).astype("float32")
    >>> context, weights = attention(query, memory, return_attention_scores=True)
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 12), (2, 5))
    >>> keys = attention.compute_keys(memory)  # once per source sequence
    >>> context = attention(query, memory, keys=keys)

    References:
        - [Bahdanau et al., 2015](https://arxiv.org/abs/1409.0473)
        - [Salimans & Kingma, 2016](https://arxiv.org/abs/1602.07868)
    """

    def __init__(
        self,
        units,
        normalize=False,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int("units", units)
        self.units = units
        self.normalize = normalize
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def _build_scoring(self, query_dim, value_dim):
        self.query_kernel = self.add_weight(
            name="query_kernel",
            shape=(query_dim, self.units),
            initializer=self.kernel_initializer,
        )
        self.key_kernel = self.add_weight(
            name="key_kernel",
            shape=(value_dim, self.units),
            initializer=self.kernel_initializer,
        )
        self.score_vector = self.add_weight(
            name="score_vector",
            shape=(self.units,),
            initializer=self.kernel_initializer,
        )
        if self.normalize:
            self.score_scale = self.add_weight(
                name="score_scale",
                shape=(),
                initializer=keras.initializers.Constant(math.sqrt(1.0 / self.units)),
            )
            self.score_bias = self.add_weight(
                name="score_bias", shape=(self.units,), initializer="zeros"
            )

    def _compute_keys(self, value):
        return ops.matmul(value, self._weight(self.key_kernel))

    def _calculate_scores(self, query, keys):
        projected_query = ops.matmul(query, self._weight(self.query_kernel))
        # (batch, Tq, 1, units) + (batch, 1, S, units)
        hidden = ops.expand_dims(projected_query, 2) + ops.expand_dims(keys, 1)
        vector = self._weight(self.score_vector)
        if self.normalize:
            hidden = hidden + self._weight(self.score_bias)
            vector = (
                self._weight(self.score_scale)
                * vector
                * ops.rsqrt(ops.sum(ops.square(vector)))
            )
        return ops.einsum("btsu,u->bts", ops.tanh(hidden), vector)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "normalize": self.normalize,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
