"""Metrics: each score equals sacrebleu's or rouge-score's, called here
directly on hand-written reference streams; distinct-n is worked out by
hand; `evaluate` batches a model's `generate`; bad inputs are named."""

import math
import subprocess
import sys
from pathlib import Path

import pytest
import sacrebleu
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU
from sacrebleu.metrics import CHRF

from keras_attn import metrics

HYPOTHESES = [
    "the cat sat on the mat today",
    "a dog runs in the park",
    "dog",
    "where is the station?",
]
# Ragged: 2, 1, 3 and 2 references.
REFERENCES = [
    ["the cat sat on the mat", "a cat was sitting on the mat"],
    ["a dog is running in the park"],
    ["the dog barks", "a dog", "dogs bark loudly"],
    ["where is the station ?", "Where's the station?"],
]
# The same references as sacrebleu's streams, written out by hand: stream k
# holds every row's k-th reference, None where a row has fewer.
STREAMS = [
    [
        "the cat sat on the mat",
        "a dog is running in the park",
        "the dog barks",
        "where is the station ?",
    ],
    ["a cat was sitting on the mat", None, "a dog", "Where's the station?"],
    [None, None, "dogs bark loudly", None],
]

ROUGE_TYPES = ["rouge1", "rouge2", "rougeL"]


# === BLEU ===


def test_bleu_single_reference_matches_sacrebleu():
    references = [
        "the cat sat on the mat",
        "a dog is running in the park",
        "a dog",
        "where is the station ?",
    ]
    expected = BLEU().corpus_score(HYPOTHESES, [references]).score
    assert metrics.bleu(HYPOTHESES, [[r] for r in references]) == expected
    # A plain string per row is one reference.
    assert metrics.bleu(HYPOTHESES, references) == expected
    # The old functional API gives the same with its defaults.
    assert expected == sacrebleu.corpus_bleu(HYPOTHESES, [references]).score
    # The data exercises the default 13a tokenizer ("station?" is split).
    assert (
        expected != BLEU(tokenize="none").corpus_score(HYPOTHESES, [references]).score
    )
    assert 0.0 < expected < 100.0


def test_bleu_ragged_references_match_sacrebleu_with_none_padding():
    assert (
        metrics.bleu(HYPOTHESES, REFERENCES)
        == BLEU().corpus_score(HYPOTHESES, STREAMS).score
    )


def test_bleu_pads_with_none_not_empty_strings():
    # sacrebleu drops None from a row's references but keeps "" as an empty
    # reference, whose length 0 ties as "closest" to a 1-word hypothesis and
    # switches off the brevity penalty: padding with "" would be wrong.
    hypotheses = ["the cat sat on the mat", "dog"]
    references = [["the cat sat on the mat", "the cat"], ["a dog barks"]]
    with_none = (
        BLEU()
        .corpus_score(
            hypotheses, [["the cat sat on the mat", "a dog barks"], ["the cat", None]]
        )
        .score
    )
    with_empty = (
        BLEU()
        .corpus_score(
            hypotheses, [["the cat sat on the mat", "a dog barks"], ["the cat", ""]]
        )
        .score
    )
    assert with_none != pytest.approx(with_empty)
    assert metrics.bleu(hypotheses, references) == with_none
    # The brevity penalty by hand: 7 hypothesis words, closest references
    # 6 + 3 = 9 words, all n-grams matched.
    assert with_none == pytest.approx(100 * math.exp(1 - 9 / 7))


def test_bleu_same_number_of_references_matches_sacrebleu():
    references = [
        ["the cat sat on the mat", "a cat sat on a mat"],
        ["a dog is running in the park", "the dog runs in a park"],
        ["a dog", "the dog"],
        ["where is the station ?", "which way to the station?"],
    ]
    streams = [[row[0] for row in references], [row[1] for row in references]]
    expected = BLEU().corpus_score(HYPOTHESES, streams).score
    assert metrics.bleu(HYPOTHESES, references) == expected


def test_bleu_of_a_perfect_hypothesis_is_100():
    texts = ["the cat sat on the mat .", "Where is the station?"]
    assert metrics.bleu(texts, texts) == pytest.approx(100.0)
    assert metrics.bleu(texts, [[t, "something else entirely"] for t in texts]) == (
        pytest.approx(100.0)
    )


def test_bleu_n_matches_sacrebleu_max_ngram_order():
    for n in (1, 2, 3):
        expected = BLEU(max_ngram_order=n).corpus_score(HYPOTHESES, STREAMS).score
        assert metrics.bleu_n(HYPOTHESES, REFERENCES, n) == expected
    assert metrics.bleu_n(HYPOTHESES, REFERENCES, 4) == metrics.bleu(
        HYPOTHESES, REFERENCES
    )
    # BLEU-1 by hand: every word matches, brevity penalty exp(1 - 4 / 3).
    assert metrics.bleu_n(["the cat sat"], ["the cat sat down"], 1) == (
        pytest.approx(100 * math.exp(1 - 4 / 3))
    )
    # BLEU-2 by hand: unigrams 3/4, bigrams 1/3, no brevity penalty.
    assert metrics.bleu_n(["the cat ran away"], ["the cat sat away"], 2) == (
        pytest.approx(100 * math.sqrt(3 / 4 * 1 / 3))
    )


