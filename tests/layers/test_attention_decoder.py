"""AttentionDecoder: the full pass against the cell stepped by hand, the
parallel path, padding, initial states, Keras masks, and the harness's round
trips (config, `.keras` file, symbolic spec, a training step, precision
policies)."""

import keras
import numpy as np
import pytest

from keras_attn.layers import AttentionDecoder
from keras_attn.layers import AttentionDecoderCell
from keras_attn.layers import BahdanauAttention
from keras_attn.layers import LuongAttention
from tests.helpers import random_float
from tests.helpers import to_numpy
from tests.testing import EAGER_ON_TENSORFLOW
from tests.testing import run_layer_test
from tests.testing import run_serialization_test

BATCH, STEPS, SOURCES, INPUT_DIM, MEMORY_DIM = 3, 6, 5, 4, 8


def make_cell(kind="gru", order="bahdanau", input_feeding=True, attention="bahdanau"):
    rnn = {
        "gru": lambda: keras.layers.GRUCell(7),
        "lstm": lambda: keras.layers.LSTMCell(7),
        "stacked": lambda: keras.layers.StackedRNNCells(
            [keras.layers.GRUCell(6), keras.layers.LSTMCell(7)]
        ),
    }[kind]()
    scorer = {
        "bahdanau": lambda: BahdanauAttention(5),
        "general": lambda: LuongAttention("general", scale=True),
    }[attention]()
    return AttentionDecoderCell(
        rnn,
        scorer,
        attention_layer_size=6,
        input_feeding=input_feeding,
        attention_order=order,
    )


def _data(seed=0):
    rng = np.random.default_rng(seed)
    inputs = random_float(rng, BATCH, STEPS, INPUT_DIM)
    memory = random_float(rng, BATCH, SOURCES, MEMORY_DIM)
    memory_mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], bool)
    return inputs, memory, memory_mask


ORDERS = [("bahdanau", True), ("luong", True), ("luong", False)]


@pytest.mark.parametrize("kind", ["gru", "lstm", "stacked"])
@pytest.mark.parametrize("order,input_feeding", ORDERS)
def test_full_pass_equals_stepping_the_cell_by_hand(kind, order, input_feeding):
    inputs, memory, memory_mask = _data()
    decoder = AttentionDecoder(
        make_cell(kind, order, input_feeding), return_attention=True, return_state=True
    )
    outputs, alignment, *final = decoder(inputs, memory=memory, memory_mask=memory_mask)
    cell = decoder.cell
    states = cell.get_initial_state(batch_size=BATCH)
    keys = cell.attention.compute_keys(memory)
    for t in range(STEPS):
        output, states, weights = cell(
            inputs[:, t],
            states,
            memory=memory,
            memory_mask=memory_mask,
            memory_keys=keys,
            return_attention=True,
        )
        np.testing.assert_allclose(to_numpy(outputs)[:, t], to_numpy(output), atol=1e-5)
        np.testing.assert_allclose(
            to_numpy(alignment)[:, t], to_numpy(weights), atol=1e-6
        )
    for got, want in zip(final, states, strict=True):
        np.testing.assert_allclose(to_numpy(got), to_numpy(want), atol=1e-5)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
@pytest.mark.parametrize("attention", ["bahdanau", "general"])
def test_parallel_path_equals_step_by_step(kind, attention):
    inputs, memory, memory_mask = _data(1)
    target_mask = np.ones((BATCH, STEPS), bool)
    target_mask[1, 4:] = False
    cell = make_cell(kind, "luong", input_feeding=False, attention=attention)
    assert cell.is_parallelizable
    parallel = AttentionDecoder(cell, return_attention=True, return_state=True)
    stepwise = AttentionDecoder(
        cell, return_attention=True, return_state=True, parallel=False
    )
    kwargs = {"memory": memory, "memory_mask": memory_mask, "mask": target_mask}
    for got, want in zip(
        parallel(inputs, **kwargs), stepwise(inputs, **kwargs), strict=True
    ):
        np.testing.assert_allclose(to_numpy(got), to_numpy(want), atol=1e-5)


