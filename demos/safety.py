"""Checks on what a request brings: text, model names, uploaded files."""

import os
import re
import zipfile
from pathlib import Path

from .errors import DemoError

# Letters, digits, "_", "-" and "." (not first): no path separators, no "..".
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# The data formats `keras-attn train` reads, by extension.
DATA_EXTENSIONS = (".tsv", ".txt", ".csv", ".jsonl", ".zip")
# A zip may expand to at most this many times the upload limit.
ZIP_EXPANSION = 10
# Column indices or names: letters, digits, "_", "-", "." and spaces.
_COLUMN = re.compile(r"[\w .-]{1,64}")


def check_text(text, limit, what="input"):
    """`text` stripped; a clear error when it is empty or over `limit`."""
    if not isinstance(text, str):
        raise DemoError(f"The {what} must be text.")
    text = text.strip()
    if not text:
        raise DemoError(f"The {what} is empty: type some text first.")
    if len(text) > limit:
        raise DemoError(
            f"The {what} is {len(text):,} characters long; this demo accepts at "
            f"most {limit:,} characters. Shorten it and try again."
        )
    return text


def new_model_path(models_dir, task, name):
    """`<models_dir>/<task>/<name>` for a new model, after checking the name.

    The name must match `MODEL_NAME`, the resolved path must stay inside the
    task's directory, and nothing may exist there yet: a user's model is
    never overwritten.
    """
    name = (name or "").strip()
    if not MODEL_NAME.fullmatch(name) or name.endswith("."):
        raise DemoError(
            f"{name!r} is not a valid model name: use 1 to 64 letters, digits, "
            "'_', '-' or '.', starting with a letter or digit (e.g. my-model-1)."
        )
    task_dir = (Path(models_dir) / task).resolve()
    if os.path.lexists(task_dir / name):  # a link too, even a broken one
        raise DemoError(
            f"A {task} model named {name!r} exists already; choose another name "
            "(the demo never overwrites a model)."
        )
    path = (task_dir / name).resolve()
    if path.parent != task_dir:
        raise DemoError(f"{name!r} is not a valid model name.")
    return path


def check_upload(path, max_bytes):
    """The extension of an uploaded file, after checking its type and size."""
    if not path:
        raise DemoError("Upload a data file first, or choose the shipped sample.")
    path = Path(path)
    extension = path.suffix.lower()
    if extension not in DATA_EXTENSIONS:
        raise DemoError(
            f"Cannot train on {path.name!r}: upload a "
            f"{', '.join(DATA_EXTENSIONS)} file."
        )
    size = path.stat().st_size
    if size > max_bytes:
        raise DemoError(
            f"{path.name!r} is {size / 2**20:.1f} MB; the limit is "
            f"{max_bytes / 2**20:.0f} MB."
        )
    if size == 0:
        raise DemoError(f"{path.name!r} is empty.")
    if extension == ".zip":
        _check_zip(path, max_bytes * ZIP_EXPANSION)
    return extension


def _check_zip(path, max_bytes):
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as error:
        raise DemoError(f"{path.name!r} is not a valid zip file ({error}).") from None
    if expanded > max_bytes:
        raise DemoError(
            f"{path.name!r} expands to {expanded / 2**20:.0f} MB; the limit is "
            f"{max_bytes / 2**20:.0f} MB."
        )


def parse_columns(text):
    """`"1,0"` or `"body, subject"` -> `("1", "0")`; blank -> None."""
    text = (text or "").strip()
    if not text:
        return None
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 2 or not all(_COLUMN.fullmatch(part) for part in parts):
        raise DemoError(
            f"Columns {text!r}: write the source and target column as two "
            "indices or names separated by a comma, e.g. 1,0 or body,subject."
        )
    return parts[0], parts[1]
