"""BahdanauAttention against a NumPy reference of `vᵀ tanh(W_q q + W_k h)`."""

import numpy as np
import pytest

from keras_attn.layers import BahdanauAttention
from tests.helpers import attend
from tests.helpers import bahdanau_scores
from tests.helpers import random_float
from tests.helpers import to_numpy


@pytest.mark.parametrize("normalize", [False, True])
def test_matches_numpy_reference(normalize):
    rng = np.random.default_rng(0)
    query, memory = random_float(rng, 2, 3, 7), random_float(rng, 2, 6, 5)
    mask = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
    layer = BahdanauAttention(8, normalize=normalize)
    layer.build(query.shape, memory.shape)
    if normalize:  # move g and b off their initial values so they matter
        layer.score_scale.assign(1.7)
        layer.score_bias.assign(random_float(rng, 8))
    context, weights = layer(
        query, memory, value_mask=mask, return_attention_scores=True
    )
    want_context, want_weights = attend(
        bahdanau_scores(layer, query, memory), memory, mask
    )
    np.testing.assert_allclose(to_numpy(weights), want_weights, atol=1e-5)
    np.testing.assert_allclose(to_numpy(context), want_context, atol=1e-5)


def test_weight_normalisation_makes_the_score_scale_free():
    rng = np.random.default_rng(1)
    query, memory = random_float(rng, 1, 2, 3), random_float(rng, 1, 4, 3)
    layer = BahdanauAttention(5, normalize=True)
    before = to_numpy(layer(query, memory, return_attention_scores=True)[1])
    layer.score_vector.assign(to_numpy(layer.score_vector) * 40.0)
    after = to_numpy(layer(query, memory, return_attention_scores=True)[1])
    np.testing.assert_allclose(after, before, atol=1e-6)


def test_query_and_memory_may_differ_in_size():
    rng = np.random.default_rng(2)
    context = BahdanauAttention(4)(random_float(rng, 3, 9), random_float(rng, 3, 5, 2))
    assert tuple(context.shape) == (3, 2)


@pytest.mark.parametrize("units", [0, -3, 2.5, None, True])
def test_bad_units(units):
    with pytest.raises(
        ValueError,
        match=f"`units` must be a positive integer. Received: units={units!r}",
    ):
        BahdanauAttention(units)


def test_weights_have_explicit_names():
    layer = BahdanauAttention(4, normalize=True)
    layer.build((None, 3), (None, None, 2))
    names = sorted(w.path.split("/")[-1] for w in layer.weights)
    assert names == [
        "key_kernel",
        "query_kernel",
        "score_bias",
        "score_scale",
        "score_vector",
    ]
