"""The encoder-decoder network: embeddings, a bidirectional RNN encoder, an
attention decoder (or the fixed-context baseline) and the output layer."""

import keras
import keras_hub
from keras import ops

from keras_attn._validation import check_choice
from keras_attn._validation import check_positive_int
from keras_attn.layers import AttentionDecoder
from keras_attn.layers import AttentionDecoderCell
from keras_attn.layers import BahdanauAttention
from keras_attn.layers import LuongAttention
from keras_attn.layers import PointerGenerator

# The attention names, defined here once: the command line, the demo and the
# benchmarks import this tuple. "none" is the fixed-context baseline, stored
# in the config as `attention=None`.
ATTENTIONS = ("bahdanau", "luong-dot", "luong-general", "luong-concat", "none")
CELL_TYPES = ("gru", "lstm")


@keras.saving.register_keras_serializable(package="keras_attn")
class AttentionSeq2SeqBackbone(keras_hub.models.Backbone):
    """A bidirectional-RNN encoder and an attention RNN decoder.

    The encoder is `num_encoder_layers` bidirectional GRU or LSTM layers of
    `hidden_dim // 2` units per direction, so the memory has `hidden_dim`
    features. The decoder RNN (`hidden_dim` units) starts from the encoder's
    final forward and backward states, concatenated. With attention, each
    decoder step attends over the memory (`keras_attn.layers`) and emits the
    attentional output `tanh(W_c [h; c])` of size `hidden_dim`; with
    `attention=None` it is the classic fixed-context encoder-decoder (Cho et
    al., Sutskever et al., 2014), whose only bridge is the final state, kept
    as the baseline attention is measured against. The output layer maps to
    the target vocabulary.

    Inputs are keras-hub's seq2seq dictionary: `encoder_token_ids`,
    `encoder_padding_mask`, `decoder_token_ids`, `decoder_padding_mask`
    (each `(batch, length)`). Outputs: a dictionary with
    `encoder_sequence_output` `(batch, S, hidden_dim)`,
    `decoder_sequence_output` `(batch, T, hidden_dim)`, `logits`
    `(batch, T, target_vocabulary_size)` and, with attention, `alignment`
    `(batch, T, S)`. With `pointer_generator=True` the logits are the
    log-probabilities of the mix of generating and copying (see
    `keras_attn.layers.PointerGenerator`), and `generation_probability`
    `(batch, T)` is the gate.

    For step-by-step decoding, `encode()` runs the encoder once and
    `decode_step()` advances the decoder by one token; the task model's
    `generate()` uses them inside a compiled loop.

    Args:
        vocabulary_size: int, one vocabulary for source and target (the
            default: one joint WordPiece vocabulary).
        embedding_dim: int, size of the token embeddings.
        hidden_dim: int (even), decoder size and memory size.
        num_encoder_layers: int, stacked bidirectional encoder layers.
        cell: `"gru"` or `"lstm"`.
        attention: one of `keras_attn.models.ATTENTIONS`: `"bahdanau"`,
            `"luong-dot"`, `"luong-general"`, `"luong-concat"`, or `"none"`
            (the fixed-context baseline; `None` means the same and is what
            the config stores).
        attention_units: int, size of the additive score's hidden layer
            (`"bahdanau"`, `"luong-concat"`); defaults to `hidden_dim`.
        attention_order: `"bahdanau"` (attend with the previous state, then
            step the RNN) or `"luong"` (step the RNN, then attend with its
            output); defaults to `"bahdanau"` for Bahdanau attention and
            `"luong"` for the Luong scores. See `AttentionDecoderCell`.
        input_feeding: bool, Luong order only: feed the previous attentional
            output to the RNN. Without it nothing feeds back, and training
            runs the attention for all steps at once (the parallel path).
        pointer_generator: bool, let the decoder copy source tokens (See et
            al., 2017): the output mixes the vocabulary softmax with the
            attention weights over the source tokens, through a learned
            gate. Needs attention and one vocabulary for both sides.
        dropout: float, dropout on embeddings, between encoder layers and
            before the output layer.
        source_vocabulary_size, target_vocabulary_size: ints, for separate
            vocabularies instead of `vocabulary_size`.
        share_embeddings: bool, one embedding matrix for source and target;
            defaults to `True` with a single vocabulary.
        dtype: the dtype policy of the layers.

    Example:
    >>> backbone = keras_attn.models.AttentionSeq2SeqBackbone(
    ...     vocabulary_size=100, embedding_dim=16, hidden_dim=32)
    >>> import numpy as np
    >>> ids = np.ones((2, 7), "int32")
    >>> outputs = backbone({"encoder_token_ids": ids, "encoder_padding_mask": ids,
    ...     "decoder_token_ids": ids[:, :5], "decoder_padding_mask": ids[:, :5]})
    >>> tuple(outputs["logits"].shape), tuple(outputs["alignment"].shape)
    ((2, 5, 100), (2, 5, 7))

    References:
        - [Bahdanau et al., 2015](https://arxiv.org/abs/1409.0473)
        - [Luong et al., 2015](https://arxiv.org/abs/1508.04025)
        - [Cho et al., 2014](https://arxiv.org/abs/1406.1078)
        - [See et al., 2017](https://arxiv.org/abs/1704.04368)
    """

    def __init__(
        self,
        vocabulary_size=None,
        embedding_dim=256,
        hidden_dim=512,
        num_encoder_layers=1,
        cell="gru",
        attention="bahdanau",
        attention_units=None,
        attention_order=None,
        input_feeding=True,
        pointer_generator=False,
        dropout=0.0,
        source_vocabulary_size=None,
        target_vocabulary_size=None,
        share_embeddings=None,
        dtype=None,
        **kwargs,
    ):
        if attention == "none":
            attention = None  # the baseline's one spelling in the config
        if attention is not None:
            check_choice("attention", attention, ATTENTIONS)
        check_choice("cell", cell, CELL_TYPES)
        if attention_order is None and attention is not None:
            attention_order = "bahdanau" if attention == "bahdanau" else "luong"
        if attention is not None:
            check_choice("attention_order", attention_order, ("bahdanau", "luong"))
        input_feeding = bool(input_feeding)
        source_vocabulary_size = source_vocabulary_size or vocabulary_size
        target_vocabulary_size = target_vocabulary_size or vocabulary_size
        check_positive_int("source_vocabulary_size", source_vocabulary_size)
        check_positive_int("target_vocabulary_size", target_vocabulary_size)
        check_positive_int("embedding_dim", embedding_dim)
        check_positive_int("hidden_dim", hidden_dim)
        check_positive_int("num_encoder_layers", num_encoder_layers)
        check_positive_int("attention_units", attention_units, allow_none=True)
        if hidden_dim % 2:
            raise ValueError(
                "`hidden_dim` must be even: the bidirectional encoder has "
                "hidden_dim // 2 units per direction. "
                f"Received: hidden_dim={hidden_dim}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(
                f"`dropout` must be in [0, 1). Received: dropout={dropout}"
            )
        pointer_generator = bool(pointer_generator)
        if pointer_generator and attention is None:
            raise ValueError(
                "`pointer_generator=True` copies through the attention weights; "
                "the fixed-context baseline (attention=None) has none."
            )
        if pointer_generator and source_vocabulary_size != target_vocabulary_size:
            raise ValueError(
                "`pointer_generator=True` needs one vocabulary for source and "
                "target (a source id must mean the same token as an output id). "
                f"Received: source_vocabulary_size={source_vocabulary_size}, "
                f"target_vocabulary_size={target_vocabulary_size}"
            )
        if share_embeddings is None:
            share_embeddings = source_vocabulary_size == target_vocabulary_size
        if share_embeddings and source_vocabulary_size != target_vocabulary_size:
            raise ValueError(
                "`share_embeddings=True` needs one vocabulary size. Received: "
                f"source_vocabulary_size={source_vocabulary_size}, "
                f"target_vocabulary_size={target_vocabulary_size}"
            )

        # === Layers ===
        self.source_embedding = keras.layers.Embedding(
            source_vocabulary_size, embedding_dim, dtype=dtype, name="source_embedding"
        )
        self.target_embedding = (
            self.source_embedding
            if share_embeddings
            else keras.layers.Embedding(
                target_vocabulary_size,
                embedding_dim,
                dtype=dtype,
                name="target_embedding",
            )
        )
        rnn_layer = keras.layers.GRU if cell == "gru" else keras.layers.LSTM
        self.encoder_layers = [
            keras.layers.Bidirectional(
                rnn_layer(
                    hidden_dim // 2,
                    return_sequences=True,
                    return_state=True,
                    dtype=dtype,
                ),
                dtype=dtype,
                name=f"encoder_{i}",
            )
            for i in range(num_encoder_layers)
        ]
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=dtype, name="dropout")
        cell_class = keras.layers.GRUCell if cell == "gru" else keras.layers.LSTMCell
        if attention is None:
            self.decoder_cell = cell_class(hidden_dim, dtype=dtype, name="decoder_cell")
            self.decoder = keras.layers.RNN(
                self.decoder_cell, return_sequences=True, dtype=dtype, name="decoder"
            )
        else:
            self.decoder_cell = AttentionDecoderCell(
                cell_class(hidden_dim, dtype=dtype, name="decoder_rnn_cell"),
                _make_attention(attention, attention_units or hidden_dim, dtype),
                attention_layer_size=hidden_dim,
                attention_order=attention_order,
                input_feeding=input_feeding,
                dtype=dtype,
                name="decoder_cell",
            )
            self.decoder = AttentionDecoder(
                self.decoder_cell, return_attention=True, dtype=dtype, name="decoder"
            )
        self.output_projection = keras.layers.Dense(
            target_vocabulary_size, dtype=dtype, name="output_projection"
        )
        self.pointer_generator_layer = (
            PointerGenerator(dtype=dtype, name="pointer_generator")
            if pointer_generator
            else None
        )

        # === Functional model ===
        encoder_token_ids = keras.Input(
            (None,), dtype="int32", name="encoder_token_ids"
        )
        encoder_padding_mask = keras.Input(
            (None,), dtype="int32", name="encoder_padding_mask"
        )
        decoder_token_ids = keras.Input(
            (None,), dtype="int32", name="decoder_token_ids"
        )
        decoder_padding_mask = keras.Input(
            (None,), dtype="int32", name="decoder_padding_mask"
        )
        memory, memory_mask, states = self._encode(
            encoder_token_ids, encoder_padding_mask
        )
        embedded = self.target_embedding(decoder_token_ids)
        target = self.dropout_layer(embedded)
        target_mask = ops.cast(decoder_padding_mask, "bool")
        outputs = {"encoder_sequence_output": memory}
        if attention is None:
            sequence = self.decoder(target, initial_state=states, mask=target_mask)
        else:
            sequence, alignment = self.decoder(
                target,
                memory=memory,
                memory_mask=memory_mask,
                initial_state=states,
                mask=target_mask,
            )
            outputs["alignment"] = alignment
        outputs["decoder_sequence_output"] = sequence
        outputs["logits"] = self.output_projection(self.dropout_layer(sequence))
        if pointer_generator:
            outputs["logits"], outputs["generation_probability"] = (
                self.pointer_generator_layer(
                    outputs["logits"],
                    alignment,
                    encoder_token_ids,
                    ops.concatenate([sequence, embedded], axis=-1),
                )
            )
        super().__init__(
            inputs={
                "encoder_token_ids": encoder_token_ids,
                "encoder_padding_mask": encoder_padding_mask,
                "decoder_token_ids": decoder_token_ids,
                "decoder_padding_mask": decoder_padding_mask,
            },
            outputs=outputs,
            dtype=dtype,
            **kwargs,
        )

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.num_encoder_layers = num_encoder_layers
        self.cell = cell
        self.attention = attention
        self.attention_units = attention_units
        self.attention_order = attention_order
        self.input_feeding = input_feeding
        self.pointer_generator = pointer_generator
        self.dropout = dropout
        self.source_vocabulary_size = source_vocabulary_size
        self.target_vocabulary_size = target_vocabulary_size
        self.share_embeddings = share_embeddings

    def _encode(self, token_ids, padding_mask, training=None):
        mask = ops.cast(padding_mask, "bool")
        sequence = self.dropout_layer(
            self.source_embedding(token_ids), training=training
        )
        for i, layer in enumerate(self.encoder_layers):
            if i:
                sequence = self.dropout_layer(sequence, training=training)
            sequence, *final = layer(sequence, mask=mask, training=training)
        # Bidirectional returns the forward states, then the backward ones;
        # the decoder starts from both, joined state by state.
        half = len(final) // 2
        states = [
            ops.concatenate([forward, backward], axis=-1)
            for forward, backward in zip(final[:half], final[half:], strict=True)
        ]
        return sequence, mask, states

    def encode(self, encoder_token_ids, encoder_padding_mask):
        """Runs the encoder once for step-by-step decoding.

        Args:
            encoder_token_ids: int `(batch, S)`.
            encoder_padding_mask: `(batch, S)`, true at real tokens.

        Returns:
            A tuple `(memory, memory_mask, memory_keys, states)`: the memory
            `(batch, S, hidden_dim)`, its boolean mask, the attention keys
            computed once for this source (`None` without attention) and the
            decoder's initial states, a list of `(batch, ...)` tensors.
        """
        memory, memory_mask, states = self._encode(
            encoder_token_ids, encoder_padding_mask
        )
        if self.attention is None:
            return memory, memory_mask, None, states
        keys = self.decoder_cell.attention.compute_keys(memory)
        return memory, memory_mask, keys, self.decoder_cell.complete_states(states)

    def decode_step(
        self,
        token_ids,
        states,
        memory,
        memory_mask,
        memory_keys,
        source_token_ids=None,
    ):
        """Advances the decoder by one token.

        Args:
            token_ids: int `(batch,)`, the previous output token.
            states: the decoder states from `encode()` or the previous step.
            memory, memory_mask, memory_keys: from `encode()`.
            source_token_ids: int `(batch, S)`, the encoder's token ids;
                needed with `pointer_generator=True`, to copy from.

        Returns:
            `(logits, states, alignment)`: logits `(batch, vocabulary)`, the
            new states, and the step's alignment `(batch, S)` (`None` for
            the fixed-context baseline).
        """
        inputs = self.target_embedding(token_ids)
        if self.attention is None:
            output, new_states = self.decoder_cell(inputs, list(states))
            alignment = None
        else:
            output, new_states, alignment = self.decoder_cell(
                inputs,
                list(states),
                memory=memory,
                memory_mask=memory_mask,
                memory_keys=memory_keys,
                return_attention=True,
            )
        new_states = (
            list(new_states) if isinstance(new_states, list | tuple) else [new_states]
        )
        logits = self.output_projection(output)
        if self.pointer_generator:
            if source_token_ids is None:
                raise ValueError(
                    "A pointer-generator model copies from the source: pass "
                    "`source_token_ids` to `decode_step`."
                )
            # The layer works on sequences: a step is a sequence of one.
            logits, _ = self.pointer_generator_layer(
                logits[:, None],
                alignment[:, None],
                source_token_ids,
                ops.concatenate([output, inputs], axis=-1)[:, None],
            )
            logits = logits[:, 0]
        return logits, new_states, alignment

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "hidden_dim": self.hidden_dim,
                "num_encoder_layers": self.num_encoder_layers,
                "cell": self.cell,
                "attention": self.attention,
                "attention_units": self.attention_units,
                "attention_order": self.attention_order,
                "input_feeding": self.input_feeding,
                "pointer_generator": self.pointer_generator,
                "dropout": self.dropout,
                "source_vocabulary_size": self.source_vocabulary_size,
                "target_vocabulary_size": self.target_vocabulary_size,
                "share_embeddings": self.share_embeddings,
            }
        )
        return config


def _make_attention(attention, units, dtype):
    if attention == "bahdanau":
        return BahdanauAttention(units, dtype=dtype, name="attention")
    score_mode = attention.split("-")[1]
    return LuongAttention(
        score_mode,
        units=units if score_mode == "concat" else None,
        dtype=dtype,
        name="attention",
    )
