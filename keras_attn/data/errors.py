"""The error a data loader raises for a bad row or an unusable file."""


class DataFormatError(ValueError):
    """A data file that cannot be read as the format it claims to be.

    The message names the file, the 1-based line (when the problem is one
    row) and the reason, e.g. `train.tsv, line 17: expected 2 tab-separated
    columns, found 1`.

    Args:
        path: str, the file (for a zip member, `archive.zip:member.txt`).
        line: int, the 1-based line where the bad row starts, or None when
            the problem is the whole file (empty, nothing usable).
        reason: str, what was wrong.
        kind: str, a short category of the reason (`"wrong column count"`,
            `"missing field"`, ...), the key under which `on_error="skip"`
            counts skipped rows. Defaults to `reason`.

    Example:
    >>> error = keras_attn.data.DataFormatError("train.tsv", 17, "bad row")
    >>> str(error), error.line
    ('train.tsv, line 17: bad row', 17)
    """

    def __init__(self, path, line, reason, kind=None):
        self.path = str(path)
        self.line = line
        self.reason = reason
        self.kind = kind or reason
        where = self.path if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {reason}")

    def __reduce__(self):
        # Keeps the attributes when the error crosses a process boundary.
        return type(self), (self.path, self.line, self.reason, self.kind)
