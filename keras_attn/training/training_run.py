"""A training run kept in a directory: per-epoch checkpoints, the best
model, and resumption after an interruption."""

import json
import os
import time
import warnings

import numpy as np

from keras_attn import _files

STATE_DIR = _files.STATE_DIR
OPTIMIZER_FILE = "last_optimizer.npz"


class TrainingRun:
    """Owns a model directory for one training run.

    Layout of `directory`:

    - the best model so far, as a preset (`AttentionSeq2SeqLM.from_preset(
      directory)` loads it, and so do `keras-attn evaluate/generate`);
    - `training/options.json`: what the run was started with (written by
      `start`, first of all, so the directory is recognised as a run);
    - `training/state.json`: finished epochs, the history and the best score;
    - `training/last/` (a preset) and `training/last_optimizer.npz`: the
      model and the optimizer's variables (Keras's
      `optimizer.save_own_variables`) after the last finished epoch, for
      `resume`.

    Every file is written under a temporary name and moved into place, so a
    run killed at any moment leaves the last finished epoch intact.

    An existing, non-empty `directory` is refused unless `overwrite`; even
    then it is replaced only if keras-attn wrote it (a run or a preset;
    see `keras_attn._files`), else a `FileExistsError` names it and nothing
    in it is touched. The old directory is removed by `start`, not here, so
    that a run that fails before it starts (bad data) leaves it as it was.

    Args:
        directory: the model directory.
        overwrite: bool, replace an existing run or preset in `directory`.
        resume: bool, continue the run recorded in `directory`.

    Example:
    >>> import os, tempfile
    >>> sources, targets = ["hola", "adiós", "gracias"], ["hello", "bye", "thanks"]
    >>> preprocessor = keras_attn.models.AttentionSeq2SeqPreprocessor.from_corpus(
    ...     sources, targets, vocabulary_size=60)
    >>> lm = keras_attn.models.AttentionSeq2SeqLM(
    ...     keras_attn.models.AttentionSeq2SeqBackbone(
    ...         vocabulary_size=preprocessor.tokenizer.vocabulary_size(),
    ...         embedding_dim=8, hidden_dim=8),
    ...     preprocessor)
    >>> run = keras_attn.training.TrainingRun(os.path.join(tempfile.mkdtemp(), "run"))
    >>> run.start({"epochs": 2})
    >>> checkpoint = keras_attn.training.EpochCheckpoint(run, report=None)
    >>> _ = lm.fit({"encoder_text": sources, "decoder_text": targets}, epochs=2,
    ...     callbacks=[checkpoint], verbose=0)
    >>> run.state["epochs_done"], len(run.state["history"])
    (2, 2)
    >>> int(lm.optimizer.iterations.numpy()) == int(
    ...     run.saved_optimizer_variables()["0"])
    True
    """

    def __init__(self, directory, overwrite=False, resume=False):
        self.directory = os.fspath(directory)
        self.state_dir = os.path.join(self.directory, STATE_DIR)
        if resume and overwrite:
            raise ValueError(
                "resume and overwrite cannot both be set. Received: resume=True, "
                "overwrite=True"
            )
        self._replace = False
        if resume:
            if not os.path.isfile(os.path.join(self.state_dir, "state.json")):
                raise FileNotFoundError(
                    f"Nothing to resume in {self.directory!r}: it has no "
                    f"{STATE_DIR}/state.json (no epoch of a run has finished there)."
                )
        else:
            self._replace = _files.check_output_directory(self.directory, overwrite)
        self.resume = resume
        self._started = False

    # === State ===
    def _read_json(self, name):
        with open(os.path.join(self.state_dir, name), encoding="utf-8") as file:
            return json.load(file)

    @property
    def options(self):
        """The options the run was started with (a dict)."""
        return self._read_json("options.json")

    @property
    def state(self):
        """`{"epochs_done", "history", "best_score", "best_epoch"}`."""
        path = os.path.join(self.state_dir, "state.json")
        # A directory about to be replaced holds an older run's state.
        if self._replace or not os.path.isfile(path):
            return {
                "epochs_done": 0,
                "history": [],
                "best_score": None,
                "best_epoch": None,
            }
        return self._read_json("state.json")

    def start(self, options):
        """Starts the run: removes the directory being replaced (a new run
        with `overwrite`) and records `options` (on resume, the updated
        ones, such as more epochs).

        Args:
            options: a dict of JSON types.
        """
        if self._replace:
            _files.remove_directory(self.directory)
            self._replace = False
        _files.write_json(os.path.join(self.state_dir, "options.json"), options)
        self._started = True

    # === Checkpoints ===
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
        if not self._started and not os.path.isfile(
            os.path.join(self.state_dir, "options.json")
        ):
            raise RuntimeError(
                f"Call start(options) before saving epochs in {self.directory!r}."
            )
        state = self.state
        if score is None:
            score = logs.get("val_loss", logs.get("loss"))
            higher_is_better = False
        _files.update_directory(os.path.join(self.state_dir, "last"), lm.save_to_preset)
        self._save_optimizer(lm.optimizer)
        best = state["best_score"]
        improved = best is None or (score > best if higher_is_better else score < best)
        if improved:
            # The best model is the directory itself; the records stay.
            _files.update_directory(
                self.directory, lm.save_to_preset, keep=(STATE_DIR,)
            )
            state["best_score"], state["best_epoch"] = float(score), epoch + 1
        record = {k: _json_number(v) for k, v in logs.items()}
        record.update({"epoch": epoch + 1, "score": float(score), "time": time.time()})
        if seconds is not None:
            record["seconds"] = round(float(seconds), 1)
        state["history"].append(record)
        state["epochs_done"] = epoch + 1
        _files.write_json(os.path.join(self.state_dir, "state.json"), state)
        return improved

    # === Optimizer state ===
    @property
    def optimizer_path(self):
        """The file of the optimizer's variables after the last epoch."""
        return os.path.join(self.state_dir, OPTIMIZER_FILE)

    def _save_optimizer(self, optimizer):
        store = {}
        optimizer.save_own_variables(store)  # Keras's own: {"0": array, ...}
        path = self.optimizer_path
        with open(path + ".tmp", "wb") as file:
            np.savez(file, **store)
        os.replace(path + ".tmp", path)

    def saved_optimizer_variables(self):
        """The optimizer variables saved after the last finished epoch.

        Returns:
            A dict `{"0": array, "1": array, ...}` in the order of
            `optimizer.variables` (the store `load_own_variables` takes), or
            None when the run has no saved optimizer state.
        """
        path = self.optimizer_path
        if not os.path.isfile(path):
            return None
        with np.load(path) as saved:
            # keras-attn 0.1 saved the list positionally (arr_0, arr_1, ...).
            return {name.removeprefix("arr_"): saved[name] for name in saved.files}

    def restore_optimizer(self, lm):
        """Loads the optimizer state saved after the last finished epoch.

        Builds `lm.optimizer` for the model's trainable variables and loads
        the saved variables with `optimizer.load_own_variables`. A run with
        no saved state warns and leaves the optimizer fresh.

        Args:
            lm: the compiled model, loaded from `last_checkpoint`.

        Returns:
            True when the state was restored, False when none was saved.

        Raises:
            ValueError: the saved state does not fit this optimizer.
        """
        store = self.saved_optimizer_variables()
        if store is None:
            warnings.warn(
                f"{self.directory!r} has no saved optimizer state "
                f"({STATE_DIR}/{OPTIMIZER_FILE}); the run resumes with a fresh "
                "optimizer (its moments and step count start from zero).",
                stacklevel=2,
            )
            return False
        optimizer = lm.optimizer
        optimizer.build(lm.trainable_variables)
        if len(store) != len(optimizer.variables):
            raise ValueError(
                f"{self.optimizer_path} holds {len(store)} optimizer variables; "
                f"this model's optimizer has {len(optimizer.variables)}. Was the "
                "model or the optimizer changed?"
            )
        optimizer.load_own_variables(store)
        return True

    @property
    def last_checkpoint(self):
        """The preset directory of the last finished epoch."""
        return os.path.join(self.state_dir, "last")


def recorded_options(model_dir):
    """The training options recorded with a model, if any.

    A run directory (and a preset exported from one) keeps them in
    `training/options.json`; a run's last epoch (`RUN/training/last`) has
    its run's.

    Args:
        model_dir: str or path-like, a model directory.

    Returns:
        The recorded options (a dict, e.g. `["task"]`), or None.

    Example:
    >>> import tempfile
    >>> keras_attn.training.recorded_options(tempfile.mkdtemp()) is None
    True
    """
    path = os.path.join(_files.records_dir(model_dir), "options.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as file:
        try:
            options = json.load(file)
        except ValueError as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from None
    return options if isinstance(options, dict) else None


def _json_number(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return float(value)
