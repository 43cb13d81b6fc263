"""load_anki: text files, zips, and URLs served from this machine."""

import hashlib
import http.server
import threading
import zipfile

import pytest

from keras_attn.data import DataFormatError
from keras_attn.data import load_anki

ATTRIBUTION = "CC-BY 2.0 (France) Attribution: tatoeba.org #1 (a) & #2 (b)"
TEXT = f"Go.\tVe.\t{ATTRIBUTION}\nHi.\tHola.\t{ATTRIBUTION}\n"
PAIRS = [("Go.", "Ve."), ("Hi.", "Hola.")]


def make_zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def anki_zip(tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    return make_zip(
        folder / "spa-eng.zip", {"_about.txt": "About the data.\n", "spa.txt": TEXT}
    )


@pytest.fixture
def server(anki_zip, monkeypatch):
    """An HTTP server on 127.0.0.1 serving `anki_zip`'s folder; counts GETs."""
    # A proxy from the environment must not see a request to localhost.
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(anki_zip.parent), **kwargs)

        def do_GET(self):  # noqa: N802 (the http.server name)
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    httpd.requests = requests
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_text_file_with_attribution_column(tmp_path):
    path = tmp_path / "spa.txt"
    path.write_text(TEXT, encoding="utf-8")
    pairs = load_anki(path)
    assert list(pairs) == PAIRS
    assert pairs.path == str(path)


def test_reverse_makes_the_second_column_the_source(tmp_path):
    path = tmp_path / "spa.txt"
    path.write_text(TEXT, encoding="utf-8")
    assert list(load_anki(path, reverse=True)) == [(t, s) for s, t in PAIRS]


def test_zip_reads_the_single_txt_that_is_not_about(tmp_path):
    path = make_zip(
        tmp_path / "spa-eng.zip",
        {"spa-eng/": "", "spa-eng/_about.txt": "About.\n", "spa-eng/spa.txt": TEXT},
    )
    pairs = load_anki(path)
    assert list(pairs) == PAIRS
    assert pairs.path == f"{path}:spa-eng/spa.txt"


def test_zip_bom_and_crlf(tmp_path):
    data = b"\xef\xbb\xbf" + TEXT.replace("\n", "\r\n").encode("utf-8")
    path = make_zip(tmp_path / "spa-eng.zip", {"spa.txt": data})
    assert list(load_anki(path)) == PAIRS


@pytest.mark.parametrize(
    ("members", "found"),
    [
        ({"_about.txt": "x", "spa.txt": TEXT, "fra.txt": TEXT}, "found 2"),
        ({"_about.txt": "x", "notes.md": "y"}, "found none"),
    ],
)
def test_zip_without_exactly_one_data_file_is_an_error(tmp_path, members, found):
    path = make_zip(tmp_path / "x.zip", members)
    with pytest.raises(DataFormatError, match=f"exactly one Anki .txt file.*{found}"):
        load_anki(path)


def test_a_bad_line_in_a_zip_names_the_member_and_line(tmp_path):
    path = make_zip(tmp_path / "spa-eng.zip", {"spa.txt": TEXT + "Broken line\n"})
    with pytest.raises(DataFormatError) as info:
        load_anki(path)
    assert str(info.value) == (
        f"{path}:spa.txt, line 3: expected 2 tab-separated columns, found 1"
    )
    with pytest.warns(UserWarning, match="skipped 1 bad row"):
        pairs = load_anki(path, on_error="skip")
    assert pairs.skipped == {"wrong column count": 1}
    assert list(pairs) == PAIRS


def test_missing_file_and_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="spa.txt"):
        load_anki(tmp_path / "spa.txt")
    with pytest.raises(ValueError, match=r"one of \('raise', 'skip'\)"):
        load_anki(tmp_path / "spa.txt", on_error="warn")
    with pytest.raises(ValueError, match="64 hexadecimal digits"):
        load_anki(tmp_path / "spa.txt", sha256="abc")


def test_local_file_checksum(anki_zip):
    assert list(load_anki(anki_zip, sha256=sha256(anki_zip).upper())) == PAIRS
    with pytest.raises(
        ValueError, match=f"expected {'0' * 64}, found {sha256(anki_zip)}"
    ):
        load_anki(anki_zip, sha256="0" * 64)


def test_file_url_is_copied_into_the_cache(anki_zip, tmp_path):
    cache = tmp_path / "cache"
    pairs = load_anki(anki_zip.as_uri(), cache_dir=cache, reverse=True)
    assert list(pairs) == [(t, s) for s, t in PAIRS]
    assert (cache / "spa-eng.zip").read_bytes() == anki_zip.read_bytes()
    assert pairs.path == f"{cache / 'spa-eng.zip'}:spa.txt"


def test_default_cache_is_keras_home_datasets(anki_zip, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    assert list(load_anki(anki_zip.as_uri())) == PAIRS
    assert (tmp_path / "home" / "datasets" / "spa-eng.zip").is_file()


def test_http_download_with_checksum_then_from_the_cache(anki_zip, server, tmp_path):
    cache = tmp_path / "cache"
    url = f"{server.url}/spa-eng.zip"
    digest = sha256(anki_zip)
    assert list(load_anki(url, cache_dir=cache, sha256=digest)) == PAIRS
    assert server.requests == ["/spa-eng.zip"]
    server.shutdown()  # the second call must not need it
    assert list(load_anki(url, cache_dir=cache, sha256=digest)) == PAIRS
    assert server.requests == ["/spa-eng.zip"]


def test_http_download_with_a_wrong_checksum_leaves_nothing(anki_zip, server, tmp_path):
    cache = tmp_path / "cache"
    url = f"{server.url}/spa-eng.zip"
    wrong = "f" * 64
    with pytest.raises(ValueError) as info:
        load_anki(url, cache_dir=cache, sha256=wrong)
    message = str(info.value)
    assert "sha256 mismatch" in message
    assert url in message
    assert f"expected {wrong}" in message
    assert f"found {sha256(anki_zip)}" in message
    assert not (cache / "spa-eng.zip").exists()


def test_a_corrupt_cached_copy_is_downloaded_again(anki_zip, server, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "spa-eng.zip").write_bytes(b"truncated")
    url = f"{server.url}/spa-eng.zip"
    assert list(load_anki(url, cache_dir=cache, sha256=sha256(anki_zip))) == PAIRS
    assert server.requests == ["/spa-eng.zip"]


def test_http_404_names_the_url(server, tmp_path):
    url = f"{server.url}/fra-eng.zip"
    with pytest.raises(OSError, match="Could not download .*fra-eng.zip"):
        load_anki(url, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "fra-eng.zip").exists()
