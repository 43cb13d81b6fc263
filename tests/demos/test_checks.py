"""The demo's own checks, without a running app: model names, uploads,
decoding settings, an empty models directory, the command line and where
it looks for models."""

import os
import zipfile
from pathlib import Path

import pytest

from demos.decoding import Decoding
from demos.errors import DemoError
from demos.safety import check_text
from demos.safety import check_upload
from demos.safety import new_model_path
from demos.safety import parse_columns
from demos.serving import ModelRegistry
from tests.demos.conftest import REPO
from tests.demos.conftest import only_tensorflow

pytestmark = only_tensorflow


def test_a_task_without_a_model_gets_a_clear_message(tmp_path):
    registry = ModelRegistry(tmp_path)
    assert registry.all_names() == {
        "translation": [],
        "summarization": [],
        "dialogue": [],
    }
    with pytest.raises(DemoError, match="No summarization model yet") as error:
        registry.model("summarization", None)
    assert "Train" in str(error.value)
    (tmp_path / "translation" / "half-written").mkdir(parents=True)
    assert registry.names("translation") == []  # no config.json: not a model


@pytest.mark.parametrize(
    "name", ["..", "../x", "a/b", "/abs", ".hidden", "a" * 65, "", "trailing.", "é"]
)
def test_bad_model_names_are_refused(tmp_path, name):
    with pytest.raises(DemoError, match="not a valid model name"):
        new_model_path(tmp_path, "translation", name)


def test_an_existing_name_or_link_is_never_reused(tmp_path):
    task_dir = tmp_path / "translation"
    (task_dir / "mine").mkdir(parents=True)
    (task_dir / "link").symlink_to(tmp_path / "elsewhere")  # dangling
    for name in ("mine", "link"):
        with pytest.raises(DemoError, match="exists already"):
            new_model_path(tmp_path, "translation", name)
    path = new_model_path(tmp_path, "translation", "new-model_1.2")
    assert path == (task_dir / "new-model_1.2").resolve()


def test_uploads_are_checked_by_type_size_and_expansion(tmp_path):
    good = tmp_path / "pairs.TSV"
    good.write_text("a\tb\n")
    assert check_upload(good, 100) == ".tsv"
    with pytest.raises(DemoError, match="the limit is"):
        check_upload(good, 2)
    for name, message in [("x.exe", "upload a .tsv"), ("empty.csv", "is empty")]:
        (tmp_path / name).write_bytes(b"MZ" if name == "x.exe" else b"")
        with pytest.raises(DemoError, match=message):
            check_upload(tmp_path / name, 100)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("spa.txt", "a" * 2_000_000)
    with pytest.raises(DemoError, match="expands to"):
        check_upload(bomb, os.path.getsize(bomb) + 1000)
    (tmp_path / "fake.zip").write_text("not a zip")
    with pytest.raises(DemoError, match="not a valid zip"):
        check_upload(tmp_path / "fake.zip", 100)


def test_text_columns_and_decoding_checks():
    assert check_text("  hola  ", 10) == "hola"
    with pytest.raises(DemoError, match="at most 3 characters"):
        check_text("hola", 3)
    assert parse_columns(" body , subject ") == ("body", "subject")
    assert parse_columns("") is None
    with pytest.raises(DemoError, match="two indices or names"):
        parse_columns("1;rm -rf /")
    # Settings that do not apply share one cache key.
    assert Decoding("greedy", 5, 0.3, 0.2) == Decoding()
    assert Decoding.from_ui("sampling (top-p)", 4, 0.8000001, 0.9) == Decoding(
        "sample", 0, 0.8, 0.9
    )
    for bad in [("beam", 1), ("beam", 99), ("sample", 4, 0.0), ("nucleus",)]:
        with pytest.raises(DemoError):
            Decoding(*bad)


def test_the_command_line_is_safe_by_default():
    from demos.app import build_parser

    args = build_parser().parse_args([])
    assert args.host == "127.0.0.1" and args.port == 7860 and not args.share
    assert args.models_dir is None  # chosen at start-up: default_models_dir()
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--max-upload-mb", "0"])


def test_the_default_models_directory(tmp_path, monkeypatch):
    from demos import app

    # From a checkout: the shipped models in the repository.
    assert app.checkout_root() == REPO
    assert app.default_models_dir({}) == REPO / "saved_models"
    assert app.default_models_dir({"KERAS_ATTN_MODELS": str(tmp_path)}) == tmp_path
    # Installed (no checkout around the package): ./saved_models.
    monkeypatch.setattr(app, "PACKAGE_DIR", tmp_path / "site-packages" / "pkg")
    assert app.checkout_root() is None
    assert app.default_models_dir({}) == Path("saved_models")


def test_a_missing_models_directory_is_one_line_and_exit_2(tmp_path, capsys):
    from demos.app import main

    missing = tmp_path / "nowhere"
    assert main(["--models-dir", str(missing)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and str(missing) in error
    assert "--models-dir" in error and "KERAS_ATTN_MODELS" in error
    assert main(["--max-upload-mb", "0"]) == 2  # argparse says why
    assert main(["--help"]) == 0


def test_the_chat_input_is_joined_as_the_dailydialog_loader_joins_turns(tmp_path):
    from keras_attn.data import DIALOGUE_SEPARATOR
    from keras_attn.data import load_dailydialog

    path = tmp_path / "dialogues_x.txt"
    path.write_text("one __eou__ two __eou__ three __eou__\n")
    pairs = load_dailydialog(path, history=2)
    assert pairs.sources[-1] == DIALOGUE_SEPARATOR.join(["one", "two"])
