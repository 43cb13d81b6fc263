"""The end-to-end seq2seq task model: fit on text pairs, generate text."""

import warnings

import keras
import keras_hub
from keras import ops

from keras_attn.losses import SmoothedSparseCategoricalCrossentropy
from keras_attn.models.attention_seq2seq_backbone import AttentionSeq2SeqBackbone
from keras_attn.models.attention_seq2seq_preprocessor import (
    AttentionSeq2SeqPreprocessor,
)
from keras_attn.samplers import BeamSearchSampler
from keras_attn.samplers import GreedySampler

SAMPLERS = ("greedy", "beam", "top_k", "top_p", "random", "contrastive")


@keras.saving.register_keras_serializable(package="keras_attn")
class AttentionSeq2SeqLM(keras_hub.models.Seq2SeqLM):
    """An attention encoder-decoder for text to text, the keras-hub way.

    `fit` takes `{"encoder_text": [...], "decoder_text": [...]}` string
    pairs (or a `tf.data.Dataset` of them) and trains with teacher forcing;
    `generate` decodes new text with the sampler chosen in `compile`
    (`"greedy"`, `"top_k"`, `"top_p"`, `"random"` or a
    `keras_hub.samplers.Sampler`). The encoder runs once per batch and the
    attention keys once per source; the decoding loop is compiled
    (`tf.function` on TensorFlow, with XLA when the model's `jit_compile`
    is on, which Keras leaves off on a CPU; `jax.jit` on JAX). The source is
    cut to the batch's longest input (rounded up to a multiple of 8), so a
    short sentence does not pay for the longest one the model allows.

    Args:
        backbone: an `AttentionSeq2SeqBackbone`.
        preprocessor: an `AttentionSeq2SeqPreprocessor`, or `None` to work
            on token ids.

    Example:
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

        Args:
            preset: a directory written by `save_to_preset`.
            load_weights: bool, load the trained weights.
            **kwargs: passed to `keras_hub.models.Seq2SeqLM.from_preset`.
        """
        check_preset_directory(preset, load_weights)
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
            sampler: one of `"greedy"` (this package's `GreedySampler`, the
                argmax of the logits), `"beam"` (its `BeamSearchSampler` with
                5 beams and GNMT's length penalty),
                `"top_k"`, `"top_p"`, `"random"`, `"contrastive"`, or a
                `keras_hub.samplers.Sampler` instance.
            label_smoothing: float in [0, 1), for the default loss.
            **kwargs: passed to `keras.Model.compile`.
        """
        self._beam_functions = _BeamFunctions()
        if loss == "auto" and label_smoothing:
            loss = SmoothedSparseCategoricalCrossentropy(label_smoothing)
        if isinstance(sampler, str):
            if sampler not in SAMPLERS:
                raise ValueError(
                    f"sampler must be one of {SAMPLERS} or a "
                    f"keras_hub.samplers.Sampler. Received: sampler={sampler!r}"
                )
            if sampler == "beam":
                sampler = BeamSearchSampler()
            elif sampler == "greedy":
                sampler = GreedySampler()  # argmax of the logits, no softmax
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3, clipnorm=1.0)
        super().compile(
            optimizer=optimizer,
            loss=loss,
            weighted_metrics=weighted_metrics,
            sampler=sampler,
            **kwargs,
        )

    def generate_step(self, inputs, stop_token_ids=None):
        """Decodes one batch of token ids; compiled by `generate`."""
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
        # states go in the cache; the source side is expanded to the
        # sampler's rows once, outside the loop.
        keys = keys if keys is not None else memory
        source_token_ids = inputs["encoder_token_ids"]
        rows = _rows_per_input(self.sampler)
        if rows > 1:
            memory, memory_mask, keys, source_token_ids = (
                ops.repeat(x, rows, axis=0)
                for x in (memory, memory_mask, keys, source_token_ids)
            )

        def next(prompt, cache, index):
            token = ops.take(prompt, index - 1, axis=1)
            logits, states, _ = backbone.decode_step(
                token, cache, memory, memory_mask, keys, source_token_ids
            )
            return logits, None, states

        cache = states
        decoder_token_ids = self.sampler(
            next=next,
            prompt=decoder_token_ids,
            cache=cache,
            index=index,
            mask=decoder_padding_mask,
            stop_token_ids=stop_token_ids,
            model=self,
        )
        return {
            "decoder_token_ids": decoder_token_ids,
            "decoder_padding_mask": _mask_after_stop(
                decoder_token_ids, decoder_padding_mask, stop_token_ids
            ),
        }

    def generate(
        self,
        inputs,
        max_length=None,
        stop_token_ids="auto",
        strip_prompt=False,
        num_beams=None,
        length_penalty=0.6,
    ):
        """Generates text for `inputs`, a string or a list of strings.

        Decodes with the sampler given to `compile`, or with beam search when
        `num_beams` is given.

        Args:
            inputs: a non-empty string, a non-empty list of them, or a
                `tf.data.Dataset`.
            max_length: int, the most output tokens (with `[START]`);
                defaults to the preprocessor's `decoder_sequence_length`.
            stop_token_ids: `"auto"` (the `[END]` token), `None` or ids.
            strip_prompt: unused for the empty prompt of translation.
            num_beams: int, decode with `BeamSearchSampler(num_beams,
                length_penalty)` for this call (1 is greedy search).
            length_penalty: float, GNMT's alpha for `num_beams`.

        Returns:
            A string, or a list of strings for a list of inputs.
        """
        if num_beams is not None:
            # One sampler and compiled function per beam setting, kept until
            # the next compile(): building them each call retraces the loop.
            key = (num_beams, length_penalty)
            cache = self._beam_functions.by_setting
            if key not in cache:
                cache[key] = (BeamSearchSampler(num_beams, length_penalty), None)
            compiled_sampler, compiled_function = self.sampler, self.generate_function
            self.sampler, self.generate_function = cache[key]
            try:
                return self.generate(inputs, max_length, stop_token_ids, strip_prompt)
            finally:
                cache[key] = (self.sampler, self.generate_function)
                self.sampler, self.generate_function = (
                    compiled_sampler,
                    compiled_function,
                )
        if self.preprocessor is not None:
            _check_texts(inputs)
            self._warn_if_truncated(inputs)
            if stop_token_ids == "auto":
                stop_token_ids = [self.preprocessor.special_token_id("end")]
        return super().generate(
            inputs,
            max_length=max_length,
            stop_token_ids=stop_token_ids,
            strip_prompt=strip_prompt,
        )

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
        >>> lm.initialize_output_bias(train_targets)  # before fit
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
        >>> pair = lm.alignment(["hola mundo"], ["hello world"])[0]
        >>> pair["weights"].shape == (len(pair["output_tokens"]),
        ...                           len(pair["source_tokens"]))
        True
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


class _BeamFunctions:
    """Beam samplers and their compiled functions by `(num_beams, alpha)`.

    A plain object, so TensorFlow's tracking does not try to save the
    compiled functions with the model.
    """

    def __init__(self):
        self.by_setting = {}


PRESET_FILES = (
    "config.json",
    "task.json",
    "preprocessor.json",
    "tokenizer.json",
    "assets/tokenizer/vocabulary.txt",
)


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
