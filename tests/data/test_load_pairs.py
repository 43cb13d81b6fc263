"""load_pairs on small TSV, CSV and JSON lines files made by the tests."""

import json
import time

import pytest

from keras_attn.data import DataFormatError
from keras_attn.data import load_pairs

ATTRIBUTION = "CC-BY 2.0 (France) Attribution: tatoeba.org #1 (a) & #2 (b)"


def write(directory, name, text, bom=False, crlf=False, encoding="utf-8"):
    if crlf:
        text = text.replace("\n", "\r\n")
    path = directory / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


def jsonl(*records):
    return "".join(
        (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n"
        for r in records
    )


# --- TSV ---------------------------------------------------------------------


def test_tsv_default_columns_ignore_the_attribution_column(tmp_path):
    path = write(
        tmp_path,
        "spa.tsv",
        f"Go.\tVe.\t{ATTRIBUTION}\n  Hi. \t Hola. \n\nThanks!\t¡Gracias!\n",
    )
    pairs = load_pairs(path)
    assert list(pairs) == [("Go.", "Ve."), ("Hi.", "Hola."), ("Thanks!", "¡Gracias!")]
    assert pairs.path == str(path)
    assert pairs.references is None
    assert pairs.skipped == {}


def test_tsv_columns_by_index_and_txt_extension(tmp_path):
    path = write(tmp_path, "spa.txt", "Go.\tVe.\tx\nHi.\tHola.\ty\n")
    pairs = load_pairs(path, source=1, target=0, references=[2])
    assert list(pairs) == [("Ve.", "Go."), ("Hola.", "Hi.")]
    assert pairs.all_references() == [["Go.", "x"], ["Hi.", "y"]]


def test_bom_and_crlf_are_invisible(tmp_path):
    text = "Go.\tVe.\nHi.\tHola.\n"
    plain = load_pairs(write(tmp_path, "a.tsv", text))
    both = load_pairs(write(tmp_path, "b.tsv", text, bom=True, crlf=True))
    assert list(both) == list(plain) == [("Go.", "Ve."), ("Hi.", "Hola.")]


def test_tsv_columns_must_be_indices(tmp_path):
    path = write(tmp_path, "a.tsv", "Go.\tVe.\n")
    with pytest.raises(ValueError, match="non-negative ints. Received: 'en'"):
        load_pairs(path, source="en")


# --- CSV ---------------------------------------------------------------------


def test_csv_columns_by_header_name_with_quoted_commas_and_newlines(tmp_path):
    text = (
        "id,document,summary,extra\n"
        '1,"Hello, world","greeting",x\n'
        '2,"line one\nline two","two lines, ""quoted""",y\n'
        "3,plain,short,z\n"
    )
    path = write(tmp_path, "data.csv", text, bom=True, crlf=True)
    pairs = load_pairs(path, source="document", target="summary", references=["extra"])
    assert pairs.sources == ["Hello, world", "line one\nline two", "plain"]
    assert pairs.targets == ["greeting", 'two lines, "quoted"', "short"]
    assert pairs.references == [["x"], ["y"], ["z"]]


def test_csv_default_is_the_first_two_columns(tmp_path):
    path = write(tmp_path, "data.csv", "en,es\nGo.,Ve.\n")
    assert list(load_pairs(path)) == [("Go.", "Ve.")]


def test_csv_unknown_column_lists_the_header(tmp_path):
    path = write(tmp_path, "data.csv", "en,es\nGo.,Ve.\n")
    with pytest.raises(ValueError, match=r"no column 'fr'.*\['en', 'es'\]"):
        load_pairs(path, source="en", target="fr")


def test_csv_line_numbers_count_physical_lines(tmp_path):
    # The short record starts on line 5: the quoted field spans lines 2-3.
    text = 'a,b\n"x\ny",1\nok,2\nshort\n'
    path = write(tmp_path, "data.csv", text)
    with pytest.raises(DataFormatError) as info:
        load_pairs(path, source="a", target="b")
    assert info.value.line == 5
    assert str(info.value) == (
        f"{path}, line 5: expected 2 columns as in the header, found 1"
    )


def test_csv_with_only_a_header_has_no_usable_pair(tmp_path):
    path = write(tmp_path, "data.csv", "en,es\n")
    with pytest.raises(DataFormatError, match="no usable pair"):
        load_pairs(path)


# --- JSON lines --------------------------------------------------------------


def test_jsonl_fields_and_extra_references(tmp_path):
    rows = [
        {"id": 1, "body": "Meeting at 9.", "subject": "Meeting", "ann0": "a0"},
        {"id": 2, "body": "Lunch?", "subject": "Lunch", "ann0": "b0"},
    ]
    path = write(tmp_path, "dev.jsonl", jsonl(*rows), bom=True, crlf=True)
    pairs = load_pairs(path, source="body", target="subject", references=["ann0"])
    assert list(pairs) == [("Meeting at 9.", "Meeting"), ("Lunch?", "Lunch")]
    assert pairs.all_references() == [["Meeting", "a0"], ["Lunch", "b0"]]


def test_jsonl_needs_field_names_and_lists_the_first_rows_fields(tmp_path):
    path = write(tmp_path, "dev.jsonl", jsonl({"body": "b", "subject": "s"}))
    with pytest.raises(ValueError, match=r"\['body', 'subject'\]"):
        load_pairs(path)


# --- bad rows ----------------------------------------------------------------

BAD_ROWS = [
    (
        "train.tsv",
        "Go.\tVe.\nHi.\tHola.\n\nno tab here\n",
        {},
        4,
        "expected 2 tab-separated columns, found 1",
    ),
    ("train.tsv", "Go.\tVe.\nHi.\t  \n", {}, 2, "empty target (column 1)"),
    ("train.tsv", "\tVe.\n", {}, 1, "empty source (column 0)"),
    (
        "a.jsonl",
        jsonl({"s": "a", "t": "b"}, '{"s": "a", "t": }'),
        {"source": "s", "target": "t"},
        2,
        "invalid JSON: Expecting value (column 17)",
    ),
    (
        "a.jsonl",
        jsonl({"s": "a", "t": "b"}, {"s": "a", "t": "b"}, {"s": "a"}),
        {"source": "s", "target": "t"},
        3,
        "missing field 't'",
    ),
    (
        "a.jsonl",
        jsonl({"s": "a", "t": None}),
        {"source": "s", "target": "t"},
        1,
        "field 't' is null, not a string",
    ),
    (
        "a.jsonl",
        jsonl(["a", "b"]),
        {"source": "s", "target": "t"},
        1,
        "expected a JSON object, found an array",
    ),
    (
        "a.jsonl",
        jsonl({"s": "a", "t": "b", "r": ""}),
        {"source": "s", "target": "t", "references": ["r"]},
        1,
        "empty reference (field 'r')",
    ),
]


@pytest.mark.parametrize(("name", "text", "kwargs", "line", "reason"), BAD_ROWS)
def test_a_bad_row_names_the_file_line_and_reason(
    tmp_path, name, text, kwargs, line, reason
):
    path = write(tmp_path, name, text, crlf=True)
    with pytest.raises(DataFormatError) as info:
        load_pairs(path, **kwargs)
    assert str(info.value) == f"{path}, line {line}: {reason}"
    assert (info.value.path, info.value.line, info.value.reason) == (
        str(path),
        line,
        reason,
    )


def test_skip_counts_bad_rows_by_reason_and_warns_once(tmp_path):
    text = jsonl(
        {"s": "one", "t": "1"},
        "{not json",
        {"s": "two"},
        {"s": "three", "t": "3"},
        {"s": "", "t": "4"},
        {"t": "5"},
    )
    path = write(tmp_path, "a.jsonl", text)
    with pytest.warns(UserWarning) as record:
        pairs = load_pairs(path, source="s", target="t", on_error="skip")
    assert list(pairs) == [("one", "1"), ("three", "3")]
    assert pairs.skipped == {"invalid JSON": 1, "missing field": 2, "empty source": 1}
    assert len(record) == 1
    message = str(record[0].message)
    assert str(path) in message
    assert "skipped 4 bad rows" in message
    assert "2 missing field (first at line 3)" in message
    assert record[0].filename == __file__  # points at the caller


def test_skip_mode_without_bad_rows_does_not_warn(tmp_path, recwarn):
    pairs = load_pairs(write(tmp_path, "a.tsv", "Go.\tVe.\n"), on_error="skip")
    assert len(pairs) == 1
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_skip_mode_with_nothing_usable_is_an_error(tmp_path):
    path = write(tmp_path, "a.tsv", "one\ntwo\n")
    with pytest.raises(DataFormatError, match=r"no usable pair: all 2 rows"):
        load_pairs(path, on_error="skip")


def test_unknown_on_error_lists_the_valid_values(tmp_path):
    path = write(tmp_path, "a.tsv", "Go.\tVe.\n")
    with pytest.raises(ValueError, match=r"one of \('raise', 'skip'\)"):
        load_pairs(path, on_error="ignore")


# --- files -------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"\n \r\n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_an_error_naming_it(tmp_path, content):
    path = tmp_path / "empty.tsv"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match="the file is empty") as info:
        load_pairs(path)
    assert str(path) in str(info.value)


