"""Streaming corpora larger than memory: shard files read line by line with
tf.data, bad rows raised or skipped as the loaders do, validation held out
of the first pairs, a bounded sample for the tokenizer."""

import collections
import json
import os
import re
import warnings

import keras
import pytest

from keras_attn import training
from keras_attn.data import DataFormatError
from keras_attn.data import load_pairs
from keras_attn.tasks import get as get_task
from keras_attn.training import StreamingCorpus
from keras_attn.training import streaming_corpus
from keras_attn.training.streaming_corpus import data_files
from keras_attn.training.streaming_corpus import streams
from tests.models.corpus import reversal_pairs

only_tensorflow = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="streaming reads with tf.data whatever the backend: these tests run "
    "once, in the TensorFlow run of the suite",
)
TRANSLATION = get_task("translation")
TINY = {
    "attention": "luong-dot",
    "input_feeding": False,
    "embedding_dim": 8,
    "hidden_dim": 8,
    "vocabulary_size": 100,
    "source_length": 8,
    "target_length": 8,
    "batch_size": 16,
    "valid_samples": 4,
    "source": "1",  # Anki layout: target first
    "target": "0",
}


def write_shards(folder, counts=(40, 40, 40), bad=None):
    """Shards `train-{i}.tsv` of reversal pairs (target first), and bad rows
    `bad[i] = {line: text}` put at those lines. Returns the paths and the
    good pairs (source, target) of each shard, in order."""
    paths, good = [], []
    for shard, count in enumerate(counts):
        sources, targets = reversal_pairs(count, seed=shard, min_words=3, max_words=3)
        lines = [f"{t}\t{s}" for s, t in zip(sources, targets, strict=True)]
        for line, text in sorted((bad or {}).get(shard, {}).items()):
            lines.insert(line - 1, text)
        path = folder / f"train-{shard}.tsv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(str(path))
        good.append(list(zip(sources, targets, strict=True)))
    return paths, good


def stream_pairs(dataset):
    """Every (source, target) an epoch of `dataset` yields."""
    return [
        (source.decode(), target.decode())
        for batch in dataset.as_numpy_iterator()
        for source, target in zip(
            batch["encoder_text"], batch["decoder_text"], strict=True
        )
    ]


