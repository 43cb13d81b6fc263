"""A Keras callback that scores and checkpoints a TrainingRun each epoch."""

import time

import keras


class EpochCheckpoint(keras.callbacks.Callback):
    """After every epoch: score on validation data, save, report.

    The score goes into Keras's logs as `val_<metric>`, with `valid_pairs`
    (how many validation pairs it was computed on), so the callbacks after
    this one (`History`, `ProgressLog`) and the run's history see both.

    Args:
        run: the `TrainingRun` to save into, or None in a process of a
            multi-process run that does not write (it scores and reports
            only).
        score_fn: optional callable `() -> (name, value)`, the validation
            metric the best model is chosen by (higher is better), such as
            BLEU on a sample of the validation pairs. Without it the best
            model has the lowest validation loss (else training loss).
        report: callable taking one line of text (default `print`), or None
            for silence.
        total_epochs: int, for the time-left estimate.
        valid_pairs: int, the number of validation pairs `score_fn` scores.

    Example: `TrainingRun`'s docstring trains with one (it runs as a test).
    """

    def __init__(
        self, run, score_fn=None, report=print, total_epochs=None, valid_pairs=None
    ):
        super().__init__()
        self.run = run
        self.score_fn = score_fn
        self.report = report
        self.total_epochs = total_epochs
        self.valid_pairs = valid_pairs
        self._started = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_started = time.perf_counter()
        if self._started is None:
            self._started = (epoch, self._epoch_started)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        score = None
        if self.score_fn is not None:
            name, score = self.score_fn()
            logs[f"val_{name}"] = score
        if self.valid_pairs is not None:
            logs["valid_pairs"] = int(self.valid_pairs)
        seconds = time.perf_counter() - self._epoch_started
        improved = None
        if self.run is not None:
            improved = self.run.save_epoch(
                self.model, epoch, logs, score=score, seconds=seconds
            )
        if self.report is None:
            return
        first_epoch, started = self._started
        per_epoch = (time.perf_counter() - started) / (epoch + 1 - first_epoch)
        parts = [f"epoch {epoch + 1}"]
        parts += [_format(key, value) for key, value in logs.items()]
        if self.total_epochs:
            left = per_epoch * (self.total_epochs - epoch - 1)
            parts.append(f"time left {left / 60:.1f} min")
        if improved is not None:
            parts.append("saved (best so far)" if improved else "saved")
        self.report(" | ".join(parts))


def _format(key, value):
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{key} {value}"
    return f"{key} {float(value):.4f}"
