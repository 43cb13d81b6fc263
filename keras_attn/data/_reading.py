"""Shared by the loaders: argument checks, decoding, zip members and the
bad-row policy (`on_error`)."""

import os
import warnings
import zipfile

from keras_attn.data.errors import DataFormatError
from keras_attn.data.text_pairs import TextPairs

ON_ERROR_MODES = ("raise", "skip")
FIRST_LINES = 3  # skipped rows whose lines `RowErrors` keeps


def check_file(path):
    """Returns `path` as a str; raises `FileNotFoundError` naming it."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(21, "Expected a data file, found a directory", path)
    if not os.path.isfile(path):
        raise FileNotFoundError(2, "No such data file", path)
    return path


def decode(data, path, encoding="utf-8"):
    """Bytes to text with a leading BOM dropped and newlines made `\\n`.

    Undecodable bytes raise a `DataFormatError` naming their line.
    """
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise _encoding_error(path, line, encoding, error, error.start) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise DataFormatError(path, None, "the file is empty", kind="empty file")
    # Universal newlines, as `open()` in text mode gives: CRLF and CR files
    # then split, count lines and strip like LF files.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path, encoding="utf-8"):
    """The whole text of a local file (see `decode`)."""
    with open(path, "rb") as file:
        return decode(file.read(), path, encoding)


def read_lines(path, encoding="utf-8"):
    """The lines of a local file, read one at a time (never the whole file),
    as `tf.data.TextLineDataset` splits them: at `\\n`, each CR dropped. The
    `\\n` is kept (for the `csv` module) and a leading BOM dropped.

    Undecodable bytes raise a `DataFormatError` naming their line; unlike
    `decode`, a lone CR (old Mac line ends) does not end a line.
    """
    offset = 0
    with open(path, "rb") as file:
        for line, data in enumerate(file, start=1):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as error:
                byte = offset + error.start
                raise _encoding_error(path, line, encoding, error, byte) from None
            offset += len(data)
            if line == 1 and text.startswith("\ufeff"):
                text = text[1:]
            yield text.replace("\r", "") if "\r" in text else text


def _encoding_error(path, line, encoding, error, byte):
    return DataFormatError(
        path,
        line,
        f"not valid {encoding} text ({error.reason} at byte {byte}); "
        "pass the file's encoding as `encoding=`",
        kind="encoding",
    )


def read_zip_member(path, accept, what, encoding="utf-8"):
    """The text of the single member of zip `path` that `accept(name)` takes.

    Returns:
        `(label, text)`, the label being `path:member` for error messages.
    """
    with zipfile.ZipFile(path) as archive:
        names = [
            name
            for name in archive.namelist()
            if not name.endswith("/")
            and not name.startswith("__MACOSX/")
            and not os.path.basename(name).startswith("._")
            and accept(name)
        ]
        if len(names) != 1:
            found = f"found {len(names)}: {names}" if names else "found none"
            raise DataFormatError(
                path,
                None,
                f"expected exactly one {what} in the zip, {found}; "
                f"its files are {archive.namelist()}",
                kind="zip contents",
            )
        label = f"{path}:{names[0]}"
        return label, decode(archive.read(names[0]), label, encoding)


def _side(position):
    return ("source", "target")[position] if position < 2 else "reference"


def clean_row(values, labels, line, rows):
    """The stripped `values` of the row at `line`, or None when one is
    empty (reported to `rows`, a `RowErrors`)."""
    values = [value.strip() for value in values]
    if all(values):
        return values
    for position, (value, label) in enumerate(zip(values, labels, strict=True)):
        if not value:
            side = _side(position)
            rows.bad(line, f"empty {side}", f"empty {side} ({label})")
            return None


def collect(good_rows, count):
    """The values of `(line, values)` rows as `count` column lists.

    Column lists of strings, not a list per row: millions of small lists
    would make the garbage collector the slowest part.
    """
    columns = [[] for _ in range(count)]
    appends = [column.append for column in columns]
    for _, values in good_rows:
        for append, value in zip(appends, values, strict=True):
            append(value)
    return columns


def tsv_rows(lines, columns, rows):
    """`(line, values)` for each good row of tab-separated `lines`, the
    stripped `columns` (0-based) in order; bad rows go to `rows`, blank
    lines are ignored. Lines are numbered from 1 and may keep their
    line end."""
    needed = max(columns) + 1
    labels = [f"column {column}" for column in columns]
    for line, content in enumerate(lines, start=1):
        if not content.strip():
            continue
        fields = content.split("\t")
        if len(fields) < needed:
            rows.bad(
                line,
                "wrong column count",
                f"expected {needed} tab-separated columns, found {len(fields)}",
            )
            continue
        values = clean_row([fields[column] for column in columns], labels, line, rows)
        if values is not None:
            yield line, values


def parse_tsv(text, columns, rows):
    """The stripped `columns` (0-based) of a tab-separated text, as one
    list per column."""
    return collect(tsv_rows(text.split("\n"), columns, rows), len(columns))


def text_pairs(parsed, rows, references=False):
    """A `TextPairs` from column lists `[sources, targets, *references]`;
    raises or warns about skipped rows first (see `RowErrors.finish`)."""
    rows.finish(len(parsed[0]), stacklevel=4)
    return TextPairs(
        sources=parsed[0],
        targets=parsed[1],
        references=[list(row) for row in zip(*parsed[2:], strict=True)]
        if references
        else None,
        path=rows.path,
        skipped=dict(rows.skipped),
    )


class RowErrors:
    """Applies `on_error` to bad rows: raise at the first, or skip and count.

    Args:
        path: str, the file, for messages.
        on_error: `"raise"` or `"skip"` (checked by the caller).
    """

    def __init__(self, path, on_error):
        self.path = path
        self.on_error = on_error
        self.skipped = {}
        self.first_line = {}
        self.first_lines = []  # of the first FIRST_LINES skipped rows

    def bad(self, line, kind, reason):
        """Reports the row starting at `line`; the caller then drops it."""
        if self.on_error == "raise":
            raise DataFormatError(self.path, line, reason, kind=kind)
        self.skipped[kind] = self.skipped.get(kind, 0) + 1
        self.first_line.setdefault(kind, line)
        if len(self.first_lines) < FIRST_LINES:
            self.first_lines.append(line)

    def summary(self):
        return ", ".join(
            f"{count} {kind} (first at line {self.first_line[kind]})"
            for kind, count in self.skipped.items()
        )

    def finish(self, count, unit="pair", stacklevel=3):
        """Raises if nothing was usable; warns once if rows were skipped.

        `stacklevel=3` makes the warning point at the caller of the
        function that calls `finish`.
        """
        total = sum(self.skipped.values())
        if count == 0:
            detail = f": all {total} rows were skipped ({self.summary()})"
            raise DataFormatError(
                self.path,
                None,
                f"no usable {unit}" + (detail if total else ""),
                kind="no usable rows",
            )
        if total:
            warnings.warn(
                f"{self.path}: skipped {total} bad "
                f"row{'s' if total != 1 else ''} ({self.summary()}); "
                f"loaded {count} {unit}{'s' if count != 1 else ''}. "
                'Use on_error="raise" to stop at the first one.',
                stacklevel=stacklevel,
            )
