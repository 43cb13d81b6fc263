"""The models `benchmarks/speed.py` times, behind one small interface.

A runner is built from a config dict (`speed_configs.parse_config`), the
sizes and the `jit_compile` setting, and has three methods, each taking a
batch of `make_batch`: `train(batch)` (one `train_on_batch` step),
`greedy(batch)` and `beam(batch)` (decode `target_length` steps, never
stopping early). `OursRunner` is this package's `AttentionSeq2SeqLM`;
`KerasRunner` the two baselines written with Keras 3 built-ins
(`tutorial` and `additive`). Weights are random: speed does not depend on
them.
"""

import numpy as np

START, END = 2, 3  # [PAD]=0, [UNK]=1, [START]=2, [END]=3 as the tokenizer


def make_batch(rng, sizes, batch, with_targets=True):
    """Random token ids with random padding tails.

    Returns a dict: `source` (batch, S) int32 with 0 as padding,
    `source_mask`, and with targets `decoder_ids` (batch, T) starting with
    [START], `decoder_mask`, `labels` and `weights` (the labels' mask).
    """
    vocab, src_len, tgt_len = (
        sizes["vocabulary"],
        sizes["source_length"],
        sizes["target_length"],
    )
    low = sizes["min_length"]
    source = rng.integers(4, vocab, (batch, src_len)).astype("int32")
    lengths = rng.integers(low, src_len + 1, batch)
    source_mask = np.arange(src_len)[None, :] < lengths[:, None]
    source = np.where(source_mask, source, 0).astype("int32")
    result = {"source": source, "source_mask": source_mask}
    if with_targets:
        # Labels w_1 .. w_{n-1} [END]; decoder inputs [START] w_1 .. w_{n-1}.
        labels = rng.integers(4, vocab, (batch, tgt_len)).astype("int32")
        lengths = rng.integers(low, tgt_len + 1, batch)
        labels[np.arange(batch), lengths - 1] = END
        decoder_ids = np.concatenate(
            [np.full((batch, 1), START, "int32"), labels[:, :-1]], axis=1
        )
        mask = np.arange(tgt_len)[None, :] < lengths[:, None]
        decoder_ids = np.where(mask, decoder_ids, 0)
        labels = np.where(mask, labels, 0)
        result.update(
            decoder_ids=decoder_ids.astype("int32"),
            decoder_mask=mask,
            labels=labels.astype("int32"),
            weights=mask.astype("float32"),
        )
    return result


def lm_inputs(batch, steps=None):
    """keras-hub's seq2seq dictionary for the library's model; without
    `steps` the teacher-forced training inputs, with it a [START] prompt of
    `steps + 1` positions for `generate`."""
    source = batch["source"]
    x = {
        "encoder_token_ids": source,
        "encoder_padding_mask": batch["source_mask"].astype("int32"),
    }
    if steps is None:
        x["decoder_token_ids"] = batch["decoder_ids"]
        x["decoder_padding_mask"] = batch["decoder_mask"].astype("int32")
    else:
        prompt = np.zeros((source.shape[0], steps + 1), "int32")
        prompt[:, 0] = START
        prompt_mask = np.zeros_like(prompt)
        prompt_mask[:, 0] = 1
        x["decoder_token_ids"] = prompt
        x["decoder_padding_mask"] = prompt_mask
    return x


def order_settings(order):
    """ORDER -> the cell's `(attention_order, input_feeding)`."""
    return ("bahdanau" if order == "bahdanau" else "luong", order != "luong-nofeed")


