"""`load_anki`: Tatoeba sentence pairs as manythings.org/anki ships them."""

import hashlib
import os
import re
import urllib.parse
import zipfile

import keras

from keras_attn._validation import check_choice
from keras_attn.data._reading import ON_ERROR_MODES
from keras_attn.data._reading import RowErrors
from keras_attn.data._reading import check_file
from keras_attn.data._reading import parse_tsv
from keras_attn.data._reading import read_text
from keras_attn.data._reading import read_zip_member
from keras_attn.data._reading import text_pairs

URL_SCHEMES = ("http://", "https://", "file://")


def load_anki(
    path_or_url, reverse=False, cache_dir=None, sha256=None, on_error="raise"
):
    """Loads an Anki/Tatoeba file: `English<TAB>other language` per line.

    Reads the text file (e.g. `spa.txt`) or the zip manythings.org
    distributes (e.g. `spa-eng.zip`, whose single `.txt` other than
    `_about.txt` is the data). A third column, the CC-BY attribution, is
    allowed and ignored. Bad rows are handled as in `load_pairs`.

    A URL (`http://`, `https://`, `file://`) is downloaded once with
    `keras.utils.get_file` into `cache_dir` (default
    `$KERAS_HOME/datasets`, i.e. `~/.keras/datasets`); later calls read the
    cached copy without the network.

    Args:
        path_or_url: str or path-like, a local `.txt`/`.zip` or a URL.
        reverse: bool, `False` gives English -> other language pairs;
            `True` the other language -> English (source = second column).
        cache_dir: str or path-like, where downloads are kept.
        sha256: optional str, the file's expected SHA-256 (hex). A download
            whose hash differs is deleted and raises a `ValueError` naming
            both hashes; a local file is checked too.
        on_error: `"raise"` (default) or `"skip"`, for bad rows.

    Returns:
        A `TextPairs`.

    Example:
    >>> with open("spa.txt", "w", encoding="utf-8") as file:
    ...     _ = file.write("Go.\\tVe.\\tCC-BY 2.0 (France) Attribution\\n")
    >>> pairs = keras_attn.data.load_anki("spa.txt", reverse=True)
    >>> pairs.sources[0], pairs.targets[0]  # es -> en
    ('Ve.', 'Go.')

    Online (fetched once into the Keras cache, then read from there):
    >>> pairs = keras_attn.data.load_anki(  # doctest: +SKIP
    ...     "https://www.manythings.org/anki/spa-eng.zip", reverse=True)
    """
    check_choice("on_error", on_error, ON_ERROR_MODES)
    if sha256 is not None:
        if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
            raise ValueError(
                f"sha256 must be 64 hexadecimal digits. Received: sha256={sha256!r}"
            )
        sha256 = sha256.lower()
    location = os.fspath(path_or_url)
    if location.lower().startswith(URL_SCHEMES):
        path = _fetch(location, cache_dir, sha256)
    else:
        path = check_file(location)
        found = sha256 and _sha256(path)
        if found != sha256:
            raise ValueError(
                f"sha256 mismatch for {path}: expected {sha256}, found {found}"
            )
    if zipfile.is_zipfile(path):
        path, text = read_zip_member(path, _is_data_file, "Anki .txt file")
    else:
        text = read_text(path)
    rows = RowErrors(path, on_error)
    parsed = parse_tsv(text, [1, 0] if reverse else [0, 1], rows)
    return text_pairs(parsed, rows)


def _is_data_file(name):
    name = os.path.basename(name)
    return name.lower().endswith(".txt") and name != "_about.txt"


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cache_dir(cache_dir):
    if cache_dir is None:
        # Where keras.utils.get_file puts datasets by default.
        home = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
        cache_dir = os.path.join(home, "datasets")
    return os.path.abspath(os.path.expanduser(os.fspath(cache_dir)))


def _fetch(url, cache_dir, sha256):
    """Downloads `url` into the cache once; returns the local path."""
    directory = _cache_dir(cache_dir)
    name = os.path.basename(urllib.parse.urlsplit(url).path)
    if not name:
        raise ValueError(f"Cannot name the download: {url!r} has no file name")
    target = os.path.join(directory, name)
    try:
        # An absolute cache_subdir is used as is; get_file re-downloads a
        # cached copy whose hash is wrong.
        return keras.utils.get_file(
            fname=name,
            origin=url,
            file_hash=sha256,
            hash_algorithm="sha256",
            cache_subdir=directory,
        )
    except Exception as error:
        if sha256 is not None and os.path.isfile(target):
            found = _sha256(target)
            if found != sha256:
                # get_file leaves the bad download in the cache: never reuse it.
                os.remove(target)
                raise ValueError(
                    f"sha256 mismatch for {url}: expected {sha256}, found "
                    f"{found}. The download was deleted from {directory}"
                ) from None
        raise OSError(f"Could not download {url}: {error}") from error
