"""Training and decoding speed of keras-attn against Keras 3 baselines.

Issue 6, item 1. At the reference configuration (vocabulary 8000 for source
and target, embedding 256, BiGRU encoder 256 per direction so the memory has
512 features, decoder GRU 512, attention units 512, Adam; batch 64, source
and target length 20 with random padding tails) this measures, for every
configuration, each as the median of `--repeats` timings after warm-up:

- training: target tokens per second (non-padding target tokens; one
  timing is `--train-steps` `train_on_batch` calls);
- greedy decoding, batch 64, 20 steps: tokens per second;
- greedy latency for one sentence (batch 1, 20 steps), in milliseconds;
- beam search with 5 beams, batch 16, 20 steps: seconds per call;
- peak memory: the peak resident set size of the process during training
  and during decoding (Linux: `VmHWM`, reset before each phase) and, on a
  GPU, the backend's peak device memory.

Decoding never stops early (`stop_token_ids=None`), so every call runs
exactly 20 steps. Weights are random: speed does not depend on them.

Configurations (`--configs`, comma-separated names or groups):

- `ATTENTION:ORDER` for this package's `AttentionSeq2SeqLM`, ATTENTION one
  of `bahdanau`, `luong-dot`, `luong-general`, `luong-concat` and ORDER one
  of `bahdanau` (query with s_{t-1}, then step the RNN on [x; c]), `luong`
  (input feeding of the previous attentional output; the backbone's default
  order for the Luong scores) or `luong-nofeed` (no input feeding: the training
  pass runs the RNN over the whole target, then attends in one call);
- `none`: the fixed-context encoder-decoder (`attention=None`);
- `tutorial`: the TensorFlow NMT tutorial's architecture written with
  Keras 3 built-ins (decoder GRU over the whole target, then one
  `MultiHeadAttention` cross-attention with a residual and
  `LayerNormalization`), decoded by a greedy loop in Python;
- `additive`: a plain `keras.layers.AdditiveAttention` model (decoder GRU
  over the whole target, Bahdanau's score through `Dense` projections,
  `tanh(W_c [h; c])`), decoded step by step from Python.

The two baselines decode as a Keras user would: one compiled step
(`predict_on_batch` of a step model that shares the trained layers) called
from a Python loop, greedy or a NumPy beam search. A configuration may end
in `@bf16` (or `@DTYPE_POLICY`) to run under `mixed_bfloat16`; `--dtype`
sets the default. Groups: `all` (every attention type in every order, the
baseline and both Keras models, float32), `default` (each attention type in
the backbone's own order), `baselines`, `bf16` (`default`, `none` and the
two Keras models under `mixed_bfloat16`). The default is `all,bf16`.

Every figure is also printed as a ratio to the two Keras baselines (of the
same dtype when measured, else float32), as "times better" (higher is
better for throughput, time and memory alike), and as achieved GFLOP/s
against this machine's measured dense-matmul rate (a float32 and a bfloat16
2048x2048 matmul, and the batch-64 output projection's shape). FLOPs are
counted analytically: see `forward_flops`.

Each configuration runs in a fresh subprocess (`--in-process` runs them in
this one: faster, but peaks and compile caches mix). Results go to
`benchmarks/results/speed-<backend>-<cpu|gpu>[-<tag>].json` and `.md`.

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/speed.py
    KERAS_BACKEND=jax .venv/bin/python benchmarks/speed.py --configs default,baselines
    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/speed.py --smoke
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, ROOT)

from benchmarks.machine import cpu_model  # noqa: E402

RESULTS_DIR = os.path.join(ROOT, "benchmarks", "results")

ATTENTIONS = ("bahdanau", "luong-dot", "luong-general", "luong-concat")
ORDERS = ("bahdanau", "luong", "luong-nofeed")
DEFAULT_ORDER = {
    "bahdanau": "bahdanau",
    "luong-dot": "luong",
    "luong-general": "luong",
    "luong-concat": "luong",
}
BASELINES = ("tutorial", "additive")
DTYPE_ALIASES = {"bf16": "mixed_bfloat16", "f32": "float32", "fp32": "float32"}

# The reference configuration of issue 6, and a tiny one for CI.
REFERENCE = {
    "vocabulary": 8000,
    "embedding": 256,
    "hidden": 512,  # decoder GRU and memory (BiGRU 256 per direction)
    "attention_units": 512,
    "batch": 64,
    "source_length": 20,
    "target_length": 20,
    "min_length": 10,  # real lengths are uniform in [min_length, length]
    "latency_batch": 1,
    "beam_batch": 16,
    "beams": 5,
    "train_steps": 10,  # train_on_batch calls per timing
    "warmup_steps": 3,
    "matmul_size": 2048,
}
SMOKE = {
    "vocabulary": 64,
    "embedding": 8,
    "hidden": 16,
    "attention_units": 16,
    "batch": 4,
    "source_length": 6,
    "target_length": 6,
    "min_length": 3,
    "latency_batch": 1,
    "beam_batch": 2,
    "beams": 2,
    "train_steps": 2,
    "warmup_steps": 1,
    "matmul_size": 128,
}
SMOKE_CONFIGS = "bahdanau:bahdanau,luong-dot:luong-nofeed,none,tutorial,additive"

# Issue 6: the best existing implementations on the project's 2-core CPU
# machine (tfa.seq2seq on TF 2.15 and the TF tutorial), and the targets
# (20% better than the best of them). Only meaningful on that machine.
REFERENCE_FIGURES = {
    "train_tokens_per_s": {"tfa Bahdanau": 4331, "TF tutorial": 5816},
    "greedy_tokens_per_s": {"tfa Bahdanau": 16454, "tfa Luong": 18478},
    "latency_ms": {"tfa Luong": 13.3},
    "beam_s": {"tfa Luong": 0.109},
}
TARGETS = {
    "train_tokens_per_s": (">=", 7000),
    "greedy_tokens_per_s": (">=", 22000),
    "latency_ms": ("<=", 11.0),
    "beam_s": ("<=", 0.09),
}
# Figure name -> higher is better.
FIGURES = {
    "train_tokens_per_s": True,
    "greedy_tokens_per_s": True,
    "latency_ms": False,
    "beam_s": False,
    "train_peak_mib": False,
    "decode_peak_mib": False,
}

REFERENCE_LABELS = {
    "train_tokens_per_s": "training tok/s",
    "greedy_tokens_per_s": "greedy b64 tok/s",
    "latency_ms": "greedy b1 ms",
    "beam_s": "beam-5 b16 s",
}

START, END = 2, 3  # [PAD]=0, [UNK]=1, [START]=2, [END]=3 as the tokenizer


# === Configurations ===
def parse_configs(text, default_dtype):
    """`"all,bahdanau:luong@bf16"` -> a list of config dicts, in order."""
    groups = {
        "all": [f"{a}:{o}" for a in ATTENTIONS for o in ORDERS] + ["none", *BASELINES],
        "default": [f"{a}:{DEFAULT_ORDER[a]}" for a in ATTENTIONS],
        "baselines": list(BASELINES),
        "bf16": [f"{a}:{DEFAULT_ORDER[a]}@bf16" for a in ATTENTIONS]
        + ["none@bf16", "tutorial@bf16", "additive@bf16"],
    }
    names = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        for name in groups.get(item, [item]):
            if name not in names:
                names.append(name)
    return [parse_config(name, default_dtype) for name in names]


def parse_config(name, default_dtype="float32"):
    base, _, dtype = name.partition("@")
    dtype = DTYPE_ALIASES.get(dtype, dtype) or default_dtype
    if dtype not in ("float32", "mixed_bfloat16", "bfloat16", "mixed_float16"):
        raise SystemExit(f"speed.py: unknown dtype policy in {name!r}")
    if base in BASELINES or base == "none":
        attention, order = (None, None)
        kind = base if base in BASELINES else "ours"
    else:
        attention, _, order = base.partition(":")
        order = order or DEFAULT_ORDER.get(attention)
        if attention not in ATTENTIONS or order not in ORDERS:
            raise SystemExit(
                f"speed.py: unknown configuration {name!r}; expected "
                f"ATTENTION:ORDER with ATTENTION in {ATTENTIONS} and ORDER in "
                f"{ORDERS}, 'none', {BASELINES} or a group "
                "(all, default, baselines, bf16)"
            )
        kind = "ours"
        base = f"{attention}:{order}"
    label = base if dtype == "float32" else f"{base}@{short_dtype(dtype)}"
    return {
        "name": label,
        "kind": kind,
        "attention": attention,
        "order": order,
        "dtype": dtype,
    }


def short_dtype(dtype):
    return {"mixed_bfloat16": "bf16", "mixed_float16": "f16"}.get(dtype, dtype)


# === FLOPs ===
def forward_flops(config, sizes, source_length, steps, rows, decoding=False):
    """Floating-point operations of one forward pass, counted analytically.

    A multiply-add counts 2; element-wise work (gates, tanh, softmax, adds,
    masking) and the embeddings are left out. With V the vocabulary, E the
    embedding, H the decoder (= memory M = 2 x 256 encoder) size, A the
    attention units, S the source length and T the decoded steps:

        encoder, per source position:  2 directions x 2 x 3(H/2)(E + H/2)
        keys, per source position:     2MA (bahdanau, concat, additive),
                                       2MH (general), 0 (dot)
        decoder GRU, per step:         2 x 3H(E + F + H), F the fed-in size:
                                       M (Bahdanau order), H (input
                                       feeding), 0 (otherwise)
        attention, per step:           2HA + 2SA (additive scores),
                                       2SM (dot), 2SH (general), then the
                                       context 2SM
        attentional output, per step:  2(H + M)H
        output projection, per step:   2HV

    The tutorial's cross-attention is `MultiHeadAttention` with one head of
    size A: query, key, value and output projections (2HA + 2 x 2MA per
    source position + 2AH), scores 2SA and context 2SA; when decoding, its
    key and value projections run again at every step. Positions are the
    padded ones: padding is computed like any other position.

    Returns:
        FLOPs for `rows` sequences of `source_length` source positions and
        `steps` decoder steps.
    """
    vocab, embed, hidden = sizes["vocabulary"], sizes["embedding"], sizes["hidden"]
    units, mem, src = sizes["attention_units"], sizes["hidden"], source_length
    half = hidden // 2
    encoder = 2 * 2 * 3 * half * (embed + half)
    output = 2 * hidden * vocab
    kind, attention, order = config["kind"], config["attention"], config["order"]
    keys = 0
    if kind == "tutorial":
        per_step = (
            2 * 3 * hidden * (embed + hidden)
            + 2 * hidden * units
            + 2 * src * units * 2
            + 2 * units * hidden
        )
        keys = 2 * 2 * mem * units
        if decoding:  # K and vocab are projected again at every step
            per_step += 2 * 2 * src * mem * units
        per_step += output
    elif kind == "additive":
        keys = 2 * mem * units
        per_step = (
            2 * 3 * hidden * (embed + hidden)
            + 2 * hidden * units
            + 2 * src * units
            + 2 * src * mem
        )
        per_step += 2 * (hidden + mem) * hidden + output
    elif attention is None:
        per_step = 2 * 3 * hidden * (embed + hidden) + output
    else:
        feed = {"bahdanau": mem, "luong": hidden, "luong-nofeed": 0}[order]
        per_step = 2 * 3 * hidden * (embed + feed + hidden)
        if attention in ("bahdanau", "luong-concat"):
            keys = 2 * mem * units
            per_step += 2 * hidden * units + 2 * src * units
        elif attention == "luong-general":
            keys = 2 * mem * hidden
            per_step += 2 * src * hidden
        else:
            per_step += 2 * src * mem
        per_step += 2 * src * mem + 2 * (hidden + mem) * hidden + output
    return rows * (src * (encoder + keys) + steps * per_step)


# === Data ===
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


# === The models ===
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


# === Measuring ===
def _status_kib(field):
    try:
        with open("/proc/self/status") as file:
            match = re.search(rf"^{field}:\s+(\d+) kB", file.read(), re.M)
        return int(match.group(1)) if match else None
    except OSError:
        return None


class PeakMemory:
    """The peak resident set size (MiB) during a `with` block, and on a GPU
    the backend's peak device memory (MiB).

    Linux resets the peak (`VmHWM`) when 5 is written to
    `/proc/self/clear_refs`; where that is refused, the process's lifetime
    peak (`ru_maxrss`) is reported instead (`reset` is then False).
    """

    def __init__(self, gpu):
        self.gpu = gpu

    def __enter__(self):
        self.reset = False
        try:
            with open("/proc/self/clear_refs", "w") as file:
                file.write("5")
            self.reset = True
        except OSError:
            pass
        self.rss_before = _status_kib("VmRSS")
        if self.gpu:
            reset_device_peak()
        return self

    def __exit__(self, *exc):
        peak = _status_kib("VmHWM") if self.reset else None
        if peak is None:
            import resource

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.peak_mib = round(peak / 1024, 1)
        self.before_mib = round((self.rss_before or 0) / 1024, 1)
        self.device_peak_mib = device_peak_mib() if self.gpu else None
        return False


def gpu_name():
    """The accelerator's name, or None on CPU."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                return details.get("device_name", "GPU")
        elif backend == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform != "cpu":
                return device.device_kind
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return torch.cuda.get_device_name(0)
    except Exception:  # noqa: BLE001 - best effort, for the record only
        return "GPU"
    return None