@pytest.mark.parametrize("order,input_feeding", ORDERS)
def test_padded_steps_carry_states_and_output_zeros(order, input_feeding):
    inputs, memory, memory_mask = _data(2)
    decoder = AttentionDecoder(
        make_cell("lstm", order, input_feeding),
        return_attention=True,
        return_state=True,
    )
    target_mask = np.ones((BATCH, STEPS), bool)
    target_mask[0, 3:] = False
    padded = inputs.copy()
    padded[0, 3:] = 99.0  # garbage under the mask must not matter
    outputs, alignment, *final = decoder(
        padded, memory=memory, memory_mask=memory_mask, mask=target_mask
    )
    short_outputs, _, *short_final = decoder(
        inputs[:1, :3], memory=memory[:1], memory_mask=memory_mask[:1]
    )
    np.testing.assert_array_equal(to_numpy(outputs)[0, 3:], 0.0)
    np.testing.assert_array_equal(to_numpy(alignment)[0, 3:], 0.0)
    np.testing.assert_allclose(
        to_numpy(outputs)[0, :3], to_numpy(short_outputs)[0], atol=1e-5
    )
    for got, want in zip(final, short_final, strict=True):
        np.testing.assert_allclose(to_numpy(got)[0], to_numpy(want)[0], atol=1e-5)


def test_memory_mask_changes_the_result_and_masked_memory_does_not():
    inputs, memory, memory_mask = _data(3)
    decoder = AttentionDecoder(make_cell())
    masked = to_numpy(decoder(inputs, memory=memory, memory_mask=memory_mask))
    unmasked = to_numpy(decoder(inputs, memory=memory))
    assert not np.allclose(masked[1], unmasked[1])
    np.testing.assert_allclose(
        masked[0], unmasked[0], atol=1e-6
    )  # row 0 has no padding
    noisy = memory.copy()
    noisy[2, 1:] = 50.0
    np.testing.assert_array_equal(
        to_numpy(decoder(inputs, memory=noisy, memory_mask=memory_mask)), masked
    )


def test_keras_masks_flow_through_a_functional_model():
    src, tgt = keras.Input((None,), dtype="int32"), keras.Input((None,), dtype="int32")
    memory = keras.layers.Embedding(20, MEMORY_DIM, mask_zero=True)(src)
    outputs, alignment = AttentionDecoder(make_cell(), return_attention=True)(
        keras.layers.Embedding(20, INPUT_DIM, mask_zero=True)(tgt), memory=memory
    )
    model = keras.Model([src, tgt], [outputs, alignment])
    source = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 8]])
    target = np.array([[1, 2, 0, 0], [3, 4, 5, 6]])
    outputs, alignment = model.predict([source, target], verbose=0)
    np.testing.assert_array_equal(alignment[0, :, 3:], 0.0)  # source padding
    np.testing.assert_array_equal(alignment[0, 2:], 0.0)  # target padding
    np.testing.assert_array_equal(outputs[0, 2:], 0.0)
    np.testing.assert_allclose(alignment[1].sum(-1), 1.0, atol=1e-6)


def test_keras_fills_inputs_mask_and_an_explicit_mask_wins():
    inputs, memory, _ = _data(10)
    target_mask = np.ones((BATCH, STEPS), bool)
    target_mask[0, 2:] = False
    decoder = AttentionDecoder(make_cell())
    with_mask = to_numpy(decoder(inputs, memory=memory, mask=target_mask))
    np.testing.assert_array_equal(
        to_numpy(decoder(inputs, memory=memory, inputs_mask=target_mask)), with_mask
    )
    everything = np.ones_like(target_mask)
    np.testing.assert_array_equal(
        to_numpy(
            decoder(inputs, memory=memory, mask=target_mask, inputs_mask=everything)
        ),
        with_mask,
    )


def test_initial_state_of_the_wrapped_cell_or_the_full_cell():
    inputs, memory, _ = _data(4)
    decoder = AttentionDecoder(make_cell("lstm", "luong", True), return_state=True)
    decoder(inputs, memory=memory)
    rng = np.random.default_rng(5)
    h, c = random_float(rng, BATCH, 7), random_float(rng, BATCH, 7)
    zero_feed = np.zeros((BATCH, 6), "float32")
    from_inner = decoder(inputs, memory=memory, initial_state=[h, c])
    from_full = decoder(inputs, memory=memory, initial_state=[h, c, zero_feed])
    default = decoder(inputs, memory=memory)
    np.testing.assert_allclose(
        to_numpy(from_inner[0]), to_numpy(from_full[0]), atol=1e-6
    )
    assert not np.allclose(to_numpy(from_inner[0]), to_numpy(default[0]))
    with pytest.raises(
        ValueError, match=r"expected 3 state tensors .* or 2 .* Received: 1 tensors"
    ):
        decoder(inputs, memory=memory, initial_state=[h])


