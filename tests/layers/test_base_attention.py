"""Behaviour every attention layer shares: masking, shapes, key reuse,
the query mask, and the harness's round trips (config, `.keras` file,
symbolic spec, a training step, precision policies), on each score
function."""

import keras
import numpy as np
import pytest

from keras_attn.layers import BahdanauAttention
from keras_attn.layers import LuongAttention
from tests.helpers import random_float
from tests.helpers import to_numpy
from tests.testing import run_layer_test

VARIANTS = {
    "bahdanau": (BahdanauAttention, {"units": 6}),
    "bahdanau-normalized": (BahdanauAttention, {"units": 6, "normalize": True}),
    "luong-dot": (LuongAttention, {"score_mode": "dot", "scale": True}),
    "luong-general": (LuongAttention, {"score_mode": "general"}),
    "luong-concat": (LuongAttention, {"score_mode": "concat", "units": 5}),
}
DIM = 4  # query and memory share it, so "dot" applies too


@pytest.fixture(params=sorted(VARIANTS))
def variant(request):
    return VARIANTS[request.param]


@pytest.fixture
def make_layer(variant):
    cls, kwargs = variant
    return lambda: cls(**kwargs)


def _inputs(rng, batch=2, steps=3, sources=5):
    return random_float(rng, batch, steps, DIM), random_float(rng, batch, sources, DIM)


def test_shapes_one_step_and_many(make_layer):
    rng = np.random.default_rng(0)
    query, memory = _inputs(rng)
    layer = make_layer()
    context, weights = layer(query, memory, return_attention_scores=True)
    assert tuple(context.shape) == (2, 3, DIM)
    assert tuple(weights.shape) == (2, 3, 5)
    step_context, step_weights = layer(
        query[:, 1], memory, return_attention_scores=True
    )
    assert tuple(step_context.shape) == (2, DIM)
    # One step is the same computation as that row of the sequence.
    np.testing.assert_allclose(
        to_numpy(step_context), to_numpy(context)[:, 1], atol=1e-6
    )
    np.testing.assert_allclose(
        to_numpy(step_weights), to_numpy(weights)[:, 1], atol=1e-6
    )
    assert layer.compute_output_shape((2, 3, DIM), (2, 5, DIM)) == (2, 3, DIM)


def test_weights_sum_to_one_and_are_zero_where_masked(make_layer):
    rng = np.random.default_rng(1)
    query, memory = _inputs(rng)
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], bool)
    _, weights = make_layer()(
        query, memory, value_mask=mask, return_attention_scores=True
    )
    weights = to_numpy(weights)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)
    assert np.all(
        weights[:, :, :][~np.broadcast_to(mask[:, None], weights.shape)] == 0.0
    )


def test_masked_memory_positions_change_nothing(make_layer):
    rng = np.random.default_rng(2)
    query, memory = _inputs(rng)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 0]], bool)
    layer = make_layer()
    before = to_numpy(layer(query, memory, value_mask=mask))
    changed = memory.copy()
    changed[0, 3:] += 10.0
    changed[1, 4] -= 7.0
    np.testing.assert_array_equal(
        to_numpy(layer(query, changed, value_mask=mask)), before
    )
    # ...while an unmasked position does change the context.
    changed[0, 1] += 1.0
    after = to_numpy(layer(query, changed, value_mask=mask))
    assert not np.allclose(after[0], before[0])


def test_fully_masked_row_gives_zeros_not_nan(make_layer):
    rng = np.random.default_rng(3)
    query, memory = _inputs(rng)
    mask = np.array([[0, 0, 0, 0, 0], [1, 1, 0, 0, 0]], bool)
    context, weights = make_layer()(
        query, memory, value_mask=mask, return_attention_scores=True
    )
    context, weights = to_numpy(context), to_numpy(weights)
    assert np.all(np.isfinite(context)) and np.all(np.isfinite(weights))
    np.testing.assert_array_equal(weights[0], 0.0)
    np.testing.assert_array_equal(context[0], 0.0)


def test_keras_mask_on_value_is_used_without_passing_it(make_layer):
    tokens = np.array([[3, 4, 5, 0, 0], [1, 2, 3, 4, 5]])
    query_in = keras.Input((3, DIM))
    token_in = keras.Input((5,), dtype="int32")
    memory = keras.layers.Embedding(10, DIM, mask_zero=True)(token_in)
    _, weights = make_layer()(query_in, memory, return_attention_scores=True)
    model = keras.Model([query_in, token_in], weights)
    query = random_float(np.random.default_rng(4), 2, 3, DIM)
    weights = model.predict([query, tokens], verbose=0)
    np.testing.assert_array_equal(weights[0, :, 3:], 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)


