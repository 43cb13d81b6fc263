"""The end-to-end seq2seq task model: fit on text pairs, generate text."""

import functools
import itertools
import json
import threading
import warnings

import keras
import keras_hub
from keras import ops
from keras import tree

from keras_attn import samplers
from keras_attn._validation import check_positive_int
from keras_attn.losses import SmoothedSparseCategoricalCrossentropy
from keras_attn.models.attention_seq2seq_backbone import AttentionSeq2SeqBackbone
from keras_attn.models.attention_seq2seq_preprocessor import (
    AttentionSeq2SeqPreprocessor,
)
from keras_attn.samplers import BeamSearchSampler
from keras_attn.samplers.sample_with_cache import returns_cache
from keras_attn.samplers.sample_with_cache import sample_with_cache

# Guards the lazy creation of a model's compiled-function cache.
_CACHE_CREATION = threading.Lock()


@keras.saving.register_keras_serializable(package="keras_attn")
class AttentionSeq2SeqLM(keras_hub.models.Seq2SeqLM):
    """An attention encoder-decoder for text to text, the keras-hub way.

    `fit` takes `{"encoder_text": [...], "decoder_text": [...]}` string
    pairs (or a `tf.data.Dataset` of them) and trains with teacher forcing;
    `generate` decodes new text with the sampler chosen in `compile`, or
    with one given for that call (`sampler="beam"`, a name of
    `keras_attn.samplers.NAMES` or a `keras_hub.samplers.Sampler`), and can
    return what each output token attended to. The encoder runs once per
    batch and the attention keys once per source; the decoding loop is
    compiled once per sampler configuration (`tf.function` on TensorFlow,
    with XLA when the model's `jit_compile` is on, which Keras leaves off on
    a CPU; `jax.jit` on JAX). The source is cut to the batch's longest input
    (rounded up to a multiple of 8), so a short sentence does not pay for
    the longest one the model allows.

    Args:
        backbone: an `AttentionSeq2SeqBackbone`.
        preprocessor: an `AttentionSeq2SeqPreprocessor`, or `None` to work
            on token ids.

    Example:
    >>> import keras_attn
    >>> sources, targets = ["hola", "adiós"], ["hello", "goodbye"]
    >>> preprocessor = keras_attn.models.AttentionSeq2SeqPreprocessor.from_corpus(
    ...     sources, targets, vocabulary_size=100)
    >>> backbone = keras_attn.models.AttentionSeq2SeqBackbone(
    ...     vocabulary_size=preprocessor.tokenizer.vocabulary_size(),
    ...     embedding_dim=16, hidden_dim=32)
    >>> lm = keras_attn.models.AttentionSeq2SeqLM(backbone, preprocessor)
    >>> lm.compile(sampler="greedy")
    >>> _ = lm.fit({"encoder_text": sources, "decoder_text": targets}, verbose=0)
    >>> outputs = lm.generate(["hola"], max_length=8)
    >>> outputs = lm.generate(["hola"], max_length=8, sampler="beam")
    >>> text, pair = lm.generate("hola", max_length=8, return_alignment=True)
    >>> pair["weights"].shape == (len(pair["output_tokens"]),
    ...                           len(pair["source_tokens"]))
    True
    """

    backbone_cls = AttentionSeq2SeqBackbone
    preprocessor_cls = AttentionSeq2SeqPreprocessor

    def __init__(self, backbone, preprocessor=None, **kwargs):
        # === Layers ===
        self.backbone = backbone
        self.preprocessor = preprocessor

        # === Functional model ===
        inputs = backbone.input
        outputs = backbone(inputs)["logits"]
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """Loads a model saved with `save_to_preset(directory)`.

        A local directory is checked first: a missing directory or file, or
        a JSON file that does not parse, is an error that names it.

        As in keras-hub, the model is built in the global dtype policy
        (`keras.config.dtype_policy()`, float32 by default) unless `dtype` is
        given, whatever policy it was trained in: a model trained with
        mixed precision loads for float32 serving, and
        `from_preset(path, dtype="mixed_bfloat16")` keeps the mixed policy.

        Args:
            preset: a directory written by `save_to_preset`.
            load_weights: bool, load the trained weights.
            **kwargs: passed to `keras_hub.models.Seq2SeqLM.from_preset`.
        """
        check_preset_directory(preset, load_weights)
        if kwargs.get("dtype") is None and _saved_policy(preset).startswith("mixed"):
            # keras-hub 0.32 resolves a saved float policy to the global one
            # but fails on a saved mixed policy: resolve it the same way.
            kwargs["dtype"] = keras.config.dtype_policy()
        return super().from_preset(preset, load_weights=load_weights, **kwargs)

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        *,
        weighted_metrics="auto",
        sampler="greedy",
        label_smoothing=0.0,
        **kwargs,
    ):
        """Configures training and generation.

        Defaults: Adam (learning rate 1e-3, gradient norm clipped at 1, as
        RNN training wants), sparse cross-entropy on the logits weighted by
        the target padding mask (with `label_smoothing`, the smoothed form),
        and masked token accuracy; greedy decoding.

        Args:
            optimizer, loss, weighted_metrics: as `keras.Model.compile`, with
                the defaults above for `"auto"`.
            sampler: the sampler `generate` uses when it is given none: a
                name of `keras_attn.samplers.NAMES` (`"greedy"`: this
                package's `GreedySampler`, the argmax of the logits;
                `"beam"`: its `BeamSearchSampler` with 5 beams and GNMT's
                length penalty; `"top_k"`, `"top_p"`, `"random"`), or a
                `keras_hub.samplers.Sampler` instance.
            label_smoothing: float in [0, 1), for the default loss.
            **kwargs: passed to `keras.Model.compile`.
        """
        sampler = resolve_sampler(sampler)
        # jit_compile and run_eagerly may change: compile anew.
        self._generate_functions = _GenerateFunctions()
        if loss == "auto" and label_smoothing:
            loss = SmoothedSparseCategoricalCrossentropy(label_smoothing)
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3, clipnorm=1.0)
        super().compile(
            optimizer=optimizer,
            loss=loss,
            weighted_metrics=weighted_metrics,
            sampler=sampler,
            **kwargs,
        )

    def generate_step(
        self,
        inputs,
        stop_token_ids=None,
        *,
        sampler=None,
        return_alignment=False,
        num_return_sequences=1,
        return_scores=False,
    ):
        """Decodes one batch of token ids; `generate` compiles it.

        Args:
            inputs: keras-hub's seq2seq dictionary of token ids and padding
                masks, the decoder side holding the prompt (`[START]`).
            stop_token_ids: ids that end a sequence, or `None`.
            sampler: the sampler to decode with; defaults to `self.sampler`.
            return_alignment: bool, also return `"alignment"`, the attention
                weights of each decoding step `(batch, target_len,
                source_len)` float32, row `t` for the token at position `t`
                (zeros at the prompt).
            num_return_sequences: int `k`, for a `BeamSearchSampler`: the
                `k` best distinct hypotheses per input, as `k` consecutive
                rows of each output (`batch * k` rows).
            return_scores: bool, for a `BeamSearchSampler`: also return
                `"scores"`, `(batch,)` or `(batch, k)`.

        Returns:
            A dictionary with `"decoder_token_ids"` and
            `"decoder_padding_mask"` (true up to and including the first
            stop token), `(batch, target_len)`, and `"alignment"` and
            `"scores"` when asked.
        """
        sampler = self.sampler if sampler is None else sampler
        backbone = self.backbone
        memory, memory_mask, keys, states = backbone.encode(
            inputs["encoder_token_ids"], inputs["encoder_padding_mask"]
        )
        decoder_token_ids = inputs["decoder_token_ids"]
        decoder_padding_mask = inputs["decoder_padding_mask"]
        # Generation starts after the [START] the preprocessor put first.
        index = ops.min(ops.sum(ops.cast(decoder_padding_mask, "int32"), axis=-1))

        # The source side (memory, mask, keys) never changes while decoding.
        # A beam sampler reorders every cache leaf at every step, so only the
        # states (and what is kept of the weights) go in the cache; the
        # source side is expanded to the sampler's rows once, outside the loop.
        keys = keys if keys is not None else memory
        source_token_ids = inputs["encoder_token_ids"]
        rows = _rows_per_input(sampler)
        if rows > 1:
            memory, memory_mask, keys, source_token_ids = (
                ops.repeat(x, rows, axis=0)
                for x in (memory, memory_mask, keys, source_token_ids)
            )

        batch_size, target_length = ops.shape(decoder_token_ids)[:2]
        source_length = ops.shape(inputs["encoder_token_ids"])[1]
        cache = {"states": states}
        if return_alignment:
            cache["history"] = ops.zeros(
                (batch_size, target_length, source_length), "float32"
            )
        beam_search = isinstance(sampler, BeamSearchSampler)
        if beam_search and sampler.coverage_penalty:
            cache["coverage"] = ops.zeros((batch_size, source_length), "float32")

        def next(prompt, cache, index):
            token = ops.take(prompt, index - 1, axis=1)
            logits, states, alignment = backbone.decode_step(
                token, cache["states"], memory, memory_mask, keys, source_token_ids
            )
            cache = dict(cache, states=states)
            if "history" in cache:
                # Row `index` holds the weights that produced token `index`.
                cache["history"] = ops.slice_update(
                    cache["history"],
                    [0, index, 0],
                    ops.cast(alignment, "float32")[:, None],
                )
            if "coverage" in cache:
                cache["coverage"] = cache["coverage"] + ops.cast(alignment, "float32")
            return logits, None, cache

        arguments = {
            "next": next,
            "prompt": decoder_token_ids,
            "cache": cache,
            "index": index,
            "mask": decoder_padding_mask,
            "stop_token_ids": stop_token_ids,
            "model": self,
        }
        outputs = {}
        if beam_search:

            def attention_coverage(cache):
                # Padding adds log(1) = 0 to the coverage penalty.
                return ops.where(ops.cast(memory_mask, "bool"), cache["coverage"], 1.0)

            decoder_token_ids, cache, scores = sampler.search(
                attention_coverage=attention_coverage,
                num_return_sequences=num_return_sequences,
                return_scores=True,
                **arguments,
            )
            if return_scores:
                outputs["scores"] = scores
        elif return_alignment:
            decoder_token_ids, cache = sample_with_cache(sampler, **arguments)
        else:
            decoder_token_ids = sampler(**arguments)
        if num_return_sequences > 1:
            # (batch, k, ...) to k consecutive rows per input.
            decoder_token_ids, cache = tree.map_structure(
                lambda x: ops.reshape(x, (-1,) + tuple(ops.shape(x)[2:])),
                (decoder_token_ids, cache),
            )
            decoder_padding_mask = ops.repeat(
                decoder_padding_mask, num_return_sequences, axis=0
            )
        if return_alignment:
            outputs["alignment"] = cache["history"]
        outputs["decoder_token_ids"] = decoder_token_ids
        outputs["decoder_padding_mask"] = _mask_after_stop(
            decoder_token_ids, decoder_padding_mask, stop_token_ids
        )
        return outputs

    def make_generate_function(self):
        """The compiled decoding function of the sampler given to `compile`.

        keras-hub's hook, kept for its callers: builds `generate_function`
        once (until the next `compile`) and returns it. `generate` with a
        sampler of its own uses a function compiled for that sampler
        instead, and never changes this one.

        Returns:
            A function `(inputs, stop_token_ids=None) -> outputs` over token
            ids, as `generate_step`.
        """
        with self._function_cache().lock:
            if self.generate_function is None:
                self.generate_function = self._compile_generate_step(
                    self.sampler, return_alignment=False
                )
            return self.generate_function

    def generate(
        self,
        inputs,
        max_length=None,
        *,
        sampler=None,
        return_alignment=False,
        stop_token_ids="auto",
        num_beams=None,
        length_penalty=0.6,
        num_return_sequences=1,
        return_scores=False,
    ):
        """Generates text for `inputs`, a string or a list of strings.

        Decodes with the sampler given to `compile`, or with `sampler` (or
        `num_beams`) for this call only: the model is not changed, so
        threads may decode with different samplers at once. Each sampler
        configuration (its class and `get_config()`) is compiled once and
        kept until the next `compile`; an instance whose configuration
        equals an earlier one's runs that one's compiled function (and, for
        a random sampler, continues its random state).

        Args:
            inputs: a non-empty string, a non-empty list of them, or a
                `tf.data.Dataset` of string batches (decoded batch by
                batch). Without a preprocessor: keras-hub's dictionary of
                token ids, or a dataset of them.
            max_length: int, the most output tokens (with `[START]`);
                defaults to the preprocessor's `decoder_sequence_length`.
            sampler: `None` (the compiled sampler), a name of
                `keras_attn.samplers.NAMES` or a `keras_hub.samplers.Sampler`.
            return_alignment: bool, also return what each output token
                attended to, taken from the decoding pass itself (for beam
                search, the returned hypothesis's own weights).
            stop_token_ids: `"auto"` (the `[END]` token), `None` or ids.
            num_beams: int, shortcut for
                `sampler=BeamSearchSampler(num_beams, length_penalty)`
                (1 is greedy search).
            length_penalty: float, GNMT's alpha for `num_beams`.
            num_return_sequences: int `k` <= `num_beams`, for beam search
                (`keras_attn.samplers.BeamSearchSampler`): return the `k`
                best distinct hypotheses per input (the greedy hypothesis
                that rides along is a candidate), best first.
            return_scores: bool, for beam search: also return each output's
                score, its length-normalised log-probability (with the
                coverage penalty, if any): `score()` of that output under
                the same `length_penalty`, for an output that ends with
                `[END]` and a sampler with `temperature=1` and no
                repetition penalty.

        Returns:
            A string for a string input, else a list of strings (without a
            preprocessor: a dictionary of token id arrays). With
            `num_return_sequences=k > 1`, per input a list of `k` strings
            (token id arrays gain an axis of `k` after the batch). With
            `return_scores=True`, a tuple `(outputs, scores)`: a NumPy array
            `(len(inputs),)`, or `(len(inputs), k)` (for a string input a
            float, or `(k,)`), and with `return_alignment=True` too,
            `(outputs, scores, alignments)`. With
            `return_alignment=True`, a tuple `(outputs, alignments)`:
            per input, the dictionary `alignment()` returns
            (`"source_tokens"` with `[START]` and `[END]`, `"output_tokens"`
            ending with the `[END]` the decoder emitted, `"weights"` a NumPy
            array `(output_len, source_len)`); one dictionary for a string
            input. An output that reaches `max_length` without `[END]` has
            no `[END]` row.

        Example:
        An untrained model, so the words are arbitrary:
        >>> import keras_attn
        >>> tokenizer = keras_attn.models.AttentionSeq2SeqTokenizer(
        ...     vocabulary=["[PAD]", "[UNK]", "[START]", "[END]", "hola", "hello"])
        >>> lm = keras_attn.models.AttentionSeq2SeqLM(
        ...     keras_attn.models.AttentionSeq2SeqBackbone(
        ...         vocabulary_size=6, embedding_dim=8, hidden_dim=8),
        ...     keras_attn.models.AttentionSeq2SeqPreprocessor(tokenizer))
        >>> outputs = lm.generate(["hola", "hola hola"], max_length=6, sampler="beam")
        >>> text, pair = lm.generate("hola", max_length=6, return_alignment=True)
        >>> pair["source_tokens"]
        ['[START]', 'hola', '[END]']
        >>> pair["weights"].shape == (len(pair["output_tokens"]), 3)
        True
        """
        if num_beams is not None:
            if sampler is not None:
                raise ValueError(
                    "Pass `sampler` or `num_beams`, not both. Received: "
                    f"sampler={sampler!r}, num_beams={num_beams!r}"
                )
            sampler = BeamSearchSampler(num_beams, length_penalty)
        elif sampler is not None:
            sampler = resolve_sampler(sampler)
        self._check_beam_outputs(
            self.sampler if sampler is None else sampler,
            num_return_sequences,
            return_scores,
        )
        if return_alignment:
            self._check_can_align(self.sampler if sampler is None else sampler)
        if self.preprocessor is not None:
            _check_texts(inputs)
            self._warn_if_truncated(inputs)
            if stop_token_ids == "auto":
                stop_token_ids = [self.preprocessor.special_token_id("end")]
        elif stop_token_ids == "auto":
            raise ValueError(
                "`stop_token_ids='auto'` reads the end token from the "
                "preprocessor, and this model has none (preprocessor=None). "
                "Pass `stop_token_ids=None` to decode to `max_length`, or the "
                "ids that end a sequence."
            )
        k = num_return_sequences
        if return_alignment or sampler is not None or k > 1 or return_scores:
            generate_function = self._generate_function(
                sampler, return_alignment, k, return_scores
            )
        else:
            generate_function = self.make_generate_function()

        if self.preprocessor is not None and not self.preprocessor.built:
            # Its packers are made on first use; two threads making them at
            # once trip Keras's check that a built layer gains no state.
            with self._function_cache().lock:
                if not self.preprocessor.built:
                    self.preprocessor.build(None)
        batches, is_scalar = self._generate_batches(inputs)
        outputs, alignments, scores = [], [], []
        for batch in batches:
            if self.preprocessor is not None:
                batch = self.preprocessor.generate_preprocess(
                    batch, sequence_length=max_length
                )
            batch = _distribute(batch)
            generated = generate_function(batch, stop_token_ids=stop_token_ids)
            if return_alignment:
                alignments.extend(
                    self._decoded_alignments(_repeat_rows(batch, k), generated)
                )
            if return_scores:
                scores.append(ops.convert_to_numpy(generated["scores"]))
            generated = {
                key: generated[key]
                for key in ("decoder_token_ids", "decoder_padding_mask")
            }
            if self.preprocessor is not None:
                generated = self.preprocessor.generate_postprocess(generated)
            outputs.append(generated)
        outputs = _join_batches(outputs, is_scalar and k == 1)
        if k > 1:
            outputs, alignments = _group(outputs, k), _group(alignments, k)
            if is_scalar:
                outputs = outputs[0]
        results = [outputs]
        if return_scores:
            import numpy as np

            scores = np.concatenate(scores) if scores else np.zeros((0,))
            results.append(scores[0] if is_scalar else scores)
        if return_alignment:
            results.append(alignments[0] if is_scalar else alignments)
        return results[0] if len(results) == 1 else tuple(results)

    def _check_beam_outputs(self, sampler, num_return_sequences, return_scores):
        check_positive_int("num_return_sequences", num_return_sequences)
        beam_search = isinstance(sampler, BeamSearchSampler)
        if (num_return_sequences > 1 or return_scores) and not beam_search:
            raise ValueError(
                "`num_return_sequences` and `return_scores` need beam search "
                "(sampler='beam', a keras_attn.samplers.BeamSearchSampler, or "
                f"num_beams). Received: sampler={type(sampler).__name__}, "
                f"num_return_sequences={num_return_sequences}, "
                f"return_scores={return_scores}"
            )
        if beam_search and num_return_sequences > sampler.num_beams:
            raise ValueError(
                "`num_return_sequences` must be <= the sampler's num_beams "
                f"({sampler.num_beams}). Received: "
                f"num_return_sequences={num_return_sequences}"
            )
        if beam_search and sampler.coverage_penalty and self.backbone.attention is None:
            raise ValueError(
                "`coverage_penalty` reads the attention weights, and the "
                "fixed-context baseline (attention=None) has none. Received: "
                f"coverage_penalty={sampler.coverage_penalty}"
            )

    def _check_can_align(self, sampler):
        if self.backbone.attention is None:
            raise ValueError(
                "The fixed-context baseline (attention=None) has no alignment: "
                "generate with return_alignment=False."
            )
        if self.preprocessor is None:
            raise ValueError(
                "`return_alignment=True` names the tokens with the "
                "preprocessor's tokenizer, and this model has none "
                "(preprocessor=None)."
            )
        if not returns_cache(sampler):
            raise ValueError(
                "`return_alignment=True` reads the weights from the decoding "
                "loop's cache, and this sampler runs a loop of its own that "
                "returns only tokens. For beam search use 'beam' "
                "(keras_attn.samplers.BeamSearchSampler). Received: "
                f"sampler={type(sampler).__name__}"
            )

    def _function_cache(self):
        cache = getattr(self, "_generate_functions", None)
        if cache is None:
            with _CACHE_CREATION:
                cache = getattr(self, "_generate_functions", None)
                if cache is None:
                    cache = self._generate_functions = _GenerateFunctions()
        return cache

    def _generate_function(
        self, sampler, return_alignment, num_return_sequences=1, return_scores=False
    ):
        """The compiled function for a sampler configuration, made once."""
        sampler = self.sampler if sampler is None else sampler
        options = {
            "return_alignment": bool(return_alignment),
            "num_return_sequences": num_return_sequences,
            "return_scores": bool(return_scores),
        }
        key = (_sampler_key(sampler), tuple(options.items()))
        cache = self._function_cache()
        with cache.lock:
            if key not in cache.functions:
                cache.functions[key] = self._compile_generate_step(sampler, **options)
            return cache.functions[key]

    def _compile_generate_step(self, sampler, **options):
        """`generate_step` for `sampler`, compiled as keras-hub's
        `CausalLM.make_generate_function` compiles it for `self.sampler`."""

        def generate_step(inputs, stop_token_ids=None):
            return self.generate_step(
                inputs, stop_token_ids, sampler=sampler, **options
            )

        backend = keras.config.backend()
        if backend == "torch":
            import torch

            def no_grad_generate_step(inputs, stop_token_ids=None):
                with torch.no_grad():
                    return generate_step(inputs, stop_token_ids)

            return no_grad_generate_step
        if self.run_eagerly or backend not in ("tensorflow", "jax"):
            return generate_step
        if backend == "tensorflow":
            import tensorflow as tf

            return tf.function(
                generate_step, jit_compile=getattr(self, "jit_compile", True)
            )
        import jax

        # Stateless: the weights and the sampler's own variables (random
        # seeds) go in as arguments; the new seeds come back out.
        @functools.partial(jax.jit, static_argnames=["stop_token_ids"])
        def compiled(inputs, stop_token_ids, state):
            sampler_values, trainable_values, non_trainable_values = state
            mapping = itertools.chain(
                zip(sampler.variables, sampler_values, strict=True),
                zip(self.trainable_variables, trainable_values, strict=True),
                zip(self.non_trainable_variables, non_trainable_values, strict=True),
            )
            with keras.StatelessScope(state_mapping=mapping) as scope:
                outputs = generate_step(inputs, stop_token_ids)
            sampler_values = []
            for variable in sampler.variables:
                value = scope.get_current_value(variable)
                sampler_values.append(variable if value is None else value)
            return outputs, sampler_values

        def jax_generate_step(inputs, stop_token_ids=None):
            if isinstance(stop_token_ids, list):
                stop_token_ids = tuple(stop_token_ids)  # hashable: static
            state = (
                [v.value for v in sampler.variables],
                # v.value keeps a distribution's sharding.
                [v.value for v in self.trainable_variables],
                [v.value for v in self.non_trainable_variables],
            )
            inputs = tree.map_structure(ops.convert_to_tensor, inputs)
            outputs, sampler_values = compiled(inputs, stop_token_ids, state)
            for variable, value in zip(sampler.variables, sampler_values, strict=True):
                variable.assign(value)
            return outputs

        return jax_generate_step

    def _generate_batches(self, inputs):
        """`(batches, is_scalar)`: a dataset batch by batch, else one batch."""
        import tensorflow as tf

        if isinstance(inputs, tf.data.Dataset):
            return inputs.as_numpy_iterator(), False
        if isinstance(inputs, str):
            return [[inputs]], True
        if self.preprocessor is not None:
            return [list(inputs)], False
        return [inputs], False

    def _decoded_alignments(self, inputs, generated):
        """`alignment()`'s dictionaries from a decoded batch."""
        import numpy as np

        def to_numpy(x):
            return np.asarray(ops.convert_to_numpy(x))

        token_ids = to_numpy(generated["decoder_token_ids"])
        history = to_numpy(generated["alignment"])
        # The tokens the decoder emitted: after the prompt, up to and
        # including the first stop token.
        emitted = to_numpy(generated["decoder_padding_mask"]).astype(bool)
        emitted &= ~to_numpy(inputs["decoder_padding_mask"]).astype(bool)
        source_ids = to_numpy(inputs["encoder_token_ids"])
        source_mask = to_numpy(inputs["encoder_padding_mask"]).astype(bool)
        tokenizer = self.preprocessor.tokenizer
        pairs = []
        for row in range(len(token_ids)):
            pairs.append(
                {
                    "source_tokens": [
                        tokenizer.id_to_token(int(i))
                        for i in source_ids[row][source_mask[row]]
                    ],
                    "output_tokens": [
                        tokenizer.id_to_token(int(i))
                        for i in token_ids[row][emitted[row]]
                    ],
                    "weights": history[row][emitted[row]][:, source_mask[row]],
                }
            )
        return pairs

    def _teacher_forced(self, sources, outputs):
        """Runs the backbone on (source, output) text pairs."""
        import numpy as np

        if self.preprocessor is None:
            raise ValueError("This method needs a preprocessor to read text.")
        _check_texts(sources)
        _check_texts(outputs, allow_empty=True)  # a model may output nothing
        if len(sources) != len(outputs):
            raise ValueError(
                "`sources` and `outputs` must have the same length. Received: "
                f"{len(sources)} sources and {len(outputs)} outputs"
            )
        x, labels, weights = self.preprocessor(
            {"encoder_text": list(sources), "decoder_text": list(outputs)}
        )
        x = {k: ops.convert_to_tensor(np.asarray(v)) for k, v in x.items()}
        results = self.backbone(x)
        to_numpy = ops.convert_to_numpy
        return (
            {k: to_numpy(v) for k, v in x.items()},
            to_numpy(labels),
            to_numpy(weights).astype(bool),
            results,
        )

    def initialize_output_bias(self, targets, smoothing=1.0):
        """Starts the output layer at the targets' unigram distribution.

        Sets the bias of the output projection to `log p(token)`, the
        frequency of each token (and of `[END]`, once per target) in
        `targets`, with add-`smoothing` counts. A freshly initialised model
        otherwise spends its first steps learning those frequencies, and on
        data where the source says little about the first output tokens
        (email subject lines) it can learn them by saturating its `tanh`
        attentional layer into a constant vector, where it stays: the output
        then ignores the source for good.

        Args:
            targets: list of strings, the training targets.
            smoothing: float, added to every token's count.

        Returns:
            The bias as a NumPy array `(vocabulary,)`.

        Example:
        >>> import keras_attn
        >>> tokenizer = keras_attn.models.AttentionSeq2SeqTokenizer(
        ...     vocabulary=["[PAD]", "[UNK]", "[START]", "[END]", "hola", "hello"])
        >>> lm = keras_attn.models.AttentionSeq2SeqLM(
        ...     keras_attn.models.AttentionSeq2SeqBackbone(
        ...         vocabulary_size=6, embedding_dim=8, hidden_dim=8),
        ...     keras_attn.models.AttentionSeq2SeqPreprocessor(tokenizer))
        >>> bias = lm.initialize_output_bias(["hello", "hello hello"])  # before fit
        >>> int(bias.argmax()) == tokenizer.token_to_id("hello")
        True
        """
        import numpy as np

        if self.preprocessor is None:
            raise ValueError("This method needs a preprocessor to read text.")
        bias = self.backbone.output_projection.bias
        if bias is None:
            raise ValueError("The output projection has no bias to initialise.")
        vocabulary = int(bias.shape[0])
        token_ids = self.preprocessor.tokenizer(list(targets))
        flat = np.concatenate(
            [np.asarray(ids).reshape(-1) for ids in token_ids]
            or [np.zeros((0,), "int64")]
        ).astype("int64")
        counts = np.bincount(flat, minlength=vocabulary)[:vocabulary].astype("float64")
        counts[self.preprocessor.special_token_id("end")] += len(targets)
        counts += smoothing
        log_prior = np.log(counts / counts.sum()).astype("float32")
        bias.assign(log_prior)
        return log_prior

    def score(self, sources, outputs, length_penalty=0.0):
        """The model's log-probability of each output given its source.

        `log P(output | source)` sums over the output's tokens and the end
        token; it is divided by GNMT's `((5 + length) / 6) ** length_penalty`,
        the score `BeamSearchSampler` ranks by.

        Args:
            sources, outputs: lists of strings of the same length.
            length_penalty: float, GNMT's alpha (0: the raw log-probability).

        Returns:
            A NumPy array `(len(sources),)` of scores.
        """
        import numpy as np

        _, labels, weights, results = self._teacher_forced(sources, outputs)
        logits = ops.convert_to_numpy(ops.cast(results["logits"], "float32"))
        logits = logits - logits.max(-1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        picked = np.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]
        lengths = weights.sum(-1)
        penalty = ((5.0 + lengths) / 6.0) ** length_penalty
        return (picked * weights).sum(-1) / penalty

    def alignment(self, sources, outputs):
        """What each output token attended to, for each (source, output).

        Args:
            sources, outputs: lists of strings of the same length, for
                example the inputs of `generate` and its results.

        Returns:
            A list with, per pair, a dictionary: `"source_tokens"` (the
            encoder's tokens, with `[START]` and `[END]`), `"output_tokens"`
            (the tokens the decoder emits, ending with `[END]`) and
            `"weights"`, a NumPy array `(output_len, source_len)` whose rows
            sum to one.

        Example:
        >>> import keras_attn
        >>> tokenizer = keras_attn.models.AttentionSeq2SeqTokenizer(
        ...     vocabulary=["[PAD]", "[UNK]", "[START]", "[END]", "hola", "hello"])
        >>> lm = keras_attn.models.AttentionSeq2SeqLM(
        ...     keras_attn.models.AttentionSeq2SeqBackbone(
        ...         vocabulary_size=6, embedding_dim=8, hidden_dim=8),
        ...     keras_attn.models.AttentionSeq2SeqPreprocessor(tokenizer))
        >>> pair = lm.alignment(["hola"], ["hello"])[0]
        >>> pair["output_tokens"], pair["weights"].shape
        (['hello', '[END]'], (2, 3))
        """
        if self.backbone.attention is None:
            raise ValueError(
                "The fixed-context baseline (attention=None) has no alignment."
            )
        x, labels, weights, results = self._teacher_forced(sources, outputs)
        alignment = ops.convert_to_numpy(results["alignment"])
        source_mask = x["encoder_padding_mask"].astype(bool)
        tokenizer = self.preprocessor.tokenizer
        pairs = []
        for row in range(len(sources)):
            source_ids = x["encoder_token_ids"][row][source_mask[row]]
            output_ids = labels[row][weights[row]]
            pairs.append(
                {
                    "source_tokens": [
                        tokenizer.id_to_token(int(i)) for i in source_ids
                    ],
                    "output_tokens": [
                        tokenizer.id_to_token(int(i)) for i in output_ids
                    ],
                    "weights": alignment[row][weights[row]][:, source_mask[row]],
                }
            )
        return pairs

    def _warn_if_truncated(self, inputs):
        texts = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(texts, list | tuple):
            return
        limit = self.preprocessor.encoder_sequence_length - 2  # [START], [END]
        lengths = [len(ids) for ids in self.preprocessor.tokenizer(list(texts))]
        for i, length in enumerate(lengths):
            if length > limit:
                warnings.warn(
                    f"Input {i} has {length} tokens; the model reads at most "
                    f"{limit}, so the last {length - limit} tokens are dropped.",
                    stacklevel=3,
                )