def reset_device_peak():
    import keras

    backend = keras.backend.backend()
    with contextlib.suppress(Exception):
        if backend == "tensorflow":
            import tensorflow as tf

            tf.config.experimental.reset_memory_stats("GPU:0")
        elif backend == "torch":
            import torch

            torch.cuda.reset_peak_memory_stats()
        # JAX has no reset: its peak is the process's peak so far.


def device_peak_mib():
    import keras

    backend = keras.backend.backend()
    peak = None
    with contextlib.suppress(Exception):
        if backend == "tensorflow":
            import tensorflow as tf

            peak = tf.config.experimental.get_memory_info("GPU:0")["peak"]
        elif backend == "torch":
            import torch

            peak = torch.cuda.max_memory_allocated()
        elif backend == "jax":
            import jax

            peak = jax.devices()[0].memory_stats()["peak_bytes_in_use"]
    return None if peak is None else round(peak / 2**20, 1)


def median_time(function, repeats, warmup=1):
    """The median wall time of `repeats` calls after `warmup` calls."""
    for _ in range(warmup):
        function()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings), timings


def run_config(config, sizes, repeats, jit_compile, seed=0):
    """Builds one configuration and measures it; returns a dict of figures."""
    import keras

    keras.config.set_dtype_policy(config["dtype"])
    keras.utils.set_random_seed(seed)
    gpu = gpu_name() is not None
    rng = np.random.default_rng(seed)
    try:
        build_start = time.perf_counter()
        runner_class = OursRunner if config["kind"] == "ours" else KerasRunner
        runner = runner_class(config, sizes, jit_compile)
        build_s = time.perf_counter() - build_start
        batch, steps = sizes["batch"], sizes["target_length"]
        src_len = sizes["source_length"]

        # Training: `repeats` timings of `train_steps` steps each.
        train_batches = [make_batch(rng, sizes, batch) for _ in range(4)]
        with PeakMemory(gpu) as train_memory:
            warm_start = time.perf_counter()
            for i in range(sizes["warmup_steps"]):
                runner.train(train_batches[i % len(train_batches)])
            train_warmup_s = time.perf_counter() - warm_start
            rates = []
            for _ in range(repeats):
                tokens = 0
                start = time.perf_counter()
                for i in range(sizes["train_steps"]):
                    chosen = train_batches[i % len(train_batches)]
                    runner.train(chosen)
                    tokens += int(chosen["weights"].sum())
                rates.append(tokens / (time.perf_counter() - start))
        train_rate = statistics.median(rates)
        train_flops = 3 * forward_flops(config, sizes, src_len, steps, batch)
        train_steps_per_s = train_rate / statistics.mean(
            float(b["weights"].sum()) for b in train_batches
        )

        greedy_batch = make_batch(rng, sizes, batch, with_targets=False)
        latency_batch = make_batch(rng, sizes, sizes["latency_batch"], False)
        latency_batch["source_mask"][:] = True  # one full-length sentence
        latency_batch["source"] = rng.integers(
            4, sizes["vocabulary"], latency_batch["source"].shape
        ).astype("int32")
        beam_batch = make_batch(rng, sizes, sizes["beam_batch"], False)
        with PeakMemory(gpu) as decode_memory:
            start = time.perf_counter()
            runner.greedy(greedy_batch)
            greedy_warmup_s = time.perf_counter() - start
            greedy_s, greedy_all = median_time(
                lambda: runner.greedy(greedy_batch), repeats
            )
            # One sentence is quick and noisy: three times the repeats.
            latency_s, latency_all = median_time(
                lambda: runner.greedy(latency_batch), 3 * repeats, warmup=2
            )
            start = time.perf_counter()
            runner.beam(beam_batch)
            beam_warmup_s = time.perf_counter() - start
            beam_s, beam_all = median_time(lambda: runner.beam(beam_batch), repeats)
    finally:
        keras.config.set_dtype_policy("float32")
    # Our beam search carries the greedy hypothesis as one more slot.
    beam_rows = sizes["beam_batch"] * (
        sizes["beams"] + (1 if config["kind"] == "ours" else 0)
    )
    flops = {
        "train": train_flops * train_steps_per_s,
        "greedy": forward_flops(config, sizes, src_len, steps, batch, True) / greedy_s,
        "latency": forward_flops(
            config, sizes, src_len, steps, sizes["latency_batch"], True
        )
        / latency_s,
        "beam": forward_flops(config, sizes, src_len, steps, beam_rows, True) / beam_s,
    }
    result = {
        **config,
        "train_tokens_per_s": round(train_rate, 1),
        "greedy_tokens_per_s": round(batch * steps / greedy_s, 1),
        "latency_ms": round(1000 * latency_s, 3),
        "beam_s": round(beam_s, 5),
        "train_peak_mib": train_memory.peak_mib,
        "decode_peak_mib": decode_memory.peak_mib,
        "rss_before_train_mib": train_memory.before_mib,
        "peak_is_per_phase": train_memory.reset,
        "train_device_peak_mib": train_memory.device_peak_mib,
        "decode_device_peak_mib": decode_memory.device_peak_mib,
        # Four significant digits: a smoke run's tiny rates must not round to 0.
        "gflops_per_s": {k: float(f"{v / 1e9:.4g}") for k, v in flops.items()},
        "flops_per_train_step": train_flops,
        "timings": {
            "train_tokens_per_s": [round(r, 1) for r in rates],
            "greedy_s": [round(t, 5) for t in greedy_all],
            "latency_s": [round(t, 6) for t in latency_all],
            "beam_s": [round(t, 5) for t in beam_all],
        },
        "compile_s": {
            "build": round(build_s, 2),
            "train_warmup": round(train_warmup_s, 2),
            "greedy_warmup": round(greedy_warmup_s, 2),
            "beam_warmup": round(beam_warmup_s, 2),
        },
    }
    keras.backend.clear_session()
    return result


