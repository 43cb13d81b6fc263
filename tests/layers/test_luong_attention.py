"""LuongAttention against NumPy references of the dot, general and concat
scores (concat in its literal `vᵀ tanh(W [q; h])` form)."""

import numpy as np
import pytest

from keras_attn.layers import LuongAttention
from tests.helpers import attend
from tests.helpers import luong_scores
from tests.helpers import random_float
from tests.helpers import to_numpy


@pytest.mark.parametrize("score_mode", ["dot", "general", "concat"])
@pytest.mark.parametrize("scale", [False, True])
def test_matches_numpy_reference(score_mode, scale):
    rng = np.random.default_rng(0)
    query_dim = 5 if score_mode == "dot" else 7
    query, memory = random_float(rng, 2, 3, query_dim), random_float(rng, 2, 6, 5)
    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
    layer = LuongAttention(
        score_mode, units=4 if score_mode == "concat" else None, scale=scale
    )
    layer.build(query.shape, memory.shape)
    if scale:
        layer.score_scale.assign(0.6)
    context, weights = layer(
        query, memory, value_mask=mask, return_attention_scores=True
    )
    want_context, want_weights = attend(
        luong_scores(layer, query, memory), memory, mask
    )
    np.testing.assert_allclose(to_numpy(weights), want_weights, atol=1e-5)
    np.testing.assert_allclose(to_numpy(context), want_context, atol=1e-5)


def test_dot_has_no_weights_unless_scaled():
    layer = LuongAttention("dot")
    layer.build((None, 4), (None, None, 4))
    assert layer.weights == []


def test_unknown_score_mode():
    with pytest.raises(
        ValueError,
        match=r"score_mode must be one of \('dot', 'general', 'concat'\)\. "
        r"Received: score_mode='cosine'",
    ):
        LuongAttention("cosine")


def test_concat_needs_units():
    with pytest.raises(
        ValueError, match="`units` is required with score_mode='concat'"
    ):
        LuongAttention("concat")


@pytest.mark.parametrize("units", [0, -1])
def test_bad_units(units):
    with pytest.raises(ValueError, match=f"Received: units={units}"):
        LuongAttention("concat", units=units)


def test_dot_with_different_sizes_names_both():
    with pytest.raises(ValueError, match="query dim 3, value dim 5"):
        LuongAttention("dot")(
            np.zeros((1, 3), "float32"), np.zeros((1, 2, 5), "float32")
        )
