"""A training run kept in a directory: per-epoch checkpoints, the best
model, and resumption after an interruption."""

import json
import os
import shutil
import tempfile
import time

import keras
import numpy as np

STATE_DIR = "training"


class TrainingRun:
    """Owns a model directory for one training run.

    Layout of `directory`:

    - the best model so far, as a preset (`AttentionSeq2SeqLM.from_preset(
      directory)` loads it, and so do `keras-attn evaluate/generate`);
    - `training/options.json`: what the run was started with;
    - `training/state.json`: finished epochs, the history and the best score;
    - `training/last/` (a preset) and `training/last_optimizer.npz`: the
      model and optimizer after the last finished epoch, for `resume`.

    Every file is written to a temporary name and moved into place, so a run
    killed at any moment leaves the last finished epoch intact.

    Args:
        directory: the model directory.
        overwrite: bool, allow replacing an existing, non-empty directory.
            Without it such a directory is never touched.
        resume: bool, continue the run recorded in `directory`.

    Example:
    >>> run = keras_attn.training.TrainingRun("runs/spa-eng")
    >>> run.start({"epochs": 10}, lm)
    >>> lm.fit(data, epochs=10, callbacks=[run.callback(lm, score_fn)])
    """

    def __init__(self, directory, overwrite=False, resume=False):
        self.directory = os.fspath(directory)
        self.state_dir = os.path.join(self.directory, STATE_DIR)
        exists = os.path.isdir(self.directory) and bool(os.listdir(self.directory))
        if resume:
            if not os.path.isfile(os.path.join(self.state_dir, "state.json")):
                raise FileNotFoundError(
                    f"Nothing to resume in {self.directory!r}: it has no "
                    f"{STATE_DIR}/state.json (no epoch of a run has finished there)."
                )
        elif exists:
            if not overwrite:
                raise FileExistsError(
                    f"{self.directory!r} exists and is not empty. Pass --overwrite "
                    "to replace it, or --resume to continue its run."
                )
            shutil.rmtree(self.directory)
        self.resume = resume

    # === State ===
    def _read_json(self, name):
        with open(os.path.join(self.state_dir, name), encoding="utf-8") as file:
            return json.load(file)

    def _write_json(self, name, data):
        os.makedirs(self.state_dir, exist_ok=True)
        path = os.path.join(self.state_dir, name)
        with open(path + ".tmp", "w", encoding="utf-8") as file:
            json.dump(data, file, indent=2)
        os.replace(path + ".tmp", path)

    @property
    def options(self):
        """The options the run was started with."""
        return self._read_json("options.json")

    @property
    def state(self):
        """`{"epochs_done", "history", "best_score", "best_epoch"}`."""
        path = os.path.join(self.state_dir, "state.json")
        if not os.path.isfile(path):
            return {
                "epochs_done": 0,
                "history": [],
                "best_score": None,
                "best_epoch": None,
            }
        return self._read_json("state.json")

    def start(self, options):
        """Records the options of a new run (not on resume)."""
        if not self.resume:
            self._write_json("options.json", options)

    # === Checkpoints ===
    def _save_preset(self, lm, target):
        parent = os.path.dirname(os.path.abspath(target))
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(dir=parent, prefix=".saving-")
        lm.save_to_preset(staging)
        if os.path.isdir(target):
            # Replace the old files one by one; the run's own state folder
            # in the model directory stays.
            for name in os.listdir(staging):
                destination = os.path.join(target, name)
                if os.path.isdir(destination) and name != STATE_DIR:
                    shutil.rmtree(destination)
                os.replace(os.path.join(staging, name), destination)
            shutil.rmtree(staging)
        else:
            os.replace(staging, target)

    def save_epoch(
        self, lm, epoch, logs, score=None, higher_is_better=True, seconds=None
    ):
        """Saves the model after `epoch` (0-based) and updates the state.

        Args:
            lm: the model being trained.
            epoch: int, the epoch that just finished (0-based).
            logs: dict of Keras logs (loss, val_loss, ...).
            score: float, the validation score the best model is chosen by
                (`None`: the validation loss, else the training loss).
            higher_is_better: bool, the direction of `score`.
            seconds: float, how long the epoch took (training and scoring),
                kept in the history so a model card can report it.

        Returns:
            True when this epoch is the best so far.
        """
        state = self.state
        if score is None:
            score = logs.get("val_loss", logs.get("loss"))
            higher_is_better = False
        self._save_preset(lm, os.path.join(self.state_dir, "last"))
        optimizer = lm.optimizer
        path = os.path.join(self.state_dir, "last_optimizer.npz")
        with open(path + ".tmp", "wb") as file:
            np.savez(
                file, *[keras.ops.convert_to_numpy(v) for v in optimizer.variables]
            )
        os.replace(path + ".tmp", path)
        best = state["best_score"]
        improved = best is None or (score > best if higher_is_better else score < best)
        if improved:
            self._save_preset(lm, self.directory)
            state["best_score"], state["best_epoch"] = float(score), epoch + 1
        record = {k: float(v) for k, v in logs.items()}
        record.update({"epoch": epoch + 1, "score": float(score), "time": time.time()})
        if seconds is not None:
            record["seconds"] = round(float(seconds), 1)
        state["history"].append(record)
        state["epochs_done"] = epoch + 1
        self._write_json("state.json", state)
        return improved

    def restore_optimizer(self, lm):
        """Loads the optimizer state saved after the last finished epoch."""
        path = os.path.join(self.state_dir, "last_optimizer.npz")
        if not os.path.isfile(path):
            return
        saved = np.load(path)
        optimizer = lm.optimizer
        optimizer.build(lm.trainable_variables)
        values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        if len(values) != len(optimizer.variables):
            raise ValueError(
                f"{path} holds {len(values)} optimizer variables; this model's "
                f"optimizer has {len(optimizer.variables)}. Was the model changed?"
            )
        for variable, value in zip(optimizer.variables, values, strict=True):
            variable.assign(value)

    @property
    def last_checkpoint(self):
        """The preset directory of the last finished epoch."""
        return os.path.join(self.state_dir, "last")
