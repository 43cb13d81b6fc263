"""The decoding controls (n-gram blocking, minimum length, CTRL's repetition
penalty, GNMT's coverage penalty) and beam search's n-best lists, on toy
Markov models: what the formulas say, checked against NumPy and against
enumerating every sequence."""

import itertools

import numpy as np
import pytest
from keras import ops

from keras_attn import samplers
from keras_attn.samplers import BeamSearchSampler
from keras_attn.samplers import GreedySampler
from tests.helpers import to_numpy
from tests.testing.harness import run_serialization_test

START, END = 2, 1
OFFSET = 2.0  # added to the log-probabilities: positive and negative logits


def markov_next(logits):
    """A `next` whose logits depend only on the previous token."""
    logits = ops.convert_to_tensor(np.asarray(logits, "float32"))

    def next(prompt, cache, index):
        previous = ops.take(prompt, index - 1, axis=1)
        return ops.take(logits, previous, axis=0), None, cache

    return next


def decode(sampler, logits, steps, batch=1, prompt_length=1, **kwargs):
    """Runs `sampler` from a prompt of `[START]` (and `prompt_length - 1`
    more prompt tokens, 0); returns the `(batch, 1 + steps)` tokens."""
    prompt = np.zeros((batch, prompt_length + steps), "int32")
    prompt[:, 0] = START
    mask = np.zeros_like(prompt, bool)
    mask[:, :prompt_length] = True
    call = sampler.search if kwargs else sampler
    result = call(
        next=markov_next(logits),
        prompt=ops.convert_to_tensor(prompt),
        cache=(ops.zeros((batch, 1)),),
        index=prompt_length,
        mask=ops.convert_to_tensor(mask),
        stop_token_ids=[END],
        **kwargs,
    )
    return to_numpy(result) if not kwargs else result


def generated(sequence, prompt_length=1):
    """The generated tokens, up to and including the first [END]."""
    tokens = []
    for token in sequence[prompt_length:]:
        tokens.append(int(token))
        if token == END:
            break
    return tuple(tokens)


def has_repeated_ngram(tokens, n):
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(grams) != len(set(grams))


def looping_logits(vocab=8):
    """Prefers 3 4 3 4 ...; [END] is unlikely."""
    table = np.full((vocab, vocab), 0.02)
    table[:, 3] = 0.6
    table[3, 3], table[3, 4] = 0.02, 0.6
    table[:, END] = 0.01
    table /= table.sum(1, keepdims=True)
    return np.log(table) + OFFSET


SAMPLERS = {
    "greedy": lambda **c: GreedySampler(**c),
    "beam": lambda **c: BeamSearchSampler(num_beams=3, **c),
    "top_k": lambda **c: samplers.get("top_k", k=3, seed=5, **c),
    "top_p": lambda **c: samplers.get("top_p", p=0.9, seed=5, **c),
    "random": lambda **c: samplers.get("random", seed=5, **c),
}


@pytest.mark.parametrize("name", SAMPLERS)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_no_output_repeats_an_ngram(name, n):
    logits = looping_logits()
    steps = 6
    plain = decode(SAMPLERS[name](), logits, steps, batch=3)
    if name in ("greedy", "beam"):
        assert has_repeated_ngram(generated(plain[0]), n)  # built to repeat
    blocked = decode(SAMPLERS[name](no_repeat_ngram_size=n), logits, steps, batch=3)
    for row in blocked:
        assert not has_repeated_ngram(generated(row), n), row


def test_ngrams_ignore_the_prompt():
    # The prompt [START] 0 0 ends with the bigram (0, 0); greedy may still
    # generate it, and the prompt's tokens are never banned as 1-grams.
    logits = np.log(np.full((5, 5), 0.01) + np.eye(5)[[0, 0, 0, 0, 0]]) + OFFSET
    tokens = decode(GreedySampler(no_repeat_ngram_size=1), logits, 3, prompt_length=3)
    assert generated(tokens[0], prompt_length=3)[0] == 0


@pytest.mark.parametrize("name", SAMPLERS)
@pytest.mark.parametrize("m", [1, 3])
def test_no_output_ends_before_min_length(name, m):
    table = np.full((5, 5), 0.1)
    table[:, END] = 0.6  # ending at once is the most probable
    logits = np.log(table / table.sum(1, keepdims=True))
    plain = decode(SAMPLERS[name](), logits, 5, batch=4)
    if name in ("greedy", "beam"):
        assert generated(plain[0]) == (END,)
    for row in decode(SAMPLERS[name](min_length=m), logits, 5, batch=4):
        tokens = generated(row)
        assert END not in tokens[:m], row
    if name == "greedy":  # then it ends as soon as it may
        row = decode(GreedySampler(min_length=m), logits, 5)[0]
        assert len(generated(row)) == m + 1


