"""The Train tab's runs: one at a time, each in a child process."""

import logging
import shutil
import tempfile
import threading
from pathlib import Path

from keras_attn import tasks

from .errors import DemoError
from .safety import new_model_path
from .training import prepare_data
from .training import run_details
from .training import training_config
from .training_job import TrainingJob

log = logging.getLogger(__name__)


class Trainer:
    """Starts, cancels and reports the app's training run (one at a time).

    Args:
        models_dir: the directory with one subdirectory per task; a new
            model goes to `<models_dir>/<task>/<name>`.
        max_upload_bytes: the largest data file accepted.
    """

    def __init__(self, models_dir, max_upload_bytes):
        self.models_dir = Path(models_dir)
        self.max_upload_bytes = max_upload_bytes
        self.job = None  # the current or last run
        self._lock = threading.Lock()

    def start(self, task, name, epochs, model, upload=None, columns=None):
        """Checks the request, reads the data and starts the run.

        Args:
            task: the task name.
            name: the new model's name.
            epochs: int.
            model: `training.model_options(...)` or `{"base": path}`.
            upload: an uploaded data file, or None for the shipped sample.
            columns: `(source, target)` columns of the upload, or None.

        Returns:
            The started `TrainingJob`.
        """
        with self._lock:
            job = self.job
            if job is not None and not job.finished:
                raise DemoError(
                    f"The {job.task} model {job.name!r} is being trained; wait "
                    "for it to finish or cancel it, then start another."
                )
            out = new_model_path(self.models_dir, task, name)
            workdir = tempfile.mkdtemp(prefix="keras-attn-train-")
            staging = None
            try:
                data, data_options, pairs = prepare_data(
                    task, upload, columns, workdir, self.max_upload_bytes
                )
                out.parent.mkdir(parents=True, exist_ok=True)
                # Hidden from the model lists (a dot name) until it is moved.
                staging = tempfile.mkdtemp(
                    prefix=f".training-{out.name}-", dir=out.parent
                )
                try:
                    config = training_config(
                        task, data, data_options, Path(staging) / out.name, epochs,
                        pairs, model,
                    )  # fmt: skip
                except ValueError as error:  # the library's own checks
                    raise DemoError(str(error)) from None
                self.job = TrainingJob(
                    task,
                    out.name,
                    out,
                    config,
                    staging,
                    workdir,
                    tasks.get(task).metrics[0],
                    details=run_details(config, pairs, upload or data),
                ).start()
            except BaseException:
                shutil.rmtree(workdir, ignore_errors=True)
                if staging is not None:
                    shutil.rmtree(staging, ignore_errors=True)
                raise
            log.info("training %s/%s: %s", task, out.name, config.given())
            return self.job

    def cancel(self):
        """Stops the current run; the progress as Markdown."""
        job = self.job
        if job is None or job.finished:
            return "No model is being trained."
        job.cancel()
        return job.markdown()

    def status(self):
        """The progress of the current (or last) run as Markdown."""
        return (
            "No model has been trained yet."
            if self.job is None
            else self.job.markdown()
        )

    def stop(self, timeout=30):
        """Cancels a run still going and waits for it to save (at exit)."""
        job = self.job
        if job is not None and not job.finished:
            job.cancel()
            job.wait(timeout=timeout)
