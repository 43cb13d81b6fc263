"""The smoothed sparse loss equals Keras's dense loss on one-hot labels."""

import keras
import numpy as np
import pytest

from keras_attn.losses import SmoothedSparseCategoricalCrossentropy
from tests.helpers import to_numpy
from tests.testing import run_serialization_test


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


def test_bad_smoothing():
    with pytest.raises(ValueError, match=r"Received: label_smoothing=1.0"):
        SmoothedSparseCategoricalCrossentropy(1.0)


def test_config_round_trip_and_a_compiled_model_reloads_it(tmp_path):
    loss = SmoothedSparseCategoricalCrossentropy(0.2, from_logits=False)
    run_serialization_test(loss)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(inputs))
    model.compile("sgd", loss=loss)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.loss, SmoothedSparseCategoricalCrossentropy)
    assert loaded.loss.get_config() == loss.get_config()
