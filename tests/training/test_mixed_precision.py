"""`train(..., dtype=...)`: mixed precision keeps float32 weights, computes
in 16 bits, scales the float16 loss, and the model it saves loads in either
precision."""

import keras
import numpy as np
import pytest

from keras_attn import training
from keras_attn.models import AttentionSeq2SeqLM
from keras_attn.training.training_config import ARCHITECTURE_OPTIONS
from tests.training.test_train import TINY
from tests.training.test_train import write_tsv

# How train chooses and records the policy, and Keras's loss scaling, do
# not depend on the backend: checked once, on TensorFlow. Training and
# decoding in mixed_bfloat16 run on every backend.
once = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the pipeline's dtype handling is backend-independent: checked on "
    "TensorFlow",
)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    data = write_tsv(root / "train.tsv", 32, seed=1)
    histories = []
    history = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: histories.append(logs)
    )
    lm = training.train(
        "translation",
        data,
        root / "run",
        epochs=1,
        verbose=0,
        dtype="mixed_bfloat16",
        callbacks=[history],
        **TINY,
    )
    return {"root": root, "data": data, "lm": lm, "logs": histories}


def test_mixed_bfloat16_computes_in_bfloat16_with_float32_weights(mixed):
    backbone = mixed["lm"].backbone
    assert backbone.dtype_policy.name == "mixed_bfloat16"
    assert {w.dtype for w in backbone.weights} == {"float32"}
    logits = backbone(
        {
            "encoder_token_ids": np.ones((1, 3), "int32"),
            "encoder_padding_mask": np.ones((1, 3), "int32"),
            "decoder_token_ids": np.ones((1, 2), "int32"),
            "decoder_padding_mask": np.ones((1, 2), "int32"),
        }
    )["logits"]
    assert keras.backend.standardize_dtype(logits.dtype) == "bfloat16"
    assert np.isfinite(mixed["logs"][0]["loss"])


def test_the_saved_mixed_model_loads_in_either_policy_with_the_same_weights(mixed):
    out = str(mixed["root"] / "run")
    # As keras-hub does: the global policy (float32) unless dtype is given.
    plain = AttentionSeq2SeqLM.from_preset(out)
    assert plain.backbone.dtype_policy.name == "float32"
    kept = AttentionSeq2SeqLM.from_preset(out, dtype="mixed_bfloat16")
    assert kept.backbone.dtype_policy.name == "mixed_bfloat16"
    for a, b in zip(plain.backbone.weights, kept.backbone.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert isinstance(plain.generate("w1 w2 w3 w4"), str)


@once
def test_mixed_float16_scales_the_loss(tmp_path):
    data = write_tsv(tmp_path / "train.tsv", 24, seed=2)
    options = {**TINY, "valid_samples": 0}
    config = training.TrainingConfig(
        task="translation",
        data=str(data),
        out=str(tmp_path / "run"),
        dtype="mixed_float16",
        epochs=1,
        **options,
    )
    captured = {}
    probe = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: captured.setdefault(
            "optimizer", probe.model.optimizer
        )
    )
    training.train(**config.as_kwargs(), callbacks=[probe], verbose=0)
    assert isinstance(captured["optimizer"], keras.optimizers.LossScaleOptimizer)


@once
def test_fine_tuning_trains_in_the_policy_asked_for(mixed, tmp_path):
    options = {k: v for k, v in TINY.items() if k not in ARCHITECTURE_OPTIONS}
    options["valid_samples"] = 0
    base = mixed["root"] / "run"
    tuned = training.train(
        "translation",
        mixed["data"],
        tmp_path / "tuned",
        epochs=1,
        verbose=0,
        base=base,
        **options,
    )
    assert tuned.backbone.dtype_policy.name == "float32"  # the default
    assert training.recorded_options(tmp_path / "tuned")["dtype"] == "float32"


@once
def test_an_unknown_dtype_is_refused_by_name():
    with pytest.raises(
        ValueError, match="dtype must be one of .*Received: dtype='float16'"
    ):
        training.TrainingConfig(
            task="translation", data="a.tsv", out="o", dtype="float16"
        )
