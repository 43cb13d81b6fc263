"""Shared by the loaders: argument checks, decoding, zip members and the
bad-row policy (`on_error`)."""

import os
import warnings
import zipfile

from keras_attn.data.errors import DataFormatError
from keras_attn.data.text_pairs import TextPairs

ON_ERROR_MODES = ("raise", "skip")


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
        raise DataFormatError(
            path,
            line,
            f"not valid {encoding} text ({error.reason} at byte {error.start}); "
            "pass the file's encoding as `encoding=`",
            kind="encoding",
        ) from None
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


def keep_row(values, labels, line, rows, columns):
    """Appends the stripped `values` to `columns` (a list per value) unless
    one is empty."""
    values = [value.strip() for value in values]
    if all(values):
        # Column lists of strings, not a list per row: millions of small
        # lists would make the garbage collector the slowest part.
        for column, value in zip(columns, values, strict=True):
            column.append(value)
        return
    for position, (value, label) in enumerate(zip(values, labels, strict=True)):
        if not value:
            side = _side(position)
            rows.bad(line, f"empty {side}", f"empty {side} ({label})")
            return


def parse_tsv(text, columns, rows):
    """The stripped `columns` (0-based) of a tab-separated text, as one
    list per column."""
    needed = max(columns) + 1
    labels = [f"column {column}" for column in columns]
    parsed = [[] for _ in columns]
    for line, content in enumerate(text.split("\n"), start=1):
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
        keep_row([fields[column] for column in columns], labels, line, rows, parsed)
    return parsed


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

    def bad(self, line, kind, reason):
        """Reports the row starting at `line`; the caller then drops it."""
        if self.on_error == "raise":
            raise DataFormatError(self.path, line, reason, kind=kind)
        self.skipped[kind] = self.skipped.get(kind, 0) + 1
        self.first_line.setdefault(kind, line)

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
