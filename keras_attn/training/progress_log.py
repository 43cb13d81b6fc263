"""A Keras callback that reports training progress as JSON records."""

import json
import sys
import time

import keras


class ProgressLog(keras.callbacks.Callback):
    """Reports one JSON record per event as training goes, for a program
    that watches the run (`keras-attn train --progress json`, the demo's
    Train tab).

    Records (dicts of JSON types; every one has `"valid_pairs"`, the number
    of validation pairs scored after each epoch, and `"replicas"`, the
    model replicas a batch is split over, each None when unknown):
    - `{"event": "step", "epoch", "epochs", "step", "steps", "loss",
      "elapsed", "time_left", "valid_pairs", ...}` every `every` steps
      (`steps` is an estimate when the dataset's length is unknown;
      `elapsed` and `time_left` are in seconds);
    - `{"event": "epoch", "epoch", "epochs", "valid_pairs", ...logs}` at the
      end of each epoch, with what the callbacks before this one added to
      the logs (`EpochCheckpoint` adds the validation score).

    Each record goes to `on_record` (a callable) and, as one line of JSON,
    to `stream`. `keras_attn.training.train` fills `steps_per_epoch`,
    `total_epochs`, `valid_pairs` and `replicas` when they are left at None.

    Args:
        stream: a text stream, flushed every line. Default `sys.stdout`,
            or no stream when `on_record` is given.
        every: int, steps between step records.
        steps_per_epoch: int, the steps in an epoch when Keras cannot know.
        total_epochs: int, the epochs of the whole run.
        on_record: optional callable taking each record (a dict), e.g. to
            hand it to a parent process or a user interface.
        valid_pairs: int, the validation pairs scored after each epoch.
        replicas: int, the model replicas training data-parallel (1 on one
            device).

    Example:
    >>> import numpy as np
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(loss="mse")
    >>> records = []
    >>> log = keras_attn.training.ProgressLog(
    ...     every=2, on_record=records.append, valid_pairs=0, replicas=1)
    >>> _ = model.fit(np.ones((8, 2)), np.ones((8, 1)), batch_size=2, epochs=2,
    ...     callbacks=[log], verbose=0)
    >>> [(r["event"], r["epoch"], r.get("step")) for r in records]
    [('step', 1, 2), ('step', 1, 4), ('epoch', 1, None), ('step', 2, 2), ('step', 2, 4), ('epoch', 2, None)]
    >>> records[0]["steps"], records[0]["epochs"], records[-1]["valid_pairs"]
    (4, 2, 0)
    >>> {record["replicas"] for record in records}
    {1}
    """  # noqa: E501

    def __init__(
        self,
        stream=None,
        every=10,
        steps_per_epoch=None,
        total_epochs=None,
        on_record=None,
        valid_pairs=None,
        replicas=None,
    ):
        super().__init__()
        if on_record is not None and not callable(on_record):
            raise ValueError(
                f"on_record must be callable or None. Received: on_record={on_record!r}"
            )
        self.stream = stream
        self.every = max(1, int(every))
        self.steps_per_epoch = steps_per_epoch
        self.total_epochs = total_epochs
        self.on_record = on_record
        self.valid_pairs = valid_pairs
        self.replicas = replicas
        self._epoch = 0
        self._started = None
        self._steps_done = 0  # over the whole fit, for the rate

    def write(self, record):
        """Reports one record: to `on_record`, and as a JSON line to the
        stream. `valid_pairs` and `replicas` are added when the record
        lacks them."""
        record = dict(record)
        record.setdefault("valid_pairs", self.valid_pairs)
        record.setdefault("replicas", self.replicas)
        if self.on_record is not None:
            self.on_record(record)
        stream = self.stream
        if stream is None and self.on_record is None:
            stream = sys.stdout
        if stream is not None:
            stream.write(json.dumps(record) + "\n")
            stream.flush()

    def _epochs(self):
        return self.total_epochs or self.params.get("epochs")

    def _steps(self):
        return self.params.get("steps") or self.steps_per_epoch

    def on_train_begin(self, logs=None):
        self._started = time.perf_counter()
        self._steps_done = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._steps_done += 1
        if (batch + 1) % self.every:
            return
        elapsed = time.perf_counter() - self._started
        steps, epochs = self._steps(), self._epochs()
        time_left = None
        if steps and epochs:
            left = (epochs - self._epoch) * steps - (batch + 1)
            time_left = max(0.0, left * elapsed / self._steps_done)
        record = {
            "event": "step",
            "epoch": self._epoch + 1,
            "epochs": epochs,
            "step": batch + 1,
            "steps": steps,
            "elapsed": round(elapsed, 2),
            "time_left": None if time_left is None else round(time_left, 1),
        }
        record.update({k: _json_number(v) for k, v in (logs or {}).items()})
        self.write(record)

    def on_epoch_end(self, epoch, logs=None):
        record = {"event": "epoch", "epoch": epoch + 1, "epochs": self._epochs()}
        record.update({k: _json_number(v) for k, v in (logs or {}).items()})
        self.write(record)


def _json_number(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return float(value)