class OursRunner:
    """This package's AttentionSeq2SeqLM: `train_on_batch` and `generate`."""

    def __init__(self, config, sizes, jit_compile):
        import keras

        import keras_attn

        order = {}
        if config["attention"] is not None:
            attention_order, input_feeding = order_settings(config["order"])
            order = {"attention_order": attention_order, "input_feeding": input_feeding}
        backbone = keras_attn.models.AttentionSeq2SeqBackbone(
            vocabulary_size=sizes["vocabulary"],
            embedding_dim=sizes["embedding"],
            hidden_dim=sizes["hidden"],
            attention=config["attention"],
            attention_units=sizes["attention_units"],
            **order,
        )
        self.lm = keras_attn.models.AttentionSeq2SeqLM(backbone, preprocessor=None)
        self.lm.compile(
            optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0),
            sampler="greedy",
            jit_compile=jit_compile,
        )
        self.beams = sizes["beams"]
        self.steps = sizes["target_length"]

    def train(self, batch):
        self.lm.train_on_batch(
            lm_inputs(batch), batch["labels"], sample_weight=batch["weights"]
        )

    def greedy(self, batch):
        return self.lm.generate(lm_inputs(batch, self.steps), stop_token_ids=None)

    def beam(self, batch):
        return self.lm.generate(
            lm_inputs(batch, self.steps), stop_token_ids=None, num_beams=self.beams
        )


