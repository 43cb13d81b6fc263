"""The pointer-generator output: generate from the vocabulary or copy."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_attn")
class PointerGenerator(keras.layers.Layer):
    """Mixes the vocabulary distribution with copying source tokens.

    See et al. (2017): at each output step a learned gate
    `p_gen = sigmoid(w · f_t + b)`, from the step's features `f_t` (here the
    attentional output and the input embedding), mixes generating from the
    vocabulary with copying a source token, picked by the attention weights:

        P(w) = p_gen · softmax(logits)_w + (1 - p_gen) · Σ_{s : x_s = w} a_{t,s}

    Copying lets a model emit a rare source word (a name, a project, a
    number) that the softmax alone has seen too seldom to learn. Source and
    output must share one vocabulary, so that a source token id means the
    same token as an output id; words outside it are split into word pieces
    by the tokenizer and copied piece by piece.

    The layer returns `log P` in float32. Used as logits it keeps everything
    downstream unchanged: `softmax(log P) = P`, so cross-entropy "from
    logits", greedy, beam and sampling decoding all see the mixed
    distribution.

    Args:
        epsilon: float, added to `P` before the logarithm, so a token with
            probability zero has a finite log-probability (`log epsilon`).
        **kwargs: base layer arguments, such as `name` and `dtype`.

    Call arguments:
        logits: `(batch, T, vocabulary)`, the vocabulary scores.
        alignment: `(batch, T, S)`, attention weights (rows sum to one over
            the real source tokens, zero at padding).
        source_token_ids: int `(batch, S)`, the source tokens.
        features: `(batch, T, F)`, what the gate reads.

    Returns:
        A tuple `(log_probabilities, generation_probability)`: float32
        `(batch, T, vocabulary)` and the gate `p_gen` `(batch, T)`.

    Example:
    >>> import numpy as np
    >>> layer = keras_attn.layers.PointerGenerator()
    >>> logits = np.zeros((1, 2, 6), "float32")            # uniform vocabulary
    >>> alignment = np.array([[[1.0, 0.0], [0.5, 0.5]]], "float32")
    >>> source = np.array([[4, 5]])
    >>> features = np.zeros((1, 2, 3), "float32")          # p_gen = 0.5
    >>> log_p, p_gen = layer(logits, alignment, source, features)
    >>> probabilities = keras.ops.convert_to_numpy(keras.ops.exp(log_p))
    >>> [round(float(p), 3) for p in probabilities[0, 0]]
    [0.083, 0.083, 0.083, 0.083, 0.583, 0.083]

    References:
        - [See et al., 2017](https://arxiv.org/abs/1704.04368)
        - [Gu et al., 2016](https://arxiv.org/abs/1603.06393)
    """

    def __init__(self, epsilon=1e-9, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        if not 0.0 < float(epsilon) < 1.0:
            raise ValueError(
                f"`epsilon` must be in (0, 1). Received: epsilon={epsilon}"
            )
        self.epsilon = float(epsilon)
        self.gate = keras.layers.Dense(
            1, kernel_initializer="zeros", dtype=self.dtype_policy, name="gate"
        )

    def build(
        self, logits_shape, alignment_shape, source_token_ids_shape, features_shape
    ):
        self.gate.build(features_shape)
        self.built = True

    def call(self, logits, alignment, source_token_ids, features):
        vocabulary = logits.shape[-1]
        # Probabilities are mixed in float32: a bfloat16 sum of a near-one
        # and a small term would lose the small one.
        p_gen = ops.sigmoid(ops.cast(self.gate(features), "float32"))
        generated = ops.softmax(ops.cast(logits, "float32"), axis=-1)
        # (batch, T, S) @ (batch, S, V): each weight goes to its token's id,
        # summed over the positions where that token appears.
        one_hot = ops.one_hot(source_token_ids, vocabulary, dtype="float32")
        copied = ops.matmul(ops.cast(alignment, "float32"), one_hot)
        probabilities = p_gen * generated + (1.0 - p_gen) * copied
        return ops.log(probabilities + self.epsilon), ops.squeeze(p_gen, -1)

    def compute_mask(self, logits, previous_mask=None):
        # The logits' mask (real target steps) holds for both outputs.
        return previous_mask, previous_mask

    def compute_output_spec(self, logits, alignment, source_token_ids, features):
        shape = tuple(logits.shape)
        return (
            keras.KerasTensor(shape, dtype="float32"),
            keras.KerasTensor(shape[:-1], dtype="float32"),
        )

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon})
        return config
