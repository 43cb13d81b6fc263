"""BeamSearchSampler on a toy Markov model whose best sequence is found by
enumerating every sequence: the beam finds it, never scores below greedy,
and the length penalty moves the choice as GNMT's formula says."""

import itertools

import keras
import numpy as np
import pytest
from keras import ops

from keras_attn.samplers import BeamSearchSampler
from tests.helpers import to_numpy

START, END = 2, 1
VOCAB = 4
STEPS = 4  # tokens generated after [START]


def markov_next(table):
    """A `next` whose logits depend only on the previous token."""
    table = ops.convert_to_tensor(np.log(table).astype("float32"))

    def next(prompt, cache, index):
        previous = ops.take(prompt, index - 1, axis=1)
        return ops.take(table, previous, axis=0), None, cache

    return next


def run(sampler, table, batch=1):
    prompt = np.zeros((batch, STEPS + 1), "int32")
    prompt[:, 0] = START
    mask = np.zeros_like(prompt, bool)
    mask[:, 0] = True
    dummy_cache = (ops.zeros((batch, 1)),)
    return to_numpy(
        sampler(
            next=markov_next(table),
            prompt=ops.convert_to_tensor(prompt),
            cache=dummy_cache,
            index=1,
            mask=ops.convert_to_tensor(mask),
            stop_token_ids=[END],
        )
    )


def generated(sequence):
    """The generated tokens, up to and including the first [END]."""
    tokens = []
    for token in sequence[1:]:
        tokens.append(int(token))
        if token == END:
            break
    return tokens


def gnmt_score(table, tokens, alpha):
    log_prob, previous = 0.0, START
    for token in tokens:
        log_prob += np.log(table[previous, token])
        previous = token
    return log_prob / ((5 + len(tokens)) / 6) ** alpha


def best_by_enumeration(table, alpha):
    candidates = set()
    for sequence in itertools.product(range(VOCAB), repeat=STEPS):
        candidates.add(tuple(generated([START, *sequence])))
    return max(candidates, key=lambda tokens: gnmt_score(table, tokens, alpha))


def random_table(seed):
    rng = np.random.default_rng(seed)
    table = rng.dirichlet(np.ones(VOCAB) * 0.7, size=VOCAB)
    return table.astype("float64")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("alpha", [0.0, 0.6, 2.0])
def test_wide_beam_finds_the_enumerated_optimum(seed, alpha):
    table = random_table(seed)
    found = generated(
        run(BeamSearchSampler(num_beams=VOCAB**STEPS, length_penalty=alpha), table)[0]
    )
    want = best_by_enumeration(table, alpha)
    assert gnmt_score(table, found, alpha) == pytest.approx(
        gnmt_score(table, want, alpha), abs=1e-5
    )


@pytest.mark.parametrize("seed", range(10))
def test_never_scores_below_greedy(seed):
    table = random_table(100 + seed)
    greedy = generated(
        run(BeamSearchSampler(num_beams=1, length_penalty=0.0), table)[0]
    )
    # Greedy by hand: the argmax of the row of the previous token.
    previous, by_hand = START, []
    for _ in range(STEPS):
        previous = int(np.argmax(table[previous]))
        by_hand.append(previous)
        if previous == END:
            break
    assert greedy == by_hand
    for beams in (2, 3):
        found = generated(
            run(BeamSearchSampler(num_beams=beams, length_penalty=0.6), table)[0]
        )
        assert gnmt_score(table, found, 0.6) >= gnmt_score(table, by_hand, 0.6) - 1e-6


def test_length_penalty_trades_short_for_long():
    # From [START], ending at once costs log(0.5); continuing costs a little
    # at each step. The raw log-probability prefers the short output; a
    # strong length penalty prefers the long one.
    table = np.full((VOCAB, VOCAB), 1e-6)
    table[START] = [1e-6, 0.5, 1e-6, 0.5]
    table[3] = [1e-6, 0.05, 1e-6, 0.95]
    table[0] = [1e-6, 1.0, 1e-6, 1e-6]
    table /= table.sum(1, keepdims=True)
    short = generated(run(BeamSearchSampler(num_beams=4, length_penalty=0.0), table)[0])
    long = generated(run(BeamSearchSampler(num_beams=4, length_penalty=3.0), table)[0])
    assert short == [END]
    assert len(long) == STEPS and long[0] == 3


def test_rows_of_a_batch_are_independent():
    table = random_table(7)
    single = run(BeamSearchSampler(num_beams=3), table)
    batched = run(BeamSearchSampler(num_beams=3), table, batch=3)
    for row in batched:
        np.testing.assert_array_equal(row, single[0])


def test_bad_arguments_and_config():
    with pytest.raises(ValueError, match="Received: num_beams=0"):
        BeamSearchSampler(num_beams=0)
    with pytest.raises(ValueError, match="Received: length_penalty=-1"):
        BeamSearchSampler(length_penalty=-1)
    sampler = BeamSearchSampler(num_beams=3, length_penalty=1.0, temperature=0.5)
    clone = BeamSearchSampler.from_config(sampler.get_config())
    assert clone.get_config() == sampler.get_config()
    assert (
        keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(sampler)
        ).num_beams
        == 3
    )
