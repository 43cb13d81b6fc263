"""Fixtures for the demo tests: tiny models of every task, trained with
`keras-attn train` as a user would, and the app launched in a subprocess
from the checkout (`python -m demos.app`).

The tiny models train while the app starts (both take seconds, mostly
importing TensorFlow), and the app lists models on every request, so the
two need not wait for each other.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import types
import urllib.request
from pathlib import Path

import keras
import pytest

from tests.models.corpus import reversal_pairs

REPO = Path(__file__).resolve().parents[2]
# The shipped models; another directory can stand in for a trial run.
SHIPPED_DIR = Path(os.environ.get("KERAS_ATTN_SHIPPED_DIR") or REPO / "saved_models")
ARTIFACTS_DIR = REPO / "artifacts"
TASKS = ("translation", "summarization", "dialogue")
# --valid-samples 0: no decoding after the epoch, a few seconds less a model.
TINY = [
    "--embedding-dim", "16", "--hidden-dim", "16", "--vocabulary-size", "80",
    "--source-length", "16", "--target-length", "10", "--batch-size", "32",
    "--valid-samples", "0", "--epochs", "1",
]  # fmt: skip
DIALOGUE_HISTORY = 2  # the dialogue model reads two turns, to test the context
MAX_INPUT_CHARS = 300

only_tensorflow = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the demo app does not depend on the backend: its tests run once, "
    "in the TensorFlow run of the suite",
)


def shipped_models(task):
    """The repository's shipped models of `task` (directories)."""
    directory = SHIPPED_DIR / task
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if (p / "config.json").is_file())


def subprocess_env(**extra):
    return {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def write_data(root):
    """Small data files for the three tasks, in the formats the CLI reads."""
    sources, targets = reversal_pairs(120, seed=0)
    pairs = zip(sources, targets, strict=True)
    (root / "translation.tsv").write_text(
        "".join(f"{t}\t{s}\n" for s, t in pairs), encoding="utf-8"
    )  # Anki order: target first
    with open(root / "mail.jsonl", "w", encoding="utf-8") as file:
        for body, subject in zip(sources[:60], targets[:60], strict=True):
            file.write(json.dumps({"body": body, "subject": subject}) + "\n")
    dialogues = [
        " __eou__ ".join([s, t, s]) + " __eou__"
        for s, t in zip(sources[:40], targets[:40], strict=True)
    ]
    (root / "dialogues_train.txt").write_text("\n".join(dialogues) + "\n")


def train_commands(root, models):
    cli = [sys.executable, "-m", "keras_attn.cli", "train", "--progress", "json"]
    return {
        "translation/tiny": [
            *cli, "--task", "translation", "--data", root / "translation.tsv",
            "--source", "1", "--target", "0", "--out", models / "translation/tiny",
        ],
        "translation/baseline": [
            *cli, "--task", "translation", "--data", root / "translation.tsv",
            "--source", "1", "--target", "0", "--attention", "none",
            "--out", models / "translation/baseline",
        ],
        "summarization/tiny": [
            *cli, "--task", "summarization", "--data", root / "mail.jsonl",
            "--out", models / "summarization/tiny",
        ],
        "dialogue/tiny": [
            *cli, "--task", "dialogue", "--data", root / "dialogues_train.txt",
            "--history", str(DIALOGUE_HISTORY), "--out", models / "dialogue/tiny",
        ],
    }  # fmt: skip


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def log_tail(path, lines=40):
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The app at `demo.url`, serving tiny models from `demo.models_dir`:
    translation `tiny` and `baseline` (no attention), summarization `tiny`,
    dialogue `tiny` (two turns of context), and the repository's shipped
    translation model as `shipped-<name>` when there is one."""
    root = tmp_path_factory.mktemp("demo")
    models = root / "models"
    models.mkdir()  # the app refuses a models directory that is not there
    write_data(root)
    env = subprocess_env()
    training = {}
    for name, command in train_commands(root, models).items():
        log = open(root / f"{name.replace('/', '-')}.log", "w")  # noqa: SIM115
        training[name] = (
            subprocess.Popen(
                [*map(str, command), *TINY],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=env,
                cwd=REPO,
            ),
            log,
        )
    port = free_port()
    app_log = root / "app.log"
    with open(app_log, "w") as log:
        app = subprocess.Popen(
            [
                sys.executable, "-m", "demos.app", "--port", str(port),
                "--models-dir", str(models),
                "--max-input-chars", str(MAX_INPUT_CHARS), "--max-upload-mb", "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=subprocess_env(GRADIO_TEMP_DIR=str(root / "gradio")),
            cwd=REPO,
        )  # fmt: skip
    try:
        for name, (process, log) in training.items():
            code = process.wait(timeout=600)
            log.close()
            assert code == 0, f"training {name} failed:\n" + log_tail(log.name)
        shipped = shipped_models("translation")
        shipped_name = None
        if shipped:
            shipped_name = f"shipped-{shipped[0].name}"
            (models / "translation" / shipped_name).symlink_to(shipped[0])
        url = f"http://127.0.0.1:{port}/"
        deadline = time.time() + 300
        while not answers(url):
            assert app.poll() is None, "the app exited:\n" + log_tail(app_log)
            assert time.time() < deadline, "the app did not start:\n" + log_tail(
                app_log
            )
            time.sleep(0.5)
        yield types.SimpleNamespace(
            url=url,
            root=root,
            models_dir=models,
            shipped=shipped_name,
            log=app_log,
            process=app,
        )
    finally:
        for process, _ in training.values():
            if process.poll() is None:
                process.kill()
        app.send_signal(signal.SIGTERM)
        try:
            app.wait(timeout=30)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()


@pytest.fixture(scope="session")
def client(demo, tmp_path_factory):
    from gradio_client import Client

    return Client(
        demo.url,
        verbose=False,
        download_files=str(tmp_path_factory.mktemp("downloads")),
        analytics_enabled=False,
    )
