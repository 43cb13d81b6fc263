"""The task model: it learns a text-to-text task and generates, and bad
inputs to generate() are named."""

import keras
import numpy as np
import pytest

from keras_attn.models import AttentionSeq2SeqBackbone
from keras_attn.models import AttentionSeq2SeqLM
from keras_attn.models import AttentionSeq2SeqPreprocessor
from tests.models.corpus import reversal_pairs


def _lm(attention="luong-general", sources=None, targets=None, hidden_dim=64):
    if sources is None:
        sources, targets = reversal_pairs(200, seed=0)
    preprocessor = AttentionSeq2SeqPreprocessor.from_corpus(
        sources,
        targets,
        vocabulary_size=100,
        encoder_sequence_length=10,
        decoder_sequence_length=10,
    )
    backbone = AttentionSeq2SeqBackbone(
        vocabulary_size=preprocessor.tokenizer.vocabulary_size(),
        embedding_dim=32,
        hidden_dim=hidden_dim,
        attention=attention,
    )
    return AttentionSeq2SeqLM(backbone, preprocessor)


@pytest.mark.skipif(
    keras.backend.backend() == "torch",
    reason="the PyTorch backend steps the RNN loop eagerly in Python (about 200 s "
    "for this test on 2 cores); learning is checked on TensorFlow and JAX, and "
    "generation on PyTorch by the tests below",
)
def test_learns_to_reverse_words_with_greedy_decoding():
    sources, targets = reversal_pairs(3000, seed=0)
    lm = _lm(sources=sources, targets=targets)
    lm.compile(optimizer=keras.optimizers.Adam(5e-3, clipnorm=1.0), sampler="greedy")
    lm.fit(
        {"encoder_text": sources, "decoder_text": targets},
        batch_size=64,
        epochs=6,
        verbose=0,
    )
    held_out, expected = reversal_pairs(60, seed=99)
    outputs = lm.generate(held_out, max_length=10)
    exact = np.mean([o == e for o, e in zip(outputs, expected, strict=True)])
    assert exact >= 0.95, list(zip(outputs, expected, strict=True))[:5]


def test_fixed_context_baseline_trains_and_generates():
    lm = _lm(attention=None, hidden_dim=16)
    lm.compile(sampler="greedy")
    sources, targets = reversal_pairs(200, seed=0)
    history = lm.fit(
        {"encoder_text": sources, "decoder_text": targets},
        batch_size=50,
        epochs=1,
        verbose=0,
    )
    assert np.isfinite(history.history["loss"][0])
    outputs = lm.generate(["alpha beta", "gamma"], max_length=6)
    assert isinstance(outputs, list) and len(outputs) == 2
    assert all(isinstance(o, str) for o in outputs)


@pytest.mark.parametrize("sampler", ["top_k", "top_p", "random"])
def test_keras_hub_samplers_are_accepted(sampler):
    lm = _lm(hidden_dim=16)
    lm.compile(sampler=sampler)
    assert isinstance(lm.generate("alpha beta", max_length=6), str)


@pytest.mark.parametrize(
    "inputs,message",
    [
        ("", r"`inputs\[0\]` is empty"),
        ([], r"`inputs` must not be empty"),
        (None, r"must be a string or a list of strings\. Received: inputs=None"),
        (["alpha", 3], r"`inputs\[1\]` must be a string\. Received: 3 of type int"),
    ],
)
def test_bad_generate_inputs_are_named(inputs, message):
    lm = _lm(hidden_dim=16)
    lm.compile()
    with pytest.raises(ValueError, match=message):
        lm.generate(inputs)


def test_too_long_input_warns_by_how_much():
    lm = _lm(hidden_dim=16)
    lm.compile()
    with pytest.warns(
        UserWarning,
        match="Input 0 has 12 tokens; the model reads at most 8, so the last 4",
    ):
        lm.generate(" ".join(["alpha"] * 12), max_length=4)
