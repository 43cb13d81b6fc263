"""`generate` with the decoding controls and n-best lists on a small real
model: `num_return_sequences=k` gives distinct outputs, best first, whose
scores are `score()`'s, the first being beam search's output; no output
repeats a blocked n-gram or ends before `min_length`; the coverage penalty
reads the decoding pass's attention."""

import keras
import numpy as np
import pytest

from keras_attn import samplers
from keras_attn.samplers import BeamSearchSampler
from tests.models.corpus import reversal_pairs
from tests.models.test_attention_seq2seq_lm_generate import MAX_LENGTH
from tests.models.test_attention_seq2seq_lm_generate import SOURCES
from tests.models.test_attention_seq2seq_lm_generate import word_lm

SOURCES = SOURCES[:4]


@pytest.fixture(scope="module")
def lm():
    keras.utils.set_random_seed(0)
    model = word_lm()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), sampler="greedy")
    sources, targets = reversal_pairs(240, seed=0)
    model.fit(
        {"encoder_text": sources, "decoder_text": targets},
        batch_size=40,
        epochs=2,
        verbose=0,
    )
    return model


def test_n_best_lists_are_distinct_sorted_and_scored_as_score(lm):
    alpha, k = 0.6, 3
    sampler = BeamSearchSampler(num_beams=4, length_penalty=alpha)
    outputs, scores = lm.generate(
        SOURCES,
        max_length=MAX_LENGTH,
        sampler=sampler,
        num_return_sequences=k,
        return_scores=True,
    )
    assert len(outputs) == len(SOURCES) and scores.shape == (len(SOURCES), k)
    best = lm.generate(SOURCES, max_length=MAX_LENGTH, sampler=sampler)
    for source, hypotheses, row, first in zip(
        SOURCES, outputs, scores, best, strict=True
    ):
        assert len(set(hypotheses)) == k, hypotheses
        assert list(row) == sorted(row, reverse=True)
        assert hypotheses[0] == first
        # Every hypothesis here ends with [END] within MAX_LENGTH.
        np.testing.assert_allclose(
            lm.score([source] * k, hypotheses, length_penalty=alpha), row, atol=1e-4
        )


def test_one_sequence_keeps_the_return_shapes(lm):
    sampler = BeamSearchSampler(num_beams=3)
    text = lm.generate(SOURCES[0], max_length=MAX_LENGTH, sampler=sampler)
    same, score = lm.generate(
        SOURCES[0], max_length=MAX_LENGTH, sampler=sampler, return_scores=True
    )
    assert same == text and np.ndim(score) == 0
    texts, scores, pairs = lm.generate(
        SOURCES[0],
        max_length=MAX_LENGTH,
        sampler=sampler,
        num_return_sequences=2,
        return_scores=True,
        return_alignment=True,
    )
    assert len(texts) == 2 and texts[0] == text and scores.shape == (2,)
    assert [len(p["output_tokens"]) for p in pairs] == [
        len(t.split()) + 1 for t in texts
    ]


@pytest.mark.parametrize("name", ["greedy", "beam", "top_k"])
def test_controls_hold_on_a_real_model(lm, name):
    sampler = samplers.get(name, no_repeat_ngram_size=1, min_length=4)
    if name == "top_k":
        sampler = samplers.get(name, k=4, seed=2, no_repeat_ngram_size=1, min_length=4)
    for text in lm.generate(SOURCES, max_length=MAX_LENGTH, sampler=sampler):
        words = text.split()
        assert len(words) >= 4 and len(set(words)) == len(words), text


def test_coverage_penalty_is_added_to_the_scores(lm):
    covering = BeamSearchSampler(num_beams=3, length_penalty=0.6, coverage_penalty=1.0)
    outputs, scores, pairs = lm.generate(
        SOURCES,
        max_length=MAX_LENGTH,
        sampler=covering,
        return_scores=True,
        return_alignment=True,
    )
    assert outputs == lm.generate(SOURCES, max_length=MAX_LENGTH, sampler=covering)
    log_probs = lm.score(SOURCES, outputs, length_penalty=0.6)
    for pair, score, log_prob in zip(pairs, scores, log_probs, strict=True):
        # The alignment is the pass's own; its sums give GNMT's penalty.
        coverage = np.minimum(pair["weights"].sum(0), 1.0)
        assert score == pytest.approx(log_prob + np.log(coverage).sum(), abs=1e-3)


def test_bad_requests_are_named(lm):
    with pytest.raises(ValueError, match=r"<= the sampler's num_beams \(2\)"):
        lm.generate(SOURCES, sampler=BeamSearchSampler(2), num_return_sequences=3)
    with pytest.raises(ValueError, match="need beam search.*GreedySampler"):
        lm.generate(SOURCES, sampler="greedy", num_return_sequences=2)
    with pytest.raises(ValueError, match="need beam search.*return_scores=True"):
        lm.generate(SOURCES, sampler="top_k", return_scores=True)
    with pytest.raises(ValueError, match="Received: num_return_sequences=0"):
        lm.generate(SOURCES, num_beams=2, num_return_sequences=0)
    baseline = word_lm(attention=None)
    with pytest.raises(ValueError, match="attention=None.*coverage_penalty=0.5"):
        baseline.generate(SOURCES, sampler=BeamSearchSampler(coverage_penalty=0.5))