# === chrF ===


def test_chrf_matches_sacrebleu():
    references = [row[0] for row in REFERENCES]
    assert metrics.chrf(HYPOTHESES, references) == (
        CHRF().corpus_score(HYPOTHESES, [references]).score
    )
    assert metrics.chrf(HYPOTHESES, REFERENCES) == (
        CHRF().corpus_score(HYPOTHESES, STREAMS).score
    )
    assert metrics.chrf(["hello world"], ["hello world"]) == pytest.approx(100.0)


# === ROUGE ===


def test_rouge_single_reference_matches_rouge_score():
    scorer = rouge_scorer.RougeScorer(ROUGE_TYPES, use_stemmer=True)
    references = [row[0] for row in REFERENCES]
    rows = [scorer.score(r, h) for h, r in zip(HYPOTHESES, references, strict=True)]
    scores = metrics.rouge(HYPOTHESES, references)
    assert set(scores) == set(ROUGE_TYPES)
    for name in ROUGE_TYPES:
        expected = 100 * sum(row[name].fmeasure for row in rows) / len(rows)
        assert scores[name] == pytest.approx(expected, abs=1e-12)


def test_rouge_multiple_references_take_the_best_per_type():
    scorer = rouge_scorer.RougeScorer(ROUGE_TYPES, use_stemmer=True)
    scores = metrics.rouge(HYPOTHESES, REFERENCES)
    for name in ROUGE_TYPES:
        best = [
            max(scorer.score(r, h)[name].fmeasure for r in row)
            for h, row in zip(HYPOTHESES, REFERENCES, strict=True)
        ]
        assert scores[name] == pytest.approx(100 * sum(best) / len(best), abs=1e-12)


def test_rouge_stemming():
    hypotheses, references = ["the dog runs"], [["the dog running"]]
    stemmed = metrics.rouge(hypotheses, references)
    assert stemmed == pytest.approx(dict.fromkeys(ROUGE_TYPES, 100.0))
    plain = metrics.rouge(hypotheses, references, stemming=False)
    scorer = rouge_scorer.RougeScorer(ROUGE_TYPES, use_stemmer=False)
    expected = scorer.score("the dog running", "the dog runs")
    for name in ROUGE_TYPES:
        assert plain[name] == pytest.approx(100 * expected[name].fmeasure)
    # By hand: 2 of 3 words and 1 of 2 bigrams match.
    assert plain["rouge1"] == pytest.approx(100 * 2 / 3)
    assert plain["rouge2"] == pytest.approx(50.0)


def test_rouge_aeslc_like_rows_of_one_or_four_references():
    hypotheses = ["meeting moved to friday", "budget review", "lunch plans"]
    references = [
        ["meeting rescheduled to friday"],
        ["budget review", "q3 budget", "review of the budget", "budget meeting"],
        ["team lunch"],
    ]
    scorer = rouge_scorer.RougeScorer(ROUGE_TYPES, use_stemmer=True)
    pairs = zip(hypotheses, references, strict=True)
    rows = [scorer.score_multi(r, h) for h, r in pairs]
    scores = metrics.rouge(hypotheses, references)
    for name in ROUGE_TYPES:
        expected = 100 * sum(row[name].fmeasure for row in rows) / 3
        assert scores[name] == pytest.approx(expected, abs=1e-12)


# === distinct-n ===


def test_distinct_n_by_hand():
    hypotheses = ["I do not know", "i do NOT care", ""]
    # Unigrams: i do not know i do not care: 8, of which 5 distinct.
    assert metrics.distinct_n(hypotheses, 1) == pytest.approx(5 / 8)
    # Bigrams: (i do) (do not) (not know) (i do) (do not) (not care): 6, 4
    # distinct; none spans two hypotheses.
    assert metrics.distinct_n(hypotheses, 2) == pytest.approx(4 / 6)
    assert metrics.distinct_n(["a b", "c d"], 2) == 1.0
    # Tokens are split on whitespace only: "know." is not "know".
    assert metrics.distinct_n(["know know."], 1) == 1.0
    assert metrics.distinct_n(["yes yes yes"], 1) == pytest.approx(1 / 3)


def test_distinct_n_without_ngrams_is_zero():
    assert metrics.distinct_n(["one two", ""], 3) == 0.0
    assert metrics.distinct_n(["", "   "], 1) == 0.0


# === compute_metrics ===


