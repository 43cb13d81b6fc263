"""load_dailydialog on small DailyDialog-shaped zips and text files."""

import zipfile

import pytest

from keras_attn.data import DataFormatError
from keras_attn.data import load_dailydialog

DIALOGUES = (
    "Hi , Jim ! __eou__ Hello ! __eou__ How are you ? __eou__ Fine . __eou__\n"
    " Can I help you ? __eou__ Yes , please . __eou__\n"
)


def make_zip(path, split, text):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{split}/", "")
        archive.writestr(f"{split}/dialogues_act_{split}.txt", "1 2 3 4\n1 2\n")
        archive.writestr(f"{split}/dialogues_emotion_{split}.txt", "0 0 0 0\n0 0\n")
        archive.writestr(f"{split}/dialogues_{split}.txt", text)
    return path


def test_every_reply_is_a_pair_with_one_turn_of_history(tmp_path):
    path = make_zip(tmp_path / "train.zip", "train", DIALOGUES)
    pairs = load_dailydialog(path)
    assert list(pairs) == [
        ("Hi , Jim !", "Hello !"),
        ("Hello !", "How are you ?"),
        ("How are you ?", "Fine ."),
        ("Can I help you ?", "Yes , please ."),
    ]
    assert pairs.path == f"{path}:train/dialogues_train.txt"
    assert pairs.references is None


def test_longer_history_and_separator(tmp_path):
    path = make_zip(tmp_path / "validation.zip", "validation", DIALOGUES)
    pairs = load_dailydialog(path, history=2, separator=" | ")
    assert pairs.sources[:3] == [
        "Hi , Jim !",
        "Hi , Jim ! | Hello !",
        "Hello ! | How are you ?",
    ]
    everything = load_dailydialog(path, history=None)
    assert everything.sources[2] == "Hi , Jim ! [SEP] Hello ! [SEP] How are you ?"
    assert everything.sources[3] == "Can I help you ?"


def test_the_text_file_itself_with_bom_and_crlf(tmp_path):
    path = tmp_path / "dialogues_test.txt"
    path.write_bytes(b"\xef\xbb\xbf" + DIALOGUES.replace("\n", "\r\n").encode("utf-8"))
    zipped = make_zip(tmp_path / "test.zip", "test", DIALOGUES)
    assert list(load_dailydialog(path)) == list(load_dailydialog(zipped))


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            "Alone here . __eou__",
            "expected at least 2 turns separated by __eou__, found 1",
        ),
        ("Hi . __eou__  __eou__ Bye . __eou__", "turn 2 is empty"),
    ],
)
def test_a_bad_dialogue_names_the_file_and_line(tmp_path, line, reason):
    path = tmp_path / "dialogues_train.txt"
    path.write_text(DIALOGUES + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as info:
        load_dailydialog(path)
    assert str(info.value) == f"{path}, line 4: {reason}"


def test_skip_drops_bad_dialogues_and_warns_once(tmp_path):
    text = "One . __eou__\n" + DIALOGUES + "A . __eou__ __eou__ C . __eou__\n"
    path = make_zip(tmp_path / "train.zip", "train", text)
    with pytest.warns(UserWarning) as record:
        pairs = load_dailydialog(path, on_error="skip")
    assert len(record) == 1
    assert "skipped 2 bad rows" in str(record[0].message)
    assert pairs.skipped == {"fewer than 2 turns": 1, "empty turn": 1}
    assert len(pairs) == 4


def test_zip_without_a_dialogues_file(tmp_path):
    path = tmp_path / "train.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("train/dialogues_act_train.txt", "1 2\n")
    with pytest.raises(DataFormatError, match=r"dialogues_\*\.txt file.*found none"):
        load_dailydialog(path)


def test_bad_arguments_empty_and_missing_files(tmp_path):
    path = tmp_path / "dialogues_train.txt"
    with pytest.raises(FileNotFoundError, match="dialogues_train.txt"):
        load_dailydialog(path)
    path.write_text("", encoding="utf-8")
    with pytest.raises(DataFormatError, match="the file is empty"):
        load_dailydialog(path)
    with pytest.raises(ValueError, match="history must be a positive integer"):
        load_dailydialog(path, history=0)
    with pytest.raises(ValueError, match=r"one of \('raise', 'skip'\)"):
        load_dailydialog(path, on_error=None)
