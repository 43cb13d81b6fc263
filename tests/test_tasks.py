"""`keras_attn.tasks`: the registry and each task's loader, on files the
tests write."""

import json
import zipfile

import pytest

from keras_attn import metrics
from keras_attn import tasks
from keras_attn.data import DataFormatError

PAIRS = [("hola amigo", "hello friend"), ("buenos días", "good morning")]


def test_the_three_tasks_and_their_facts():
    assert tasks.names()[:3] == ("translation", "summarization", "dialogue")
    translation = tasks.get("translation")
    assert (translation.source_field, translation.target_field) == (0, 1)
    assert translation.metrics == ("bleu", "chrf")
    assert (translation.source_length, translation.target_length) == (32, 32)
    summarization = tasks.get("summarization")
    assert (summarization.source_field, summarization.target_field) == (
        "body",
        "subject",
    )
    assert summarization.metrics[0] == "rouge1"
    assert (summarization.source_length, summarization.target_length) == (128, 24)
    dialogue = tasks.get("dialogue")
    assert (dialogue.source_length, dialogue.target_length) == (48, 32)
    for name in tasks.names():
        task = tasks.get(name)
        assert task.title and task.name == name
        # Every task's metrics are computable names.
        scores = metrics.compute_metrics(["a b c"], [["a b c"]], task.metrics)
        assert tuple(scores) == task.metrics


def test_translation_reads_tsv_with_digit_string_columns(tmp_path):
    path = tmp_path / "pairs.tsv"
    # Anki layout: English first.
    path.write_text("".join(f"{t}\t{s}\tCC-BY\n" for s, t in PAIRS), encoding="utf-8")
    task = tasks.get("translation")
    pairs = task.load(path, source="1", target="0")
    assert list(pairs) == PAIRS
    assert list(task.load(path, source=1, target=0)) == PAIRS
    assert list(task.load(path)) == [(t, s) for s, t in PAIRS]  # columns 0, 1
    assert list(task.load(path, reverse=True)) == PAIRS


def test_translation_reads_an_anki_zip(tmp_path):
    path = tmp_path / "spa-eng.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("_about.txt", "about")
        archive.writestr("spa.txt", "".join(f"{t}\t{s}\n" for s, t in PAIRS))
    pairs = tasks.get("translation").load(path, reverse=True)
    assert list(pairs) == PAIRS


def test_summarization_reads_jsonl_fields(tmp_path):
    path = tmp_path / "mail.jsonl"
    rows = [{"body": s, "subject": t, "id": i} for i, (s, t) in enumerate(PAIRS)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert list(tasks.get("summarization").load(path)) == PAIRS
    csv = tmp_path / "mail.csv"
    csv.write_text("subject,body\n" + "".join(f"{t},{s}\n" for s, t in PAIRS))
    assert list(tasks.get("summarization").load(csv)) == PAIRS


def test_dialogue_reads_dailydialog_text_by_name_or_content(tmp_path):
    text = "Hi , Jim ! __eou__ Hello . __eou__ How are you ? __eou__\n"
    expected = [("Hi , Jim !", "Hello ."), ("Hello .", "How are you ?")]
    named = tmp_path / "dialogues_train.txt"
    named.write_text(text, encoding="utf-8")
    assert list(tasks.get("dialogue").load(named)) == expected
    sniffed = tmp_path / "chat.txt"  # any .txt whose turns end in __eou__
    sniffed.write_text(text, encoding="utf-8")
    assert list(tasks.get("dialogue").load(sniffed)) == expected
    two = tasks.get("dialogue").load(named, history=2)
    assert two.sources[1] == "Hi , Jim ! [SEP] Hello ."
    archive_path = tmp_path / "train.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("train/dialogues_train.txt", text)
    assert list(tasks.get("dialogue").load(archive_path)) == expected
    tsv = tmp_path / "replies.tsv"  # (context, reply) pairs: columns 0 and 1
    tsv.write_text("".join(f"{s}\t{t}\n" for s, t in expected), encoding="utf-8")
    assert list(tasks.get("dialogue").load(tsv)) == expected


def test_bad_files_and_arguments_name_what_is_wrong(tmp_path):
    task = tasks.get("translation")
    with pytest.raises(FileNotFoundError) as caught:
        task.load(tmp_path / "missing.tsv")
    assert "missing.tsv" in str(caught.value)
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\nonly one column\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="line 2"):
        task.load(bad)
    with pytest.warns(UserWarning, match="skipped 1 bad row"):
        assert list(task.load(bad, on_error="skip")) == [("a", "b")]
    with pytest.raises(ValueError, match="format must be one of"):
        task.load(bad, format="xml")
    with pytest.raises(ValueError, match="history must be a positive integer"):
        task.load(bad, history=0)
    with pytest.raises(ValueError, match="source must be >= 0"):
        task.load(bad, source=-1)


