"""One training run in a child process (`train_child`), and what it reported."""

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import training_report

KILL_AFTER = 60  # seconds a cancelled run gets to save before it is killed
# TensorFlow's C++ start-up lines on stderr, which no setting silences.
_NOISE = ("WARNING: All log messages before absl", "I0000 ", "W0000 ", "E0000 ")

log = logging.getLogger(__name__)


class TrainingJob:
    """A child process running `keras_attn.training.train` on a serialised
    `TrainingConfig`, and the JSON records it writes.

    The run writes into `staging`, a directory this app made for it (empty,
    with a name no model listing shows), at `config.out`. When the process
    ends, a run that finished an epoch is moved to `out` (never over an
    existing model), and `staging` and `workdir` (the config, the uploaded
    data, the child's log) are deleted: both hold only what this run wrote.
    A run cancelled before its first epoch so leaves nothing behind.

    Args:
        task: the task name.
        name: the model name.
        out: the model directory the finished model is moved to.
        config: the `keras_attn.training.TrainingConfig`; its `out` lies
            in `staging`.
        staging: the directory holding `config.out` while the run goes.
        workdir: a temporary directory of the run's own.
        metric: the validation metric reported, e.g. `"bleu"`.
        details: a line about the run for the page (data, settings).
        on_finish: called with the job when the process has ended.
    """

    def __init__(
        self,
        task,
        name,
        out,
        config,
        staging,
        workdir,
        metric,
        details="",
        on_finish=None,
    ):
        self.task = task
        self.name = name
        self.out = Path(out)
        self.config = config
        self.staging = Path(staging)
        self.workdir = Path(workdir)
        self.metric = metric
        self.details = details
        self.on_finish = on_finish
        self.status = "starting"
        self.epochs = []  # the "epoch" records, with the time they came
        self.step = None  # the last "step" record
        self.result = None  # the "done", "interrupted" or "error" record
        self.valid_pairs = None  # scored after each epoch, as records say
        self.error = None
        self.started = None
        self._process = None
        self._cancelled = False
        self._lock = threading.Lock()
        self._ended = threading.Event()

    def command(self):
        """The child's command line (a list: no shell)."""
        package = __package__ or "keras_attn_demo"
        return [sys.executable, "-m", f"{package}.train_child", str(self._config)]

    def start(self):
        self._config = self.workdir / "config.json"
        self._config.write_text(self.config.to_json(), encoding="utf-8")
        self._log_path = self.workdir / "child.log"
        self.started = time.time()
        with open(self._log_path, "w", encoding="utf-8") as stderr:
            self._process = subprocess.Popen(
                self.command(),
                stdout=subprocess.PIPE,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
                text=True,
                cwd=self.workdir,
                env=_child_env(),
            )
        self.status = "running"
        threading.Thread(target=self._read, daemon=True).start()
        return self

    @property
    def finished(self):
        return self._ended.is_set()

    def wait(self, timeout=None):
        return self._ended.wait(timeout)

    def cancel(self):
        """Asks the run to stop (it keeps the epochs it finished); kills it
        if it has not ended `KILL_AFTER` seconds later."""
        with self._lock:
            if self.finished or self._process is None or self._cancelled:
                return False
            self._cancelled = True
            self.status = "cancelling"
        try:
            self._process.send_signal(signal.SIGINT)
        except ProcessLookupError:
            return False
        timer = threading.Timer(KILL_AFTER, self._kill)
        timer.daemon = True
        timer.start()
        return True

    def _kill(self):
        if not self.finished:
            self._process.kill()

    def _read(self):
        for line in self._process.stdout:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            record["_time"] = time.time()
            with self._lock:
                if record.get("valid_pairs") is not None:
                    self.valid_pairs = record["valid_pairs"]
                event = record.get("event")
                if event == "step":
                    self.step = record
                elif event == "epoch":
                    self.epochs.append(record)
                elif event in ("done", "interrupted", "error"):
                    self.result = record
        self._finish(self._process.wait())

    def _finish(self, code):
        event = (self.result or {}).get("event")
        saved = (Path(self.config.out) / "config.json").is_file()
        moved = None
        if saved:
            moved = _move(Path(self.config.out), self.out)
        stderr = _own_lines(self._log_path)
        with self._lock:
            if event == "done" and code == 0:
                self.status = "done"
            elif event == "interrupted" or self._cancelled:
                # Without the child's goodbye (killed), the epochs it
                # finished were saved as they finished.
                self.status = "interrupted" if saved else "cancelled"
            else:
                self.status = "failed"
                message = (self.result or {}).get("message")
                self.error = message or (stderr[-1] if stderr else f"exit {code}")
            if moved is not None:  # trained, but the name was taken meanwhile
                self.status, self.error = "failed", moved
        if self.status == "failed":
            tail = "\n".join(stderr[-20:])
            log.warning("training %s/%s failed:\n%s", self.task, self.name, tail)
        # Both directories were made empty for this run: all in them is its.
        if moved is None:  # else the model stays there, for its owner to name
            shutil.rmtree(self.staging, ignore_errors=True)
        shutil.rmtree(self.workdir, ignore_errors=True)
        self._ended.set()
        if self.on_finish is not None:
            self.on_finish(self)

    # === Reporting ===
    def snapshot(self):
        """What the run reported so far, as plain data."""
        with self._lock:
            epochs = [dict(e) for e in self.epochs]
            step = dict(self.step) if self.step else None
            return {
                "task": self.task,
                "name": self.name,
                "status": self.status,
                "epochs": epochs,
                "step": step,
                "error": self.error,
                "valid_pairs": self.valid_pairs,
                "started": self.started,
                "finished": self.finished,
            }

    def markdown(self):
        """The run's progress for the page."""
        return training_report.markdown(self.snapshot(), self.metric, self.details)


def _move(source, destination):
    """Moves the trained model to its name; an error message, or None."""
    try:
        # rename() never replaces a directory that holds anything.
        os.rename(source, destination)
    except OSError as error:
        return (
            f"the model could not be saved as {destination} ({error.strerror}): "
            "a model of that name appeared while it trained. It is in "
            f"{source}; move it to a name of your choice."
        )
    return None


def _child_env():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
    if __package__ == "demos":
        # Run from a checkout (`python -m demos.app`): the child imports
        # `demos` from the same place; an installed package needs nothing.
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(
            part for part in (root, os.environ.get("PYTHONPATH")) if part
        )
    return env


def _own_lines(path):
    """The child's own stderr lines, without TensorFlow's start-up noise."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    lines = [line.strip() for line in text.splitlines()]
    return [line for line in lines if line and not line.startswith(_NOISE)]