class _GenerateFunctions:
    """Compiled decoding functions by sampler configuration, and their lock.

    A plain object, so that TensorFlow's tracking does not try to save the
    compiled functions with the model.
    """

    def __init__(self):
        self.lock = threading.RLock()
        self.functions = {}


def resolve_sampler(sampler):
    """`keras_attn.samplers.get(sampler)`, refusing what this model's
    decoding step cannot serve."""
    sampler = samplers.get(sampler)
    if isinstance(sampler, keras_hub.samplers.ContrastiveSampler):
        raise ValueError(
            "ContrastiveSampler compares the hidden states of each decoding "
            "step, and this model's step returns no hidden states. Use one of "
            f"{samplers.NAMES}. Received: sampler=ContrastiveSampler"
        )
    return sampler


def _sampler_key(sampler):
    """A sampler's class and configuration, as a dictionary key."""
    cls = type(sampler)
    # repr() for a value JSON cannot hold keeps distinct objects distinct.
    config = json.dumps(sampler.get_config(), sort_keys=True, default=repr)
    return f"{cls.__module__}.{cls.__qualname__}", config


def _distribute(inputs):
    """Lays a batch out as the active `keras.distribution` wants, if any."""
    distribution = keras.distribution.distribution()
    if distribution is None:
        return inputs

    def distribute(value):
        if not ops.is_tensor(value):
            value = ops.convert_to_tensor(value)
        layout = distribution.get_data_layout(value.shape)
        return keras.distribution.distribute_tensor(value, layout) if layout else value

    return tree.map_structure(distribute, inputs)


