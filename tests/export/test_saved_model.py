"""The SavedModel export: strings in, strings out, loaded by a process that
imports only TensorFlow, equal to `generate`."""

import json
import os
import subprocess
import sys

import keras
import pytest

from keras_attn.export.saved_model import export_saved_model
from tests.models.corpus import reversal_pairs
from tests.models.test_attention_seq2seq_lm import make_lm

SERVE = """
import json, sys
import tensorflow as tf
served = tf.saved_model.load(sys.argv[1])
texts = tf.constant(json.loads(sys.argv[2]))
outputs = served.signatures["serving_default"](texts)["outputs"].numpy()
print(json.dumps({
    "outputs": [o.decode("utf-8") for o in outputs],
    "imported": sorted(
        m for m in sys.modules if m.startswith(("keras_attn", "tensorflow_text"))
    ),
}))
"""


def serve_in_subprocess(path, texts):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", SERVE, path, json.dumps(texts)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd="/",  # nothing of this repository on the path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def small_lm():
    keras.utils.set_random_seed(0)
    sources, targets = reversal_pairs(300, seed=0)
    lm = make_lm(hidden_dim=32, pairs=(sources, targets))
    lm.compile(optimizer=keras.optimizers.Adam(5e-3), sampler="greedy")
    lm.fit(
        {"encoder_text": sources, "decoder_text": targets},
        batch_size=50,
        epochs=2,
        verbose=0,
    )
    return lm


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="a SavedModel is written from the TensorFlow backend; the other "
    "backends check the clear error below",
)
@pytest.mark.parametrize(
    "decoding",
    [{}, {"num_beams": 3}, {"sampler": "beam"}],
    ids=["compiled", "num_beams", "sampler"],
)
def test_served_outputs_equal_generate_without_keras_attn(small_lm, tmp_path, decoding):
    texts = ["alpha beta gamma", "delta", "mu iota kappa eta", "¿qué pasa?"]
    expected = small_lm.generate(texts, max_length=10, **decoding)
    compiled_sampler = small_lm.sampler
    path = export_saved_model(
        small_lm, os.path.join(tmp_path, "served"), max_length=10, **decoding
    )
    # The export decodes with its own sampler; the model is not changed.
    assert small_lm.sampler is compiled_sampler
    served = serve_in_subprocess(path, texts)
    assert served["imported"] == []
    assert served["outputs"] == expected


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="TensorFlow backend only"
)
def test_sampler_and_num_beams_together_are_refused(small_lm, tmp_path):
    path = os.path.join(tmp_path, "served")
    with pytest.raises(ValueError, match="not both. Received: sampler='beam'"):
        export_saved_model(small_lm, path, num_beams=3, sampler="beam")
    assert not os.path.exists(path)


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="TensorFlow backend only"
)
def test_an_existing_directory_is_kept_unless_overwrite(small_lm, tmp_path):
    path = os.path.join(tmp_path, "served")
    os.makedirs(path)
    with open(os.path.join(path, "keep.txt"), "w") as file:
        file.write("user data")
    with pytest.raises(FileExistsError, match="exists and is not empty"):
        export_saved_model(small_lm, path)
    # Not an export of keras-attn's: refused with overwrite too, untouched.
    with pytest.raises(FileExistsError, match="served"):
        export_saved_model(small_lm, path, overwrite=True)
    assert os.listdir(path) == ["keep.txt"]
    with open(os.path.join(path, "keep.txt")) as file:
        assert file.read() == "user data"
    # An export of its own is replaced.
    served = os.path.join(tmp_path, "ours")
    export_saved_model(small_lm, served)
    export_saved_model(small_lm, served, overwrite=True)
    assert os.path.isfile(os.path.join(served, "saved_model.pb"))


@pytest.mark.skipif(
    keras.backend.backend() == "tensorflow", reason="checks the other backends' error"
)
def test_other_backends_say_the_export_needs_tensorflow(tmp_path):
    lm = make_lm(hidden_dim=16)
    with pytest.raises(RuntimeError, match="needs the TensorFlow backend"):
        export_saved_model(lm, os.path.join(tmp_path, "served"))
    assert not os.path.exists(os.path.join(tmp_path, "served"))