class KerasRunner:
    """A baseline from Keras 3 built-in layers only.

    Training runs one functional model over the whole target; decoding
    calls `predict_on_batch` of an encoder model once and of a one-step
    model (sharing the layers) once per step, from Python.
    """

    def __init__(self, config, sizes, jit_compile):
        import keras
        from keras import layers
        from keras import ops

        vocab, embed, width = sizes["vocabulary"], sizes["embedding"], sizes["hidden"]
        units = sizes["attention_units"]
        self.beams = sizes["beams"]
        self.steps = sizes["target_length"]
        self.kind = config["kind"]

        source = keras.Input((None,), dtype="int32", name="source")
        target = keras.Input((None,), dtype="int32", name="target")
        source_embedding = layers.Embedding(vocab, embed, name="source_embedding")
        target_embedding = layers.Embedding(vocab, embed, name="target_embedding")
        encoder = layers.Bidirectional(
            layers.GRU(width // 2, return_sequences=True, return_state=True),
            name="encoder",
        )
        decoder = layers.GRU(
            width, return_sequences=True, return_state=True, name="decoder"
        )
        output_layer = layers.Dense(vocab, name="output_projection")

        source_mask = ops.not_equal(source, 0)
        target_mask = ops.not_equal(target, 0)
        memory, forward, backward = encoder(source_embedding(source), mask=source_mask)
        if self.kind == "tutorial":
            # The TF NMT tutorial: the decoder GRU starts from zeros, then one
            # single-head cross-attention with a residual and a layer norm.
            cross = layers.MultiHeadAttention(
                num_heads=1, key_dim=units, name="cross_attention"
            )
            norm = layers.LayerNormalization(name="norm")

            def attend(hidden, memory, query_mask, memory_mask):
                mask = ops.logical_and(
                    ops.expand_dims(query_mask, 2), ops.expand_dims(memory_mask, 1)
                )
                context = cross(query=hidden, value=memory, attention_mask=mask)
                return norm(layers.Add()([hidden, context]))

            initial = None
            keys = None
        else:
            # Bahdanau's score v^T tanh(W_q h + W_k m) with AdditiveAttention
            # (its `scale` is v), Luong's attentional output tanh(W_c [h; c]).
            query_projection = layers.Dense(units, use_bias=False, name="query")
            key_projection = layers.Dense(units, use_bias=False, name="key")
            additive = layers.AdditiveAttention(name="attention")
            combine = layers.Dense(
                width, activation="tanh", use_bias=False, name="combine"
            )

            def attend(hidden, memory, query_mask, memory_mask, keys):
                context = additive(
                    [query_projection(hidden), memory, keys],
                    mask=[query_mask, memory_mask],
                )
                return combine(layers.Concatenate()([hidden, context]))

            initial = layers.Concatenate()([forward, backward])
            keys = key_projection(memory)

        hidden, _ = decoder(
            target_embedding(target), initial_state=initial, mask=target_mask
        )
        if self.kind == "tutorial":
            attended = attend(hidden, memory, target_mask, source_mask)
        else:
            attended = attend(hidden, memory, target_mask, source_mask, keys)
        logits = output_layer(attended)
        self.model = keras.Model([source, target], logits)
        self.model.compile(
            optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            weighted_metrics=["sparse_categorical_accuracy"],
            jit_compile=jit_compile,
        )

        # Decoding: the encoder once, then one step at a time.
        encoder_outputs = [memory]
        if self.kind == "additive":
            encoder_outputs += [keys, initial]
        self.encoder = keras.Model(source, encoder_outputs)
        token = keras.Input((1,), dtype="int32", name="token")
        state = keras.Input((width,), name="state")
        memory_in = keras.Input((None, width), name="memory")
        mask_in = keras.Input((None,), dtype="bool", name="memory_mask")
        step_inputs = [token, state, memory_in, mask_in]
        hidden, new_state = decoder(target_embedding(token), initial_state=state)
        one = ops.ones_like(ops.cast(token, "bool"))
        if self.kind == "tutorial":
            attended = attend(hidden, memory_in, one, mask_in)
        else:
            keys_in = keras.Input((None, units), name="keys")
            step_inputs.append(keys_in)
            attended = attend(hidden, memory_in, one, mask_in, keys_in)
        step_logits = ops.cast(output_layer(attended)[:, 0], "float32")
        self.greedy_step = keras.Model(
            step_inputs,
            [ops.expand_dims(ops.argmax(step_logits, -1), -1), new_state],
        )
        self.beam_step = keras.Model(
            step_inputs, [ops.log_softmax(step_logits, -1), new_state]
        )
        for model in (self.encoder, self.greedy_step, self.beam_step):
            model.compile(jit_compile=jit_compile)
        self.hidden = width

    def train(self, batch):
        self.model.train_on_batch(
            [batch["source"], batch["decoder_ids"]],
            batch["labels"],
            sample_weight=batch["weights"],
        )

    def _encode(self, batch, repeat=1):
        source = batch["source"]
        outputs = self.encoder.predict_on_batch(source)
        outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
        memory = outputs[0]
        rows = source.shape[0]
        state = (
            outputs[2]
            if self.kind == "additive"
            else np.zeros((rows, self.hidden), memory.dtype)
        )
        static = [memory, source != 0] + ([outputs[1]] if len(outputs) > 1 else [])
        static = [np.repeat(x, repeat, axis=0) for x in static]
        return np.repeat(state, repeat, axis=0), static

    def greedy(self, batch):
        state, static = self._encode(batch)
        tokens = np.full((batch["source"].shape[0], 1), START, "int32")
        outputs = []
        for _ in range(self.steps):
            tokens, state = self.greedy_step.predict_on_batch([tokens, state, *static])
            tokens = tokens.astype("int32")
            outputs.append(tokens)
        return np.concatenate(outputs, axis=1)

    def beam(self, batch):
        """Plain beam search: the `beams` best continuations by summed
        log-probability, for a fixed number of steps."""
        beams = self.beams
        rows = batch["source"].shape[0]
        state, static = self._encode(batch, repeat=beams)
        tokens = np.full((rows * beams, 1), START, "int32")
        scores = np.full((rows, beams), -1e9, "float32")
        scores[:, 0] = 0.0
        history = np.zeros((rows, beams, 0), "int32")
        picked_rows = np.arange(rows)[:, None]
        for _ in range(self.steps):
            log_probs, state = self.beam_step.predict_on_batch([tokens, state, *static])
            vocabulary = log_probs.shape[-1]
            total = scores[:, :, None] + log_probs.reshape(rows, beams, vocabulary)
            total = total.reshape(rows, beams * vocabulary)
            best = np.argpartition(total, -beams, axis=1)[:, -beams:]
            scores = np.take_along_axis(total, best, axis=1)
            source_beam, token = best // vocabulary, best % vocabulary
            state = state.reshape(rows, beams, -1)[picked_rows, source_beam]
            state = state.reshape(rows * beams, -1)
            history = np.concatenate(
                [history[picked_rows, source_beam], token[..., None]], axis=-1
            )
            tokens = token.reshape(rows * beams, 1).astype("int32")
        return history[np.arange(rows), np.argmax(scores, axis=1)]


def build_runner(config, sizes, jit_compile):
    """The runner of a configuration: `OursRunner` for this package's
    models (`kind` `"ours"`), else `KerasRunner`."""
    runner_class = OursRunner if config["kind"] == "ours" else KerasRunner
    return runner_class(config, sizes, jit_compile)
