"""Sparse cross-entropy with label smoothing, which Keras's sparse loss lacks."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_attn")
class SmoothedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Cross-entropy against smoothed targets, from integer labels.

    Equal to `keras.losses.CategoricalCrossentropy(label_smoothing=e)` on the
    one-hot labels, `q = (1 - e) * one_hot(y) + e / K`, without building the
    `(batch, T, K)` one-hot tensor: `(1 - e) * NLL(y) + e * mean_k(-log p_k)`.
    Computed in float32. Padding is skipped through `sample_weight`.

    Args:
        label_smoothing: float in [0, 1), the mass `e` spread over all classes
            (0.1 in Vaswani et al., 2017).
        from_logits: bool, whether `y_pred` are logits.
        reduction, name, dtype: as `keras.losses.Loss`.

    Example:
    >>> loss = keras_attn.losses.SmoothedSparseCategoricalCrossentropy(0.1)
    >>> float(loss([1], [[0.0, 2.0, 0.0]])) > 0
    True
    """

    def __init__(
        self,
        label_smoothing=0.1,
        from_logits=True,
        reduction="sum_over_batch_size",
        name="smoothed_sparse_categorical_crossentropy",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                "`label_smoothing` must be in [0, 1). "
                f"Received: label_smoothing={label_smoothing}"
            )
        self.label_smoothing = label_smoothing
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        if self.from_logits:
            log_probs = ops.log_softmax(y_pred, axis=-1)
        else:
            log_probs = ops.log(ops.clip(y_pred, 1e-7, 1.0))
        labels = ops.expand_dims(ops.cast(y_true, "int32"), -1)
        nll = -ops.squeeze(ops.take_along_axis(log_probs, labels, axis=-1), -1)
        uniform = -ops.mean(log_probs, axis=-1)
        return (1.0 - self.label_smoothing) * nll + self.label_smoothing * uniform

    def get_config(self):
        config = super().get_config()
        config.update(
            {"label_smoothing": self.label_smoothing, "from_logits": self.from_logits}
        )
        return config