def loaded_pairs(path, **options):
    """The pairs `load_pairs` reads from `path`, skipping bad rows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pairs = load_pairs(path, on_error="skip", **options)
    return list(zip(pairs.sources, pairs.targets, strict=True))


# === End to end, on every backend ===
def test_shards_with_bad_rows_train_and_the_report_names_them(tmp_path):
    paths, _ = write_shards(
        tmp_path,
        bad={0: {5: "no tab in this row"}, 2: {2: "alpha\t  ", 9: "beta gamma"}},
    )
    lines, records = [], []
    lm = training.train(
        "translation",
        str(tmp_path / "train-*.tsv"),
        tmp_path / "run",
        epochs=1,
        on_error="skip",
        shuffle_buffer=64,
        verbose=0,
        report=lines.append,
        callbacks=[training.ProgressLog(every=1, on_record=records.append)],
        **{**TINY, "valid_samples": 0},  # the best epoch by validation loss
    )
    assert isinstance(lm.generate("alpha beta gamma"), str)
    # 120 good pairs: 24 held out (a fifth), 96 trained on in 6 batches of 16.
    assert lines[0] == (
        "translation: streaming 3 files: 120 pairs; skipped 3 bad rows "
        "(2 wrong column count, 1 empty source; first at "
        f"{paths[0]}:5, {paths[2]}:2, {paths[2]}:9)"
    )
    assert lines[1].startswith("translation: 96 training pairs, 24 validation pairs")
    steps = [record for record in records if record["event"] == "step"]
    assert [record["step"] for record in steps] == [1, 2, 3, 4, 5, 6]
    assert {record["steps"] for record in steps} == {6}  # counted by the pass
    with open(tmp_path / "run" / "training" / "options.json") as file:
        options = json.load(file)
    assert options["data"] == str(tmp_path.absolute() / "train-*.tsv")
    assert options["shuffle_buffer"] == 64


# === The pass over the files ===
@only_tensorflow
def test_a_bad_row_raises_naming_its_shard_and_line_before_fitting(tmp_path):
    paths, _ = write_shards(tmp_path, bad={1: {7: "one column only"}})
    started = []
    begin = keras.callbacks.LambdaCallback(on_train_begin=started.append)
    message = re.escape(f"{paths[1]}, line 7: expected 2 tab-separated columns")
    with pytest.raises(DataFormatError, match=message) as error:
        training.train(
            "translation", paths, tmp_path / "run", callbacks=[begin], **TINY
        )
    assert (error.value.path, error.value.line) == (paths[1], 7)
    assert not started


@only_tensorflow
def test_undecodable_text_and_empty_shards_are_named(tmp_path):
    paths, _ = write_shards(tmp_path, counts=(10, 10))
    with open(paths[1], "ab") as file:
        file.write(b"caf\xe9\tcafe\n")  # latin-1, line 11
    with pytest.raises(DataFormatError, match=re.escape(f"{paths[1]}, line 11: ")):
        StreamingCorpus(paths, TRANSLATION, on_error="skip")
    empty = tmp_path / "empty.tsv"
    empty.write_text("\n  \n")
    with pytest.raises(DataFormatError, match="the file is empty"):
        StreamingCorpus([paths[0], str(empty)], TRANSLATION)


@only_tensorflow
def test_data_names_files_by_pattern_or_list_and_missing_ones_are_named(tmp_path):
    paths, _ = write_shards(tmp_path, counts=(2, 2, 2))
    assert data_files(str(tmp_path / "train-*.tsv")) == paths  # sorted
    assert data_files([paths[2], tmp_path / "train-0.tsv"]) == [paths[2], paths[0]]
    pattern = str(tmp_path / "dev-*.tsv")
    with pytest.raises(FileNotFoundError, match=re.escape(pattern)):
        training.train("translation", pattern, tmp_path / "run", **TINY)
    missing = str(tmp_path / "train-9.tsv")
    with pytest.raises(FileNotFoundError, match=re.escape(missing)):
        training.train("translation", [paths[0], missing], tmp_path / "run", **TINY)


@only_tensorflow
def test_several_files_or_one_large_file_stream(tmp_path):
    paths, _ = write_shards(tmp_path, counts=(2, 2))
    assert streams(paths) and not streams(paths[:1])
    large = tmp_path / "large.tsv"
    with open(large, "wb") as file:
        file.truncate(streaming_corpus.STREAM_BYTES + 1)  # sparse: no disk
    assert streams([str(large)], TRANSLATION)
    anki = tmp_path / "large.zip"
    os.link(large, anki)
    assert not streams([str(anki)], TRANSLATION)  # read whole by its reader
    with pytest.raises(ValueError, match="own format.*read whole"):
        StreamingCorpus([str(anki), paths[0]], TRANSLATION)
    dialogues = tmp_path / "dialogues_train.txt"
    dialogues.write_text("hi __eou__ hello __eou__\n")
    with pytest.raises(ValueError, match="dialogues_train.txt"):
        StreamingCorpus([str(dialogues), str(dialogues)], get_task("dialogue"))
    with pytest.raises(ValueError, match="share one format"):
        StreamingCorpus([paths[0], str(tmp_path / "b.jsonl")], TRANSLATION)


# === The stream ===
TRICKY = {
    # Blank lines, a CRLF end, extra columns, a short row, a target that
    # strips to nothing, a BOM, Unicode spaces that Python strips (a NBSP
    # inside a text stays).
    0: {3: ""},
    1: {2: "a\tb\tc\r", 3: "lonely", 5: "   ", 8: "x\t\u2003"},
    2: {1: "\ufeffzeta eta\u3000\tone\u00a0two ", 4: "\u00a0\tfoo"},
}


def rewrite(path, format):
    """The rows of TSV file `path` (target, source) as a CSV or JSON lines
    file beside it, good and bad alike."""
    with open(path, encoding="utf-8") as file:
        rows = [line.split("\t") for line in file]
    new_path = os.path.splitext(path)[0] + f".{format}"
    with open(new_path, "w", encoding="utf-8", newline="") as file:
        if format == "jsonl":
            for row in rows:
                record = dict(zip(("target", "source"), row, strict=False))
                file.write(json.dumps(record) + "\n")
            return new_path
        file.write("target,source\n")
        for row in rows:
            file.write(",".join(f'"{value.strip()}"' for value in row[:2]) + "\n")
        file.write('"multi\nline",source\n')  # a record over two lines
    return new_path


@only_tensorflow
@pytest.mark.parametrize("format", ["tsv", "csv", "jsonl"])
def test_the_stream_yields_what_the_loaders_read_less_the_held_out(tmp_path, format):
    paths, _ = write_shards(tmp_path, counts=(6, 30, 20), bad=TRICKY)
    if format != "tsv":
        paths = [rewrite(path, format) for path in paths]
    columns = {"source": 1, "target": 0}
    if format != "tsv":
        columns = {"source": "source", "target": "target"}
    corpus = StreamingCorpus(
        paths, TRANSLATION, on_error="skip", hold_out=True, **columns
    )
    expected = [pair for path in paths for pair in loaded_pairs(path, **columns)]
    held = training.held_out_count(len(expected))
    assert corpus.pairs == len(expected)
    assert held > len(loaded_pairs(paths[0], **columns))  # into shard 1
    valid = zip(corpus.valid_sources, corpus.valid_targets, strict=True)
    assert list(valid) == expected[:held]
    dataset = corpus.dataset(batch_size=8, shuffle_buffer=16)
    pairs = stream_pairs(dataset)
    assert collections.Counter(pairs) == collections.Counter(expected[held:])
    if format == "tsv":
        assert ("one\u00a0two", "zeta eta") in pairs
    assert len(dataset) == sum(1 for _ in dataset)  # counted by the pass
    assert pairs != expected[held:]  # shuffled
    assert stream_pairs(dataset) != pairs  # again every epoch


@only_tensorflow
def test_max_examples_takes_the_first_pairs_of_the_files(tmp_path):
    paths, good = write_shards(tmp_path, counts=(10, 10, 10))
    corpus = StreamingCorpus(
        paths, TRANSLATION, source=1, target=0, max_examples=15, reverse=True
    )
    expected = [(t, s) for s, t in good[0] + good[1][:5]]  # reversed
    assert corpus.pairs == corpus.train_pairs == 15 and not corpus.valid_sources
    pairs = stream_pairs(corpus.dataset(batch_size=4))
    assert sorted(pairs) == sorted(expected)


@only_tensorflow
def test_the_stream_reads_lines_from_the_files_not_pairs_from_memory(tmp_path):
    import tensorflow as tf

    paths, good = write_shards(tmp_path)
    corpus = StreamingCorpus(paths, TRANSLATION, source=1, target=0, hold_out=True)
    dataset = corpus.dataset(batch_size=8)
    # No public API shows a dataset's graph; this private one is what
    # tf.data's own tests use.
    serialized = dataset._as_serialized_graph().numpy()
    graph = tf.compat.v1.GraphDef.FromString(serialized)
    nodes = [*graph.node, *(n for f in graph.library.function for n in f.node_def)]
    assert "TextLineDataset" in {node.op for node in nodes}
    # The graph holds the file names, and none of the texts.
    assert all(path.encode() in serialized for path in paths)
    texts = {text for pairs in good for pair in pairs for text in pair}
    assert not [text for text in texts if text.encode() in serialized]


@only_tensorflow
def test_the_tokenizer_sample_is_bounded_and_uniform(tmp_path, monkeypatch):
    paths, good = write_shards(tmp_path, counts=(30, 30))
    monkeypatch.setattr(streaming_corpus, "SAMPLE_PAIRS", 10)
    corpus = StreamingCorpus(paths, TRANSLATION, source=1, target=0, seed=3)
    sample = list(zip(corpus.sample_sources, corpus.sample_targets, strict=True))
    assert len(sample) == 10 and set(sample) <= set(good[0] + good[1])
    # Each of 50 items is kept with probability 5/50 (4,000 draws: 400 each
    # on average; the bounds are over 6 standard deviations away).
    kept = collections.Counter()
    for seed in range(4000):
        reservoir = streaming_corpus._Reservoir(5, seed)
        for item in range(50):
            reservoir.add(item)
        kept.update(reservoir.items)
    assert len(kept) == 50 and 290 < min(kept.values()) <= max(kept.values()) < 510


@only_tensorflow
def test_the_streams_strip_is_pythons():
    import tensorflow as tf

    characters = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    matched = tf.strings.regex_full_match(characters, streaming_corpus._SPACE)
    spaces = [c for c, match in zip(characters, matched.numpy(), strict=True) if match]
    assert spaces == [c for c in characters if c.isspace()]


# === Options ===
@only_tensorflow
def test_a_config_with_shards_round_trips_through_json(tmp_path):
    config = training.TrainingConfig(
        task="translation",
        data=["a/train-1.tsv", tmp_path / "train-2.tsv"],
        out="run",
        shuffle_buffer=500,
    )
    assert config.data == ["a/train-1.tsv", str(tmp_path / "train-2.tsv")]
    assert training.TrainingConfig.from_json(config.to_json()) == config
    assert config.as_kwargs()["data"] == config.data
    for bad in ([], ["a.tsv", ""], ["a.tsv", 3]):
        with pytest.raises(ValueError, match=re.escape(f"Received: data={bad!r}")):
            training.TrainingConfig(task="translation", data=bad, out="run")
    with pytest.raises(ValueError, match="shuffle_buffer must be a positive integer"):
        training.TrainingConfig(task="translation", data="a", out="o", shuffle_buffer=0)


@only_tensorflow
def test_the_command_line_takes_several_files_a_glob_and_a_shuffle_buffer(
    tmp_path, capsys
):
    from keras_attn import cli

    paths, _ = write_shards(tmp_path, counts=(2, 2))
    flags = ["train", "--task", "translation", "--out", str(tmp_path / "run")]
    args = cli.build_parser().parse_args(
        [*flags, "--data", *paths, "--shuffle-buffer", "7"]
    )
    assert (args.data, args.shuffle_buffer) == (paths, 7)
    pattern = str(tmp_path / "dev-*.tsv")
    assert cli.main([*flags, "--data", pattern]) == 2
    assert pattern in capsys.readouterr().err
