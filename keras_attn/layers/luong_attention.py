"""Multiplicative (Luong) attention: dot, general and concat scores."""

import keras
from keras import ops

from keras_attn._validation import check_choice
from keras_attn._validation import check_positive_int
from keras_attn.layers.base_attention import BaseAttention

SCORE_MODES = ("dot", "general", "concat")


@keras.saving.register_keras_serializable(package="keras_attn")
class LuongAttention(BaseAttention):
    """Luong attention with the three score functions of Luong et al. (2015).

    - `"dot"`: `score(q, h_j) = qᵀ h_j`; query and memory must have the same
      size. The keys are the memory itself.
    - `"general"`: `score(q, h_j) = qᵀ W h_j`. The keys `W h_j`
      `(batch, S, dim_q)` are computed once per source sequence.
    - `"concat"`: `score(q, h_j) = vᵀ tanh(W [q; h_j])` with `W` of shape
      `(dim_q + dim_v, units)`. The memory half of `W [q; h_j]` is the keys.

    With `scale=True` the score is multiplied by a learned scalar `g`
    (initialised to 1), which lets the model sharpen or flatten the
    distribution; this is the scaled form of the `tfa.seq2seq` layer.

    Masking: a Keras mask on `value` is used as `value_mask`; the weights are
    exactly zero at masked memory positions, and a row whose positions are
    all masked gives a zero context, never NaN.

    Args:
        score_mode: one of `"dot"`, `"general"`, `"concat"`.
        units: int, size of the hidden layer of the `"concat"` score
            (required there, unused otherwise).
        scale: bool, learn a scalar that multiplies the score.
        kernel_initializer: initializer of `W` and `v`.
        **kwargs: base layer arguments, such as `name` and `dtype`.

    Call arguments:
        query: `(batch, dim_q)` for one decoding step or `(batch, Tq, dim_q)`.
        value: the memory `(batch, S, dim_v)`.
        value_mask: optional boolean `(batch, S)`.
        keys: optional `compute_keys(value)` result.
        return_attention_scores: bool, also return the weights.
        training: unused.

    Returns:
        The context `(batch[, Tq], dim_v)` and, when asked, the weights
        `(batch[, Tq], S)` (float32).

    Example:
    >>> import numpy as np
    >>> attention = keras_attn.layers.LuongAttention("general")
    >>> query = np.random.rand(2, 7, 8).astype("float32")  # all steps
    >>> memory = np.random.rand(2, 5, 12).astype("float32")
    >>> context, weights = attention(query, memory, return_attention_scores=True)
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 7, 12), (2, 7, 5))

    References:
        - [Luong et al., 2015](https://arxiv.org/abs/1508.04025)
    """

    def __init__(
        self,
        score_mode="dot",
        units=None,
        scale=False,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_choice("score_mode", score_mode, SCORE_MODES)
        if score_mode == "concat" and units is None:
            raise ValueError(
                "`units` is required with score_mode='concat'. Received: units=None"
            )
        check_positive_int("units", units, allow_none=True)
        self.score_mode = score_mode
        self.units = units
        self.scale = scale
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def _build_scoring(self, query_dim, value_dim):
        if self.score_mode == "dot" and query_dim != value_dim:
            raise ValueError(
                f"score_mode='dot' needs `query` and `value` of the same last "
                f"dimension in layer '{self.name}'. Received: query dim "
                f"{query_dim}, value dim {value_dim}. Use score_mode='general' "
                "or 'concat' for different sizes."
            )
        if self.score_mode == "general":
            self.kernel = self.add_weight(
                name="kernel",
                shape=(value_dim, query_dim),
                initializer=self.kernel_initializer,
            )
        elif self.score_mode == "concat":
            self.kernel = self.add_weight(
                name="kernel",
                shape=(query_dim + value_dim, self.units),
                initializer=self.kernel_initializer,
            )
            self.score_vector = self.add_weight(
                name="score_vector",
                shape=(self.units,),
                initializer=self.kernel_initializer,
            )
        if self.scale:
            self.score_scale = self.add_weight(
                name="score_scale", shape=(), initializer="ones"
            )

    def _compute_keys(self, value):
        if self.score_mode == "general":
            return ops.matmul(value, self._weight(self.kernel))
        if self.score_mode == "concat":
            # W [q; h] = W_q q + W_h h: the memory half, once per source.
            return ops.matmul(value, self._weight(self.kernel)[self.query_dim :])
        return value

    def _calculate_scores(self, query, keys):
        if self.score_mode == "concat":
            projected_query = ops.matmul(
                query, self._weight(self.kernel)[: self.query_dim]
            )
            hidden = ops.tanh(
                ops.expand_dims(projected_query, 2) + ops.expand_dims(keys, 1)
            )
            scores = ops.einsum("btsu,u->bts", hidden, self._weight(self.score_vector))
        else:
            scores = ops.einsum("btd,bsd->bts", query, keys)
        if self.scale:
            scores = scores * self._weight(self.score_scale)
        return scores

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "score_mode": self.score_mode,
                "units": self.units,
                "scale": self.scale,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
