"""`TrainingConfig`: every setting of a `keras_attn.training.train` call."""

import dataclasses
import json
import math
import numbers
import os

# What an option left at None means for a new model (the task's lengths
# for `source_length` / `target_length`; with `base`, the architecture and
# tokenizer options are the base model's).
DEFAULTS = {
    "epochs": 10,
    "reverse": False,
    "history": 1,
    "on_error": "raise",
    "shuffle_buffer": 10_000,
    "attention": "bahdanau",
    "input_feeding": True,
    "pointer_generator": False,
    "cell": "gru",
    "embedding_dim": 256,
    "hidden_dim": 512,
    "encoder_layers": 1,
    "dropout": 0.2,
    "vocabulary_size": 8000,
    "lowercase": False,
    "batch_size": 64,
    "learning_rate": 1e-3,
    "label_smoothing": 0.0,
    "valid_samples": 200,
    "seed": 0,
    "dtype": "float32",
}
# Options that describe the network or its tokenizer: a fine-tuned model
# (`base`) keeps them.
ARCHITECTURE_OPTIONS = (
    "attention",
    "attention_order",
    "input_feeding",
    "pointer_generator",
    "cell",
    "embedding_dim",
    "hidden_dim",
    "encoder_layers",
    "dropout",
    "vocabulary_size",
    "lowercase",
)
# The fields that say where a run is, not how it trains: not recorded in
# the run's options.json.
RUN_FIELDS = ("out", "resume", "overwrite", "distribute")
_LEGACY_NAMES = {"from": "base"}  # options.json of runs from keras-attn 0.1
_FORMATS = ("tsv", "csv", "jsonl")
_CELLS = ("gru", "lstm")
# Mixed precision computes in 16 bits and keeps float32 weights; the
# attention softmax, the masks and the loss stay in float32. Pure 16-bit
# training is not offered (the RNNs' orthogonal initializer cannot run in
# bfloat16, and float16 weights lose Adam's small updates).
DTYPES = ("float32", "mixed_bfloat16", "mixed_float16")
_ORDERS = ("bahdanau", "luong")