def matmul_rates(sizes, dtypes):
    """GFLOP/s of a square matmul (the machine's dense rate) and of the
    batch-64 output projection's shape, per dtype, with the Keras backend."""
    import keras
    from keras import ops

    def rate(m, k, n, dtype, repeats=10):
        rng = np.random.default_rng(0)
        a = ops.convert_to_tensor(rng.standard_normal((m, k)), dtype)
        b = ops.convert_to_tensor(rng.standard_normal((k, n)), dtype)

        def run():
            # Summing forces a result out of asynchronous backends; its
            # cost is one pass over m x n numbers.
            ops.convert_to_numpy(ops.cast(ops.sum(ops.matmul(a, b)), "float32"))

        _, timings = median_time(run, repeats, warmup=2)
        seconds, best = statistics.median(timings), min(timings)
        return {
            "shape": [m, k, n],
            "median_gflops_per_s": round(2 * m * k * n / seconds / 1e9, 1),
            "best_gflops_per_s": round(2 * m * k * n / best / 1e9, 1),
        }

    size = sizes["matmul_size"]
    if gpu_name() is not None:
        size = max(size, 8192)
    results = {}
    for dtype in dtypes:
        storage = "bfloat16" if "bfloat16" in dtype else "float32"
        if storage in results:
            continue
        results[storage] = {
            "square": rate(size, size, size, storage),
            "output_projection": rate(
                sizes["batch"], sizes["hidden"], sizes["vocabulary"], storage, 30
            ),
        }
    keras.backend.clear_session()
    return results


