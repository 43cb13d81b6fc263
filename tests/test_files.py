"""`keras_attn._files`: which directories keras-attn recognises as its own,
and its atomic writes."""

import os
import pathlib

import pytest

from keras_attn import _files


def make(root, *paths):
    for path in paths:
        full = root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text("{}" if path.endswith(".json") else "x")
    return root


PRESET = (
    "config.json",
    "task.json",
    "preprocessor.json",
    "tokenizer.json",
    "metadata.json",
    "model.weights.h5",
    "assets/tokenizer/vocabulary.txt",
)


def keras_attn_config(root):
    (root / "config.json").write_text(
        '{"module": "keras_attn.models.attention_seq2seq_backbone", '
        '"registered_name": "keras_attn>AttentionSeq2SeqBackbone"}'
    )
    return root


def test_kinds_of_directories_keras_attn_wrote(tmp_path):
    run = make(tmp_path / "run", *PRESET, "training/options.json")
    make(run, "training/state.json", "training/last/config.json")
    make(run, "training/last_optimizer.npz", ".keras-attn-staging-x1/config.json")
    assert _files.package_directory_kind(run) == "run"
    started = make(tmp_path / "started", "training/options.json")  # no epoch yet
    assert _files.package_directory_kind(started) == "run"
    preset = keras_attn_config(make(tmp_path / "preset", *PRESET))
    assert _files.package_directory_kind(preset) == "preset"
    saved = make(tmp_path / "saved", "saved_model.pb", "variables/v.index")
    assert _files.package_directory_kind(saved) == "saved_model"


@pytest.mark.parametrize(
    "paths",
    [
        (),  # empty
        ("notes.txt",),
        PRESET,  # a config.json that does not name a keras_attn class
        ("training/notes.txt",),
        ("training/options.json", "README.md"),
        ("training/options.json", "training/my_checkpoints/x"),
        ("saved_model.pb", "data.csv"),
    ],
)
def test_anything_else_is_not_theirs(tmp_path, paths):
    root = make(tmp_path / "dir", *paths)
    root.mkdir(exist_ok=True)
    assert _files.package_directory_kind(root) is None
    assert _files.package_directory_kind(tmp_path / "missing") is None


def test_check_output_directory(tmp_path):
    assert _files.check_output_directory(tmp_path / "new") is False
    (tmp_path / "empty").mkdir()
    assert _files.check_output_directory(tmp_path / "empty") is False
    run = make(tmp_path / "run", "training/options.json")
    with pytest.raises(FileExistsError, match="exists and is not empty"):
        _files.check_output_directory(run)
    assert _files.check_output_directory(run, overwrite=True) is True
    saved = make(tmp_path / "saved", "saved_model.pb")
    with pytest.raises(FileExistsError, match="it is a saved model"):
        _files.check_output_directory(saved, overwrite=True)
    assert _files.check_output_directory(saved, True, kinds=("saved_model",))
    make(tmp_path, "file.txt")
    with pytest.raises(FileExistsError, match="is an existing file"):
        _files.check_output_directory(tmp_path / "file.txt", overwrite=True)


def test_remove_directory_removes_only_its_own(tmp_path):
    mine = make(tmp_path / "mine", "training/options.json", "model.weights.h5")
    _files.remove_directory(mine)
    assert not mine.exists()
    theirs = make(tmp_path / "theirs", "training/options.json", "thesis.pdf")
    with pytest.raises(FileExistsError, match="thesis.pdf"):
        _files.remove_directory(theirs)
    assert (theirs / "thesis.pdf").read_text() == "x"


def test_write_directory_is_atomic_and_cleans_up_after_a_failure(tmp_path):
    def fail(staging):
        make(pathlib.Path(staging), "config.json")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        _files.write_directory(tmp_path / "out", fail)
    assert os.listdir(tmp_path) == []
    _files.write_directory(tmp_path / "out", lambda s: make(pathlib.Path(s), "a"))
    assert os.listdir(tmp_path) == ["out"] and (tmp_path / "out" / "a").is_file()


def test_update_directory_keeps_what_it_is_told_to_and_what_it_lacks(tmp_path):
    run = make(tmp_path / "run", "config.json", "training/state.json", "extra.json")
    (run / "config.json").write_text("old")
    _files.update_directory(
        run,
        lambda staging: (pathlib.Path(staging) / "config.json").write_text("new"),
        keep=("training",),
    )
    assert (run / "config.json").read_text() == "new"
    assert (run / "training" / "state.json").is_file()
    assert (run / "extra.json").is_file()
    assert sorted(os.listdir(tmp_path)) == ["run"]
