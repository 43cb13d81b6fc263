"""The `keras-attn` command line, run as a user runs it: in a subprocess, on
small files the tests write."""

import json
import os
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
from tests.models.corpus import reversal_pairs

TINY = [
    "--embedding-dim", "16", "--hidden-dim", "16", "--vocabulary-size", "80",
    "--source-length", "10", "--target-length", "10", "--batch-size", "32",
    "--valid-samples", "20",
]  # fmt: skip


# These runs check the command line's own logic (data formats, bad rows,
# progress, resuming, fine-tuning), which no backend changes; each is a
# subprocess training, so they run once, on TensorFlow, to keep CI short.
# The tests of the module's one trained model run on every backend.
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
    silences before absl is initialised."""
    noise = ("WARNING: All log messages before absl", "I0000 ", "W0000 ", "E0000 ")
    return [line for line in stderr.strip().splitlines() if not line.startswith(noise)]


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


def test_info_names_the_version_and_backend():
    result = command("info")
    assert result.returncode == 0, result.stderr
    assert f"keras-attn {keras_attn.__version__}" in result.stdout
    assert f"backend: {keras.backend.backend()}" in result.stdout


def test_help_lists_every_command():
    result = command("--help")
    assert result.returncode == 0
    for name in ("train", "evaluate", "generate", "export", "info", "demo"):
        assert name in result.stdout
    result = command("train", "--help")
    assert result.returncode == 0 and "--resume" in result.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["translate-everything"], "invalid choice: 'translate-everything'"),
        (
            ["train", "--out", "x", "--epochs", "0"],
            "expected a positive integer, got '0'",
        ),
        (["train", "--out", "x"], "required: --task, --data"),
        (["train", "--task", "poetry", "--out", "x"], "invalid choice: 'poetry'"),
        (
            ["train", "--attention-order", "sideways", "--out", "x"],
            "invalid choice: 'sideways'",
        ),
        (
            [
                "train",
                "--task",
                "summarization",
                "--data",
                "x.jsonl",
                "--out",
                "x",
                "--attention",
                "none",
                "--pointer-generator",
            ],
            "cannot be used with --attention none",
        ),  # fmt: skip
        (["generate"], "the following arguments are required: model, TEXT"),
        (["evaluate", "/nonexistent/model", "--data", "x.tsv"], "x.tsv"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, message):
    result = command(*args)
    assert result.returncode == 2
    lines = own_lines(result.stderr)
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_train_writes_a_loadable_model_and_keeps_the_best(trained_dir):
    _, out = trained_dir
    assert (out / "model.weights.h5").is_file()
    state = json.loads((out / "training" / "state.json").read_text())
    assert state["epochs_done"] == 2 and len(state["history"]) == 2
    assert state["best_epoch"] in (1, 2)
    assert all("val_bleu" in h and "loss" in h for h in state["history"])
    assert all(h["seconds"] > 0 for h in state["history"])  # for model cards


def test_an_existing_output_is_never_overwritten_without_overwrite(
    trained_dir, tmp_path
):
    root, out = trained_dir
    before = (out / "model.weights.h5").read_bytes()
    result = command(
        "train",
        "--task",
        "translation",
        "--data",
        root / "train.tsv",
        "--out",
        out,
        *TINY,
    )
    assert result.returncode == 2
    assert "exists and is not empty. Pass --overwrite" in result.stderr
    assert (out / "model.weights.h5").read_bytes() == before


def test_evaluate_equals_sacrebleu_called_directly(trained_dir):
    root, out = trained_dir
    result = command(
        "evaluate",
        out,
        "--data",
        root / "dev.tsv",
        "--source",
        "1",
        "--target",
        "0",
        "--json",
    )
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


def test_export_writes_a_saved_model_or_says_it_needs_tensorflow(trained_dir, tmp_path):
    _, out = trained_dir
    result = command("export", out, "--out", tmp_path / "served")
    if keras.backend.backend() == "tensorflow":
        assert result.returncode == 0, result.stderr[-3000:]
        assert (tmp_path / "served" / "saved_model.pb").is_file()
    else:
        assert result.returncode == 2
        assert "needs the TensorFlow backend" in result.stderr


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
    again = command("export", out, "--out", shipped, "--format", "preset")
    assert again.returncode == 2 and "exists" in again.stderr
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
    assert steps[0]["epochs"] == 2 and steps[0]["steps"] == 25  # 196 pairs / 8
    assert steps[-1]["time_left"] < steps[0]["time_left"]
    assert records[-1]["event"] == "done" and records[-1]["epochs_done"] == 2
    assert "training pairs" in result.stderr


@once
def test_malformed_rows_name_the_line_or_are_skipped_and_counted(tmp_path):
    write_tsv(tmp_path / "bad.tsv", 100, seed=0, bad_line=17)
    args = [
        "train",
        "--task",
        "translation",
        "--data",
        tmp_path / "bad.tsv",
        "--epochs",
        "1",
        *TINY,
    ]
    result = command(*args, "--out", tmp_path / "a")
    assert result.returncode == 2
    assert "bad.tsv" in result.stderr and "line 17" in result.stderr
    assert not (tmp_path / "a").exists()
    result = command(*args, "--out", tmp_path / "b", "--on-error", "skip")
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
    args = [
        "train",
        "--task",
        "translation",
        "--data",
        tmp_path / "train.tsv",
        "--out",
        out,
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "keras_attn.cli",
            *map(str, args),
            "--epochs",
            "6",
            *TINY,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
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