def random_logits(seed, vocab=4):
    rng = np.random.default_rng(seed)
    table = rng.dirichlet(np.ones(vocab) * 0.7, size=vocab)
    return np.log(table) + OFFSET


def ctrl(logits, seen, theta):
    """CTRL's penalty (Keskar et al., 2019) on a row of logits."""
    logits = logits.copy()
    for token in set(seen):
        value = logits[token]
        logits[token] = value / theta if value > 0 else value * theta
    return logits


def log_softmax(x):
    x = x - x.max()
    return x - np.log(np.exp(x).sum())


def enumerate_scores(logits, steps, alpha, theta=1.0, attention=None, beta=0.0):
    """Every distinct output and its score, from the formulas: the
    log-probability under CTRL's penalty over GNMT's length penalty, plus
    GNMT's coverage penalty from the toy's attention table."""
    vocab = logits.shape[0]
    scores = {}
    for sequence in itertools.product(range(vocab), repeat=steps):
        tokens = generated([START, *sequence])
        if tokens in scores:
            continue
        log_prob, previous, coverage = 0.0, START, 0.0
        for i, token in enumerate(tokens):
            row = ctrl(logits[previous], tokens[:i], theta)
            log_prob += log_softmax(row)[token]
            if attention is not None:
                coverage = coverage + attention[previous]
            previous = token
        score = log_prob / ((5 + len(tokens)) / 6) ** alpha
        if attention is not None:
            score += beta * np.log(np.minimum(coverage, 1.0)).sum()
        scores[tokens] = score
    return scores


@pytest.mark.parametrize("seed", range(4))
def test_greedy_repetition_penalty_follows_ctrl(seed):
    logits = random_logits(seed)
    for theta in (1.0, 1.8, 4.0):
        previous, by_hand = START, []
        for _ in range(6):
            previous = int(np.argmax(ctrl(logits[previous], by_hand, theta)))
            by_hand.append(previous)
            if previous == END:
                break
        sampler = GreedySampler(repetition_penalty=theta)
        assert generated(decode(sampler, logits, 6)[0]) == tuple(by_hand)


def test_repetition_penalty_changes_the_beam_as_the_formula_says():
    steps, alpha, changed = 4, 0.6, 0
    # Tables where the penalty moves the optimum (found by enumeration).
    for seed in (15, 16, 26, 32):
        logits = random_logits(seed)
        best = {}
        for theta in (1.0, 3.0):
            sampler = BeamSearchSampler(
                num_beams=4**steps, length_penalty=alpha, repetition_penalty=theta
            )
            found = generated(decode(sampler, logits, steps)[0])
            scores = enumerate_scores(logits, steps, alpha, theta=theta)
            assert scores[found] == pytest.approx(max(scores.values()), abs=1e-4)
            best[theta] = found
        changed += best[1.0] != best[3.0]
    assert changed == 4


def coverage_next(logits, attention):
    """A toy whose cache sums a per-token attention table over the steps."""
    logits = ops.convert_to_tensor(np.asarray(logits, "float32"))
    attention = ops.convert_to_tensor(np.asarray(attention, "float32"))

    def next(prompt, cache, index):
        previous = ops.take(prompt, index - 1, axis=1)
        return (
            ops.take(logits, previous, axis=0),
            None,
            cache + ops.take(attention, previous, axis=0),
        )

    return next


def beam_with_coverage(sampler, logits, attention, steps, **kwargs):
    prompt = np.zeros((1, 1 + steps), "int32")
    prompt[:, 0] = START
    return sampler.search(
        next=coverage_next(logits, attention),
        prompt=ops.convert_to_tensor(prompt),
        cache=ops.zeros((1, attention.shape[1])),
        index=1,
        stop_token_ids=[END],
        attention_coverage=lambda cache: cache,
        return_scores=True,
        **kwargs,
    )


def test_coverage_penalty_changes_the_beam_as_gnmt_says():
    steps, alpha, changed = 4, 0.6, 0
    for seed in range(5):
        rng = np.random.default_rng(50 + seed)
        logits = random_logits(50 + seed)
        attention = rng.dirichlet(np.ones(3) * 0.5, size=4)
        best = {}
        for beta in (0.0, 2.0):
            sampler = BeamSearchSampler(
                num_beams=4**steps, length_penalty=alpha, coverage_penalty=beta
            )
            tokens, _, score = beam_with_coverage(sampler, logits, attention, steps)
            found = generated(to_numpy(tokens)[0])
            scores = enumerate_scores(
                logits, steps, alpha, attention=attention, beta=beta
            )
            assert scores[found] == pytest.approx(max(scores.values()), abs=1e-4)
            assert float(to_numpy(score)[0]) == pytest.approx(scores[found], abs=1e-4)
            best[beta] = found
        changed += best[0.0] != best[2.0]
    assert changed


