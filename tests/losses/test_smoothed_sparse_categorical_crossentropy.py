"""The smoothed sparse loss equals Keras's dense loss on one-hot labels."""

import keras
import numpy as np
import pytest

from keras_attn.losses import SmoothedSparseCategoricalCrossentropy
from tests.helpers import to_numpy


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
@pytest.mark.parametrize("from_logits", [True, False])
def test_equals_dense_categorical_crossentropy(smoothing, from_logits):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 7, (4, 5))
    logits = rng.normal(size=(4, 5, 7)).astype("float32")
    weights = (rng.random((4, 5)) > 0.3).astype("float32")
    predictions = logits if from_logits else to_numpy(keras.ops.softmax(logits))
    ours = SmoothedSparseCategoricalCrossentropy(smoothing, from_logits=from_logits)
    dense = keras.losses.CategoricalCrossentropy(
        from_logits=from_logits, label_smoothing=smoothing
    )
    one_hot = np.eye(7, dtype="float32")[labels]
    got = to_numpy(ours(labels, predictions, sample_weight=weights))
    want = to_numpy(dense(one_hot, predictions, sample_weight=weights))
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_bad_smoothing_and_config_round_trip():
    with pytest.raises(ValueError, match=r"Received: label_smoothing=1.0"):
        SmoothedSparseCategoricalCrossentropy(1.0)
    loss = SmoothedSparseCategoricalCrossentropy(0.2, from_logits=False)
    clone = SmoothedSparseCategoricalCrossentropy.from_config(loss.get_config())
    assert clone.get_config() == loss.get_config()
