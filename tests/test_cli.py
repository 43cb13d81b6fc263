"""The `keras-attn` command line: runs as a user runs it (a subprocess, on
small files the tests write), and its error policy called in this process
(a user's mistake: one line and exit status 2, no file changed; anything
else: the traceback)."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile

import keras
import numpy as np
import pytest
import sacrebleu

import keras_attn
from keras_attn import cli
from tests.models.corpus import reversal_pairs

TINY = [
    "--embedding-dim", "16", "--hidden-dim", "16", "--vocabulary-size", "80",
    "--source-length", "10", "--target-length", "10", "--batch-size", "32",
    "--valid-samples", "20",
]  # fmt: skip


# These check the command line's own logic (arguments, data formats, bad
# input, progress, resuming, fine-tuning, decoding and exporting a trained
# model), which no backend changes: the command line only turns arguments
# into library calls, and the library's tests run on every backend. They
# run once, on TensorFlow, to keep CI short; `info` runs on every backend.
once = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="command-line logic, checked once on TensorFlow",
)


def command(*args, timeout=300):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "keras_attn.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def own_lines(stderr):
    """stderr without TensorFlow's C++ start-up log lines, which no variable
    silences before absl is initialised, and without Python warnings."""
    noise = ("WARNING: All log messages before absl", "I0000 ", "W0000 ", "E0000 ")
    return [line for line in stderr.strip().splitlines() if not line.startswith(noise)]


def run(capsys, *args):
    """`keras-attn ARGS` in this process: (status, stdout, stderr lines)."""
    status = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, own_lines(err)


def assert_one_line_error(status, lines, command, *fragments):
    assert status == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"keras-attn {command}: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def fingerprint(root):
    """{relative path: sha256} of every file under `root` (or of `root`)."""
    root = str(root)
    if os.path.isfile(root):
        with open(root, "rb") as file:
            return {"": hashlib.sha256(file.read()).hexdigest()}
    found = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, "rb") as file:
                digest = hashlib.sha256(file.read()).hexdigest()
            found[os.path.relpath(path, root)] = digest
    return found


def write_tsv(path, count, seed, bad_line=None):
    sources, targets = reversal_pairs(count, seed)
    lines = [
        f"{t}\t{s}" for s, t in zip(sources, targets, strict=True)
    ]  # Anki: target first
    if bad_line is not None:
        lines[bad_line - 1] = "only one column"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sources, targets


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    write_tsv(root / "train.tsv", 300, seed=0)
    write_tsv(root / "dev.tsv", 40, seed=1)
    out = root / "model"
    result = command(
        "train", "--task", "translation", "--data", root / "train.tsv",
        "--valid", root / "dev.tsv", "--source", "1", "--target", "0",
        "--out", out, "--epochs", "2", *TINY,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "epoch 2" in result.stdout and "val_bleu" in result.stdout
    return root, out


def _untrained_preset(path, attention="bahdanau"):
    """A tiny untrained model saved with `save_to_preset`: no training run
    recorded, so no task either."""
    from keras_attn.models import AttentionSeq2SeqBackbone
    from keras_attn.models import AttentionSeq2SeqLM
    from keras_attn.models import AttentionSeq2SeqPreprocessor

    sources, targets = reversal_pairs(40, seed=0)
    preprocessor = AttentionSeq2SeqPreprocessor.from_corpus(
        sources, targets, vocabulary_size=40
    )
    backbone = AttentionSeq2SeqBackbone(
        vocabulary_size=preprocessor.tokenizer.vocabulary_size(),
        embedding_dim=8,
        hidden_dim=8,
        attention=attention,
    )
    AttentionSeq2SeqLM(backbone, preprocessor).save_to_preset(str(path))
    return path


@pytest.fixture(scope="module")
def preset_dir(tmp_path_factory):
    return _untrained_preset(tmp_path_factory.mktemp("preset") / "model")


# === Runs that work ===
def test_info_names_the_version_and_backend():
    result = command("info")
    assert result.returncode == 0, result.stderr
    assert f"keras-attn {keras_attn.__version__}" in result.stdout
    assert f"backend: {keras.backend.backend()}" in result.stdout


@once
def test_help_lists_every_command_and_the_registered_choices(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in ("train", "evaluate", "generate", "export", "info", "demo"):
        assert name in out
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    out = capsys.readouterr().out
    assert "--resume" in out
    # The choices come from the library's one list of each.
    for name in (*keras_attn.tasks.names(), *keras_attn.models.ATTENTIONS):
        assert name in out


@once
def test_train_writes_a_loadable_model_and_keeps_the_best(trained_dir):
    _, out = trained_dir
    assert (out / "model.weights.h5").is_file()
    state = json.loads((out / "training" / "state.json").read_text())
    assert state["epochs_done"] == 2 and len(state["history"]) == 2
    assert state["best_epoch"] in (1, 2)
    assert all("val_bleu" in h and "loss" in h for h in state["history"])
    assert all(h["seconds"] > 0 for h in state["history"])  # for model cards


@once
def test_evaluate_equals_sacrebleu_called_directly(trained_dir):
    root, out = trained_dir
    result = command(
        "evaluate", out, "--data", root / "dev.tsv", "--source", "1",
        "--target", "0", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["task"] == "translation" and report["examples"] == 40
    lm = keras_attn.models.AttentionSeq2SeqLM.from_preset(str(out))
    lm.compile(sampler="greedy")
    sources, targets = reversal_pairs(40, seed=1)
    outputs = lm.generate(sources)
    assert report["bleu"] == pytest.approx(
        sacrebleu.corpus_bleu(outputs, [targets]).score, abs=1e-6
    )
    assert report["chrf"] == pytest.approx(
        sacrebleu.corpus_chrf(outputs, [targets]).score, abs=1e-6
    )


@once
def test_generate_prints_outputs_and_plots_the_alignment(trained_dir, tmp_path):
    _, out = trained_dir
    plot = tmp_path / "alignment.png"
    result = command(
        "generate", out, "alpha beta", "gamma delta eta", "--beam", "3", "--plot", plot
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(result.stdout.splitlines()) == 2  # one line an output, maybe empty
    for path in (tmp_path / "alignment-1.png", tmp_path / "alignment-2.png"):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@once
def test_export_writes_a_saved_model_or_says_it_needs_tensorflow(trained_dir, tmp_path):
    _, out = trained_dir
    result = command("export", out, "--out", tmp_path / "served")
    if keras.backend.backend() == "tensorflow":
        assert result.returncode == 0, result.stderr[-3000:]
        assert (tmp_path / "served" / "saved_model.pb").is_file()
    else:
        assert result.returncode == 2
        assert "needs the TensorFlow backend" in result.stderr


@once
def test_export_preset_in_float16_halves_the_weights_and_keeps_the_outputs(
    trained_dir, tmp_path
):
    from keras_attn.models import AttentionSeq2SeqLM

    root, out = trained_dir
    shipped = tmp_path / "shipped"
    result = command("export", out, "--out", shipped, "--format", "preset", "--float16")
    assert result.returncode == 0, result.stderr[-3000:]
    full, half = (_array_bytes(d / "model.weights.h5") for d in (out, shipped))
    assert half * 2 == full
    # The run's options travel (they name the task); its checkpoints do not.
    assert (shipped / "training" / "options.json").is_file()
    assert not (shipped / "training" / "last").exists()
    original = AttentionSeq2SeqLM.from_preset(str(out))
    loaded = AttentionSeq2SeqLM.from_preset(str(shipped))
    for a, b in zip(original.weights, loaded.weights, strict=True):
        assert b.dtype == "float32"
        a, b = keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
        np.testing.assert_allclose(b, a.astype(np.float16), rtol=0, atol=0)
    assert loaded.preprocessor.encoder_sequence_length == 10  # TINY's lengths
    assert loaded.preprocessor.decoder_sequence_length == 10
    sources, _ = reversal_pairs(8, seed=1)
    assert loaded.generate(sources) == original.generate(sources)
    before = fingerprint(shipped)
    again = command("export", out, "--out", shipped, "--format", "preset")
    assert again.returncode == 2 and "exists" in again.stderr
    assert fingerprint(shipped) == before
    # The last epoch of a run (not the best) exports with the run's records.
    last = command(
        "export", out / "training" / "last", "--out", tmp_path / "last",
        "--format", "preset",
    )  # fmt: skip
    assert last.returncode == 0, last.stderr[-3000:]
    assert (tmp_path / "last" / "training" / "options.json").is_file()


def _array_bytes(path):
    import h5py

    sizes = []
    with h5py.File(path, "r") as file:
        file.visititems(lambda _, item: sizes.append(getattr(item, "nbytes", 0)))
    return sum(sizes)


@once
def test_progress_json_writes_steps_epochs_and_done(tmp_path):
    write_tsv(tmp_path / "train.tsv", 200, seed=0)
    result = command(
        "train", "--task", "translation", "--data", tmp_path / "train.tsv",
        "--source", "1", "--target", "0", "--out", tmp_path / "m",
        "--epochs", "2", "--progress", "json", *TINY[:-4], "--batch-size", "8",
        "--valid-samples", "5",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(line) for line in result.stdout.splitlines()]
    steps = [r for r in records if r["event"] == "step"]
    epochs = [r for r in records if r["event"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2]
    assert all("val_bleu" in r and "loss" in r for r in epochs)
    assert steps and all(r["step"] % 10 == 0 and r["loss"] > 0 for r in steps)
    # 200 pairs less those held out, in batches of 8 from length buckets
    # (at most 10, each ending with one partial batch).
    pairs = 200 - keras_attn.training.held_out_count(200)
    assert steps[0]["epochs"] == 2
    assert -(-pairs // 8) <= steps[0]["steps"] <= -(-pairs // 8) + 10
    assert steps[-1]["time_left"] < steps[0]["time_left"]
    assert records[-1]["event"] == "done" and records[-1]["epochs_done"] == 2
    assert "training pairs" in result.stderr


@once
def test_skipped_rows_are_counted(tmp_path):
    write_tsv(tmp_path / "bad.tsv", 100, seed=0, bad_line=17)
    result = command(
        "train", "--task", "translation", "--data", tmp_path / "bad.tsv",
        "--epochs", "1", "--out", tmp_path / "b", "--on-error", "skip", *TINY,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "skipped 1" in result.stderr.lower() or "1 row" in result.stderr


@once
def test_summarization_jsonl_and_dialogue_zip_train(tmp_path):
    sources, targets = reversal_pairs(120, seed=3)
    with open(tmp_path / "mail.jsonl", "w", encoding="utf-8") as file:
        for i, (body, subject) in enumerate(zip(sources, targets, strict=True)):
            file.write(
                json.dumps({"id": str(i), "body": body, "subject": subject}) + "\n"
            )
    result = command(
        "train", "--task", "summarization", "--data", tmp_path / "mail.jsonl",
        "--out", tmp_path / "summ", "--epochs", "1", "--attention", "luong-general",
        "--no-input-feeding", "--lowercase", "--pointer-generator", *TINY,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads((tmp_path / "summ" / "config.json").read_text())["config"]
    assert config["attention_order"] == "luong" and config["input_feeding"] is False
    assert config["pointer_generator"] is True
    # The run's last epoch knows its task from the run's records.
    result = command(
        "evaluate", tmp_path / "summ" / "training" / "last",
        "--data", tmp_path / "mail.jsonl", "--max-examples", "8", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    scores = json.loads(result.stdout.strip().splitlines()[-1])
    assert scores["task"] == "summarization" and 0 <= scores["rouge1"] <= 100
    dialogues = [" __eou__ ".join(s.split()) + " __eou__" for s in sources]
    with zipfile.ZipFile(tmp_path / "dd.zip", "w") as archive:
        archive.writestr("train/dialogues_train.txt", "\n".join(dialogues) + "\n")
    result = command(
        "train", "--task", "dialogue", "--data", tmp_path / "dd.zip",
        "--out", tmp_path / "chat", "--epochs", "1", *TINY,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "chat" / "model.weights.h5").is_file()


@once
def test_a_killed_run_resumes_from_its_last_finished_epoch(tmp_path):
    write_tsv(tmp_path / "train.tsv", 600, seed=0)
    out = tmp_path / "run"
    args = ["train", "--task", "translation", "--data", tmp_path / "train.tsv"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(
        [sys.executable, "-m", "keras_attn.cli", *map(str, args),
         "--out", str(out), "--epochs", "6", *TINY],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )  # fmt: skip
    state_path = out / "training" / "state.json"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if (
            state_path.is_file()
            and json.loads(state_path.read_text())["epochs_done"] >= 1
        ):
            break
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed = json.loads(state_path.read_text())
    assert 1 <= killed["epochs_done"] < 6
    result = command("train", "--resume", "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    state = json.loads(state_path.read_text())
    assert state["epochs_done"] == 6
    assert [h["epoch"] for h in state["history"]] == [1, 2, 3, 4, 5, 6]
    assert state["history"][-1]["loss"] <= killed["history"][0]["loss"]


@once
def test_fine_tuning_from_a_model_keeps_its_tokenizer(trained_dir, tmp_path):
    _, base = trained_dir
    write_tsv(tmp_path / "new.tsv", 80, seed=5)
    out = tmp_path / "tuned"
    result = command(
        "train", "--task", "translation", "--data", tmp_path / "new.tsv",
        "--source", "1", "--target", "0", "--from", base, "--out", out,
        "--epochs", "1", "--valid-samples", "10",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    vocabulary = "assets/tokenizer/vocabulary.txt"
    assert (out / vocabulary).read_text() == (base / vocabulary).read_text()
    assert (out / "model.weights.h5").read_bytes() != (
        base / "model.weights.h5"
    ).read_bytes()


# === A user's mistake: one line, exit status 2, nothing changed ===
@once
@pytest.mark.parametrize(
    "args,command_name,fragments",
    [
        (["translate-everything"], None, ["invalid choice: 'translate-everything'"]),
        (["train", "--out", "x", "--epochs", "0"], "train", ["--epochs", "'0'"]),
        (["train", "--out", "x"], "train", ["required: --task, --data"]),
        (["train", "--task", "poetry", "--out", "x"], "train", ["'poetry'"]),
        (["train", "--attention", "cosine", "--out", "x"], "train", ["'cosine'"]),
        (
            ["train", "--attention-order", "sideways", "--out", "x"],
            "train",
            ["invalid choice: 'sideways'"],
        ),
        (
            ["train", "--out", "x", "--learning-rate", "-1"],
            "train",
            ["--learning-rate", "> 0", "'-1'"],
        ),
        (["train", "--out", "x", "--learning-rate", "nan"], "train", ["'nan'"]),
        (
            ["train", "--out", "x", "--dropout", "1.5"],
            "train",
            ["--dropout", "[0, 1)", "'1.5'"],
        ),
        (["train", "--out", "x", "--label-smoothing", "1"], "train", ["'1'"]),
        (["train", "--out", "x", "--batch-size", "many"], "train", ["'many'"]),
        (["train", "--out", "x", "--valid-samples", "-5"], "train", ["'-5'"]),
        (["train", "--out", "x", "--hidden-dim", "2.5"], "train", ["'2.5'"]),
        (
            [
                "train",
                "--task",
                "translation",
                "--data",
                "/nonexistent/x.tsv",
                "--out",
                "x",
            ],
            "train",
            ["--data", "/nonexistent/x.tsv"],
        ),  # fmt: skip
        (
            [
                "train",
                "--task",
                "summarization",
                "--data",
                __file__,
                "--out",
                "x",
                "--attention",
                "none",
                "--pointer-generator",
            ],
            "train",
            ["pointer_generator", "cannot be used with"],
        ),  # fmt: skip
        (
            ["train", "--resume", "--out", "/nonexistent/run"],
            "train",
            ["Nothing to resume", "/nonexistent/run"],
        ),
        (
            ["train", "--resume", "--out", "x", "--hidden-dim", "8"],
            "train",
            ["only --epochs may be given", "--hidden-dim"],
        ),
        (
            [
                "train",
                "--task",
                "translation",
                "--data",
                __file__,
                "--out",
                "x",
                "--from",
                os.path.dirname(__file__),
                "--attention",
                "none",
            ],
            "train",
            ["--from keeps the base model's architecture", "--attention"],
        ),  # fmt: skip
        (
            [
                "train",
                "--task",
                "translation",
                "--data",
                __file__,
                "--out",
                "x",
                "--hidden-dim",
                "15",
            ],
            "train",
            ["hidden_dim must be even", "15"],
        ),  # fmt: skip
        (["generate"], "generate", ["required: model, TEXT"]),
        (["generate", "/nonexistent/model", "hola"], "generate", ["/nonexistent"]),
        (["evaluate", "/nonexistent/model", "--data", "x.tsv"], "evaluate", []),
        (["export", __file__, "--out", "x"], "export", ["found a file"]),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, args, command_name, fragments):
    status, _, lines = run(capsys, *args)
    if command_name is None:
        assert status == 2 and len(lines) == 1 and fragments[0] in lines[0], lines
    else:
        assert_one_line_error(status, lines, command_name, *fragments)


def test_the_installed_command_reports_a_bad_argument_in_one_line():
    result = command("train", "--out", "x", "--learning-rate", "-1")
    assert result.returncode == 2
    lines = own_lines(result.stderr)
    assert lines == [
        "keras-attn train: error: argument --learning-rate: must be a number > 0. "
        "Received: '-1'"
    ]


BAD_FILES = {
    # name: (file name, bytes, words the line must hold)
    "empty": ("empty.tsv", b"", ["empty.tsv", "empty"]),
    "blank": ("blank.tsv", b"\n  \n", ["blank.tsv", "empty"]),
    "binary": ("model.tsv", bytes(range(256)) * 4, ["model.tsv", "utf-8"]),
    "utf-16": (
        "utf16.tsv",
        "hello\thola\nbye\tadiós\n".encode("utf-16"),
        ["utf16.tsv", "utf-8"],
    ),
    "malformed row": (
        "rows.tsv",
        b"a b\tb a\nonly one column\nc d\td c\n",
        ["rows.tsv", "line 2"],
    ),
    "broken csv": (
        "broken.csv",
        b'body,subject\n"a b,b a\nc d,d c\n',
        ["broken.csv", "line 2"],  # an unclosed quote swallows the rest
    ),
    "csv without the column": (
        "named.csv",
        b"en,es\na b,b a\n",
        ["named.csv", "no column", "'body'"],
    ),
    "broken jsonl": (
        "broken.jsonl",
        b'{"body": "a b", "subject": "b a"}\n{"body": "c d", "subj\n',
        ["broken.jsonl", "line 2", "JSON"],
    ),
    "jsonl without the field": (
        "fields.jsonl",
        b'{"text": "a b", "summary": "b a"}\n',
        ["fields.jsonl", "line 1", "'body'"],
    ),
    "not a zip": ("anki.zip", b"PK\x03\x04 truncated", ["anki.zip"]),
}


def _bad_file(tmp_path, name):
    file_name, content, fragments = BAD_FILES[name]
    path = tmp_path / file_name
    path.write_bytes(content)
    # CSV and JSON lines by field name (summarization's body and subject).
    task = "summarization" if file_name.endswith(("csv", "jsonl")) else "translation"
    return path, task, fragments


TRAIN_BAD_FILES = sorted(BAD_FILES)


@once
@pytest.mark.parametrize("name", TRAIN_BAD_FILES)
def test_train_refuses_a_bad_data_file_in_one_line_and_changes_nothing(
    capsys, tmp_path, name
):
    path, task, fragments = _bad_file(tmp_path, name)
    before = fingerprint(tmp_path)
    status, _, lines = run(
        capsys, "train", "--task", task, "--data", path, "--out", tmp_path / "out",
        "--epochs", "1", *TINY,
    )  # fmt: skip
    assert_one_line_error(status, lines, "train", *fragments)
    assert fingerprint(tmp_path) == before  # nothing written, nothing changed


@once
@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_evaluate_refuses_a_bad_data_file_in_one_line(
    capsys, tmp_path, preset_dir, name
):
    path, task, fragments = _bad_file(tmp_path, name)
    before = fingerprint(tmp_path), fingerprint(preset_dir)
    status, _, lines = run(
        capsys, "evaluate", preset_dir, "--task", task, "--data", path
    )
    assert_one_line_error(status, lines, "evaluate", *fragments)
    assert (fingerprint(tmp_path), fingerprint(preset_dir)) == before


@once
def test_a_missing_data_file_is_named(capsys, tmp_path, preset_dir):
    status, _, lines = run(
        capsys, "evaluate", preset_dir, "--task", "translation",
        "--data", tmp_path / "nowhere.tsv",
    )  # fmt: skip
    assert_one_line_error(status, lines, "evaluate", "no such file", "nowhere.tsv")


def _corrupt_copy(preset_dir, tmp_path, damage):
    model = tmp_path / "model"
    shutil.copytree(preset_dir, model)
    if damage == "truncated weights":
        weights = model / "model.weights.h5"
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "empty weights":
        (model / "model.weights.h5").write_bytes(b"")
    elif damage == "no weights":
        (model / "model.weights.h5").unlink()
    elif damage == "broken config":
        (model / "config.json").write_text("{", encoding="utf-8")
    elif damage == "foreign config":
        (model / "config.json").write_text("{}", encoding="utf-8")
    elif damage == "empty vocabulary":
        (model / "assets" / "tokenizer" / "vocabulary.txt").write_text("")
    elif damage == "broken task":
        (model / "task.json").write_text("{}", encoding="utf-8")
    return model


CORRUPTIONS = (
    "truncated weights",
    "empty weights",
    "no weights",
    "broken config",
    "foreign config",
    "empty vocabulary",
    "broken task",
)


@once
@pytest.mark.parametrize("damage", CORRUPTIONS)
def test_a_corrupt_model_directory_is_refused_in_one_line(
    capsys, tmp_path, preset_dir, damage
):
    model = _corrupt_copy(preset_dir, tmp_path, damage)
    write_tsv(tmp_path / "dev.tsv", 5, seed=1)
    before = fingerprint(tmp_path)
    for args in (
        ["generate", model, "alpha beta"],
        ["evaluate", model, "--task", "translation", "--data", tmp_path / "dev.tsv"],
        ["export", model, "--out", tmp_path / "shipped", "--format", "preset"],
    ):
        status, _, lines = run(capsys, *args)
        assert_one_line_error(status, lines, args[0], "cannot load a model", "model")
    assert fingerprint(tmp_path) == before


@once
def test_export_out_at_an_existing_file_is_refused(capsys, tmp_path, preset_dir):
    target = tmp_path / "served.txt"
    target.write_text("keep me", encoding="utf-8")
    for format in ("preset", "saved_model"):
        for extra in ([], ["--overwrite"]):
            status, _, lines = run(
                capsys, "export", preset_dir, "--out", target, "--format", format,
                *extra,
            )  # fmt: skip
            assert_one_line_error(status, lines, "export", "served.txt", "file")
    assert target.read_text(encoding="utf-8") == "keep me"


@once
@pytest.mark.parametrize(
    "what",
    [
        "train",
        "preset",
        "saved_model",
    ],
)
def test_overwrite_refuses_a_directory_this_package_did_not_write(
    capsys, tmp_path, preset_dir, what
):
    foreign = tmp_path / "thesis"
    (foreign / "chapters").mkdir(parents=True)
    (foreign / "notes.txt").write_text("years of work", encoding="utf-8")
    (foreign / "chapters" / "one.tex").write_text("\\chapter{One}", encoding="utf-8")
    (foreign / "config.json").write_text("{}", encoding="utf-8")  # looks similar
    write_tsv(tmp_path / "train.tsv", 60, seed=0)
    args = {
        "train": ["train", "--task", "translation", "--data", tmp_path / "train.tsv",
                  "--epochs", "1", *TINY],
        "preset": ["export", preset_dir, "--format", "preset"],
        "saved_model": ["export", preset_dir, "--format", "saved_model"],
    }[what]  # fmt: skip
    before = fingerprint(foreign)
    status, _, lines = run(capsys, *args, "--out", foreign, "--overwrite")
    assert_one_line_error(status, lines, args[0], str(foreign))
    assert fingerprint(foreign) == before  # nothing changed, removed or added


@once
def test_evaluate_without_a_recorded_task_asks_for_task(capsys, tmp_path, preset_dir):
    write_tsv(tmp_path / "dev.tsv", 5, seed=1)
    status, _, lines = run(
        capsys, "evaluate", preset_dir, "--data", tmp_path / "dev.tsv"
    )
    assert_one_line_error(status, lines, "evaluate", "--task", "records no task")


@once
def test_debug_prints_the_traceback_of_a_user_error(capsys, tmp_path, preset_dir):
    model = _corrupt_copy(preset_dir, tmp_path, "truncated weights")
    for args in (
        ["--debug", "generate", model, "alpha"],
        ["generate", model, "alpha", "--debug"],
    ):
        status = cli.main([str(a) for a in args])
        err = capsys.readouterr().err
        assert status == 2
        assert "Traceback (most recent call last)" in err
        assert err.strip().splitlines()[-1].startswith("keras-attn generate: error: ")


@once
def test_an_interrupted_run_says_how_to_resume(monkeypatch, capsys, tmp_path):
    def interrupted(**kwargs):
        raise KeyboardInterrupt

    write_tsv(tmp_path / "train.tsv", 10, seed=0)
    monkeypatch.setattr(keras_attn.training, "train", interrupted)
    status, out, lines = run(
        capsys, "train", "--task", "translation", "--data", tmp_path / "train.tsv",
        "--out", tmp_path / "run", "--progress", "json",
    )  # fmt: skip
    assert status == 130
    record = json.loads(out)
    assert record["event"] == "interrupted" and record["epochs_done"] == 0
    assert f"keras-attn train --resume --out {tmp_path / 'run'}" in lines[-1]


# === Anything else is a bug: its traceback shows ===
@once
@pytest.mark.parametrize("error", [ValueError, RuntimeError, KeyError])
def test_an_internal_error_is_not_reported_as_a_user_error(
    monkeypatch, tmp_path, preset_dir, error
):
    def broken(*args, **kwargs):
        raise error("an internal bug")

    write_tsv(tmp_path / "dev.tsv", 5, seed=1)
    monkeypatch.setattr(keras_attn.metrics, "evaluate", broken)
    with pytest.raises(error, match="an internal bug"):
        cli.main(
            ["evaluate", str(preset_dir), "--task", "translation",
             "--data", str(tmp_path / "dev.tsv")]
        )  # fmt: skip
    monkeypatch.setattr(keras_attn.training, "train", broken)
    with pytest.raises(error, match="an internal bug"):
        cli.main(
            ["train", "--task", "translation", "--data", str(tmp_path / "dev.tsv"),
             "--out", str(tmp_path / "out")]
        )  # fmt: skip


@once
def test_the_installed_command_shows_the_traceback_of_an_internal_error(
    tmp_path, preset_dir
):
    code = (
        "import sys, keras_attn.models as m\n"
        "def broken(*a, **k): raise ValueError('an internal bug')\n"
        "m.AttentionSeq2SeqLM.generate = broken\n"
        "from keras_attn.cli import main\n"
        f"sys.exit(main(['generate', {str(preset_dir)!r}, 'alpha']))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "ValueError: an internal bug" in result.stderr


@once
def test_column_zero_is_a_column_not_a_missing_option(capsys, tmp_path, preset_dir):
    # Summarization reads fields body/subject by default; 0 and 1 must win.
    write_tsv(tmp_path / "dev.tsv", 6, seed=1)
    status, out, _ = run(
        capsys, "evaluate", preset_dir, "--task", "summarization",
        "--data", tmp_path / "dev.tsv", "--source", "0", "--target", "1", "--json",
    )  # fmt: skip
    assert status == 0
    report = json.loads(out)
    assert report["task"] == "summarization" and report["examples"] == 6


# === Plots and the demo: optional parts ===
@once
def test_plot_of_a_model_without_attention_is_refused(capsys, tmp_path):
    baseline = _untrained_preset(tmp_path / "baseline", attention="none")
    status, _, lines = run(
        capsys, "generate", baseline, "alpha", "--plot", tmp_path / "a.png"
    )
    assert_one_line_error(status, lines, "generate", "has no attention")
    assert not (tmp_path / "a.png").exists()


@once
def test_plot_without_matplotlib_says_what_to_install(
    monkeypatch, capsys, tmp_path, preset_dir
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    status, _, lines = run(
        capsys, "generate", preset_dir, "alpha", "--plot", tmp_path / "a.png"
    )
    assert_one_line_error(status, lines, "generate", "keras-attn[demo]", "matplotlib")
    assert not (tmp_path / "a.png").exists()


@once
def test_demo_without_the_demo_extra_says_how_to_get_it(monkeypatch, capsys):
    monkeypatch.setattr(cli.importlib.metadata, "entry_points", lambda **kwargs: [])
    status, _, lines = run(capsys, "demo", "--port", "8000")
    assert_one_line_error(
        status, lines, "demo", 'pip install "keras-attn[demo]"', "python -m demos.app"
    )


@once
def test_demo_runs_the_registered_app_with_its_arguments(monkeypatch):
    seen = []

    class Point:
        name, group = "app", cli.DEMO_GROUP

        def load(self):
            return lambda argv: seen.append(argv) or 7

    def entry_points(**kwargs):
        return [Point()] if kwargs.get("group") == cli.DEMO_GROUP else []

    monkeypatch.setattr(cli.importlib.metadata, "entry_points", entry_points)
    assert cli.main(["demo", "--port", "8000", "--help"]) == 7
    assert cli.main(["--debug", "demo"]) == 7
    assert seen == [["--port", "8000", "--help"], []]


def test_the_library_never_imports_the_demo():
    """No module of keras_attn imports `demos` or `keras_attn_demo`."""
    import ast
    import pathlib

    root = pathlib.Path(keras_attn.__file__).parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top not in ("demos", "keras_attn_demo"), f"{path}: {name}"