def system_info():
    import keras

    info = {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_flags": _cpu_flags(),
        "gpu": gpu_name(),
    }
    for module in ("tensorflow", "jax", "torch", "keras_hub"):
        if module in sys.modules:
            info[module] = getattr(sys.modules[module], "__version__", None)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        info["tensorflow_threads"] = {
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        }
    return info


def _cpu_flags():
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as file:
        for line in file:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return [f for f in wanted if f in flags]
    return []


def _git_commit():
    with contextlib.suppress(Exception):
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    return None


# === Worker (one subprocess per configuration) ===
def worker(args):
    sizes = json.loads(args.sizes)
    if args.worker == "hardware":
        result = {
            "system": system_info(),
            "matmul": matmul_rates(sizes, json.loads(args.dtypes)),
        }
    else:
        config = parse_config(args.worker)
        result = run_config(config, sizes, args.repeats, parse_jit(args.jit_compile))
    with open(args.worker_out, "w", encoding="utf-8") as file:
        json.dump(result, file)
    return 0


def parse_jit(value):
    return {"auto": "auto", "true": True, "false": False}[value]


def run_worker(name, sizes, dtypes, args):
    """Runs one configuration (or the hardware probe) in a fresh process."""
    with tempfile.TemporaryDirectory() as directory:
        out = os.path.join(directory, "result.json")
        command = [
            sys.executable,
            os.path.abspath(__file__),
            "--worker",
            name,
            "--worker-out",
            out,
            "--sizes",
            json.dumps(sizes),
            "--dtypes",
            json.dumps(dtypes),
            "--repeats",
            str(args.repeats),
            "--jit-compile",
            args.jit_compile,
        ]
        env = {
            **os.environ,
            "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
        }
        process = subprocess.run(command, env=env, capture_output=True, text=True)
        if process.returncode != 0 or not os.path.isfile(out):
            tail = "\n".join(process.stderr.strip().splitlines()[-25:])
            return {"error": f"exit status {process.returncode}", "stderr": tail}
        with open(out, encoding="utf-8") as file:
            return json.load(file)


