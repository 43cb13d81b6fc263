"""The shared machinery of the content-based attention layers."""

import keras
from keras import ops

from keras_attn._validation import check_feature_dim
from keras_attn._validation import check_rank
from keras_attn._validation import check_same_batch


class BaseAttention(keras.layers.Layer):
    """Base class of the attention layers: masking, softmax and context.

    A subclass defines how a query is scored against the memory, in two small
    methods:

    - `compute_keys(value)`: the part of the score that depends only on the
      memory. It is computed once per source sequence; a decoder passes the
      result back in as `keys=` at every step instead of recomputing it.
    - `_calculate_scores(query, keys)`: the unnormalised scores
      `(batch, Tq, S)` of a query `(batch, Tq, dim_q)` against those keys.

    This class turns scores into a distribution (softmax in float32, exactly
    zero at masked memory positions, all zeros for a row whose positions are
    all masked) and into the context vector, the weighted sum of the memory.

    Masking: a Keras mask carried by `value` (for example from
    `keras.layers.Embedding(mask_zero=True)` or a `Bidirectional` RNN over
    such an embedding) is picked up as `value_mask` without being passed by
    hand. A mask carried by a sequence `query` `(batch, Tq, dim_q)` is kept
    on the context (`compute_mask`), so layers after this one skip the
    padded query steps.

    Call arguments:
        query: the decoder state that asks. One decoding step
            `(batch, dim_q)` or a sequence of steps `(batch, Tq, dim_q)`.
        value: the memory (the encoder output) `(batch, S, dim_v)`.
        value_mask: optional boolean `(batch, S)`; `False` marks padding.
        keys: optional result of `compute_keys(value)`, to skip recomputing
            it at every decoding step.
        return_attention_scores: also return the attention weights.
        training: unused; kept for the Keras call convention.

    Returns:
        The context `(batch[, Tq], dim_v)` in the layer's compute dtype and,
        with `return_attention_scores=True`, the weights `(batch[, Tq], S)`
        in float32, which sum to one over unmasked positions.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def build(self, query_shape, value_shape):
        check_rank("query", query_shape, (2, 3), self.name)
        check_rank("value", value_shape, (3,), self.name)
        self.query_dim = query_shape[-1]
        self.value_dim = value_shape[-1]
        for name, dim in (("query", self.query_dim), ("value", self.value_dim)):
            if dim is None:
                raise ValueError(
                    f"The last dimension of `{name}` must be known to build "
                    f"layer '{self.name}'. Received: {name}.shape="
                    f"{query_shape if name == 'query' else value_shape}"
                )
        self._build_scoring(self.query_dim, self.value_dim)

    def _build_scoring(self, query_dim, value_dim):
        """Creates the weights of the score function."""
        raise NotImplementedError

    def compute_keys(self, value):
        """Computes the memory-only part of the score, once per source.

        Args:
            value: the memory `(batch, S, dim_v)`.

        Returns:
            The keys `(batch, S, key_dim)` to pass back as
            `call(..., keys=keys)` at every decoding step.
        """
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' must be built before `compute_keys()`: "
                "call it once, or call `build(query_shape, value_shape)`."
            )
        return self._compute_keys(ops.cast(value, self.compute_dtype))

    def _compute_keys(self, value):
        return value

    def _calculate_scores(self, query, keys):
        """Scores `(batch, Tq, S)` of `query` `(batch, Tq, dim_q)`."""
        raise NotImplementedError

    def _weight(self, variable):
        # Variables are float32 under mixed precision; `compute_keys` may run
        # outside of `__call__`, where Keras does not cast them for us.
        return ops.cast(variable, self.compute_dtype)

    def _apply_scores(self, scores, value, value_mask=None):
        """Masked softmax over `S` and the weighted sum of `value`.

        Args:
            scores: `(batch, Tq, S)`.
            value: `(batch, S, dim_v)`.
            value_mask: optional boolean `(batch, S)`.

        Returns:
            The context `(batch, Tq, dim_v)` and the float32 weights
            `(batch, Tq, S)`.
        """
        # Softmax in float32: float16 would overflow on the masking bias and
        # lose precision in the normaliser.
        scores = ops.cast(scores, "float32")
        if value_mask is not None:
            mask = ops.expand_dims(ops.cast(value_mask, "bool"), axis=-2)
            scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
            weights = ops.softmax(scores, axis=-1)
            # A row with every position masked would otherwise be uniform;
            # zeroing it keeps "exactly zero at masked positions" true.
            weights = weights * ops.cast(mask, "float32")
        else:
            weights = ops.softmax(scores, axis=-1)
        context = ops.matmul(ops.cast(weights, self.compute_dtype), value)
        return context, weights

    def call(
        self,
        query,
        value,
        value_mask=None,
        keys=None,
        return_attention_scores=False,
        training=None,
    ):
        query = ops.convert_to_tensor(query, dtype=self.compute_dtype)
        value = ops.convert_to_tensor(value, dtype=self.compute_dtype)
        check_rank("query", query.shape, (2, 3), self.name)
        check_rank("value", value.shape, (3,), self.name)
        check_same_batch((("query", query.shape), ("value", value.shape)), self.name)
        check_feature_dim("query", query.shape, self.query_dim, self.name)
        check_feature_dim("value", value.shape, self.value_dim, self.name)
        if value_mask is not None:
            check_rank("value_mask", value_mask.shape, (2,), self.name)
        single_step = len(query.shape) == 2
        if single_step:
            query = ops.expand_dims(query, axis=1)
        if keys is None:
            keys = self._compute_keys(value)
        scores = self._calculate_scores(query, keys)
        context, weights = self._apply_scores(scores, value, value_mask)
        if single_step:
            context = ops.squeeze(context, axis=1)
            weights = ops.squeeze(weights, axis=1)
        if return_attention_scores:
            return context, weights
        return context

    def compute_mask(self, query, previous_mask=None):
        """The query's mask for a sequence query, `None` for one step.

        The context of query step `t` belongs to step `t`, so a padded query
        step gives a padded context, as in `keras.layers.Attention`. Keras
        calls this with the mask `query` carries.

        Args:
            query: the query `(batch, Tq, dim_q)` or `(batch, dim_q)`.
            previous_mask: the query's mask `(batch, Tq)`, or `None`.

        Returns:
            `previous_mask` for a sequence query, `None` for one step.
        """
        if previous_mask is None or len(query.shape) != 3:
            return None
        return ops.convert_to_tensor(previous_mask)

    def compute_output_shape(self, query_shape, value_shape):
        return (*query_shape[:-1], value_shape[-1])

    def compute_output_spec(
        self,
        query,
        value,
        value_mask=None,
        keys=None,
        return_attention_scores=False,
        training=None,
    ):
        context = keras.KerasTensor(
            self.compute_output_shape(query.shape, value.shape),
            dtype=self.compute_dtype,
        )
        if return_attention_scores:
            weights = keras.KerasTensor(
                (*query.shape[:-1], value.shape[1]), dtype="float32"
            )
            return context, weights
        return context
