"""GreedySampler: the same tokens as keras-hub's greedy search, which takes
the argmax after a softmax, and the sampler `compile("greedy")` picks."""

import keras
import keras_hub
import numpy as np

from keras_attn.samplers import GreedySampler
from tests.samplers.test_beam_search_sampler import run


def test_same_tokens_as_keras_hub_greedy_search():
    rng = np.random.default_rng(0)
    for _ in range(5):
        # A Markov table over 4 tokens; rows are next-token distributions.
        table = rng.dirichlet(np.ones(4), size=4).astype("float32")
        ours = run(GreedySampler(), table, batch=3)
        theirs = run(keras_hub.samplers.GreedySampler(), table, batch=3)
        np.testing.assert_array_equal(ours, theirs)
        # Each step takes the most probable next token, from [START] = 2.
        previous = 2
        for token in ours[0, 1:]:
            assert token == table[previous].argmax()
            if token == 1:  # [END]
                break
            previous = token


def test_logits_pass_through_and_config_round_trips():
    sampler = GreedySampler()
    logits = np.array([[3.0, -1.0, 7.0]], "float32")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(sampler.compute_probabilities(logits)), logits
    )
    clone = GreedySampler.from_config(sampler.get_config())
    assert isinstance(clone, GreedySampler)
