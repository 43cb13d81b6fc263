"""`Task`: what keras-attn knows about one kind of text-to-text problem."""

import dataclasses
import os
from collections.abc import Callable

from keras_attn._validation import check_choice

LOAD_FORMATS = ("tsv", "csv", "jsonl")
ON_ERROR_MODES = ("raise", "skip")


def as_column(value):
    """A column or field as the loaders take it: digit strings become ints
    (`"1"` -> 1, the TSV column index), other values are kept."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def _check_column(name, value):
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(
            f"{name} must be a column index (int) or a column/field name (str). "
            f"Received: {name}={value!r}"
        )
    if isinstance(value, int) and value < 0:
        raise ValueError(f"{name} must be >= 0. Received: {name}={value!r}")
    if isinstance(value, str) and not value.strip():
        raise ValueError(f"{name} must not be empty. Received: {name}={value!r}")


def _check_length(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f"{name} must be a positive integer. Received: {name}={value!r}"
        )


@dataclasses.dataclass(frozen=True)
class Task:
    """One task: its data loader, default columns, metrics and lengths.

    The command line, the demo, the benchmarks and
    `keras_attn.training.train` read these facts from here and nowhere
    else. The three built-in tasks are registered under `"translation"`,
    `"summarization"` and `"dialogue"`; `keras_attn.tasks.register` adds
    your own.

    Args:
        name: str, the registry name (e.g. `"translation"`).
        title: str, a short human name (e.g. `"Translation"`).
        source_field: the default source column: an int index (TSV, CSV) or
            a field name (CSV header, JSON lines).
        target_field: the default target column, likewise.
        metrics: tuple of `keras_attn.metrics.METRICS` names; the first is
            the one the best checkpoint of a training run is chosen by.
        source_length: int, the source length in tokens of a new model.
        target_length: int, the target length in tokens of a new model.
        reader: optional callable for the task's own file formats, called
            first as `reader(path, reverse=..., history=..., on_error=...)`;
            it returns a `keras_attn.data.TextPairs`, or None for a file it
            does not read, which is then read as TSV/CSV/JSON lines.

    Example:
    >>> task = keras_attn.tasks.Task(
    ...     name="paraphrase", title="Paraphrase", source_field="text",
    ...     target_field="paraphrase", metrics=("bleu", "chrf"))
    >>> task.metrics[0], task.source_length
    ('bleu', 40)
    """

    name: str
    title: str
    source_field: int | str = 0
    target_field: int | str = 1
    metrics: tuple[str, ...] = ("bleu",)
    source_length: int = 40
    target_length: int = 40
    reader: Callable | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self):
        from keras_attn.metrics import METRICS

        for name in ("name", "title"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(
                    f"{name} must be a non-empty str. Received: {name}={value!r}"
                )
        _check_column("source_field", self.source_field)
        _check_column("target_field", self.target_field)
        metrics = self.metrics
        if isinstance(metrics, str):
            metrics = (metrics,)
        metrics = tuple(metrics)
        if not metrics or any(m not in METRICS for m in metrics):
            raise ValueError(
                f"metrics must be a non-empty tuple of names from {METRICS}. "
                f"Received: metrics={self.metrics!r}"
            )
        object.__setattr__(self, "metrics", metrics)
        _check_length("source_length", self.source_length)
        _check_length("target_length", self.target_length)
        if self.reader is not None and not callable(self.reader):
            raise ValueError(
                f"reader must be callable or None. Received: reader={self.reader!r}"
            )

    def load(
        self,
        path,
        *,
        source=None,
        target=None,
        format=None,
        reverse=False,
        history=1,
        on_error="raise",
        references=None,
    ):
        """Reads the (source, target) pairs of this task from a file.

        The task's `reader` comes first (translation: an Anki `.zip`;
        dialogue: DailyDialog text or zip); any other file is read by
        `keras_attn.data.load_pairs` as TSV, CSV or JSON lines, with the
        task's default columns unless `source` / `target` are given.

        Args:
            path: str or path-like, the data file.
            source: the source column: an int index, a digit string (`"1"`
                is column 1) or a field name; default `source_field`.
            target: the target column, likewise; default `target_field`.
            format: `"tsv"`, `"csv"`, `"jsonl"` or None (from the extension).
            reverse: bool, swap sources and targets (an Anki file is
                English first: `reverse=True` reads other language ->
                English).
            history: positive int, dialogue: the previous turns a source
                holds.
            on_error: `"raise"` or `"skip"`, for malformed rows.
            references: optional list of more columns or fields with extra
                references per row (TSV/CSV/JSON lines only).

        Returns:
            A `keras_attn.data.TextPairs`.

        Raises:
            FileNotFoundError: no file at `path` (the message names it).
            keras_attn.data.DataFormatError: a malformed row or file.
            ValueError: a bad argument.

        Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "pairs.tsv")
        >>> with open(path, "w", encoding="utf-8") as file:
        ...     _ = file.write("hello\\thola\\n")
        >>> pairs = keras_attn.tasks.get("translation").load(
        ...     path, source="1", target="0")
        >>> list(pairs)
        [('hola', 'hello')]
        """
        from keras_attn import data
        from keras_attn.data._reading import check_file

        source, target = as_column(source), as_column(target)
        _check_column("source", source)
        _check_column("target", target)
        if format is not None:
            check_choice("format", format, LOAD_FORMATS)
        check_choice("on_error", on_error, ON_ERROR_MODES)
        if not isinstance(reverse, bool):
            raise ValueError(f"reverse must be a bool. Received: reverse={reverse!r}")
        if isinstance(history, bool) or not isinstance(history, int) or history < 1:
            raise ValueError(
                f"history must be a positive integer. Received: history={history!r}"
            )
        path = check_file(path)
        pairs = None
        if self.reader is not None and format is None:
            pairs = self.reader(
                path, reverse=reverse, history=history, on_error=on_error
            )
        if pairs is None:
            pairs = data.load_pairs(
                path,
                source=self.source_field if source is None else source,
                target=self.target_field if target is None else target,
                format=format,
                on_error=on_error,
                references=references,
            )
            if reverse:
                pairs.sources, pairs.targets = pairs.targets, pairs.sources
        return pairs


def file_extension(path):
    """The lower-case extension of `path` (`".zip"`)."""
    return os.path.splitext(os.fspath(path))[1].lower()
