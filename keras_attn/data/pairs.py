"""`load_pairs`: source/target pairs from TSV, CSV and JSON lines files."""

import csv
import io
import json
import os

from keras_attn._validation import check_choice
from keras_attn.data._reading import ON_ERROR_MODES
from keras_attn.data._reading import RowErrors
from keras_attn.data._reading import check_file
from keras_attn.data._reading import clean_row
from keras_attn.data._reading import collect
from keras_attn.data._reading import read_text
from keras_attn.data._reading import text_pairs
from keras_attn.data._reading import tsv_rows
from keras_attn.data.errors import DataFormatError

FORMATS = ("tsv", "csv", "jsonl")
EXTENSIONS = {".tsv": "tsv", ".txt": "tsv", ".csv": "csv", ".jsonl": "jsonl"}
_JSON_TYPES = {
    dict: "an object",
    list: "an array",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def load_pairs(
    path,
    source=None,
    target=None,
    format=None,
    on_error="raise",
    references=None,
    encoding="utf-8",
):
    """Loads source/target text pairs from a TSV, CSV or JSON lines file.

    - **TSV** (`.tsv`, `.txt`): one pair a line, columns chosen by 0-based
      index (default `source=0`, `target=1`). Extra columns, such as the
      attribution column of Anki/Tatoeba files, are ignored. No quoting: a
      tab always separates columns.
    - **CSV** (`.csv`): a header row, then one pair a record, read with the
      `csv` module (quoted fields may hold commas and newlines). Columns are
      chosen by header name, or by index; by default the first two.
    - **JSON lines** (`.jsonl`): one JSON object a line; `source` and
      `target` name its fields and are required.

    Texts are stripped of surrounding whitespace; blank lines are ignored.
    The file may be UTF-8 with or without a BOM, with LF or CRLF endings.

    A bad row (too few columns, a missing field, invalid JSON, a value that
    is not a string, an empty source, target or reference) raises a
    `DataFormatError` naming the file, the row's 1-based line and the
    reason. With `on_error="skip"` bad rows are dropped instead, counted by
    reason in the result's `skipped`, and one warning sums them up.

    Args:
        path: str or path-like, the file.
        source: the source column: an int index (TSV, CSV), a header name
            (CSV) or a field name (JSON lines).
        target: the target column, likewise.
        format: `"tsv"`, `"csv"` or `"jsonl"`; by default from the file's
            extension.
        on_error: `"raise"` (default) or `"skip"`, for bad rows.
        references: optional list of more columns or fields holding extra
            references for each row, e.g. `["ann0", "ann1", "ann2"]`.
        encoding: str, the text encoding.

    Returns:
        A `TextPairs`, with `references` when `references` was given.

    Raises:
        FileNotFoundError: no file at `path`.
        DataFormatError: a bad row (with `on_error="raise"`), undecodable
            text, an empty file or one with no usable pair.
        ValueError: a bad argument, an unknown extension without `format`,
            or a CSV column name the header lacks.

    Example:
    >>> import json
    >>> row = {"body": "The meeting moved to 3pm.", "subject": "Meeting",
    ...        "ann0": "New time", "ann1": "Meeting at 3", "ann2": "3pm"}
    >>> with open("dev.jsonl", "w", encoding="utf-8") as file:
    ...     _ = file.write(json.dumps(row) + "\\n")
    >>> pairs = keras_attn.data.load_pairs(
    ...     "dev.jsonl", source="body", target="subject",
    ...     references=["ann0", "ann1", "ann2"])
    >>> len(pairs.all_references()[0])
    4
    """
    check_choice("on_error", on_error, ON_ERROR_MODES)
    if format is not None:
        check_choice("format", format, FORMATS)
    path = os.fspath(path)
    format = file_format(path, format)
    if references is None:
        extra = []
    elif isinstance(references, str | int):
        extra = [references]
    else:
        extra = list(references)
    path = check_file(path)
    text = read_text(path, encoding)
    rows = RowErrors(path, on_error)
    if format == "jsonl" and (source is None or target is None):
        raise ValueError(
            "A JSON lines file needs the names of its source and target "
            "fields, e.g. load_pairs(path, source='body', target='subject')."
            f" Received: source={source!r}, target={target!r}" + _first_fields(text)
        )
    columns = [0 if source is None else source, 1 if target is None else target]
    lines = io.StringIO(text, newline="") if format == "csv" else text.split("\n")
    good_rows = read_rows(lines, format, columns + extra, path, rows)
    parsed = collect(good_rows, len(columns) + len(extra))
    return text_pairs(parsed, rows, references=bool(extra))


def file_format(path, format=None):
    """`format`, or the format `path`'s extension names (a
    `DataFormatError` when it names none)."""
    if format is not None:
        return format
    extension = os.path.splitext(path)[1].lower()
    if extension not in EXTENSIONS:
        raise DataFormatError(
            path,
            None,
            f"cannot tell the format from the extension "
            f"{extension or '(none)'!r}: known extensions are "
            f"{tuple(EXTENSIONS)}. Pass format= one of {FORMATS}",
            kind="unknown format",
        )
    return EXTENSIONS[extension]


def read_rows(lines, format, columns, path, rows):
    """The rows of a TSV, CSV or JSON lines text, as `load_pairs` reads them.

    The one place the row rules live: `load_pairs` collects these rows of
    a whole text, and `keras_attn.training` streams them from files too
    large to hold (`read_lines`).

    Args:
        lines: an iterable of the text's lines, with or without their line
            ends (the `csv` module needs them).
        format: `"tsv"`, `"csv"` or `"jsonl"`.
        columns: the columns or fields to read (see `load_pairs`).
        path: str, the file, for messages.
        rows: a `RowErrors`, which raises at a bad row or counts it.

    Yields:
        `(line, values)` for each good row: its 1-based line and the
        stripped values of `columns`, in order.
    """
    if format == "tsv":
        return tsv_rows(lines, _check_indices(columns), rows)
    if format == "csv":
        return _csv_rows(lines, columns, path, rows)
    return _jsonl_rows(lines, columns, rows)


def _check_indices(columns):
    for column in columns:
        if isinstance(column, bool) or not isinstance(column, int) or column < 0:
            raise ValueError(
                "TSV columns are chosen by 0-based index: source, target and "
                f"references must be non-negative ints. Received: {column!r}"
            )
    return columns


def _csv_rows(lines, columns, path, rows):
    reader = csv.reader(lines)
    header = []
    while not any(header):
        record = _next_record(reader, path)
        if record is None:
            raise DataFormatError(path, None, "no CSV header row", kind="no header")
        header = [name.strip() for name in record]
    header_line = reader.line_num
    indices = []
    for column in columns:
        if isinstance(column, str):
            if column not in header:
                raise DataFormatError(
                    path,
                    header_line,
                    f"no column {column!r}: the header has {header}",
                    kind="missing column",
                )
            indices.append(header.index(column))
        else:
            indices.extend(_check_indices([column]))
    needed = max(indices) + 1
    labels = [
        f"column {header[i]!r}" if i < len(header) else f"column {i}" for i in indices
    ]
    while True:
        # A record can span lines (quoted newlines): report where it starts.
        line = reader.line_num + 1
        record = _next_record(reader, path)
        if record is None:
            return
        if not any(field.strip() for field in record):
            continue
        if len(record) < needed:
            rows.bad(
                line,
                "wrong column count",
                f"expected {len(header)} columns as in the header, found {len(record)}",
            )
            continue
        values = clean_row([record[i] for i in indices], labels, line, rows)
        if values is not None:
            yield line, values


def _next_record(reader, path):
    """The next CSV record, or None at the end."""
    line = reader.line_num + 1
    try:
        return next(reader, None)
    except csv.Error as error:
        # The reader cannot resynchronise after this: raise whatever on_error.
        raise DataFormatError(path, line, f"invalid CSV: {error}") from None


def _jsonl_rows(lines, fields, rows):
    labels = [f"field {field!r}" for field in fields]
    for line, content in enumerate(lines, start=1):
        if not content.strip():
            continue
        try:
            record = json.loads(content)
        except json.JSONDecodeError as error:
            rows.bad(
                line,
                "invalid JSON",
                f"invalid JSON: {error.msg} (column {error.colno})",
            )
            continue
        if not isinstance(record, dict):
            found = _JSON_TYPES.get(type(record), "a string")
            rows.bad(
                line, "not a JSON object", f"expected a JSON object, found {found}"
            )
            continue
        values = []
        for field in fields:
            if field not in record:
                rows.bad(line, "missing field", f"missing field {field!r}")
                break
            value = record[field]
            if not isinstance(value, str):
                found = _JSON_TYPES.get(type(value), type(value).__name__)
                rows.bad(
                    line,
                    "not a string",
                    f"field {field!r} is {found}, not a string",
                )
                break
            values.append(value)
        else:
            values = clean_row(values, labels, line, rows)
            if values is not None:
                yield line, values


def _first_fields(text):
    """`". Fields of the first row: [...]"`, to help pick the names."""
    first = next(content for content in text.split("\n") if content.strip())
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        return ""
    return (
        f". Fields of the first row: {list(record)}" if isinstance(record, dict) else ""
    )
