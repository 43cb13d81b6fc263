"""PointerGenerator: the mixed distribution against NumPy, its gate, its
config; in the backbone, step-by-step decoding equal to the teacher-forced
pass, and a model that copies tokens it never saw as outputs."""

import keras
import numpy as np
import pytest

from keras_attn.layers import PointerGenerator
from keras_attn.models import AttentionSeq2SeqBackbone
from tests.helpers import to_numpy
from tests.models.test_attention_seq2seq_backbone import VOCAB
from tests.models.test_attention_seq2seq_backbone import _inputs
from tests.testing import run_layer_test


def _softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def _case(seed=0, batch=2, steps=3, source=5, vocabulary=9, features=4):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(batch, steps, vocabulary)).astype("float32")
    alignment = _softmax(rng.normal(size=(batch, steps, source))).astype("float32")
    # Token 3 twice in row 0: its copy probability is the sum of both weights.
    ids = rng.integers(0, vocabulary, (batch, source)).astype("int32")
    ids[0, 1] = ids[0, 3] = 3
    feats = rng.normal(size=(batch, steps, features)).astype("float32")
    return logits, alignment, ids, feats


def test_mixture_matches_the_formula():
    logits, alignment, ids, feats = _case()
    layer = PointerGenerator()
    layer(logits, alignment, ids, feats)
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(4, 1)).astype("float32")
    bias = np.array([0.3], "float32")
    layer.gate.set_weights([kernel, bias])
    log_p, p_gen = (to_numpy(x) for x in layer(logits, alignment, ids, feats))

    gate = 1.0 / (1.0 + np.exp(-(feats @ kernel + bias)))  # (B, T, 1)
    copied = np.zeros_like(logits)
    for b in range(ids.shape[0]):
        for s in range(ids.shape[1]):
            copied[b, :, ids[b, s]] += alignment[b, :, s]
    expected = gate * _softmax(logits) + (1.0 - gate) * copied
    np.testing.assert_allclose(p_gen, gate[..., 0], rtol=1e-5)
    np.testing.assert_allclose(np.exp(log_p), expected, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(np.exp(log_p).sum(-1), 1.0, atol=1e-5)
    # softmax(log P) = P: the output works as logits for every sampler.
    np.testing.assert_allclose(_softmax(log_p), expected, rtol=1e-4, atol=1e-7)


def test_gate_starts_at_one_half_and_padding_is_never_copied():
    logits, alignment, ids, feats = _case(seed=2)
    alignment[:, :, -2:] = 0.0  # padding: attention weight exactly zero
    alignment /= alignment.sum(-1, keepdims=True)
    ids[:, -2:] = 0
    ids[:, :-2] = np.maximum(ids[:, :-2], 1)
    log_p, p_gen = (
        to_numpy(x) for x in PointerGenerator()(logits, alignment, ids, feats)
    )
    np.testing.assert_allclose(p_gen, 0.5)
    np.testing.assert_allclose(
        np.exp(log_p)[..., 0], 0.5 * _softmax(logits)[..., 0], rtol=1e-4
    )


def test_harness():
    logits, alignment, ids, feats = _case(seed=3)
    outputs = run_layer_test(
        PointerGenerator,
        {"epsilon": 1e-6},
        {
            "logits": logits,
            "alignment": alignment,
            "source_token_ids": ids,
            "features": feats,
        },
        expected_output_shape=((2, 3, 9), (2, 3)),
        float32_outputs=(0, 1),  # probabilities are mixed in float32
    )
    np.testing.assert_allclose(np.exp(to_numpy(outputs[0])).sum(-1), 1.0, atol=1e-5)


def test_bfloat16_log_probabilities_still_sum_to_one():
    logits, alignment, ids, feats = _case(seed=3)
    log_p, _ = PointerGenerator(dtype="mixed_bfloat16")(logits, alignment, ids, feats)
    np.testing.assert_allclose(np.exp(to_numpy(log_p)).sum(-1), 1.0, atol=1e-2)


def test_bad_epsilon():
    with pytest.raises(ValueError, match=r"`epsilon` must be in \(0, 1\)"):
        PointerGenerator(epsilon=0.0)


@pytest.mark.parametrize("attention", ["bahdanau", "luong-general"])
def test_backbone_decode_step_equals_the_teacher_forced_pass(attention):
    backbone = AttentionSeq2SeqBackbone(
        vocabulary_size=VOCAB,
        embedding_dim=8,
        hidden_dim=12,
        attention=attention,
        pointer_generator=True,
    )
    # A non-zero gate kernel, so the gate depends on the step's features.
    gate = backbone.pointer_generator_layer.gate
    gate.kernel.assign(np.random.default_rng(0).normal(size=gate.kernel.shape))
    inputs = _inputs()
    outputs = backbone(inputs)
    log_p = to_numpy(outputs["logits"])
    # A distribution at every real step (padding steps have no alignment to
    # copy with, and the loss never sees them).
    real = inputs["decoder_padding_mask"].astype(bool)
    np.testing.assert_allclose(np.exp(log_p)[real].sum(-1), 1.0, atol=1e-5)
    assert tuple(outputs["generation_probability"].shape) == (2, 5)
    memory, memory_mask, keys, states = backbone.encode(
        inputs["encoder_token_ids"], inputs["encoder_padding_mask"]
    )
    for t in range(3):  # the steps that are real in both rows
        logits, states, _ = backbone.decode_step(
            inputs["decoder_token_ids"][:, t],
            states,
            memory,
            memory_mask,
            keys,
            inputs["encoder_token_ids"],
        )
        np.testing.assert_allclose(to_numpy(logits), log_p[:, t], atol=1e-5)
    with pytest.raises(ValueError, match="source_token_ids"):
        backbone.decode_step(
            inputs["decoder_token_ids"][:, 0], states, memory, memory_mask, keys
        )
    clone = AttentionSeq2SeqBackbone.from_config(backbone.get_config())
    clone.set_weights(backbone.get_weights())
    np.testing.assert_allclose(to_numpy(clone(inputs)["logits"]), log_p, atol=1e-6)


def test_backbone_rejects_a_pointer_without_attention_or_shared_vocabulary():
    with pytest.raises(ValueError, match="attention=None"):
        AttentionSeq2SeqBackbone(
            vocabulary_size=VOCAB, attention=None, pointer_generator=True
        )
    with pytest.raises(ValueError, match="one vocabulary"):
        AttentionSeq2SeqBackbone(
            source_vocabulary_size=40,
            target_vocabulary_size=VOCAB,
            pointer_generator=True,
        )


def _copy_task(rng, tokens, rows, length=4):
    """Targets are the sources: 0 pad, 1 start, 2 end."""
    body = rng.choice(tokens, (rows, length))
    enc = np.concatenate([np.ones((rows, 1)), body, np.full((rows, 1), 2)], 1)
    dec_in = np.concatenate([np.ones((rows, 1)), body], 1)
    labels = np.concatenate([body, np.full((rows, 1), 2)], 1)
    x = {
        "encoder_token_ids": enc.astype("int32"),
        "encoder_padding_mask": np.ones_like(enc, "int32"),
        "decoder_token_ids": dec_in.astype("int32"),
        "decoder_padding_mask": np.ones_like(dec_in, "int32"),
    }
    return x, labels.astype("int32")


def test_a_pointer_model_copies_tokens_it_never_saw_as_outputs():
    # Train on tokens 3..39 only; test on sources made of tokens 40..49,
    # which no training target contains. The softmax alone cannot emit them
    # (their output bias and weights only ever got pushed down); copying can.
    # The embeddings stay at their random start, so an unseen token looks to
    # the encoder like any other, not like an untrained outlier.
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    vocabulary = 50
    x, y = _copy_task(rng, np.arange(3, 40), 2048)
    backbone = AttentionSeq2SeqBackbone(
        vocabulary_size=vocabulary,
        embedding_dim=16,
        hidden_dim=32,
        attention="luong-dot",
        pointer_generator=True,
    )
    backbone.source_embedding.trainable = False
    inputs = {k: keras.Input((None,), dtype="int32", name=k) for k in x}
    model = keras.Model(inputs, backbone(inputs)["logits"])
    model.compile(
        keras.optimizers.Adam(1e-2),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(x, y, batch_size=64, epochs=6, verbose=0)
    x_new, y_new = _copy_task(rng, np.arange(40, vocabulary), 64)
    predicted = to_numpy(model.predict(x_new, verbose=0)).argmax(-1)
    accuracy = (predicted[:, :-1] == y_new[:, :-1]).mean()
    assert accuracy > 0.9, accuracy