def _join_batches(outputs, is_scalar):
    """One result from the batches' results: strings in a list, or token id
    arrays concatenated."""
    import numpy as np

    if not outputs:
        return []  # an empty dataset
    if isinstance(outputs[0], dict):
        return {
            key: np.concatenate([ops.convert_to_numpy(o[key]) for o in outputs])
            for key in outputs[0]
        }
    texts = [text for batch in outputs for text in batch]
    return texts[0] if is_scalar else texts


PRESET_FILES = (
    "config.json",
    "task.json",
    "preprocessor.json",
    "tokenizer.json",
    "assets/tokenizer/vocabulary.txt",
)


def _saved_policy(preset):
    """The dtype policy name in a local preset's config.json, or ""."""
    import os

    path = os.path.join(os.fspath(preset), "config.json")
    if not os.path.isfile(path):
        return ""
    with open(path, encoding="utf-8") as file:
        dtype = json.load(file).get("config", {}).get("dtype")
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name")
    return dtype if isinstance(dtype, str) else ""


def check_preset_directory(preset, load_weights=True):
    """Raises if a local preset directory lacks a file or has bad JSON."""
    import json
    import os

    if "://" in str(preset) or not (
        os.path.isabs(str(preset)) or os.sep in str(preset) or os.path.exists(preset)
    ):
        return  # a hub handle: keras-hub resolves and checks it
    if not os.path.isdir(preset):
        raise FileNotFoundError(f"No model directory at {preset!r}.")
    needed = PRESET_FILES + (("model.weights.h5",) if load_weights else ())
    for name in needed:
        path = os.path.join(preset, name)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"The model directory {preset!r} has no {name}: it was not "
                "written by save_to_preset, or it is incomplete."
            )
        if name.endswith(".json"):
            try:
                with open(path, encoding="utf-8") as file:
                    json.load(file)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise ValueError(f"{path} is not valid JSON: {error}") from None


