"""TextPairs and DataFormatError."""

import pickle

import pytest

from keras_attn.data import DataFormatError
from keras_attn.data import TextPairs


def test_iterates_pairs_and_has_a_length():
    pairs = TextPairs(["hola", "adiós"], ["hello", "goodbye"], path="x.tsv")
    assert len(pairs) == 2
    assert list(pairs) == [("hola", "hello"), ("adiós", "goodbye")]
    assert pairs.references is None
    assert pairs.skipped == {}


def test_all_references_puts_the_target_first():
    pairs = TextPairs(["a", "b"], ["t1", "t2"], references=[["r1", "r2"], []])
    assert pairs.all_references() == [["t1", "r1", "r2"], ["t2"]]
    assert TextPairs(["a"], ["t"]).all_references() == [["t"]]


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match="2 sources and 1 targets"):
        TextPairs(["a", "b"], ["t"])
    with pytest.raises(ValueError, match="1 lists for 2 pairs"):
        TextPairs(["a", "b"], ["s", "t"], references=[["r"]])


def test_data_format_error_names_file_line_and_reason():
    error = DataFormatError(
        "train.tsv", 17, "expected 2 tab-separated columns, found 1", kind="columns"
    )
    assert isinstance(error, ValueError)
    assert str(error) == "train.tsv, line 17: expected 2 tab-separated columns, found 1"
    assert (error.path, error.line, error.kind) == ("train.tsv", 17, "columns")
    assert error.reason == "expected 2 tab-separated columns, found 1"
    assert str(DataFormatError("a.csv", None, "the file is empty")) == (
        "a.csv: the file is empty"
    )


def test_data_format_error_pickles_with_its_attributes():
    error = pickle.loads(pickle.dumps(DataFormatError("a.jsonl", 3, "bad", "k")))
    assert (error.path, error.line, error.reason, error.kind) == (
        "a.jsonl",
        3,
        "bad",
        "k",
    )
    assert str(error) == "a.jsonl, line 3: bad"
