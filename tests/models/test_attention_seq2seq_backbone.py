"""The backbone: shapes for every attention type and cell, step-by-step
decoding equal to the teacher-forced pass, configs and bad arguments."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_attn.models import AttentionSeq2SeqBackbone
from tests.helpers import to_numpy

VOCAB = 30


def _inputs(batch=2, source=6, target=5, seed=0):
    rng = np.random.default_rng(seed)
    enc = rng.integers(4, VOCAB, (batch, source)).astype("int32")
    dec = rng.integers(4, VOCAB, (batch, target)).astype("int32")
    enc_mask = np.ones_like(enc)
    enc_mask[1, 4:] = 0
    dec_mask = np.ones_like(dec)
    dec_mask[0, 3:] = 0
    return {
        "encoder_token_ids": enc * enc_mask,
        "encoder_padding_mask": enc_mask,
        "decoder_token_ids": dec * dec_mask,
        "decoder_padding_mask": dec_mask,
    }


def _backbone(**kwargs):
    kwargs = {"vocabulary_size": VOCAB, "embedding_dim": 8, "hidden_dim": 12, **kwargs}
    return AttentionSeq2SeqBackbone(**kwargs)


@pytest.mark.parametrize(
    "attention,order",
    [
        ("bahdanau", {}),
        ("luong-dot", {}),
        ("luong-general", {}),
        ("luong-concat", {}),
        # Luong order without feedback: training takes the parallel path.
        ("luong-general", {"input_feeding": False}),
        ("bahdanau", {"attention_order": "luong", "input_feeding": False}),
        ("luong-dot", {"attention_order": "bahdanau"}),
    ],
)
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_decode_step_by_step_equals_the_teacher_forced_pass(attention, order, cell):
    backbone = _backbone(attention=attention, cell=cell, num_encoder_layers=2, **order)
    expected_order = order.get(
        "attention_order", "bahdanau" if attention == "bahdanau" else "luong"
    )
    assert backbone.decoder_cell.attention_order == expected_order
    parallel = expected_order == "luong" and not order.get("input_feeding", True)
    assert backbone.decoder_cell.is_parallelizable == parallel
    inputs = _inputs()
    outputs = backbone(inputs)
    assert tuple(outputs["logits"].shape) == (2, 5, VOCAB)
    assert tuple(outputs["alignment"].shape) == (2, 5, 6)
    assert tuple(outputs["encoder_sequence_output"].shape) == (2, 6, 12)
    memory, memory_mask, keys, states = backbone.encode(
        inputs["encoder_token_ids"], inputs["encoder_padding_mask"]
    )
    for t in range(3):  # the steps that are real in both rows
        logits, states, alignment = backbone.decode_step(
            inputs["decoder_token_ids"][:, t], states, memory, memory_mask, keys
        )
        np.testing.assert_allclose(
            to_numpy(logits), to_numpy(outputs["logits"])[:, t], atol=1e-5
        )
        np.testing.assert_allclose(
            to_numpy(alignment), to_numpy(outputs["alignment"])[:, t], atol=1e-5
        )
    np.testing.assert_array_equal(to_numpy(outputs["alignment"])[1, :, 4:], 0.0)


def test_fixed_context_baseline_has_no_alignment_and_steps_the_same():
    backbone = _backbone(attention=None, cell="lstm")
    inputs = _inputs()
    outputs = backbone(inputs)
    assert "alignment" not in outputs
    memory, memory_mask, keys, states = backbone.encode(
        inputs["encoder_token_ids"], inputs["encoder_padding_mask"]
    )
    assert keys is None and len(states) == 2
    logits, _, alignment = backbone.decode_step(
        inputs["decoder_token_ids"][:, 0], states, memory, memory_mask, keys
    )
    assert alignment is None
    np.testing.assert_allclose(
        to_numpy(logits), to_numpy(outputs["logits"])[:, 0], atol=1e-5
    )


def test_attention_none_is_the_baseline_and_every_name_builds():
    from keras_attn.models import ATTENTIONS

    assert ATTENTIONS == (
        "bahdanau",
        "luong-dot",
        "luong-general",
        "luong-concat",
        "none",
    )
    baseline = _backbone(attention="none")
    assert baseline.attention is None
    assert baseline.get_config()["attention"] is None
    assert "alignment" not in baseline(_inputs())
    twin = _backbone(attention=None)
    twin.set_weights(baseline.get_weights())  # same weights: same layers
    np.testing.assert_allclose(
        to_numpy(twin(_inputs())["logits"]),
        to_numpy(baseline(_inputs())["logits"]),
        atol=1e-6,
    )
    for name in ATTENTIONS[:-1]:
        assert "alignment" in _backbone(attention=name)(_inputs())


def test_separate_vocabularies():
    backbone = AttentionSeq2SeqBackbone(
        source_vocabulary_size=40,
        target_vocabulary_size=VOCAB,
        embedding_dim=8,
        hidden_dim=12,
    )
    assert backbone.source_embedding is not backbone.target_embedding
    inputs = _inputs()
    assert tuple(backbone(inputs)["logits"].shape) == (2, 5, VOCAB)
    shared = _backbone()
    assert shared.source_embedding is shared.target_embedding


def test_config_round_trip_gives_the_same_outputs():
    backbone = _backbone(attention="luong-concat", attention_units=7, dropout=0.1)
    clone = AttentionSeq2SeqBackbone.from_config(backbone.get_config())
    clone.set_weights(backbone.get_weights())
    inputs = _inputs()
    np.testing.assert_allclose(
        to_numpy(clone(inputs)["logits"]),
        to_numpy(backbone(inputs)["logits"]),
        atol=1e-6,
    )


def test_the_order_is_in_the_config():
    backbone = _backbone(attention="luong-dot", input_feeding=False)
    config = backbone.get_config()
    assert config["attention_order"] == "luong" and config["input_feeding"] is False
    rebuilt = AttentionSeq2SeqBackbone.from_config(config)
    assert rebuilt.decoder_cell.is_parallelizable
    with pytest.raises(ValueError, match="attention_order must be one of"):
        _backbone(attention_order="sideways")


def test_bad_arguments_list_the_valid_choices():
    with pytest.raises(
        ValueError,
        match=r"attention must be one of \('bahdanau', .*'none'\)\. "
        r"Received: attention='luong'",
    ):
        _backbone(attention="luong")
    with pytest.raises(
        ValueError,
        match=r"cell must be one of \('gru', 'lstm'\)\. Received: cell='rnn'",
    ):
        _backbone(cell="rnn")
    with pytest.raises(ValueError, match="`hidden_dim` must be even"):
        _backbone(hidden_dim=13)
    with pytest.raises(ValueError, match="source_vocabulary_size"):
        AttentionSeq2SeqBackbone(embedding_dim=8, hidden_dim=12)
    with pytest.raises(
        ValueError, match="`share_embeddings=True` needs one vocabulary size"
    ):
        AttentionSeq2SeqBackbone(
            source_vocabulary_size=40,
            target_vocabulary_size=VOCAB,
            share_embeddings=True,
        )
    with pytest.raises(ValueError, match=r"`dropout` must be in \[0, 1\)"):
        _backbone(dropout=1.5)


def test_mixed_precision_logits_are_finite():
    keras.config.set_dtype_policy("mixed_bfloat16")
    backbone = _backbone()
    logits = backbone(_inputs())["logits"]
    assert np.all(np.isfinite(to_numpy(ops.cast(logits, "float32"))))


def test_a_dtype_argument_reaches_every_layer_including_the_encoder_rnn():
    # Without a global policy: the layers must take the argument itself, or
    # the encoder runs in float32 while the decoder loop runs in bfloat16.
    backbone = _backbone(dtype="mixed_bfloat16")
    layers = backbone._flatten_layers()
    policies = {
        layer.dtype_policy.name
        for layer in layers
        if not isinstance(layer, keras.layers.InputLayer)
    }
    assert policies == {"mixed_bfloat16"}, policies
    memory, _, keys, states = backbone.encode(
        ops.ones((2, 6), "int32"), ops.ones((2, 6), "bool")
    )
    logits, new_states, _ = backbone.decode_step(
        ops.ones((2,), "int32"), states, memory, ops.ones((2, 6), "bool"), keys
    )
    assert [s.dtype for s in new_states] == [s.dtype for s in states]
    assert np.all(np.isfinite(to_numpy(ops.cast(logits, "float32"))))