def test_compute_metrics_every_name():
    results = metrics.compute_metrics(HYPOTHESES, REFERENCES, metrics.METRICS)
    assert list(results) == list(metrics.METRICS)
    assert all(isinstance(value, float) for value in results.values())
    rouge = metrics.rouge(HYPOTHESES, REFERENCES)
    assert results == {
        "bleu": metrics.bleu(HYPOTHESES, REFERENCES),
        "chrf": metrics.chrf(HYPOTHESES, REFERENCES),
        "rouge1": rouge["rouge1"],
        "rouge2": rouge["rouge2"],
        "rougeL": rouge["rougeL"],
        "bleu1": metrics.bleu_n(HYPOTHESES, REFERENCES, 1),
        "bleu2": metrics.bleu_n(HYPOTHESES, REFERENCES, 2),
        "distinct1": metrics.distinct_n(HYPOTHESES, 1),
        "distinct2": metrics.distinct_n(HYPOTHESES, 2),
    }


def test_metrics_hold_nothing_task_specific():
    # A task's metrics are keras_attn.tasks.get(name).metrics (tests/test_tasks.py).
    assert not hasattr(metrics, "TASK_METRICS")


def test_compute_metrics_one_name_and_no_references_for_distinct():
    assert metrics.compute_metrics(HYPOTHESES, REFERENCES, "chrf") == {
        "chrf": metrics.chrf(HYPOTHESES, REFERENCES)
    }
    assert metrics.compute_metrics(HYPOTHESES, None, ("distinct1",)) == {
        "distinct1": metrics.distinct_n(HYPOTHESES, 1)
    }
    with pytest.raises(ValueError, match=r"\['bleu'\] need `references`"):
        metrics.compute_metrics(HYPOTHESES, None, ("bleu", "distinct1"))


def test_compute_metrics_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown metric 'meteor'") as info:
        metrics.compute_metrics(HYPOTHESES, REFERENCES, ("bleu", "meteor"))
    for name in metrics.METRICS:
        assert repr(name) in str(info.value)
    with pytest.raises(ValueError, match="at least one"):
        metrics.compute_metrics(HYPOTHESES, REFERENCES, ())
    with pytest.raises(ValueError, match="metric name or a list"):
        metrics.compute_metrics(HYPOTHESES, REFERENCES, None)


# === evaluate ===


class UppercaseModel:
    """Stands in for a seq2seq model: evaluate only calls generate()."""

    def __init__(self):
        self.calls = []

    def generate(self, texts, **kwargs):
        self.calls.append((list(texts), kwargs))
        return [text.upper() for text in texts]


SOURCES = ["the cat sat", "a dog", "hello world", "where is it", "fine"]
TARGETS = ["THE CAT SAT", "A DOG", "HELLO THERE WORLD", "WHERE IS IT ?", "FINE"]


def test_evaluate_batches_and_scores():
    model = UppercaseModel()
    results = metrics.evaluate(
        model,
        SOURCES,
        TARGETS,
        metrics=("bleu", "chrf", "distinct1"),
        batch_size=2,
        max_length=7,
        num_beams=3,
    )
    assert [batch for batch, _ in model.calls] == [
        SOURCES[0:2],
        SOURCES[2:4],
        SOURCES[4:5],
    ]
    assert all(kwargs == {"max_length": 7, "num_beams": 3} for _, kwargs in model.calls)
    hypotheses = [text.upper() for text in SOURCES]
    assert results["hypotheses"] == hypotheses
    assert results["metrics"] == {
        "bleu": BLEU().corpus_score(hypotheses, [TARGETS]).score,
        "chrf": CHRF().corpus_score(hypotheses, [TARGETS]).score,
        "distinct1": metrics.distinct_n(hypotheses, 1),
    }


def test_evaluate_one_batch_default_metrics_and_lists_of_references():
    model = UppercaseModel()
    references = [[target, "SOMETHING ELSE"] for target in TARGETS]
    results = metrics.evaluate(model, tuple(SOURCES), references)
    assert len(model.calls) == 1
    assert model.calls[0] == (SOURCES, {})
    assert set(results["metrics"]) == {"bleu", "chrf"}
    streams = [TARGETS, ["SOMETHING ELSE"] * len(TARGETS)]
    assert results["metrics"]["bleu"] == (
        BLEU().corpus_score(results["hypotheses"], streams).score
    )


def test_evaluate_batch_size_of_one():
    model = UppercaseModel()
    results = metrics.evaluate(model, SOURCES, TARGETS, batch_size=1)
    assert [batch for batch, _ in model.calls] == [[s] for s in SOURCES]
    assert results["hypotheses"] == [s.upper() for s in SOURCES]


