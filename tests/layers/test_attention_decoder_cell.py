"""AttentionDecoderCell: one step composed by hand from its parts, the state
protocol, bad arguments, and the harness's round trips (config, `.keras`
file, symbolic spec, a training step, precision policies)."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_attn.layers import AttentionDecoderCell
from keras_attn.layers import BahdanauAttention
from keras_attn.layers import LuongAttention
from tests.helpers import random_float
from tests.helpers import to_numpy
from tests.testing import run_layer_test
from tests.testing import run_serialization_test

BATCH, SOURCES, INPUT_DIM, MEMORY_DIM = 2, 5, 3, 4


def _memory(rng):
    return random_float(rng, BATCH, SOURCES, MEMORY_DIM)


def test_bahdanau_order_queries_previous_state_then_steps_on_context():
    rng = np.random.default_rng(0)
    memory, x = _memory(rng), random_float(rng, BATCH, INPUT_DIM)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    cell = AttentionDecoderCell(
        keras.layers.GRUCell(6), BahdanauAttention(5), attention_layer_size=7
    )
    cell.build((None, INPUT_DIM), memory.shape)
    previous = random_float(rng, BATCH, 6)
    output, (state,), alignment = cell(
        x, [previous], memory=memory, memory_mask=mask, return_attention=True
    )
    # The same step from the parts: attention with s_{t-1}, GRU on [x; c].
    context, weights = cell.attention(
        previous, memory, value_mask=mask, return_attention_scores=True
    )
    hidden, _ = cell.cell(ops.concatenate([x, context], -1), [previous])
    w_c = to_numpy(cell.attention_layer.kernel)
    want = np.tanh(np.concatenate([to_numpy(hidden), to_numpy(context)], -1) @ w_c)
    np.testing.assert_allclose(to_numpy(output), want, atol=1e-5)
    np.testing.assert_allclose(to_numpy(state), to_numpy(hidden), atol=1e-6)
    np.testing.assert_allclose(to_numpy(alignment), to_numpy(weights), atol=1e-6)


@pytest.mark.parametrize("input_feeding", [True, False])
def test_luong_order_steps_then_queries_new_state(input_feeding):
    rng = np.random.default_rng(1)
    memory, x = _memory(rng), random_float(rng, BATCH, INPUT_DIM)
    cell = AttentionDecoderCell(
        keras.layers.LSTMCell(6),
        LuongAttention("general"),
        attention_layer_size=7,
        input_feeding=input_feeding,
        attention_order="luong",
    )
    cell.build((None, INPUT_DIM), memory.shape)
    h, c = random_float(rng, BATCH, 6), random_float(rng, BATCH, 6)
    states = [h, c]
    cell_input = x
    if input_feeding:
        feed = random_float(rng, BATCH, 7)
        states.append(feed)
        cell_input = np.concatenate([x, feed], -1)
    output, new_states = cell(x, states, memory=memory)
    hidden, (new_h, new_c) = cell.cell(cell_input, [h, c])
    context = to_numpy(cell.attention(hidden, memory))
    w_c = to_numpy(cell.attention_layer.kernel)
    want = np.tanh(np.concatenate([to_numpy(hidden), context], -1) @ w_c)
    np.testing.assert_allclose(to_numpy(output), want, atol=1e-5)
    np.testing.assert_allclose(to_numpy(new_states[0]), to_numpy(new_h), atol=1e-6)
    np.testing.assert_allclose(to_numpy(new_states[1]), to_numpy(new_c), atol=1e-6)
    if input_feeding:  # the new attentional output is fed to the next step
        np.testing.assert_allclose(to_numpy(new_states[2]), to_numpy(output))
    else:
        assert len(new_states) == 2


def test_without_attention_layer_the_output_is_state_and_context():
    rng = np.random.default_rng(2)
    memory, x = _memory(rng), random_float(rng, BATCH, INPUT_DIM)
    cell = AttentionDecoderCell(keras.layers.SimpleRNNCell(6), BahdanauAttention(3))
    cell.build((None, INPUT_DIM), memory.shape)
    output, (state,) = cell(x, cell.get_initial_state(BATCH), memory=memory)
    assert cell.output_size == 6 + MEMORY_DIM
    np.testing.assert_allclose(to_numpy(output)[:, :6], to_numpy(state))


def test_state_protocol_for_stacked_cells():
    cells = keras.layers.StackedRNNCells(
        [keras.layers.GRUCell(6), keras.layers.LSTMCell(5)]
    )
    cell = AttentionDecoderCell(
        cells,
        LuongAttention("general"),
        attention_layer_size=7,
        attention_order="luong",
    )
    cell.build((None, INPUT_DIM), (None, None, MEMORY_DIM))
    assert cell.state_size == [6, 5, 5, 7]
    states = cell.get_initial_state(batch_size=BATCH)
    assert [tuple(s.shape) for s in states] == [(2, 6), (2, 5), (2, 5), (2, 7)]
    memory = _memory(np.random.default_rng(3))
    output, new_states = cell(
        np.ones((BATCH, INPUT_DIM), "float32"), states, memory=memory
    )
    assert tuple(output.shape) == (2, 7)
    assert [tuple(s.shape) for s in new_states] == [(2, 6), (2, 5), (2, 5), (2, 7)]
    # Bahdanau order queries the top layer's state: the LSTM's h (size 5).
    bahdanau = AttentionDecoderCell(
        keras.layers.StackedRNNCells(
            [keras.layers.GRUCell(6), keras.layers.LSTMCell(5)]
        ),
        BahdanauAttention(4),
    )
    bahdanau.build((None, INPUT_DIM), (None, None, MEMORY_DIM))
    assert bahdanau.attention.query_dim == 5


def test_wrong_number_of_states_is_named():
    cell = AttentionDecoderCell(keras.layers.LSTMCell(4), BahdanauAttention(3))
    memory = _memory(np.random.default_rng(4))
    with pytest.raises(ValueError, match=r"expected 2 state tensors .* Received: 1"):
        cell(
            np.ones((BATCH, INPUT_DIM), "float32"),
            [np.zeros((BATCH, 4), "float32")],
            memory=memory,
        )


@pytest.mark.parametrize("order", ["bahdanau", "luong"])
def test_harness(order):
    rng = np.random.default_rng(5)
    memory, x = _memory(rng), random_float(rng, BATCH, INPUT_DIM)
    # Luong order feeds the attentional output back: a third state.
    states = [random_float(rng, BATCH, 6), random_float(rng, BATCH, 6)]
    if order == "luong":
        states.append(random_float(rng, BATCH, 7))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)

    def init_kwargs():
        return {
            # Glorot: Keras's orthogonal default has no bfloat16 QR to run.
            "cell": keras.layers.LSTMCell(6, recurrent_initializer="glorot_uniform"),
            "attention": LuongAttention("concat", units=3, scale=True),
            "attention_layer_size": 7,
            "attention_order": order,
        }

    run_layer_test(
        AttentionDecoderCell,
        init_kwargs,
        {"inputs": x, "states": states, "memory": memory, "memory_mask": mask},
        call_kwargs={"return_attention": True},
        expected_output_shape=(
            (BATCH, 7),
            [s.shape for s in states],
            (BATCH, SOURCES),
        ),
        float32_outputs=(2,),  # the alignment
    )


def test_config_round_trip_keeps_the_wrapped_layers():
    cell = AttentionDecoderCell(
        keras.layers.LSTMCell(4),
        LuongAttention("concat", units=3, scale=True),
        attention_layer_size=5,
        input_feeding=False,
        attention_order="luong",
    )
    clone = run_serialization_test(cell)
    assert isinstance(clone.cell, keras.layers.LSTMCell)
    assert clone.attention.score_mode == "concat"


def test_bad_arguments_are_named():
    with pytest.raises(
        ValueError,
        match=r"attention_order must be one of \('bahdanau', 'luong'\)\. "
        r"Received: attention_order='transformer'",
    ):
        AttentionDecoderCell(
            keras.layers.GRUCell(4), BahdanauAttention(3), attention_order="transformer"
        )
    with pytest.raises(ValueError, match=r"Received: attention_layer_size=0"):
        AttentionDecoderCell(
            keras.layers.GRUCell(4), BahdanauAttention(3), attention_layer_size=0
        )
    with pytest.raises(
        ValueError, match="`attention` must be a keras_attn attention layer"
    ):
        AttentionDecoderCell(keras.layers.GRUCell(4), keras.layers.AdditiveAttention())
    with pytest.raises(ValueError, match="`cell` must be a Keras RNN cell"):
        AttentionDecoderCell(keras.layers.Dense(4), BahdanauAttention(3))
