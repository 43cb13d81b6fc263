"""An RNN cell wrapped with attention over an encoder memory."""

import keras
from keras import ops
from keras import tree

from keras_attn._validation import check_choice
from keras_attn._validation import check_positive_int
from keras_attn._validation import check_rank
from keras_attn._validation import check_same_batch
from keras_attn.layers.base_attention import BaseAttention

ATTENTION_ORDERS = ("bahdanau", "luong")


@keras.saving.register_keras_serializable(package="keras_attn")
class AttentionDecoderCell(keras.layers.Layer):
    """Wraps a Keras RNN cell with attention over an encoder memory.

    One call is one decoding step. The memory (the encoder output) is passed
    in at every call and never stored on the layer, so one cell serves any
    number of source sequences and saves like any other layer.

    Two orders of the step are supported:

    - `"bahdanau"` (RNNsearch, Bahdanau et al. 2015): query the attention
      with the previous state `s_{t-1}`, then step the RNN on
      `[x_t; c_t]`.
    - `"luong"` (Luong et al. 2015): step the RNN on `[x_t; a_{t-1}]` (input
      feeding of the previous attentional output, when `input_feeding=True`)
      or on `x_t` alone, then query the attention with the new state `h_t`.

    In both orders the step's output is the attentional output
    `a_t = tanh(W_c [h_t; c_t])` when `attention_layer_size` is set, and the
    concatenation `[h_t; c_t]` otherwise, so that the output layer always
    sees the context.

    State: the wrapped cell's states, flattened, followed (Luong order with
    input feeding only) by the previous attentional output `a_{t-1}`
    `(batch, output_size)`.

    Args:
        cell: a Keras RNN cell (`GRUCell`, `LSTMCell`, `SimpleRNNCell`,
            `StackedRNNCells` or any cell of the same protocol).
        attention: a `keras_attn.layers.BaseAttention` layer, such as
            `BahdanauAttention` or `LuongAttention`.
        attention_layer_size: optional int, size of the attentional output
            `tanh(W_c [h; c])`.
        input_feeding: bool, Luong order only: feed `a_{t-1}` to the RNN. In
            Bahdanau order the current context is always the RNN's input.
        attention_order: `"bahdanau"` or `"luong"`.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: the step's input `(batch, input_dim)`, for example the
            embedding of the previous target token.
        states: list of state tensors, as from `get_initial_state`.
        memory: the encoder output `(batch, S, dim_v)`.
        memory_mask: optional boolean `(batch, S)`.
        memory_keys: optional `attention.compute_keys(memory)`, computed once
            per source sequence instead of at every step.
        return_attention: bool, also return this step's alignment.
        training: bool, passed to the wrapped cell.

    Returns:
        `(output, new_states)`, or `(output, new_states, alignment)` with
        `return_attention=True`: output `(batch, output_size)`, alignment
        `(batch, S)` (float32).

    Example:
    >>> import numpy as np
    >>> cell = keras_attn.layers.AttentionDecoderCell(
    ...     keras.layers.GRUCell(16), keras_attn.layers.BahdanauAttention(16))
    >>> memory = np.random.rand(2, 5, 12).astype("float32")
    >>> cell.build((None, 8), memory.shape)
    >>> states = cell.get_initial_state(batch_size=2)
    >>> keys = cell.attention.compute_keys(memory)
    >>> x = np.random.rand(2, 8).astype("float32")
    >>> output, states = cell(x, states, memory=memory, memory_keys=keys)
    >>> tuple(output.shape)       # [h; c]: 16 + 12
    (2, 28)

    References:
        - [Bahdanau et al., 2015](https://arxiv.org/abs/1409.0473)
        - [Luong et al., 2015](https://arxiv.org/abs/1508.04025)
    """

    def __init__(
        self,
        cell,
        attention,
        attention_layer_size=None,
        input_feeding=True,
        attention_order="bahdanau",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_choice("attention_order", attention_order, ATTENTION_ORDERS)
        check_positive_int(
            "attention_layer_size", attention_layer_size, allow_none=True
        )
        if not isinstance(attention, BaseAttention):
            raise ValueError(
                "`attention` must be a keras_attn attention layer such as "
                "BahdanauAttention or LuongAttention. Received: "
                f"attention={attention!r}"
            )
        if not hasattr(cell, "state_size") or not callable(cell):
            raise ValueError(
                "`cell` must be a Keras RNN cell with a `state_size`, such as "
                f"keras.layers.GRUCell. Received: cell={cell!r}"
            )
        self.cell = cell
        self.attention = attention
        self.attention_layer_size = attention_layer_size
        self.input_feeding = input_feeding
        self.attention_order = attention_order
        self.attention_layer = None
        if attention_layer_size is not None:
            self.attention_layer = keras.layers.Dense(
                attention_layer_size,
                activation="tanh",
                use_bias=False,
                dtype=self.dtype_policy,
                name="attention_layer",
            )
        # The wrapped cell's state structure, to rebuild it from a flat list.
        state_size = cell.state_size
        self._cell_state_template = (
            list(state_size) if tree.is_nested(state_size) else [state_size]
        )

    @property
    def feeds_back(self):
        """Whether the previous attentional output is part of the state."""
        return self.attention_order == "luong" and self.input_feeding

    @property
    def is_parallelizable(self):
        """Whether a teacher-forced pass can run the RNN before attention.

        True when the attention never feeds back into the RNN (Luong order
        without input feeding): the RNN then runs over the whole sequence in
        one call and the attention is one batched call over all steps.
        """
        return self.attention_order == "luong" and not self.input_feeding

    def _cell_output_size(self):
        if getattr(self.cell, "output_size", None) is not None:
            return self.cell.output_size
        return tree.flatten(self.cell.state_size)[0]

    def _query_size(self):
        if self.attention_order == "luong":
            return self._cell_output_size()
        return self._top_state_size()

    def _top_state_size(self):
        if isinstance(self.cell, keras.layers.StackedRNNCells):
            return tree.flatten(self.cell.cells[-1].state_size)[0]
        return tree.flatten(self.cell.state_size)[0]

    def build(self, inputs_shape, memory_shape):
        check_rank("inputs", inputs_shape, (2,), self.name)
        check_rank("memory", memory_shape, (3,), self.name)
        self.input_dim = inputs_shape[-1]
        self.memory_dim = memory_shape[-1]
        concat_size = self._cell_output_size() + self.memory_dim
        self.output_size = self.attention_layer_size or concat_size
        if self.attention_order == "bahdanau":
            feed_size = self.memory_dim
        else:
            feed_size = self.output_size if self.input_feeding else 0
        self.cell_input_dim = self.input_dim + feed_size
        if not self.cell.built:
            self.cell.build((inputs_shape[0], self.cell_input_dim))
        if not self.attention.built:
            self.attention.build((inputs_shape[0], self._query_size()), memory_shape)
        if self.attention_layer is not None and not self.attention_layer.built:
            self.attention_layer.build((inputs_shape[0], concat_size))

    @property
    def state_size(self):
        sizes = tree.flatten(self._cell_state_template)
        if self.feeds_back:
            if not self.built:
                raise ValueError(
                    f"The state size of '{self.name}' depends on the memory: "
                    "build the cell first (`build(inputs_shape, memory_shape)`)."
                )
            sizes = sizes + [self.output_size]
        return sizes

    def get_initial_state(self, batch_size=None):
        """Zero states: the wrapped cell's, then `a_0 = 0` when fed back."""
        cell_states = self.cell.get_initial_state(batch_size=batch_size)
        states = tree.flatten(cell_states)
        if self.feeds_back:
            states.append(ops.zeros((batch_size, self.output_size), self.compute_dtype))
        return states

    def complete_states(self, states):
        """The full cell state from the wrapped cell's states alone.

        Args:
            states: either the full state (returned as it is) or only the
                wrapped RNN cell's states, for example an encoder's final
                state; then the fed-back attentional output starts at zero.

        Returns:
            A flat list of state tensors matching `state_size`.
        """
        states = tree.flatten(states)
        full = len(self.state_size)
        inner = len(tree.flatten(self._cell_state_template))
        if len(states) == full:
            return states
        if len(states) == inner:
            batch_size = ops.shape(states[0])[0]
            feed = ops.zeros((batch_size, self.output_size), self.compute_dtype)
            return states + [feed]
        raise ValueError(
            f"'{self.name}' expected {full} state tensors (the full cell "
            f"state) or {inner} (the wrapped cell's state). "
            f"Received: {len(states)} tensors"
        )

    def split_states(self, states):
        """Splits a flat state list into the wrapped cell's structure and the
        fed-back attentional output (or `None`)."""
        states = list(states)
        n = len(tree.flatten(self._cell_state_template))
        if len(states) != len(self.state_size):
            raise ValueError(
                f"'{self.name}' expected {len(self.state_size)} state tensors "
                f"(state_size={self.state_size}). Received: {len(states)}"
            )
        cell_states = tree.pack_sequence_as(self._cell_state_template, states[:n])
        feed = states[n] if self.feeds_back else None
        return cell_states, feed

    def _top_state(self, cell_states):
        if isinstance(self.cell, keras.layers.StackedRNNCells):
            return tree.flatten(cell_states[-1])[0]
        return tree.flatten(cell_states)[0]

    def attentional_output(self, cell_output, context):
        """`tanh(W_c [h; c])`, or `[h; c]` without an attention layer."""
        combined = ops.concatenate(
            [cell_output, ops.cast(context, cell_output.dtype)], axis=-1
        )
        if self.attention_layer is not None:
            return self.attention_layer(combined)
        return combined

    def call(
        self,
        inputs,
        states,
        memory,
        memory_mask=None,
        memory_keys=None,
        return_attention=False,
        training=None,
    ):
        check_same_batch(
            (("inputs", inputs.shape), ("memory", memory.shape)), self.name
        )
        cell_states, feed = self.split_states(states)
        attend = lambda query: self.attention(  # noqa: E731
            query,
            memory,
            value_mask=memory_mask,
            keys=memory_keys,
            return_attention_scores=True,
        )
        # Bahdanau order feeds this step's context to the RNN; Luong order
        # feeds the previous attentional output (input feeding) or nothing.
        if self.attention_order == "bahdanau":
            context, alignment = attend(self._top_state(cell_states))
            extra = context
        else:
            extra = feed
        cell_inputs = inputs
        if extra is not None:
            cell_inputs = ops.concatenate(
                [inputs, ops.cast(extra, inputs.dtype)], axis=-1
            )
        cell_output, new_cell_states = self.cell(
            cell_inputs, cell_states, training=training
        )
        if self.attention_order == "luong":
            context, alignment = attend(cell_output)
        output = self.attentional_output(cell_output, context)
        new_states = tree.flatten(new_cell_states)
        if self.feeds_back:
            new_states.append(output)
        if return_attention:
            return output, new_states, alignment
        return output, new_states

    def compute_output_shape(self, inputs_shape, memory_shape):
        """The shape of the step output; see `compute_output_spec` for all."""
        return (inputs_shape[0], self.output_size)

    def compute_output_spec(
        self,
        inputs,
        states,
        memory,
        memory_mask=None,
        memory_keys=None,
        return_attention=False,
        training=None,
    ):
        batch = inputs.shape[0]
        output = keras.KerasTensor(
            self.compute_output_shape(inputs.shape, memory.shape),
            dtype=self.compute_dtype,
        )
        new_states = [
            keras.KerasTensor((batch, size), dtype=self.compute_dtype)
            for size in self.state_size
        ]
        if return_attention:
            alignment = keras.KerasTensor((batch, memory.shape[1]), dtype="float32")
            return output, new_states, alignment
        return output, new_states

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "cell": keras.saving.serialize_keras_object(self.cell),
                "attention": keras.saving.serialize_keras_object(self.attention),
                "attention_layer_size": self.attention_layer_size,
                "input_feeding": self.input_feeding,
                "attention_order": self.attention_order,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["cell"] = keras.saving.deserialize_keras_object(config["cell"])
        config["attention"] = keras.saving.deserialize_keras_object(config["attention"])
        return cls(**config)
