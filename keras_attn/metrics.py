"""Evaluation metrics for generated text: BLEU, chrF, ROUGE and distinct-n.

The scores come from the reference implementations, `sacrebleu` (BLEU,
chrF) and Google's `rouge-score` (ROUGE), with their default settings, so
they compare with published numbers. `evaluate` runs a model's `generate`
over a test set and scores the outputs.

This module needs neither Keras nor TensorFlow: it works on strings, and
`evaluate` only calls `model.generate(list_of_strings)`.
"""

from sacrebleu.metrics import BLEU
from sacrebleu.metrics import CHRF

METRICS = (
    "bleu",
    "chrf",
    "rouge1",
    "rouge2",
    "rougeL",
    "bleu1",
    "bleu2",
    "distinct1",
    "distinct2",
)

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def bleu(hypotheses, references):
    """Corpus BLEU with sacrebleu's defaults (13a tokenizer, exp smoothing).

    Args:
        hypotheses: a non-empty list of strings, the system outputs.
        references: one entry per hypothesis: a reference string, or a
            non-empty list of reference strings. Rows may have different
            numbers of references. An empty string is kept as an empty
            reference, as sacrebleu does.

    Returns:
        A float, the BLEU score from 0 to 100.

    Example:
    >>> round(bleu(["the cat sat on the mat"], [["the cat sat on the mat"]]), 2)
    100.0
    """
    return bleu_n(hypotheses, references, 4)


def bleu_n(hypotheses, references, n):
    """Cumulative corpus BLEU up to n-grams of order `n` (BLEU-1, BLEU-2...).

    The geometric mean of the 1- to `n`-gram precisions times the brevity
    penalty: sacrebleu's `BLEU(max_ngram_order=n)`, otherwise its defaults.
    `n=4` is standard BLEU.

    Args:
        hypotheses: a non-empty list of strings.
        references: as for `bleu`.
        n: int >= 1, the highest n-gram order.

    Returns:
        A float from 0 to 100.

    Example:
    >>> round(bleu_n(["the cat sat"], ["the cat sat down"], 1), 2)
    71.65
    """
    _check_order(n)
    hypotheses, references = _check_pairs(hypotheses, references)
    metric = BLEU(max_ngram_order=n)
    return float(metric.corpus_score(hypotheses, _streams(references)).score)


def chrf(hypotheses, references):
    """Corpus chrF with sacrebleu's defaults (character 6-grams, beta 2).

    With several references, each hypothesis is scored against the one
    that gives it the best chrF, as sacrebleu does.

    Args:
        hypotheses: a non-empty list of strings.
        references: as for `bleu`.

    Returns:
        A float from 0 to 100.

    Example:
    >>> chrf(["hello world"], ["hello world"])
    100.0
    """
    hypotheses, references = _check_pairs(hypotheses, references)
    return float(CHRF().corpus_score(hypotheses, _streams(references)).score)


def rouge(hypotheses, references, stemming=True):
    """ROUGE-1, ROUGE-2 and ROUGE-L F1 (Lin, 2004), averaged over rows.

    Scored with `rouge_score.rouge_scorer.RougeScorer`. With several
    references a row takes, for each ROUGE type separately, the best F1 over
    its references (the scorer's `score_multi`). The scorer's tokenizer
    lowercases and keeps only the ASCII letters and digits `[a-z0-9]`, so it
    is meant for English: other letters split words (`"está"` is `"est"`).

    Args:
        hypotheses: a non-empty list of strings.
        references: as for `bleu`.
        stemming: bool, apply the Porter stemmer (to words longer than three
            characters), as most summarization papers do.

    Returns:
        A dict `{"rouge1": ..., "rouge2": ..., "rougeL": ...}` of floats
        from 0 to 100.

    Example:
    >>> scores = rouge(["the dog runs"], [["the dog running"]])
    >>> scores["rouge1"], scores["rouge2"], scores["rougeL"]
    (100.0, 100.0, 100.0)
    """
    # Imported here: rouge-score loads nltk, which takes most of a second.
    from rouge_score import rouge_scorer

    hypotheses, references = _check_pairs(hypotheses, references)
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=bool(stemming))
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for hypothesis, row in zip(hypotheses, references, strict=True):
        # The scorer takes the reference (target) first, the prediction second.
        scores = scorer.score_multi(row, hypothesis)
        for name in ROUGE_TYPES:
            totals[name] += scores[name].fmeasure
    return {name: 100.0 * total / len(hypotheses) for name, total in totals.items()}