def _check_texts(inputs, allow_empty=False):
    import tensorflow as tf

    if isinstance(inputs, tf.data.Dataset):
        return
    texts = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(texts, list | tuple):
        raise ValueError(
            "`inputs` must be a string or a list of strings. "
            f"Received: inputs={inputs!r} of type {type(inputs).__name__}"
        )
    if not texts:
        raise ValueError("`inputs` must not be empty. Received: inputs=[]")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(
                f"`inputs[{i}]` must be a string. Received: {text!r} of type "
                f"{type(text).__name__}"
            )
        if not allow_empty and not text.strip():
            raise ValueError(f"`inputs[{i}]` is empty. Received: {text!r}")


def _rows_per_input(sampler):
    """How many rows a sampler decodes per input (its cache expansion)."""
    if isinstance(sampler, BeamSearchSampler):
        return sampler.num_beams + 1
    if isinstance(sampler, keras_hub.samplers.BeamSampler):
        return sampler.num_beams
    return 1


def _repeat_rows(inputs, times):
    """Each row of a batch dictionary `times` times over, as NumPy arrays."""
    import numpy as np

    if times == 1:
        return inputs
    return {
        key: np.repeat(ops.convert_to_numpy(value), times, axis=0)
        for key, value in inputs.items()
    }


def _group(items, size):
    """Consecutive runs of `size`: a list into lists, or each array of a
    dictionary from `(n * size, ...)` to `(n, size, ...)`."""
    if isinstance(items, dict):
        return {
            key: value.reshape((-1, size) + value.shape[1:])
            for key, value in items.items()
        }
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _mask_after_stop(token_ids, prompt_mask, stop_token_ids):
    """True up to and including the first stop token after the prompt."""
    if stop_token_ids is None:
        return ops.ones_like(token_ids, dtype="bool")
    generated = ops.logical_not(ops.cast(prompt_mask, "bool"))
    is_stop = ops.zeros_like(generated)
    for stop in stop_token_ids:
        is_stop = ops.logical_or(is_stop, ops.equal(token_ids, stop))
    stops = ops.cast(ops.logical_and(is_stop, generated), "int32")
    after = ops.cumsum(stops, axis=-1) - stops
    return ops.equal(after, 0)