def run_in_process(name, sizes, dtypes, args):
    try:
        if name == "hardware":
            return {"system": system_info(), "matmul": matmul_rates(sizes, dtypes)}
        return run_config(
            parse_config(name), sizes, args.repeats, parse_jit(args.jit_compile)
        )
    except Exception as error:  # noqa: BLE001 - recorded, the others go on
        import traceback

        return {"error": repr(error), "stderr": traceback.format_exc()[-3000:]}


# === Report ===
def ratio(value, baseline, higher_is_better):
    if not value or not baseline:
        return None
    return round(value / baseline if higher_is_better else baseline / value, 2)


def add_ratios(results):
    """Each figure as "times better" than each Keras baseline, of the same
    dtype where that was measured, else of the float32 one."""
    by_name = {r["name"]: r for r in results if "error" not in r}
    for result in results:
        if "error" in result:
            continue
        result["ratios"] = {}
        suffix = (
            "" if result["dtype"] == "float32" else f"@{short_dtype(result['dtype'])}"
        )
        for baseline in BASELINES:
            reference = by_name.get(baseline + suffix) or by_name.get(baseline)
            if reference is None:
                continue
            result["ratios"][reference["name"]] = {
                figure: ratio(result[figure], reference[figure], higher)
                for figure, higher in FIGURES.items()
            }