def distinct_n(hypotheses, n):
    """Distinct-n (Li et al., 2016): the share of n-grams that are unique.

    The number of distinct n-grams divided by the total number of n-grams
    over all hypotheses, on lowercased whitespace tokens; n-grams do not
    cross from one hypothesis to the next. A measure of diversity for
    dialogue responses; it needs no references.

    Args:
        hypotheses: a non-empty list of strings.
        n: int >= 1.

    Returns:
        A float from 0 to 1, or 0.0 when no hypothesis has `n` tokens.

    Example:
    >>> distinct_n(["I do not know", "I do not care"], 2)
    0.6666666666666666
    """
    _check_order(n)
    hypotheses = _check_hypotheses(hypotheses)
    ngrams = []
    for text in hypotheses:
        tokens = text.lower().split()
        ngrams.extend(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    if not ngrams:
        return 0.0
    return len(set(ngrams)) / len(ngrams)


def compute_metrics(hypotheses, references, metrics):
    """Computes several metrics by name.

    Args:
        hypotheses: a non-empty list of strings.
        references: as for `bleu`; may be `None` when only distinct-n is
            asked for.
        metrics: a metric name or a sequence of names from `METRICS`:
            `"bleu"`, `"chrf"`, `"rouge1"`, `"rouge2"`, `"rougeL"`
            (stemmed), `"bleu1"`, `"bleu2"`, `"distinct1"`, `"distinct2"`.
            `keras_attn.tasks.get(task).metrics` lists a task's.

    Returns:
        A dict from each name to a float. BLEU, chrF and ROUGE are from 0 to
        100, distinct-n from 0 to 1.

    Example:
    >>> scores = compute_metrics(
    ...     ["the cat sat on the mat"], ["a cat sat on the mat"], ("bleu", "chrf")
    ... )
    >>> {name: round(score, 2) for name, score in scores.items()}
    {'bleu': 75.98, 'chrf': 88.96}
    """
    names = _check_metric_names(metrics)
    hypotheses = _check_hypotheses(hypotheses)
    needs_references = [name for name in names if not name.startswith("distinct")]
    if needs_references:
        if references is None:
            raise ValueError(
                f"{needs_references} need `references`. Received: references=None"
            )
        hypotheses, references = _check_pairs(hypotheses, references)
    results = {}
    rouge_scores = None
    for name in names:
        if name == "bleu":
            results[name] = bleu(hypotheses, references)
        elif name == "chrf":
            results[name] = chrf(hypotheses, references)
        elif name in ROUGE_TYPES:
            # One pass of the scorer gives all three.
            if rouge_scores is None:
                rouge_scores = rouge(hypotheses, references)
            results[name] = rouge_scores[name]
        elif name.startswith("bleu"):
            results[name] = bleu_n(hypotheses, references, int(name[4:]))
        else:
            results[name] = distinct_n(hypotheses, int(name[8:]))
    return results


def evaluate(
    model,
    sources,
    references,
    metrics=("bleu", "chrf"),
    batch_size=64,
    **generate_kwargs,
):
    """Generates outputs for `sources` with `model` and scores them.

    Args:
        model: an object with `generate(list_of_strings, **kwargs)` that
            returns a list of strings, one per input, such as an
            `AttentionSeq2SeqLM`.
        sources: a non-empty list of input strings.
        references: one entry per source: a reference string, or a non-empty
            list of reference strings.
        metrics: names for `compute_metrics`, e.g.
            `keras_attn.tasks.get("summarization").metrics`.
        batch_size: int >= 1, how many sources go to one `generate` call.
        **generate_kwargs: passed to `model.generate`, e.g. `max_length=40`
            or `num_beams=5`.

    Returns:
        A dict: `"metrics"`, the dict from `compute_metrics`, and
        `"hypotheses"`, the generated strings in the order of `sources`.

    Example:
    >>> results = evaluate(lm, sources, targets, num_beams=5)  # doctest: +SKIP
    >>> results["metrics"]  # doctest: +SKIP
    {'bleu': 27.3, 'chrf': 51.8}
    """
    # Everything is checked before decoding, which can take long.
    names = _check_metric_names(metrics)
    sources = _check_strings("sources", sources)
    references = _check_references(references)
    if len(sources) != len(references):
        raise ValueError(
            "`sources` and `references` must have the same length. Received: "
            f"{len(sources)} sources and {len(references)} references"
        )
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or batch_size < 1
    ):
        raise ValueError(
            f"`batch_size` must be an int >= 1. Received: batch_size={batch_size!r}"
        )
    hypotheses = []
    for start in range(0, len(sources), batch_size):
        batch = sources[start : start + batch_size]
        hypotheses.extend(
            _check_outputs(model.generate(batch, **generate_kwargs), start, batch)
        )
    return {
        "metrics": compute_metrics(hypotheses, references, names),
        "hypotheses": hypotheses,
    }