def test_a_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nowhere.tsv"
    with pytest.raises(FileNotFoundError, match="nowhere.tsv"):
        load_pairs(path)


def test_an_unknown_extension_lists_the_formats(tmp_path):
    path = write(tmp_path, "data.xlsx", "Go.\tVe.\n")
    with pytest.raises(ValueError, match=r"'\.xlsx'.*format= one of"):
        load_pairs(path)
    assert list(load_pairs(path, format="tsv")) == [("Go.", "Ve.")]
    with pytest.raises(ValueError, match=r"format must be one of"):
        load_pairs(path, format="parquet")


def test_other_encodings(tmp_path):
    path = write(tmp_path, "a.tsv", "Go.\tVe.\nYes.\tSí.\n", encoding="latin-1")
    with pytest.raises(DataFormatError, match=r"line 2: not valid utf-8"):
        load_pairs(path)
    assert load_pairs(path, encoding="latin-1").targets == ["Ve.", "Sí."]


def test_120k_lines_load_quickly(tmp_path):
    lines = "".join(f"sentence {i}\tfrase {i}\t{ATTRIBUTION}\n" for i in range(120_000))
    path = write(tmp_path, "big.tsv", lines)
    start = time.perf_counter()
    pairs = load_pairs(path)
    elapsed = time.perf_counter() - start
    assert len(pairs) == 120_000
    assert pairs.targets[-1] == "frase 119999"
    assert elapsed < 3.0, elapsed