@pytest.mark.parametrize(
    ("sources", "references", "kwargs", "message"),
    [
        (SOURCES, TARGETS[:3], {}, "5 sources and 3 references"),
        ([], [], {}, r"`sources` must not be empty"),
        ("the cat sat", "THE CAT SAT", {}, "`sources` must be a list of strings"),
        (["ok", 3], ["OK", "3"], {}, r"`sources\[1\]` must be a string"),
        (["ok"], [["OK", None]], {}, r"`references\[0\]\[1\]` must be a string"),
        (["ok"], [[]], {}, r"`references\[0\]` has no reference"),
        (["ok"], [3], {}, r"`references\[0\]` must be a string or a list"),
        (["ok"], [], {}, "`references` must not be empty"),
        (["ok"], ["OK"], {"batch_size": 0}, "batch_size=0"),
        (["ok"], ["OK"], {"batch_size": 1.5}, "batch_size=1.5"),
        (["ok"], ["OK"], {"batch_size": True}, "batch_size=True"),
        (["ok"], ["OK"], {"metrics": ("bleu", "blue")}, "Unknown metric 'blue'"),
    ],
)
def test_evaluate_rejects_bad_inputs_before_generating(
    sources, references, kwargs, message
):
    model = UppercaseModel()
    with pytest.raises(ValueError, match=message):
        metrics.evaluate(model, sources, references, **kwargs)
    assert model.calls == []


class ScriptedModel:
    """A model whose generate returns what `outputs(texts)` returns."""

    def __init__(self, outputs):
        self.outputs = outputs

    def generate(self, texts, **kwargs):
        return self.outputs(texts)


def test_evaluate_checks_what_generate_returns():
    sources = ["a", "b", "c", "d"]
    model = ScriptedModel(lambda texts: texts[0])
    with pytest.raises(ValueError, match="must return a list of strings"):
        metrics.evaluate(model, sources, sources, batch_size=2)
    # The first batch is fine; the second is short by one.
    model = ScriptedModel(lambda texts: texts if "a" in texts else texts[:-1])
    with pytest.raises(ValueError, match=r"1 outputs for 2 inputs \(sources\[2:4\]"):
        metrics.evaluate(model, sources, sources, batch_size=2)
    model = ScriptedModel(lambda texts: [None if t == "c" else t for t in texts])
    with pytest.raises(ValueError, match=r"returned None .* for sources\[2\]"):
        metrics.evaluate(model, sources, sources, batch_size=3)


# === Bad inputs to the metrics ===

SCORERS = {
    "bleu": metrics.bleu,
    "chrf": metrics.chrf,
    "rouge": metrics.rouge,
    "bleu_n": lambda h, r: metrics.bleu_n(h, r, 2),
    "compute_metrics": lambda h, r: metrics.compute_metrics(h, r, metrics.METRICS),
}


@pytest.mark.parametrize("scorer", list(SCORERS.values()), ids=list(SCORERS))
@pytest.mark.parametrize(
    ("hypotheses", "references", "message"),
    [
        ([], [], "`hypotheses` must not be empty"),
        (["a b", "c d"], ["a b"], "2 hypotheses and 1 references"),
        (["a b"], ["a b", "c d"], "1 hypotheses and 2 references"),
        (["a b", None], ["a b", "c"], r"`hypotheses\[1\]` must be a string"),
        (["a b", b"c"], ["a b", "c"], r"`hypotheses\[1\]` must be a string"),
        ("a b", ["a b"], "`hypotheses` must be a list of strings"),
        (["a b"], "a b", "`references` must be a list"),
        (["a b"], [[]], r"`references\[0\]` has no reference"),
        (["a b"], [["a", 1]], r"`references\[0\]\[1\]` must be a string"),
    ],
)
def test_bad_inputs_are_named(scorer, hypotheses, references, message):
    with pytest.raises(ValueError, match=message):
        scorer(hypotheses, references)


@pytest.mark.parametrize("n", [0, -1, 1.0, "2", True])
def test_bad_ngram_orders(n):
    with pytest.raises(ValueError, match="`n` must be an int >= 1"):
        metrics.distinct_n(["a b"], n)
    with pytest.raises(ValueError, match="`n` must be an int >= 1"):
        metrics.bleu_n(["a b"], ["a b"], n)


def test_distinct_n_bad_hypotheses():
    with pytest.raises(ValueError, match="`hypotheses` must not be empty"):
        metrics.distinct_n([], 1)
    with pytest.raises(ValueError, match=r"`hypotheses\[0\]` must be a string"):
        metrics.distinct_n([["a", "b"]], 1)


# === Imports ===


def test_module_imports_neither_keras_nor_tensorflow():
    path = Path(metrics.__file__)
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('m', {str(path)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "module.rouge(['a b'], ['a b'])\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'jax', 'torch') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_docstring_examples():
    import doctest

    failed, attempted = doctest.testmod(metrics)
    assert attempted > 0
    assert failed == 0