def test_unknown_names_list_the_registered_ones():
    with pytest.raises(ValueError) as caught:
        tasks.get("poetry")
    message = str(caught.value)
    assert "Received: task='poetry'" in message
    for name in ("translation", "summarization", "dialogue"):
        assert repr(name) in message


def test_register_refuses_a_taken_name_without_overwrite():
    translation = tasks.get("translation")
    impostor = tasks.Task(name="translation", title="Not translation")
    with pytest.raises(ValueError, match="'translation' is registered already"):
        tasks.register(impostor)
    assert tasks.get("translation") is translation
    with pytest.raises(ValueError, match="must be a keras_attn.tasks.Task"):
        tasks.register("translation")


def test_a_user_task_is_registered_and_loads_its_columns(tmp_path):
    def read_lines(path, *, reverse=False, history=1, on_error="raise"):
        if not str(path).endswith(".lines"):
            return None  # everything else: TSV, CSV, JSON lines
        from keras_attn.data import TextPairs

        lines = path_lines(path)
        return TextPairs(lines[0::2], lines[1::2], path=str(path))

    def path_lines(path):
        with open(path, encoding="utf-8") as file:
            return [line.strip() for line in file if line.strip()]

    task = tasks.Task(
        name="paraphrase-test",
        title="Paraphrase",
        source_field="text",
        target_field="paraphrase",
        metrics=("chrf", "bleu"),
        source_length=20,
        target_length=20,
        reader=read_lines,
    )
    try:
        assert tasks.register(task) is task
        assert "paraphrase-test" in tasks.names()
        assert tasks.get("paraphrase-test") is task
        rows = [{"text": "big", "paraphrase": "large"}]
        jsonl = tmp_path / "p.jsonl"
        jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        assert list(tasks.get("paraphrase-test").load(jsonl)) == [("big", "large")]
        lines = tmp_path / "p.lines"
        lines.write_text("small\nlittle\n", encoding="utf-8")
        assert list(tasks.get("paraphrase-test").load(lines)) == [("small", "little")]
        replacement = tasks.Task(name="paraphrase-test", title="Paraphrase 2")
        tasks.register(replacement, overwrite=True)
        assert tasks.get("paraphrase-test").title == "Paraphrase 2"
    finally:
        tasks.registry._TASKS.pop("paraphrase-test", None)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"name": ""}, "name must be a non-empty str"),
        ({"metrics": ("bleu", "meteor")}, "metrics must be a non-empty tuple"),
        ({"metrics": ()}, "metrics must be a non-empty tuple"),
        ({"source_length": 0}, "source_length must be a positive integer"),
        ({"target_field": -2}, "target_field must be >= 0"),
        ({"reader": "tsv"}, "reader must be callable"),
    ],
)
def test_bad_task_fields_are_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        tasks.Task(**{"name": "t", "title": "T", **fields})


def test_metrics_given_as_a_list_or_name_become_a_tuple():
    assert tasks.Task(name="t", title="T", metrics=["bleu", "chrf"]).metrics == (
        "bleu",
        "chrf",
    )
    assert tasks.Task(name="t", title="T", metrics="rouge1").metrics == ("rouge1",)
