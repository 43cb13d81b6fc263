"""The Train tab's child process: one run of `keras_attn.training.train`.

    python -m keras_attn_demo.train_child CONFIG.json

`CONFIG.json` holds a `keras_attn.training.TrainingConfig` (its `to_json()`).
The child trains with `train(**config.as_kwargs())` and writes one JSON
object a line on stdout: the records of `keras_attn.training.ProgressLog`
(`"step"`, `"epoch"`, ...), then `{"event": "done"}`, `{"event":
"interrupted"}` or `{"event": "error", "message": ...}`. SIGINT and SIGTERM
stop it; the epochs it finished are saved (each as it finishes).

It runs in a process of its own so that the app stays responsive and
Cancel can stop it.
"""

import json
import signal
import sys
import traceback

# Exit statuses: a finished run, a refused configuration or file, a stop.
DONE, REFUSED, INTERRUPTED = 0, 2, 130


def emit(record):
    """Writes one record as a JSON line (flushed: the app reads it now)."""
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


_stop_requested = False


def _stop(signum, frame):
    global _stop_requested
    _stop_requested = True
    raise KeyboardInterrupt


def _check_stop():
    # The interrupt raised by `_stop` can be swallowed on its way up (a
    # library's import guarded by a bare `except`, a TensorFlow op): the
    # flag it leaves is checked again before training and at every batch.
    if _stop_requested:
        raise KeyboardInterrupt


def main(argv=None):
    """Trains as `argv[0]` (a JSON file) says; returns the exit status."""
    # Before the slow imports, so that a stop is heard from the start. Set
    # explicitly: a SIGINT ignored by the app (`&` in a script) would
    # otherwise be ignored here too.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    argv = sys.argv[1:] if argv is None else argv
    try:
        import keras

        from keras_attn.training import ProgressLog
        from keras_attn.training import TrainingConfig
        from keras_attn.training import train

        with open(argv[0], encoding="utf-8") as file:
            config = TrainingConfig.from_json(file.read())
        _check_stop()
        stop = keras.callbacks.LambdaCallback(
            on_train_batch_begin=lambda batch, logs: _check_stop(),
            on_test_batch_begin=lambda batch, logs: _check_stop(),
        )
        train(
            **config.as_kwargs(),
            callbacks=[stop, ProgressLog(on_record=emit)],
            verbose=0,
        )
    except KeyboardInterrupt:
        emit({"event": "interrupted"})
        return INTERRUPTED
    except (ValueError, OSError) as error:  # the data or the settings
        traceback.print_exc()  # for the app's log, should it be a bug
        emit({"event": "error", "message": str(error)})
        return REFUSED
    emit({"event": "done"})
    return DONE


if __name__ == "__main__":
    sys.exit(main())
