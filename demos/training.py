"""Training in a `keras-attn train --progress json` subprocess.

The app never trains in its own process: the subprocess keeps the serving
process responsive, and interrupting it (SIGINT) makes the CLI save the
epochs it finished.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from demos.errors import DemoError
from demos.safety import check_upload

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
# The shipped sample of each task and the columns the CLI reads it with.
SAMPLES = {
    "translation": ("spa-eng.txt", ("1", "0")),  # Anki: English<TAB>Spanish
    "summarization": ("emails.jsonl", None),  # fields body, subject
    "dialogue": ("dialogues_sample.txt", None),  # DailyDialog turns
}
# Columns for an uploaded file when none are given: the demo translates
# Spanish to English, and Anki files have English first.
DEFAULT_COLUMNS = {"translation": ("1", "0"), "summarization": None, "dialogue": None}
# Source and target lengths (tokens) of a new model, by task.
TASK_LENGTHS = {
    "translation": (32, 32),
    "summarization": (128, 24),
    "dialogue": (48, 32),
}
MIN_PAIRS = 10
SMALL_DATA = 5000  # pairs; below this a new model trains with a higher rate
VALID_SAMPLES = 50  # validation pairs scored after each epoch
KILL_AFTER = 60  # seconds a cancelled run gets to save before it is killed
# TensorFlow's C++ start-up lines on stderr, which no setting silences.
_NOISE = ("WARNING: All log messages before absl", "I0000 ", "W0000 ", "E0000 ")


# === Data ===
def prepare_data(task, upload, columns, workdir, max_bytes):
    """The data file and the CLI's data options for a training request.

    With no `upload`, the task's shipped sample. An upload is checked
    (extension, size), copied into `workdir` under a fixed name (the CLI
    reads `dialogues_*.txt` as DailyDialog), and read once here with the
    CLI's own loader, so that a malformed file is refused at once with the
    line that is wrong.

    Returns:
        `(path, args, pairs)`: the file, its data options for `keras-attn
        train`, and how many (source, target) pairs it holds.
    """
    from keras_attn.cli import load_task_data

    if upload is None:
        name, sample_columns = SAMPLES[task]
        path, reverse, shown = SAMPLES_DIR / name, False, name
        columns = sample_columns
    else:
        shown = Path(upload).name
        extension = check_upload(upload, max_bytes)
        reverse = False
        if extension == ".zip":
            if task == "summarization":
                raise DemoError(
                    "A .zip file is read for translation (an Anki zip) and "
                    "dialogue (a DailyDialog zip); upload summarization data as "
                    ".jsonl, .csv or .tsv."
                )
            columns = None
            reverse = task == "translation"  # Anki zips are English first
        elif columns is None:
            columns = DEFAULT_COLUMNS[task]
            if extension == ".jsonl" and task == "translation":
                raise DemoError(
                    "A .jsonl file needs the names of its source (Spanish) and "
                    "target (English) fields: write them in Columns, e.g. es,en."
                )
        stem = "data"
        if task == "dialogue" and (
            extension == ".zip"
            or (extension == ".txt" and _looks_like_dailydialog(upload))
        ):
            stem = "dialogues_upload"  # the CLI reads dialogues_* as DailyDialog
        path = Path(workdir) / f"{stem}{extension}"
        shutil.copyfile(upload, path)
    args = argparse.Namespace(
        source=columns[0] if columns else None,
        target=columns[1] if columns else None,
        format=None,
        reverse=reverse,
        history=1,
        on_error="raise",
    )
    try:
        pairs = load_task_data(task, str(path), args)
    except (ValueError, OSError, UnicodeError) as error:
        message = str(error).replace(str(path), shown)
        raise DemoError(f"Cannot read {shown!r}: {message}") from None
    if len(pairs) < MIN_PAIRS:
        raise DemoError(
            f"{shown!r} holds {len(pairs)} pair(s); training needs at least "
            f"{MIN_PAIRS}."
        )
    options = []
    if columns:
        options += ["--source", columns[0], "--target", columns[1]]
    if reverse:
        options.append("--reverse")
    return path, options, len(pairs)


def _looks_like_dailydialog(path):
    with open(path, "rb") as file:
        return b"__eou__" in file.read(65536)


def batch_size_for(pairs):
    """Small data trains better with more, smaller steps."""
    return int(min(64, max(8, pairs // 8)))


def learning_rate_for(pairs, fine_tune):
    """A higher rate than the CLI's 1e-3 lets a small sample be learnt in a
    minute; fine-tuning takes smaller steps so as not to undo the model."""
    if fine_tune:
        return 5e-4
    return 5e-3 if pairs < SMALL_DATA else 1e-3


def train_command(task, data, data_options, out, epochs, pairs, model_options):
    """The `keras-attn train` command line (a list: no shell)."""
    fine_tune = "--from" in model_options
    return [
        sys.executable,
        "-m",
        "keras_attn.cli",
        "train",
        "--task",
        task,
        "--data",
        str(data),
        *data_options,
        "--out",
        str(out),
        "--epochs",
        str(int(epochs)),
        "--batch-size",
        str(batch_size_for(pairs)),
        "--valid-samples",
        str(VALID_SAMPLES),
        "--learning-rate",
        str(learning_rate_for(pairs, fine_tune)),
        "--progress",
        "json",
        *model_options,
    ]


def model_options(task, attention, hidden, embedding, vocabulary, base=None):
    """The model part of the command: the size of a new model, or `--from`
    (a fine-tuned model keeps its architecture and tokenizer)."""
    if base is not None:
        return ["--from", str(base)]
    source_length, target_length = TASK_LENGTHS[task]
    return [
        "--attention",
        attention,
        "--hidden-dim",
        str(int(hidden)),
        "--embedding-dim",
        str(int(embedding)),
        "--vocabulary-size",
        str(int(vocabulary)),
        "--source-length",
        str(source_length),
        "--target-length",
        str(target_length),
    ]


# === The job ===
class TrainingJob:
    """One `keras-attn train --progress json` subprocess and what it reported.

    A thread reads the JSON lines as they come; `snapshot()` and
    `markdown()` tell the page where the run is. When the process ends, a
    model directory without a finished epoch is removed (the run created
    it), so a cancelled or failed start leaves nothing behind, and
    `workdir` (the uploaded data) is deleted.

    Args:
        task: the task name.
        name: the model name.
        out: the model directory the command writes.
        command: the command line, a list.
        metric: the validation metric the CLI reports, e.g. `"bleu"`.
        details: a line about the run for the page (data, settings).
        workdir: a temporary directory to delete at the end, or None.
        on_finish: called with the job when the process has ended.
    """

    def __init__(
        self,
        task,
        name,
        out,
        command,
        metric,
        details="",
        workdir=None,
        on_finish=None,
    ):
        self.task = task
        self.details = details
        self.name = name
        self.out = Path(out)
        self.command = list(command)
        self.metric = metric
        self.workdir = Path(workdir) if workdir else None
        self.on_finish = on_finish
        self.status = "starting"
        self.epochs = []  # the "epoch" records, with the time they came
        self.step = None  # the last "step" record
        self.result = None  # the "done" or "interrupted" record
        self.error = None
        self.started = None
        self.finished_at = None
        self._process = None
        self._cancelled = False
        self._lock = threading.Lock()
        self._ended = threading.Event()

    def start(self):
        log_dir = self.workdir or self.out.parent
        self._log_path = Path(log_dir) / f".{self.name}.stderr.log"
        env = {
            **os.environ,
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONUNBUFFERED": "1",
        }
        self.started = time.time()
        with open(self._log_path, "w", encoding="utf-8") as log:
            self._process = subprocess.Popen(
                self.command,
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                text=True,
                cwd=REPO_ROOT,
                env=env,
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
        """Asks the run to stop (SIGINT: the CLI reports the epochs it saved);
        kills it if it has not ended `KILL_AFTER` seconds later."""
        with self._lock:
            if self.finished or self._process is None or self._cancelled:
                return False
            self._cancelled = True
            self.status = "cancelling"
        try:
            self._process.send_signal(_stop_signal())
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
                event = record.get("event")
                if event == "step":
                    self.step = record
                elif event == "epoch":
                    self.epochs.append(record)
                elif event in ("done", "interrupted"):
                    self.result = record
        code = self._process.wait()
        self._finish(code)

    def _finish(self, code):
        errors = _own_lines(self._log_path)
        complete = (self.out / "config.json").is_file()
        with self._lock:
            if self.result and self.result.get("event") == "done" and code == 0:
                self.status = "done"
            elif self.result and self.result.get("event") == "interrupted":
                self.status = "interrupted"
            elif self._cancelled:
                # Stopped without the CLI's goodbye (SIGTERM or killed): the
                # epochs it finished were saved as they finished.
                self.status = "interrupted" if complete else "cancelled"
            else:
                self.status = "failed"
                self.error = errors[-1] if errors else f"exit status {code}"
            self.finished_at = time.time()
        if not complete and self.out.is_dir():
            # The run made this directory and finished no epoch in it.
            shutil.rmtree(self.out, ignore_errors=True)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            self._log_path.unlink(missing_ok=True)
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
                "model_saved": (self.out / "config.json").is_file(),
                "time_left": self._time_left(epochs, step),
            }

    def _time_left(self, epochs, step):
        if self.finished:
            return 0.0
        # Two finished epochs time the rest best; before, the CLI's step
        # estimate (steps come every 10 batches) or the first epoch, which
        # also counts the start-up.
        if len(epochs) < 2 and step and step.get("time_left") is not None:
            return max(0.0, step["time_left"] - (time.time() - step["_time"]))
        if not epochs:
            return None
        total = epochs[-1].get("epochs") or len(epochs)
        if len(epochs) >= 2:
            per_epoch = (epochs[-1]["_time"] - epochs[0]["_time"]) / (len(epochs) - 1)
        else:
            per_epoch = epochs[0]["_time"] - self.started
        left = (total - epochs[-1]["epoch"]) * per_epoch
        return max(0.0, left - (time.time() - epochs[-1]["_time"]))

    def markdown(self):
        """The run's progress for the page."""
        state = self.snapshot()
        status = state["status"]
        title = f"**{self.task} model `{self.name}`**"
        lines = []
        if status in ("starting", "running"):
            where = "starting (loading TensorFlow and the data)…"
            step, epochs = state["step"], state["epochs"]
            if step and (not epochs or step["epoch"] > epochs[-1]["epoch"]):
                # Length buckets make more batches than the estimate says.
                steps = step.get("steps")
                of = f"/{steps}" if steps and step["step"] <= steps else ""
                where = (
                    f"epoch {step['epoch']}/{step['epochs']} · step "
                    f"{step['step']}{of} · loss {step['loss']:.3f}"
                )
            elif epochs:
                last = epochs[-1]
                where = f"epoch {last['epoch']}/{last['epochs']} done"
            lines.append(f"{title}: training — {where}")
            if state["time_left"] is not None:
                lines.append(f"About {_duration(state['time_left'])} left.")
        elif status == "cancelling":
            lines.append(f"{title}: cancelling — saving the finished epochs…")
        elif status == "done":
            lines.append(f"{title}: done. It is in the {self.task} model list now.")
        elif status == "interrupted":
            saved = len(state["epochs"])
            lines.append(
                f"{title}: cancelled after {saved} finished epoch(s); the best "
                "of them is saved and in the model list."
            )
        elif status == "cancelled":
            lines.append(
                f"{title}: cancelled before the first epoch finished; nothing "
                "was saved."
            )
        else:
            lines.append(f"{title}: training failed: {state['error']}")
        if self.details:
            lines.append("")
            lines.append(self.details)
        if state["epochs"]:
            lines.append("")
            lines.append(self._table(state["epochs"]))
        return "\n".join(lines)

    def _table(self, epochs, last=8):
        metric = f"val_{self.metric}"
        rows = [
            f"| epoch | loss | val_loss | {metric} |",
            "|---:|---:|---:|---:|",
        ]
        for record in epochs[-last:]:
            rows.append(
                f"| {record['epoch']}/{record.get('epochs', '?')} "
                f"| {_number(record.get('loss'))} "
                f"| {_number(record.get('val_loss'))} "
                f"| {_number(record.get(metric), 2)} |"
            )
        return "\n".join(rows)


def _stop_signal():
    """SIGINT, which makes the CLI report and exit cleanly; SIGTERM where this
    process ignores SIGINT (started with `&` from a script), because its
    children then ignore SIGINT too. Finished epochs are saved either way."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        return signal.SIGTERM
    return signal.SIGINT


def _own_lines(path):
    """The CLI's own stderr lines (its error is the last), without
    TensorFlow's start-up noise."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    lines = [line.strip() for line in text.splitlines()]
    return [line for line in lines if line and not line.startswith(_NOISE)]


def _number(value, digits=4):
    return "–" if value is None else f"{value:.{digits}f}"


def _duration(seconds):
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