@dataclasses.dataclass
class TrainingConfig:
    """Every setting of a training run, checked when it is made.

    `train(**config.as_kwargs())` runs it, so a configuration can be written
    with `to_json()` and run in another process (the demo's Train tab does).
    An option left at `None` takes its default for a new run (`DEFAULTS`
    in this module; the task's lengths for `source_length` and
    `target_length`), the base model's with `base` (architecture and
    tokenizer), or the recorded one with `resume`.

    Args:
        task: str, a `keras_attn.tasks` name.
        data: str, the training file, a glob pattern of shard files
            (`"corpus/train-*.tsv"`), or a list of them (None only with
            `resume`). Several files, or one over 256 MiB, are streamed (see
            `keras_attn.training.train`).
        out: str, the run directory.
        valid: str, a validation file. Without it the validation pairs are
            held out of the shuffled training pairs: 2% of them (at most
            2,000), but at least 100, and never more than a fifth of them.
        epochs: int, the epochs of the whole run (default 10; with
            `resume`, the recorded number, and a larger one trains more).
        resume: bool, continue the run recorded in `out`.
        base: str, a preset directory to fine-tune: its tokenizer and
            architecture are kept.
        overwrite: bool, replace `out` if it is a run or preset keras-attn
            wrote (anything else is refused, untouched).
        distribute: bool, train data-parallel on every device the backend
            sees (JAX or TensorFlow; see `keras_attn.training.train`). Where
            a run is trained, not how: not recorded, and a resumed run may
            change it.
        source, target: the columns or fields to read (int index, digit
            string or name); default the task's.
        format: `"tsv"`, `"csv"` or `"jsonl"`; default from the extension.
        reverse: bool, swap source and target.
        history: int, dialogue: previous turns in the source.
        on_error: `"raise"` or `"skip"`, for malformed rows.
        max_examples: int, use at most this many pairs (after shuffling;
            streamed data: the first ones of the files, in order).
        shuffle_buffer: int, streamed data: the pairs the training stream
            shuffles among (default 10,000); bigger mixes the shards better
            and holds more in memory.
        attention: one of `keras_attn.models.ATTENTIONS` (`"none"`: the
            fixed-context baseline).
        attention_order: `"bahdanau"` or `"luong"`; default by attention.
        input_feeding: bool, Luong order: feed the attentional output back.
        pointer_generator: bool, copy source tokens through the attention.
        cell: `"gru"` or `"lstm"`.
        embedding_dim, hidden_dim (even), encoder_layers: positive ints.
        dropout: float in [0, 1).
        vocabulary_size: int, the most WordPiece tokens.
        lowercase: bool, lowercase texts before tokenizing.
        source_length, target_length: ints, the longest source and target
            in tokens.
        batch_size: positive int.
        learning_rate: float > 0 (Adam, gradient norm clipped at 1).
        label_smoothing: float in [0, 1).
        valid_samples: int >= 0, validation pairs decoded and scored with
            the task's first metric after each epoch (reported as
            `valid_pairs`; 0 chooses the best epoch by validation loss).
        seed: int >= 0, for shuffling, the held-out split and the weights.
        dtype: the Keras dtype policy to train with: `"float32"`,
            `"mixed_bfloat16"` (pays on accelerators and CPUs with bfloat16
            instructions) or `"mixed_float16"` (GPUs; the loss is scaled).
            The saved model keeps it; `AttentionSeq2SeqLM.from_preset(path,
            dtype="float32")` loads it in float32.

    Example:
    >>> config = keras_attn.training.TrainingConfig(
    ...     task="translation", data="train.tsv", out="runs/spa-eng",
    ...     source="1", target="0", hidden_dim=64)
    >>> config.as_kwargs()["hidden_dim"]
    64
    >>> keras_attn.training.TrainingConfig.from_json(config.to_json()) == config
    True
    >>> keras_attn.training.TrainingConfig(
    ...     task="translation", data="a.tsv", out="o", learning_rate=-1)
    Traceback (most recent call last):
    ...
    ValueError: learning_rate must be > 0. Received: learning_rate=-1
    """

    task: str
    data: str | None
    out: str
    valid: str | None = None
    epochs: int | None = None
    resume: bool = False
    base: str | None = None
    overwrite: bool = False
    distribute: bool = False
    # Data
    source: int | str | None = None
    target: int | str | None = None
    format: str | None = None
    reverse: bool | None = None
    history: int | None = None
    on_error: str | None = None
    max_examples: int | None = None
    shuffle_buffer: int | None = None
    # Model
    attention: str | None = None
    attention_order: str | None = None
    input_feeding: bool | None = None
    pointer_generator: bool | None = None
    cell: str | None = None
    embedding_dim: int | None = None
    hidden_dim: int | None = None
    encoder_layers: int | None = None
    dropout: float | None = None
    vocabulary_size: int | None = None
    lowercase: bool | None = None
    source_length: int | None = None
    target_length: int | None = None
    # Fitting
    batch_size: int | None = None
    learning_rate: float | None = None
    label_smoothing: float | None = None
    valid_samples: int | None = None
    seed: int | None = None
    dtype: str | None = None

    def __post_init__(self):
        self._check()

    # === Checks ===
    def _check(self):
        from keras_attn.models import ATTENTIONS

        # NumPy numbers (from a widget or an array) become Python's, which
        # JSON writes.
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                continue
            if isinstance(value, numbers.Integral):
                setattr(self, field.name, int(value))
            elif not isinstance(value, float):
                setattr(self, field.name, float(value))

        if self.task is not None and (
            not isinstance(self.task, str) or not self.task.strip()
        ):
            raise ValueError(
                f"task must be a task name (str). Received: task={self.task!r}"
            )
        if isinstance(self.data, list | tuple):
            self.data = _check_paths("data", self.data)
        for name in ("data", "out", "valid", "base"):
            value = getattr(self, name)
            if value is None or (name == "data" and isinstance(value, list)):
                continue
            if isinstance(value, os.PathLike):
                value = os.fspath(value)
                setattr(self, name, value)
            if not isinstance(value, str) or not value:
                raise ValueError(
                    f"{name} must be a path (str). Received: {name}={value!r}"
                )
        if self.out is None:
            raise ValueError("out must be a path (str). Received: out=None")
        for name in ("resume", "overwrite", "distribute"):
            _check_bool(name, getattr(self, name))
        for name in ("reverse", "input_feeding", "pointer_generator", "lowercase"):
            if getattr(self, name) is not None:
                _check_bool(name, getattr(self, name))
        if self.resume and self.overwrite:
            raise ValueError(
                "resume and overwrite cannot both be set: resume continues the "
                "run in out, overwrite replaces it. Received: resume=True, "
                "overwrite=True"
            )
        if not self.resume and self.data is None:
            raise ValueError(
                "data is required for a new run (only resume reads the run's "
                "recorded data). Received: data=None"
            )
        for name in (
            "epochs",
            "history",
            "max_examples",
            "shuffle_buffer",
            "embedding_dim",
            "hidden_dim",
            "encoder_layers",
            "vocabulary_size",
            "source_length",
            "target_length",
            "batch_size",
        ):
            _check_int(name, getattr(self, name), minimum=1)
        _check_int("valid_samples", self.valid_samples, minimum=0)
        _check_int("seed", self.seed, minimum=0)
        if self.hidden_dim is not None and self.hidden_dim % 2:
            raise ValueError(
                "hidden_dim must be even: the bidirectional encoder has "
                f"hidden_dim // 2 units per direction. Received: "
                f"hidden_dim={self.hidden_dim}"
            )
        if self.learning_rate is not None:
            _check_number("learning_rate", self.learning_rate)
            if not self.learning_rate > 0:
                raise ValueError(
                    "learning_rate must be > 0. Received: "
                    f"learning_rate={self.learning_rate!r}"
                )
        for name in ("dropout", "label_smoothing"):
            value = getattr(self, name)
            if value is None:
                continue
            _check_number(name, value)
            if not 0 <= value < 1:
                raise ValueError(
                    f"{name} must be in [0, 1). Received: {name}={value!r}"
                )
        _check_choice("format", self.format, _FORMATS)
        _check_choice("on_error", self.on_error, ("raise", "skip"))
        _check_choice("attention", self.attention, ATTENTIONS)
        _check_choice("attention_order", self.attention_order, _ORDERS)
        _check_choice("cell", self.cell, _CELLS)
        _check_choice("dtype", self.dtype, DTYPES)
        for name in ("source", "target"):
            value = getattr(self, name)
            if value is None:
                continue
            valid = (isinstance(value, int) and not isinstance(value, bool)) or (
                isinstance(value, str) and value.strip()
            )
            if not valid or (isinstance(value, int) and value < 0):
                raise ValueError(
                    f"{name} must be a column index (int >= 0) or a column/field "
                    f"name (str). Received: {name}={value!r}"
                )
        if self.attention == "none":
            if self.pointer_generator:
                raise ValueError(
                    "pointer_generator=True copies through the attention weights; "
                    "it cannot be used with attention='none'. Received: "
                    "pointer_generator=True, attention='none'"
                )
            if self.attention_order is not None:
                raise ValueError(
                    "attention_order applies to an attention model; "
                    "attention='none' has none. Received: "
                    f"attention_order={self.attention_order!r}, attention='none'"
                )

    # === Serialisation ===
    def to_dict(self):
        """All fields as a dict of JSON types."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """The inverse of `to_dict`; unknown keys are an error naming them.

        The `from` key of runs recorded by keras-attn 0.1 is read as `base`.
        """
        if not isinstance(values, dict):
            raise ValueError(
                "A TrainingConfig is read from a dict. Received: "
                f"{type(values).__name__}"
            )
        values = {_LEGACY_NAMES.get(k, k): v for k, v in values.items()}
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"Unknown training options {unknown}; the options are {sorted(known)}."
            )
        missing = [name for name in ("task", "data", "out") if name not in values]
        if missing:
            raise ValueError(f"A TrainingConfig needs {missing}. Received: {values!r}")
        return cls(**values)

    def to_json(self):
        """The configuration as a JSON string."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text):
        """A configuration from `to_json()`'s string."""
        return cls.from_dict(json.loads(text))

    def as_kwargs(self):
        """The keyword arguments of `keras_attn.training.train` for this
        configuration: every field that is set (not None; `resume`,
        `overwrite` and `distribute` only when True)."""
        kwargs = {}
        for name, value in self.to_dict().items():
            flag = name in ("resume", "overwrite", "distribute")
            if value is None or (flag and not value):
                continue
            kwargs[name] = value
        kwargs.setdefault("task", None)
        kwargs.setdefault("data", None)
        return kwargs

    def given(self):
        """The options that are set (not None), without task, data, out and
        the run flags: what the caller asked for."""
        skip = ("task", "data", *RUN_FIELDS)
        return {
            name: value
            for name, value in self.to_dict().items()
            if value is not None and name not in skip
        }


def _check_paths(name, values):
    """A list of paths (str) from a list or tuple of str or path-likes."""
    paths = [os.fspath(v) if isinstance(v, os.PathLike) else v for v in values]
    if not paths or not all(isinstance(path, str) and path for path in paths):
        raise ValueError(
            f"{name} must be a path (str) or a non-empty list of paths. "
            f"Received: {name}={values!r}"
        )
    return paths


def _check_bool(name, value):
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False. Received: {name}={value!r}")


def _check_int(name, value, minimum):
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {what}. Received: {name}={value!r}")


def _check_number(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
    ):
        raise ValueError(f"{name} must be a finite number. Received: {name}={value!r}")


def _check_choice(name, value, choices):
    if value is not None and value not in choices:
        raise ValueError(
            f"{name} must be one of {tuple(choices)}. Received: {name}={value!r}"
        )