def _streams(references):
    """Transposes per-row references into sacrebleu's reference streams.

    sacrebleu wants one list per reference position, each as long as the
    hypotheses. Short rows are padded with `None`, which sacrebleu drops
    from a row's references; an empty string would instead count as a real,
    empty reference and, through the brevity penalty's closest-length rule,
    could raise BLEU.
    """
    width = max(len(row) for row in references)
    return [
        [row[k] if k < len(row) else None for row in references] for k in range(width)
    ]


def _check_metric_names(metrics):
    if isinstance(metrics, str):
        metrics = (metrics,)
    if not isinstance(metrics, list | tuple):
        raise ValueError(
            f"`metrics` must be a metric name or a list of names from {METRICS}. "
            f"Received: metrics={metrics!r}"
        )
    names = tuple(metrics)
    if not names:
        raise ValueError(f"`metrics` must name at least one of {METRICS}.")
    for name in names:
        if name not in METRICS:
            raise ValueError(
                f"Unknown metric {name!r}. `metrics` must be names from {METRICS}."
            )
    return names


def _check_order(n):
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"`n` must be an int >= 1. Received: n={n!r}")


def _check_strings(name, texts):
    if isinstance(texts, str) or not isinstance(texts, list | tuple):
        raise ValueError(
            f"`{name}` must be a list of strings. Received: {name}={texts!r} of "
            f"type {type(texts).__name__}"
        )
    if not texts:
        raise ValueError(f"`{name}` must not be empty. Received: {name}=[]")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(
                f"`{name}[{i}]` must be a string. Received: {text!r} of type "
                f"{type(text).__name__}"
            )
    return list(texts)


def _check_hypotheses(hypotheses):
    return _check_strings("hypotheses", hypotheses)


def _check_references(references):
    """Returns `references` as a list of non-empty lists of strings."""
    if isinstance(references, str) or not isinstance(references, list | tuple):
        raise ValueError(
            "`references` must be a list with, per row, a string or a list of "
            f"strings. Received: references={references!r} of type "
            f"{type(references).__name__}"
        )
    if not references:
        raise ValueError("`references` must not be empty. Received: references=[]")
    rows = []
    for i, row in enumerate(references):
        if isinstance(row, str):
            rows.append([row])
            continue
        if not isinstance(row, list | tuple):
            raise ValueError(
                f"`references[{i}]` must be a string or a list of strings. "
                f"Received: {row!r} of type {type(row).__name__}"
            )
        if not row:
            raise ValueError(
                f"`references[{i}]` has no reference: every row needs at least one."
            )
        for k, text in enumerate(row):
            if not isinstance(text, str):
                raise ValueError(
                    f"`references[{i}][{k}]` must be a string. Received: {text!r} "
                    f"of type {type(text).__name__}"
                )
        rows.append(list(row))
    return rows


def _check_pairs(hypotheses, references):
    hypotheses = _check_hypotheses(hypotheses)
    references = _check_references(references)
    if len(hypotheses) != len(references):
        raise ValueError(
            "`hypotheses` and `references` must have the same length. Received: "
            f"{len(hypotheses)} hypotheses and {len(references)} references"
        )
    return hypotheses, references


def _check_outputs(outputs, start, batch):
    """Checks one batch of `generate` results: a string per input."""
    if isinstance(outputs, str) or not isinstance(outputs, list | tuple):
        raise ValueError(
            "`model.generate` must return a list of strings for a list of "
            f"inputs. Received: {outputs!r} of type {type(outputs).__name__} "
            f"for sources[{start}:{start + len(batch)}]"
        )
    if len(outputs) != len(batch):
        raise ValueError(
            f"`model.generate` returned {len(outputs)} outputs for "
            f"{len(batch)} inputs (sources[{start}:{start + len(batch)}])."
        )
    for k, text in enumerate(outputs):
        if not isinstance(text, str):
            raise ValueError(
                f"`model.generate` returned {text!r} of type "
                f"{type(text).__name__} for sources[{start + k}]; expected a "
                "string."
            )
    return list(outputs)