@pytest.mark.parametrize("seed", range(3))
def test_n_best_is_the_enumerated_top_k(seed):
    steps, alpha, k = 4, 0.6, 5
    logits = random_logits(30 + seed)
    sampler = BeamSearchSampler(num_beams=4**steps, length_penalty=alpha)
    tokens, _, scores = decode(
        sampler, logits, steps, num_return_sequences=k, return_scores=True
    )
    tokens, scores = to_numpy(tokens)[0], to_numpy(scores)[0]
    reference = enumerate_scores(logits, steps, alpha)
    want = sorted(reference.values(), reverse=True)[:k]
    np.testing.assert_allclose(scores, want, atol=1e-4)
    for row, score in zip(tokens, scores, strict=True):
        assert reference[generated(row)] == pytest.approx(score, abs=1e-4)
    assert generated(tokens[0]) == generated(decode(sampler, logits, steps)[0])


@pytest.mark.parametrize("seed", range(4))
def test_n_best_of_a_narrow_beam_is_distinct_and_sorted(seed):
    steps, beams = 5, 3
    logits = random_logits(40 + seed, vocab=5)
    sampler = BeamSearchSampler(num_beams=beams, length_penalty=1.0)
    tokens, _, scores = decode(
        sampler, logits, steps, batch=2, num_return_sequences=beams, return_scores=True
    )
    tokens, scores = to_numpy(tokens), to_numpy(scores)
    assert tokens.shape == (2, beams, 1 + steps) and scores.shape == (2, beams)
    reference = enumerate_scores(logits, steps, 1.0)
    for rows, row_scores in zip(tokens, scores, strict=True):
        outputs = [generated(row) for row in rows]
        assert len(set(outputs)) == beams, outputs
        assert list(row_scores) == sorted(row_scores, reverse=True)
        for output, score in zip(outputs, row_scores, strict=True):
            assert reference[output] == pytest.approx(score, abs=1e-4)
    best = decode(sampler, logits, steps)
    assert generated(tokens[0, 0]) == generated(best[0])


def test_one_sequence_keeps_the_shapes():
    sampler = BeamSearchSampler(num_beams=2)
    tokens, cache, scores = decode(sampler, random_logits(0), 3, return_scores=True)
    assert ops.shape(tokens) == (1, 4) and ops.shape(scores) == (1,)
    assert ops.shape(cache[0]) == (1, 1)


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: GreedySampler(no_repeat_ngram_size=-1), "no_repeat_ngram_size=-1"),
        (lambda: GreedySampler(no_repeat_ngram_size=True), "no_repeat_ngram_size=True"),
        (lambda: GreedySampler(min_length=2.5), r"min_length=2\.5"),
        (lambda: samplers.TopKSampler(repetition_penalty=0.0), "repetition_penalty=0"),
        (lambda: samplers.TopPSampler(repetition_penalty="2"), "penalty='2'"),
        (lambda: samplers.RandomSampler(min_length=-3), "min_length=-3"),
        (lambda: BeamSearchSampler(coverage_penalty=-1.0), "coverage_penalty=-1"),
        (lambda: BeamSearchSampler(coverage_penalty=float("nan")), "coverage_pen"),
        (lambda: BeamSearchSampler(repetition_penalty=-2), "repetition_penalty=-2"),
    ],
)
def test_bad_controls_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_search_arguments_are_named():
    sampler = BeamSearchSampler(num_beams=2)
    with pytest.raises(ValueError, match=r"<= num_beams \(2\)\. .*sequences=3"):
        decode(sampler, random_logits(0), 3, num_return_sequences=3)
    with pytest.raises(ValueError, match="Received: num_return_sequences=0"):
        decode(sampler, random_logits(0), 3, num_return_sequences=0)
    covering = BeamSearchSampler(num_beams=2, coverage_penalty=0.2)
    with pytest.raises(ValueError, match="attention_coverage=None"):
        decode(covering, random_logits(0), 3, return_scores=True)


CONTROLS = {"no_repeat_ngram_size": 3, "min_length": 2, "repetition_penalty": 1.2}


@pytest.mark.parametrize(
    "sampler",
    [
        GreedySampler(**CONTROLS),
        BeamSearchSampler(num_beams=3, coverage_penalty=0.2, **CONTROLS),
        samplers.TopKSampler(k=4, seed=1, **CONTROLS),
        samplers.TopPSampler(p=0.5, seed=1, **CONTROLS),
        samplers.RandomSampler(temperature=0.7, **CONTROLS),
    ],
    ids=lambda sampler: type(sampler).__name__,
)
def test_controls_round_trip(sampler):
    revived = run_serialization_test(sampler)
    for name, value in CONTROLS.items():
        assert getattr(revived, name) == value
