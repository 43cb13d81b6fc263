"""A Keras callback that writes training progress as JSON lines."""

import json
import sys
import time

import keras


class ProgressLog(keras.callbacks.Callback):
    """Writes one JSON object per line as training goes, for a program that
    watches the run (the demo's Train tab reads `keras-attn train --progress
    json`).

    Lines:
    - `{"event": "step", "epoch", "epochs", "step", "steps", "loss",
      "elapsed", "time_left"}` every `every` steps (`steps` is an estimate
      when the dataset's length is unknown; `time_left` is in seconds);
    - `{"event": "epoch", "epoch", "epochs", ...logs}` at the end of each
      epoch, with what the callbacks before this one added to the logs
      (`EpochCheckpoint` adds the validation score).

    Args:
        stream: a text stream (default `sys.stdout`), flushed every line.
        every: int, steps between step lines.
        steps_per_epoch: int, the steps in an epoch when Keras cannot know.
        total_epochs: int, the epochs of the whole run.

    Example:
    >>> lm.fit(data, epochs=3, callbacks=[ProgressLog(total_epochs=3)])
    {"event": "step", "epoch": 1, "epochs": 3, "step": 10, ...}
    """

    def __init__(self, stream=None, every=10, steps_per_epoch=None, total_epochs=None):
        super().__init__()
        self.stream = stream
        self.every = max(1, int(every))
        self.steps_per_epoch = steps_per_epoch
        self.total_epochs = total_epochs
        self._epoch = 0
        self._started = None
        self._steps_done = 0  # over the whole fit, for the rate

    def _write(self, record):
        stream = self.stream or sys.stdout
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
        record.update({k: float(v) for k, v in (logs or {}).items()})
        self._write(record)

    def on_epoch_end(self, epoch, logs=None):
        record = {"event": "epoch", "epoch": epoch + 1, "epochs": self._epochs()}
        record.update({k: float(v) for k, v in (logs or {}).items()})
        self._write(record)
