"""Runs an `AttentionDecoderCell` over a target sequence."""

import keras
from keras import ops
from keras import tree

from keras_attn._validation import check_rank
from keras_attn._validation import check_same_batch
from keras_attn.layers.attention_decoder_cell import AttentionDecoderCell


def _scan_over_time(step, carry, sequence, step_mask):
    """`ops.scan` over `(x_t, mask_t)` pairs, as one scanned tensor.

    TensorFlow's scan fails on several scanned tensors whose time dimension
    is unknown (as when a SavedModel is traced), so the mask travels as one
    more feature and is split off again inside the step.
    """
    joined = ops.concatenate([sequence, ops.cast(step_mask, sequence.dtype)], -1)

    def split_step(carry, x):
        return step(carry, (x[:, :-1], x[:, -1:] > 0.5))

    return ops.scan(split_step, carry, joined)


def _carry_over_padding(step_mask, new_states, old_states):
    """Keeps the old state where the step is padding."""
    return [
        ops.where(step_mask, ops.cast(new, old.dtype), old)
        for new, old in zip(new_states, old_states, strict=True)
    ]


@keras.saving.register_keras_serializable(package="keras_attn")
class AttentionDecoder(keras.layers.Layer):
    """Runs an `AttentionDecoderCell` over a whole target sequence.

    Keras 3's `RNN` layer has no `constants`, so a wrapped cell cannot see
    the encoder output through it; this layer takes the memory as a call
    argument, projects its keys once (`attention.compute_keys`) and steps
    the cell over time with `keras.ops.scan`, on every backend.

    Where the attention never feeds back into the RNN (Luong order without
    input feeding) and `parallel=True`, the teacher-forced pass runs the RNN
    over the whole sequence first and then attends for all steps in one
    batched call. The result equals the step-by-step loop.

    Masking: a Keras mask on `inputs` (target padding, for example from
    `keras.layers.Embedding(mask_zero=True)`) is honoured: at padded steps
    the states carry over unchanged and the outputs and alignment are zero.
    A mask on `memory` is used as `memory_mask`. Keras passes both in by
    itself (`inputs_mask`, `memory_mask`), as for any layer whose call takes
    several tensors. The output keeps the target mask, so a following
    `Dense` and the loss skip padding.

    Args:
        cell: a `keras_attn.layers.AttentionDecoderCell`.
        return_attention: bool, also return the alignment.
        return_state: bool, also return the final states.
        parallel: bool, allow the parallel teacher-forced pass where the cell
            permits it. `False` always steps (useful for checking).
        **kwargs: base layer arguments.

    Call arguments:
        inputs: the target-side inputs `(batch, T, input_dim)`, for example
            the embedded target tokens shifted right.
        memory: the encoder output `(batch, S, dim_v)`.
        memory_mask: optional boolean `(batch, S)`.
        initial_state: optional list of states: either the full cell state
            (`cell.get_initial_state`) or only the wrapped RNN cell's states
            (for example the encoder's final state), in which case the fed
            back attentional output starts at zero.
        mask: optional boolean `(batch, T)` target mask, as for
            `keras.layers.RNN`.
        inputs_mask: the same mask, filled in by Keras from the mask that
            `inputs` carries; `mask`, when given, is used instead.
        training: bool, passed to the cell.

    Returns:
        `outputs` `(batch, T, output_size)`; with `return_attention` or
        `return_state`, a list `[outputs, alignment, *states]` where the
        alignment `(batch, T, S)` (float32) and the final states appear only
        when asked.

    Example:
    >>> src = keras.Input((None,), dtype="int32")
    >>> tgt = keras.Input((None,), dtype="int32")
    >>> memory = keras.layers.Bidirectional(
    ...     keras.layers.GRU(16, return_sequences=True))(
    ...     keras.layers.Embedding(100, 8, mask_zero=True)(src))
    >>> cell = keras_attn.layers.AttentionDecoderCell(
    ...     keras.layers.GRUCell(32), keras_attn.layers.BahdanauAttention(32))
    >>> outputs, alignment = keras_attn.layers.AttentionDecoder(
    ...     cell, return_attention=True)(
    ...     keras.layers.Embedding(100, 8, mask_zero=True)(tgt), memory=memory)
    >>> logits = keras.layers.Dense(100)(outputs)
    >>> model = keras.Model([src, tgt], [logits, alignment])
    """

    def __init__(
        self,
        cell,
        return_attention=False,
        return_state=False,
        parallel=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(cell, AttentionDecoderCell):
            raise ValueError(
                "`cell` must be a keras_attn.layers.AttentionDecoderCell. "
                f"Received: cell={cell!r}"
            )
        self.cell = cell
        self.return_attention = return_attention
        self.return_state = return_state
        self.parallel = parallel
        self.supports_masking = True

    def build(self, inputs_shape, memory_shape):
        check_rank("inputs", inputs_shape, (3,), self.name)
        check_rank("memory", memory_shape, (3,), self.name)
        if not self.cell.built:
            self.cell.build((inputs_shape[0], inputs_shape[-1]), memory_shape)

    def _initial_state(self, initial_state, batch_size):
        if initial_state is None:
            return self.cell.get_initial_state(batch_size=batch_size)
        return self.cell.complete_states(initial_state)

    def _configure_dropout(self, batch_size, training):
        # Dropout masks are drawn once per sequence before the loop, as
        # keras.layers.RNN does, so the step function stays stateless (JAX).
        def configure(cell, input_dim):
            if isinstance(cell, keras.layers.StackedRNNCells):
                for sub in cell.cells:
                    configure(sub, input_dim)
                    input_dim = sub.output_size
            elif getattr(cell, "dropout", 0) or getattr(cell, "recurrent_dropout", 0):
                cell.get_dropout_mask(ops.zeros((batch_size, input_dim)))
                size = tree.flatten(cell.state_size)[0]
                cell.get_recurrent_dropout_mask(ops.zeros((batch_size, size)))

        if training:
            configure(self.cell.cell, self.cell.cell_input_dim)

    def _reset_dropout(self):
        cells = [self.cell.cell]
        if isinstance(self.cell.cell, keras.layers.StackedRNNCells):
            cells = self.cell.cell.cells
        for cell in cells:
            if hasattr(cell, "reset_dropout_mask"):
                cell.reset_dropout_mask()
                cell.reset_recurrent_dropout_mask()

    def call(
        self,
        inputs,
        memory,
        memory_mask=None,
        initial_state=None,
        mask=None,
        training=None,
        inputs_mask=None,
    ):
        inputs = ops.convert_to_tensor(inputs, dtype=self.compute_dtype)
        memory = ops.convert_to_tensor(memory, dtype=self.compute_dtype)
        check_rank("inputs", inputs.shape, (3,), self.name)
        check_rank("memory", memory.shape, (3,), self.name)
        check_same_batch(
            (("inputs", inputs.shape), ("memory", memory.shape)), self.name
        )
        if mask is None:
            mask = inputs_mask
        batch_size = ops.shape(inputs)[0]
        states = self._initial_state(initial_state, batch_size)
        keys = self.cell.attention.compute_keys(memory)
        # Time-major for the scan; the mask as (T, batch, 1) booleans.
        sequence = ops.transpose(inputs, (1, 0, 2))
        if mask is not None:
            step_mask = ops.expand_dims(ops.transpose(ops.cast(mask, "bool")), -1)
        else:
            step_mask = ops.ones(ops.shape(sequence)[:2] + (1,), "bool")

        self._configure_dropout(batch_size, training)
        if self.parallel and self.cell.is_parallelizable:
            outputs, alignment, states = self._parallel_pass(
                sequence, step_mask, states, memory, memory_mask, keys, training
            )
        else:
            outputs, alignment, states = self._step_pass(
                sequence, step_mask, states, memory, memory_mask, keys, training
            )
        self._reset_dropout()

        if not (self.return_attention or self.return_state):
            return outputs
        results = [outputs]
        if self.return_attention:
            results.append(alignment)
        if self.return_state:
            results.extend(states)
        return results

    def _step_pass(
        self, sequence, step_mask, states, memory, memory_mask, keys, training
    ):
        batch_size = ops.shape(memory)[0]
        output0 = ops.zeros((batch_size, self.cell.output_size), self.compute_dtype)
        alignment0 = ops.zeros((batch_size, ops.shape(memory)[1]), "float32")

        def step(carry, x):
            old_states, _, _ = carry
            x_t, m_t = x
            output, new_states, alignment = self.cell(
                x_t,
                old_states,
                memory=memory,
                memory_mask=memory_mask,
                memory_keys=keys,
                return_attention=True,
                training=training,
            )
            new_states = _carry_over_padding(m_t, new_states, old_states)
            output = ops.where(m_t, output, ops.zeros_like(output))
            alignment = ops.where(m_t, alignment, ops.zeros_like(alignment))
            # TensorFlow's scan stacks outputs with the carry's structure, so
            # the step returns its carry as its output.
            new_carry = (new_states, output, alignment)
            return new_carry, new_carry

        (final_states, _, _), (_, outputs, alignment) = _scan_over_time(
            step, (list(states), output0, alignment0), sequence, step_mask
        )
        return (
            ops.transpose(outputs, (1, 0, 2)),
            ops.transpose(alignment, (1, 0, 2)),
            final_states,
        )

    def _parallel_pass(
        self, sequence, step_mask, states, memory, memory_mask, keys, training
    ):
        cell = self.cell
        batch_size = ops.shape(memory)[0]
        cell_states, _ = cell.split_states(states)
        hidden0 = ops.zeros((batch_size, cell._cell_output_size()), self.compute_dtype)

        def step(carry, x):
            old_states, _ = carry
            x_t, m_t = x
            hidden, new_states = cell.cell(
                x_t,
                tree.pack_sequence_as(cell._cell_state_template, old_states),
                training=training,
            )
            new_states = _carry_over_padding(m_t, tree.flatten(new_states), old_states)
            hidden = ops.where(m_t, hidden, ops.zeros_like(hidden))
            return (new_states, hidden), (new_states, hidden)

        (final_states, _), (_, hidden) = _scan_over_time(
            step, (tree.flatten(cell_states), hidden0), sequence, step_mask
        )
        hidden = ops.transpose(hidden, (1, 0, 2))
        context, alignment = cell.attention(
            hidden,
            memory,
            value_mask=memory_mask,
            keys=keys,
            return_attention_scores=True,
        )
        outputs = cell.attentional_output(hidden, context)
        target_mask = ops.transpose(step_mask, (1, 0, 2))
        outputs = ops.where(target_mask, outputs, ops.zeros_like(outputs))
        alignment = ops.where(target_mask, alignment, ops.zeros_like(alignment))
        return outputs, alignment, final_states

    def compute_mask(self, inputs, mask=None):
        if not (self.return_attention or self.return_state):
            return mask
        extra = int(self.return_attention)
        if self.return_state:
            extra += len(self.cell.state_size)
        return [mask] + [None] * extra

    def compute_output_shape(self, inputs_shape, memory_shape):
        batch, steps = inputs_shape[0], inputs_shape[1]
        shapes = [(batch, steps, self.cell.output_size)]
        if self.return_attention:
            shapes.append((batch, steps, memory_shape[1]))
        if self.return_state:
            shapes.extend((batch, size) for size in self.cell.state_size)
        return shapes[0] if len(shapes) == 1 else shapes

    def compute_output_spec(
        self,
        inputs,
        memory,
        memory_mask=None,
        initial_state=None,
        mask=None,
        training=None,
        inputs_mask=None,
    ):
        shapes = self.compute_output_shape(inputs.shape, memory.shape)
        if not (self.return_attention or self.return_state):
            return keras.KerasTensor(shapes, dtype=self.compute_dtype)
        specs = [keras.KerasTensor(shapes[0], dtype=self.compute_dtype)]
        rest = shapes[1:]
        if self.return_attention:
            specs.append(keras.KerasTensor(rest[0], dtype="float32"))
            rest = rest[1:]
        specs.extend(keras.KerasTensor(s, dtype=self.compute_dtype) for s in rest)
        return specs

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "cell": keras.saving.serialize_keras_object(self.cell),
                "return_attention": self.return_attention,
                "return_state": self.return_state,
                "parallel": self.parallel,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["cell"] = keras.saving.deserialize_keras_object(config["cell"])
        return cls(**config)
