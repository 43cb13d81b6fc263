"""`sample_with_cache`: the tokens `sampler(...)` gives, plus the cache of
the sequence it returned (for beam search, the returned hypothesis's)."""

import keras_hub
import numpy as np
import pytest
from keras import ops

from keras_attn import samplers
from keras_attn.samplers.sample_with_cache import returns_cache
from keras_attn.samplers.sample_with_cache import sample_with_cache
from tests.helpers import to_numpy
from tests.samplers.test_beam_search_sampler import END
from tests.samplers.test_beam_search_sampler import START
from tests.samplers.test_beam_search_sampler import STEPS
from tests.samplers.test_beam_search_sampler import random_table


def traced_next(table):
    """A Markov `next` that writes, at each step, the token it read into a
    `(batch, length)` cache: at the end, the cache of a sequence is that
    sequence shifted right by one."""
    table = ops.convert_to_tensor(np.log(table).astype("float32"))

    def next(prompt, cache, index):
        previous = ops.take(prompt, index - 1, axis=1)
        cache = ops.slice_update(
            cache, [0, index], ops.cast(previous, cache.dtype)[:, None]
        )
        return ops.take(table, previous, axis=0), None, cache

    return next


def inputs(batch):
    prompt = np.zeros((batch, STEPS + 1), "int32")
    prompt[:, 0] = START
    mask = np.zeros_like(prompt, bool)
    mask[:, 0] = True
    return {
        "prompt": ops.convert_to_tensor(prompt),
        "cache": ops.full((batch, STEPS + 1), -1, "int32"),
        "index": 1,
        "mask": ops.convert_to_tensor(mask),
        "stop_token_ids": [END],
    }


@pytest.mark.parametrize(
    "make_sampler",
    [
        samplers.GreedySampler,
        keras_hub.samplers.GreedySampler,
        lambda: keras_hub.samplers.TopKSampler(k=3, seed=5),
        lambda: keras_hub.samplers.RandomSampler(seed=5),
        lambda: samplers.BeamSearchSampler(num_beams=3),
    ],
)
def test_same_tokens_as_the_sampler_and_the_returned_sequences_cache(make_sampler):
    table = random_table(3)
    expected = to_numpy(make_sampler()(next=traced_next(table), **inputs(4)))
    sampler = make_sampler()
    assert returns_cache(sampler)
    prompt, cache = sample_with_cache(sampler, next=traced_next(table), **inputs(4))
    prompt, cache = to_numpy(prompt), to_numpy(cache)
    np.testing.assert_array_equal(prompt, expected)
    # Every step read the token before it in the returned sequence; the loop
    # may stop early (all rows ended), leaving -1 after that.
    steps = (cache[:, 1:] != -1).all(0).sum()
    assert steps >= 1
    np.testing.assert_array_equal(cache[:, 1 : 1 + steps], prompt[:, :steps])


def test_samplers_with_a_loop_of_their_own_are_refused():
    for sampler in (
        keras_hub.samplers.BeamSampler(2),
        keras_hub.samplers.ContrastiveSampler(),
    ):
        assert not returns_cache(sampler)
        with pytest.raises(ValueError, match="decoding loop of its own"):
            sample_with_cache(sampler, next=traced_next(random_table(0)), **inputs(1))


def test_beam_search_call_returns_the_prompt_of_search():
    table = random_table(8)
    sampler = samplers.BeamSearchSampler(num_beams=2)
    called = sampler(next=traced_next(table), **inputs(2))
    searched, _ = sampler.search(next=traced_next(table), **inputs(2))
    np.testing.assert_array_equal(to_numpy(called), to_numpy(searched))
