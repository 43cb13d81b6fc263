"""`train(..., distribute=True)`: data-parallel training on the backend's own
API gives the steps a single device gives, writes a model that loads and
decodes on one device, and says where it cannot run.

The two-device runs happen in a child process (`_distribute_child.py`):
the devices must exist before the backend starts. One child per backend
trains the same tiny model on one device and on two, with the same seed,
data and global batch.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_attn import cli
from keras_attn import training
from keras_attn.models import AttentionSeq2SeqLM
from tests.models.corpus import reversal_pairs

BACKEND = keras.backend.backend()
CHILD = os.path.join(os.path.dirname(__file__), "_distribute_child.py")
distributed_backends = pytest.mark.skipif(
    BACKEND not in ("jax", "tensorflow"),
    reason="Keras 3's data parallelism is JAX's and TensorFlow's",
)
once = pytest.mark.skipif(
    BACKEND != "tensorflow", reason="tf.data and argument logic, checked once"
)


def write_pairs(path, count=40):
    # Pairs of one length: every replica's share of a batch has as many
    # target tokens as the other's, so a mean over the replicas' means (how
    # tf.distribute reduces the loss) is the mean over the batch.
    sources, targets = reversal_pairs(count, seed=0, min_words=4, max_words=4)
    lines = [f"{s}\t{t}\n" for s, t in zip(sources, targets, strict=True)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("distribute")
    data = write_pairs(root / "train.tsv")
    env = {**os.environ, "KERAS_BACKEND": BACKEND, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, CHILD, str(data), str(root)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return root, json.loads(result.stdout.strip().splitlines()[-1])


@distributed_backends
def test_two_replicas_take_the_steps_one_device_takes(runs):
    _, result = runs
    single, distributed = result["single"], result["distributed"]
    assert result["devices"] == 2
    # The weights live on both devices, and every record says 2 replicas.
    assert single["weight_devices"] == 1
    assert distributed["weight_devices"] == 2
    assert {r["replicas"] for r in single["records"]} == {1}
    assert {r["replicas"] for r in distributed["records"]} == {2}
    assert "data-parallel over 2 replicas" in distributed["lines"][0]
    assert "data-parallel" not in single["lines"][0]
    # Each step's loss (one step an epoch: the batch is all 32 pairs, split
    # 16 and 16) equals the single device's, and training moved it.
    losses = single["losses"]
    assert len(losses) == len(distributed["losses"]) == 2
    np.testing.assert_allclose(distributed["losses"], losses, rtol=1e-4)
    assert losses[1] < losses[0]
    # Each epoch decoded its 5 validation pairs (an odd number, over two
    # replicas) and scored them.
    epochs = [r for r in distributed["records"] if r["event"] == "epoch"]
    assert [r["valid_pairs"] for r in epochs] == [5, 5]
    assert all(isinstance(r["val_bleu"], float) for r in epochs)
    # train leaves no distribution set behind.
    assert distributed["distribution_after"] == "None"


@distributed_backends
def test_the_distributed_model_loads_and_decodes_on_one_device(runs):
    root, result = runs
    assert len(keras.distribution.list_devices()) == 1  # this process: one
    single = AttentionSeq2SeqLM.from_preset(str(root / "single"))
    distributed = AttentionSeq2SeqLM.from_preset(str(root / "distributed"))
    for a, b in zip(single.weights, distributed.weights, strict=True):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(b.value),
            keras.ops.convert_to_numpy(a.value),
            rtol=1e-4,
            atol=1e-6,
            err_msg=a.path,
        )
    texts = ["alpha beta gamma delta", "mu eta iota zeta"]
    outputs = distributed.generate(texts)
    assert outputs == result["distributed"]["outputs"]  # as train returned it
    assert all(isinstance(text, str) for text in outputs)
    # It learned nothing in two steps: it must only decode.
    assert isinstance(distributed.generate("alpha beta"), str)


@distributed_backends
def test_a_batch_that_does_not_split_over_the_replicas_is_refused(runs):
    _, result = runs
    assert result["odd_batch_error"] == (
        "batch_size is the global batch, split evenly over the 2 replicas of a "
        "data-parallel run: it must be a multiple of 2. Received: batch_size=7"
    )


@pytest.mark.skipif(BACKEND != "torch", reason="the PyTorch backend's message")
def test_distribute_on_pytorch_says_which_backends_can(tmp_path):
    # The data file does not exist: the error comes before any data is read.
    with pytest.raises(ValueError) as error:
        training.train(
            "translation", tmp_path / "missing.tsv", tmp_path / "out", distribute=True
        )
    message = str(error.value)
    assert "JAX" in message and "TensorFlow" in message and "torch" in message
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow's TF_CONFIG")
def test_several_tensorflow_workers_are_refused_with_the_keras_issue(
    monkeypatch, tmp_path
):
    cluster = {"worker": ["localhost:1", "localhost:2"]}
    task = {"type": "worker", "index": 0}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
    with pytest.raises(ValueError, match="MultiWorkerMirroredStrategy") as error:
        training.train(
            "translation", tmp_path / "missing.tsv", tmp_path / "out", distribute=True
        )
    assert "keras-team/keras/issues/20585" in str(error.value)
    assert "2 workers" in str(error.value)


def test_the_cli_hands_distribute_to_train(monkeypatch, capsys, tmp_path):
    data = write_pairs(tmp_path / "train.tsv", count=4)
    calls = []

    def fake_train(**kwargs):
        calls.append(kwargs)
        return None  # as a process that does not write the run

    monkeypatch.setattr(training, "train", fake_train)
    common = ["train", "--out", str(tmp_path / "run"), "--distribute"]
    status = cli.main([*common, "--task", "translation", "--data", str(data)])
    err = capsys.readouterr().err
    if BACKEND == "torch":
        assert status == 2 and not calls
        assert err.startswith("keras-attn train: error: distribute=True"), err
        assert "JAX" in err and "TensorFlow" in err
        return
    assert status == 0, err
    # A resumed run may be trained on other devices.
    assert cli.main([*common, "--resume"]) == 0, capsys.readouterr().err
    assert [call["distribute"] for call in calls] == [True, True]
    assert calls[1]["resume"] is True


@once
def test_batches_split_evenly_and_len_stays_exact():
    sources = [" ".join(["w"] * n) for n in (1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3)]
    for options in ({"multiple": 2}, {"multiple": 4}, {"drop_remainder": True}):
        dataset = training.text_dataset(
            sources, sources, batch_size=4, shuffle_seed=0, **options
        )
        sizes = [len(batch["encoder_text"]) for batch in dataset]
        assert len(dataset) == len(sizes)
        assert all(size % options.get("multiple", 4) == 0 for size in sizes), sizes
        validation = training.text_dataset(sources, sources, batch_size=4, **options)
        sizes = [len(batch["encoder_text"]) for batch in validation]
        assert len(validation) == len(sizes)
        assert sizes == {2: [4, 4, 2], 4: [4, 4]}[options.get("multiple", 4)]
    # Whole batches only: the batch dimension is static, as Keras needs to
    # split batches over processes.
    assert dataset.element_spec["encoder_text"].shape == (4,)
    assert validation.element_spec["encoder_text"].shape == (4,)
    with pytest.raises(ValueError, match="multiple"):
        training.text_dataset(sources, sources, batch_size=4, multiple=3)