def test_output_structure_and_shapes():
    inputs, memory, _ = _data(6)
    cell = make_cell("lstm")
    plain = AttentionDecoder(cell)
    assert tuple(plain(inputs, memory=memory).shape) == (BATCH, STEPS, 6)
    both = AttentionDecoder(cell, return_attention=True, return_state=True)
    results = both(inputs, memory=memory)
    shapes = [tuple(r.shape) for r in results]
    assert shapes == [
        (BATCH, STEPS, 6),
        (BATCH, STEPS, SOURCES),
        (BATCH, 7),
        (BATCH, 7),
    ]
    assert both.compute_output_shape(inputs.shape, memory.shape) == shapes
    symbolic = both(
        keras.Input((None, INPUT_DIM)), memory=keras.Input((None, MEMORY_DIM))
    )
    assert [tuple(s.shape) for s in symbolic] == [
        (None, None, 6),
        (None, None, None),
        (None, 7),
        (None, 7),
    ]


def _harness_cell(kind, order, input_feeding):
    # Keras's default orthogonal recurrent initializer runs a QR
    # decomposition in the variable dtype, which no backend has in bfloat16;
    # Glorot lets the pure bfloat16 policy be tested.
    rnn = {
        "gru": keras.layers.GRUCell,
        "lstm": keras.layers.LSTMCell,
    }[kind](7, recurrent_initializer="glorot_uniform")
    return AttentionDecoderCell(
        rnn,
        BahdanauAttention(5),
        attention_layer_size=6,
        input_feeding=input_feeding,
        attention_order=order,
    )


@pytest.mark.parametrize(
    "kind,order,input_feeding",
    # Stepped, and the parallel teacher-forced path.
    [("gru", "bahdanau", True), ("lstm", "luong", False)],
)
def test_harness(kind, order, input_feeding):
    inputs, memory, memory_mask = _data(7)
    target_mask = np.ones((BATCH, STEPS), bool)
    target_mask[0, 4:] = False
    run_layer_test(
        AttentionDecoder,
        lambda: {
            "cell": _harness_cell(kind, order, input_feeding),
            "return_attention": True,
            "return_state": True,
        },
        {
            "inputs": inputs,
            "memory": memory,
            "memory_mask": memory_mask,
            "mask": target_mask,
        },
        expected_output_shape=[
            (BATCH, STEPS, 6),
            (BATCH, STEPS, SOURCES),
            *[(BATCH, 7)] * (2 if kind == "lstm" else 1),
        ],
        float32_outputs=(1,),  # the alignment
        run_training_eagerly=EAGER_ON_TENSORFLOW,
    )


def test_config_round_trip_of_a_stacked_cell():
    decoder = AttentionDecoder(
        make_cell("stacked"), return_attention=True, parallel=False
    )
    clone = run_serialization_test(decoder)
    assert isinstance(clone.cell.cell, keras.layers.StackedRNNCells)
    assert not clone.parallel


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_alignment_under_mixed_precision(policy):
    keras.config.set_dtype_policy(policy)
    inputs, memory, memory_mask = _data(7)
    decoder = AttentionDecoder(make_cell("lstm", "luong", True), return_attention=True)
    _, alignment = decoder(inputs, memory=memory, memory_mask=memory_mask)
    alignment = to_numpy(alignment)
    np.testing.assert_allclose(alignment.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(alignment[2, :, 1:], 0.0)


def test_bad_inputs_are_named():
    inputs, memory, _ = _data(8)
    with pytest.raises(
        ValueError, match="`cell` must be a keras_attn.layers.AttentionDecoderCell"
    ):
        AttentionDecoder(keras.layers.GRUCell(4))
    decoder = AttentionDecoder(make_cell())
    with pytest.raises(
        ValueError, match=r"`inputs` of rank 3\. Received: inputs.shape=\(3, 4\)"
    ):
        decoder(inputs[:, 0], memory=memory)
    with pytest.raises(ValueError, match=r"`memory` of rank 3"):
        decoder(inputs, memory=memory[:, 0])
    with pytest.raises(ValueError, match="same batch size"):
        decoder(inputs, memory=memory[:2])


def test_cell_dropout_trains_on_every_backend():
    src, tgt = keras.Input((None, MEMORY_DIM)), keras.Input((None, INPUT_DIM))
    cell = AttentionDecoderCell(
        keras.layers.GRUCell(7, dropout=0.3, recurrent_dropout=0.2),
        BahdanauAttention(5),
    )
    outputs = AttentionDecoder(cell)(tgt, memory=src)
    model = keras.Model([src, tgt], keras.layers.Dense(3)(outputs))
    model.compile("adam", "mse")
    inputs, memory, _ = _data(9)
    history = model.fit(
        [memory, inputs], np.zeros((BATCH, STEPS, 3)), epochs=2, verbose=0
    )
    assert np.all(np.isfinite(history.history["loss"]))
    # Inference is deterministic: no dropout outside training.
    first = model.predict([memory, inputs], verbose=0)
    np.testing.assert_array_equal(first, model.predict([memory, inputs], verbose=0))