def check_targets(result):
    checks = {}
    for figure, (sense, bound) in TARGETS.items():
        value = result.get(figure)
        if value is not None:
            checks[figure] = value >= bound if sense == ">=" else value <= bound
    return checks


def _fmt(value, digits=0):
    if value is None:
        return "—"
    if isinstance(value, float) and digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def figure_labels(sizes):
    """Column labels that name the measured sizes."""
    return {
        "train_tokens_per_s": "train tok/s",
        "greedy_tokens_per_s": f"greedy b{sizes['batch']} tok/s",
        "latency_ms": f"greedy b{sizes['latency_batch']} ms",
        "beam_s": f"beam-{sizes['beams']} b{sizes['beam_batch']} s",
        "train_peak_mib": "train peak MiB",
        "decode_peak_mib": "decode peak MiB",
    }


def markdown(report):
    """The tables for the README: figures, ratios and GFLOP/s."""
    system, results = report["system"], report["results"]
    device = (
        system.get("gpu") or f"{system.get('cpu')} ({system.get('cpu_count')} cores)"
    )
    sizes = report["sizes"]
    labels = figure_labels(sizes)
    lines = [
        f"Backend {system.get('backend')} (Keras {system.get('keras')}), {device}; "
        f"jit_compile={report['jit_compile']}. Vocabulary {sizes['vocabulary']}, "
        f"embedding {sizes['embedding']}, hidden {sizes['hidden']}, attention "
        f"{sizes['attention_units']}; batch {sizes['batch']}, lengths "
        f"{sizes['source_length']}/{sizes['target_length']} (real lengths "
        f"{sizes['min_length']}–{sizes['target_length']}); median of "
        f"{report['repeats']} after warm-up.",
        "",
        f"Command: `{report['command']}`",
        "",
        "| configuration | " + " | ".join(labels.values()) + " |",
        "|---|" + "---:|" * len(FIGURES),
    ]
    for r in results:
        if "error" in r:
            lines.append(
                f"| {r['name']} | failed: {r['error']} |" + " |" * (len(FIGURES) - 1)
            )
            continue
        lines.append(
            f"| {r['name']} | {_fmt(r['train_tokens_per_s'])} | "
            f"{_fmt(r['greedy_tokens_per_s'])} | {_fmt(r['latency_ms'], 2)} | "
            f"{_fmt(r['beam_s'], 3)} | {_fmt(r['train_peak_mib'])} | "
            f"{_fmt(r['decode_peak_mib'])} |"
        )
    if system.get("gpu"):
        lines += ["", "Peak device memory (MiB), training / decoding:", ""]
        for r in results:
            if "error" not in r:
                lines.append(
                    f"- {r['name']}: {_fmt(r['train_device_peak_mib'])} / "
                    f"{_fmt(r['decode_device_peak_mib'])}"
                )
    else:
        lines += [
            "",
            "Issue 6 targets (2-core CPU): "
            + ", ".join(
                f"{REFERENCE_LABELS[f]} {s} {b:,}" for f, (s, b) in TARGETS.items()
            )
            + "; best existing there: "
            + "; ".join(
                f"{REFERENCE_LABELS[f]} "
                + ", ".join(f"{n} {v:,}" for n, v in refs.items())
                for f, refs in REFERENCE_FIGURES.items()
            )
            + ".",
        ]
        meets = [
            r["name"]
            for r in results
            if "error" not in r and all(check_targets(r).values())
        ]
        lines.append(f"Meeting every target here: {', '.join(meets) or 'none'}.")

    lines += [
        "",
        "Times better than the Keras baselines (higher is better; for time and "
        "memory, baseline / ours):",
        "",
        "| configuration | vs | " + " | ".join(labels.values()) + " |",
        "|---|---|" + "---:|" * len(FIGURES),
    ]
    for r in results:
        for baseline, ratios in r.get("ratios", {}).items():
            if baseline == r["name"]:
                continue
            lines.append(
                f"| {r['name']} | {baseline} | "
                + " | ".join(_fmt(ratios[f], 2) for f in FIGURES)
                + " |"
            )

    matmul = report["matmul"]
    peaks = ", ".join(
        f"{dtype} {m['square']['best_gflops_per_s']:,.0f} "
        f"({'x'.join(map(str, m['square']['shape']))}), output projection "
        f"{m['output_projection']['best_gflops_per_s']:,.0f} "
        f"({'x'.join(map(str, m['output_projection']['shape']))})"
        for dtype, m in matmul.items()
    )
    lines += [
        "",
        f"Achieved GFLOP/s (analytic FLOPs, `forward_flops`; training counts 3x "
        f"the forward pass) and share of the matmul rate. Matmul best GFLOP/s: "
        f"{peaks}.",
        "",
        "| configuration | train | greedy b64 | greedy b1 | beam-5 b16 "
        "| train % of peak | greedy % of peak |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if "error" in r:
            continue
        g = r["gflops_per_s"]
        storage = "bfloat16" if "bfloat16" in r["dtype"] else "float32"
        peak = matmul.get(storage, matmul.get("float32"))["square"]["best_gflops_per_s"]
        lines.append(
            f"| {r['name']} | {g['train']:,.1f} | {g['greedy']:,.1f} | "
            f"{g['latency']:,.2f} | {g['beam']:,.1f} | "
            f"{100 * g['train'] / peak:.0f}% | {100 * g['greedy'] / peak:.0f}% |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Configurations: "
        + ", ".join(ATTENTIONS)
        + " with :"
        + "/:".join(ORDERS)
        + "; none; "
        + ", ".join(BASELINES)
        + "; groups all, default, baselines, bf16; @bf16 for mixed_bfloat16.",
    )
    parser.add_argument("--configs", default=None, help="default: all,bf16")
    parser.add_argument("--dtype", default="float32", help="default dtype policy")
    parser.add_argument("--repeats", type=int, default=None, help="default 7")
    parser.add_argument(
        "--jit-compile",
        choices=("auto", "true", "false"),
        default="auto",
        help="passed to compile(); auto is Keras's default (no XLA on a "
        "CPU-only TensorFlow)",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, few steps")
    parser.add_argument("--in-process", action="store_true", help="no subprocesses")
    parser.add_argument("--json", help="results file (default: benchmarks/results/)")
    parser.add_argument("--markdown", help="tables file (default: next to --json)")
    parser.add_argument("--tag", help="suffix for the default result file names")
    for name, value in REFERENCE.items():
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=int,
            default=None,
            help=f"default {value} ({SMOKE[name]} with --smoke)",
        )
    # Internal: one configuration in a subprocess.
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", help=argparse.SUPPRESS)
    parser.add_argument("--dtypes", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        args.repeats = args.repeats or 7
        return worker(args)

    import keras

    sizes = dict(SMOKE if args.smoke else REFERENCE)
    for name in REFERENCE:
        if getattr(args, name) is not None:
            sizes[name] = getattr(args, name)
    args.repeats = args.repeats or (1 if args.smoke else 7)
    configs = parse_configs(
        args.configs or (SMOKE_CONFIGS if args.smoke else "all,bf16"),
        DTYPE_ALIASES.get(args.dtype, args.dtype),
    )
    in_process = args.in_process or args.smoke
    backend = keras.backend.backend()
    dtypes = sorted({c["dtype"] for c in configs} | {"float32"})
    run = run_in_process if in_process else run_worker

    started = time.perf_counter()
    print(f"speed.py: backend {backend}, {len(configs)} configurations", flush=True)
    hardware = run("hardware", sizes, dtypes, args)
    if "error" in hardware:
        print(hardware["stderr"], file=sys.stderr)
        return 1
    device = "gpu" if hardware["system"].get("gpu") else "cpu"
    for dtype, m in hardware["matmul"].items():
        print(
            f"matmul {dtype}: {m['square']['best_gflops_per_s']:,.0f} GFLOP/s "
            f"(square), {m['output_projection']['best_gflops_per_s']:,.0f} GFLOP/s "
            "(output projection)",
            flush=True,
        )
    results = []
    for config in configs:
        start = time.perf_counter()
        result = run(config["name"], sizes, dtypes, args)
        result.setdefault("name", config["name"])
        results.append(result)
        if "error" in result:
            print(f"{config['name']}: FAILED {result['error']}", flush=True)
            print(result.get("stderr", ""), file=sys.stderr, flush=True)
            continue
        print(
            f"{config['name']}: train {result['train_tokens_per_s']:,.0f} tok/s, "
            f"greedy {result['greedy_tokens_per_s']:,.0f} tok/s, "
            f"b1 {result['latency_ms']:.2f} ms, beam {result['beam_s']:.3f} s, "
            f"peak {result['train_peak_mib']:,.0f}/{result['decode_peak_mib']:,.0f} "
            f"MiB ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    add_ratios(results)
    for result in results:
        if "error" not in result:
            result["meets_targets"] = check_targets(result)

    command = "KERAS_BACKEND={} python benchmarks/speed.py {}".format(
        backend, " ".join(argv if argv is not None else sys.argv[1:])
    ).strip()
    report = {
        "benchmark": "speed",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "git_commit": _git_commit(),
        "command": command,
        "smoke": args.smoke,
        "in_process": in_process,
        "jit_compile": args.jit_compile,
        "repeats": args.repeats,
        "sizes": sizes,
        "system": hardware["system"],
        "matmul": hardware["matmul"],
        "reference_figures": REFERENCE_FIGURES,
        "targets": {k: list(v) for k, v in TARGETS.items()},
        "results": results,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    if args.json:
        json_path = args.json
    else:
        directory = os.path.join(RESULTS_DIR, "smoke") if args.smoke else RESULTS_DIR
        tag = f"-{args.tag}" if args.tag else ""
        if args.jit_compile == "true":
            tag += "-xla"
        json_path = os.path.join(directory, f"speed-{backend}-{device}{tag}.json")
    md_path = args.markdown or os.path.splitext(json_path)[0] + ".md"
    os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
    with open(json_path, "w", encoding="utf-8") as file:
        json.dump(report, file, indent=1)
    table = markdown(report)
    with open(md_path, "w", encoding="utf-8") as file:
        file.write(table)
    print()
    print(table)
    print(f"wrote {json_path} and {md_path} ({report['wall_s']:.0f} s)")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