def test_precomputed_keys_give_the_same_result(make_layer):
    rng = np.random.default_rng(5)
    query, memory = _inputs(rng)
    layer = make_layer()
    expected = to_numpy(layer(query, memory))
    keys = layer.compute_keys(memory)
    for t in range(query.shape[1]):
        step = to_numpy(layer(query[:, t], memory, keys=keys))
        np.testing.assert_allclose(step, expected[:, t], atol=1e-6)


def test_compute_keys_before_build_is_a_clear_error(make_layer):
    with pytest.raises(ValueError, match="must be built before `compute_keys"):
        make_layer().compute_keys(np.zeros((1, 2, DIM), "float32"))


def test_harness_with_a_sequence_query(variant):
    cls, kwargs = variant
    query, memory = _inputs(np.random.default_rng(6))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    run_layer_test(
        cls,
        kwargs,
        {"query": query, "value": memory, "value_mask": mask},
        call_kwargs={"return_attention_scores": True},
        expected_output_shape=((2, 3, DIM), (2, 3, 5)),
        float32_outputs=(1,),  # the weights: softmax in float32
    )


def test_harness_with_one_step_query(variant):
    cls, kwargs = variant
    query, memory = _inputs(np.random.default_rng(7))
    run_layer_test(
        cls,
        kwargs,
        {"query": query[:, 0], "value": memory},
        call_kwargs={"return_attention_scores": True},
        expected_output_shape=((2, DIM), (2, 5)),
        float32_outputs=(1,),
        run_training_check=False,
        run_saving_check=False,
    )


def test_compute_mask_is_the_query_mask_for_a_sequence_only(make_layer):
    query, memory = _inputs(np.random.default_rng(8))
    query_mask = np.array([[1, 1, 0], [1, 1, 1]], bool)
    layer = make_layer()
    np.testing.assert_array_equal(
        to_numpy(layer.compute_mask(query, query_mask)), query_mask
    )
    assert layer.compute_mask(query, None) is None
    # One decoding step has no time axis for a mask to describe.
    assert layer.compute_mask(query[:, 0], query_mask[:, 0]) is None


def test_query_mask_reaches_the_next_layer(make_layer):
    query_ids, memory_in = keras.Input((3,), dtype="int32"), keras.Input((5, DIM))
    query = keras.layers.Embedding(10, DIM, mask_zero=True)(query_ids)
    context = make_layer()(query, memory_in)
    # GlobalAveragePooling1D averages over the steps the mask keeps.
    pooled = keras.layers.GlobalAveragePooling1D()(context)
    model = keras.Model([query_ids, memory_in], [context, pooled])
    ids = np.array([[1, 2, 0], [3, 4, 5]])
    memory = random_float(np.random.default_rng(9), 2, 5, DIM)
    context, pooled = model.predict([ids, memory], verbose=0)
    np.testing.assert_allclose(pooled[0], context[0, :2].mean(0), atol=1e-6)
    np.testing.assert_allclose(pooled[1], context[1].mean(0), atol=1e-6)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_masked_softmax_under_mixed_precision(make_layer, policy):
    keras.config.set_dtype_policy(policy)
    rng = np.random.default_rng(7)
    query, memory = _inputs(rng)
    mask = np.array([[1, 1, 1, 0, 0], [0, 0, 0, 0, 0]], bool)
    _, weights = make_layer()(
        query, memory, value_mask=mask, return_attention_scores=True
    )
    weights = to_numpy(weights)
    np.testing.assert_allclose(weights[0].sum(-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(weights[0, :, 3:], 0.0)
    np.testing.assert_array_equal(weights[1], 0.0)


def test_wrong_ranks_and_batch_sizes_are_named(make_layer):
    layer = make_layer()
    with pytest.raises(
        ValueError, match=r"`value` of rank 3\. Received: value\.shape=\(2, 4\)"
    ):
        layer(np.zeros((2, DIM), "float32"), np.zeros((2, DIM), "float32"))
    with pytest.raises(ValueError, match=r"`query` of rank 2 or 3"):
        layer(np.zeros((2, 1, 1, DIM), "float32"), np.zeros((2, 5, DIM), "float32"))
    with pytest.raises(ValueError, match="same batch size"):
        layer(np.zeros((2, DIM), "float32"), np.zeros((3, 5, DIM), "float32"))


def test_feature_size_mismatch_after_build_is_named(make_layer):
    layer = make_layer()
    layer(np.zeros((2, DIM), "float32"), np.zeros((2, 5, DIM), "float32"))
    with pytest.raises(ValueError, match=r"`value` with last dimension 4\. Received"):
        layer(np.zeros((2, DIM), "float32"), np.zeros((2, 5, DIM + 1), "float32"))
