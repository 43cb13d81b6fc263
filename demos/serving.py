"""The models the app serves: listing, loading, describing."""

import collections
import threading
from pathlib import Path

from keras_attn import tasks

from .decoding import Decoding
from .errors import DemoError
from .loaded_model import LoadedModel
from .loaded_model import read_json
from .safety import MODEL_NAME

# The tasks the app has a tab for (names in `keras_attn.tasks`).
APP_TASKS = ("translation", "summarization", "dialogue")


class ModelRegistry:
    """The models in `<models_dir>/<task>/<name>/` and a cache of loaded ones.

    A model is a subdirectory with a `config.json` (a keras-hub preset, as
    `keras-attn train` writes). Names come from the directory listing, so a
    request can only pick a listed model: a name is never joined into a
    path before it is found in the listing.

    Args:
        models_dir: the directory holding one subdirectory per task.
        max_loaded: how many models stay loaded (least recently used go).
        app_tasks: the names of the tasks served (`keras_attn.tasks`).
        max_batch: the most concurrent requests of one model and decoding
            setting decoded together (`LoadedModel`).
        warm_up: whether a model compiles its greedy decoding for every
            batch size as it loads (`LoadedModel.warm_up`; a few seconds),
            so that no request under load waits for a compilation.
    """

    def __init__(
        self,
        models_dir,
        max_loaded=6,
        app_tasks=APP_TASKS,
        max_batch=32,
        warm_up=False,
    ):
        self.models_dir = Path(models_dir).resolve()
        self.max_loaded = max_loaded
        self.max_batch = max_batch
        self.warm_up = warm_up
        self.tasks = tuple(tasks.get(name).name for name in app_tasks)
        self._loaded = collections.OrderedDict()  # (task, name) -> (stamp, model)
        self._lock = threading.Lock()
        self._loading = {}  # (task, name) -> the lock its loading holds

    # === Listing ===
    def task(self, name):
        """The `keras_attn.tasks.Task` called `name`; a clear error otherwise."""
        if name not in self.tasks:
            raise DemoError(f"Unknown task {name!r}: choose one of {self.tasks}.")
        return tasks.get(name)

    def task_dir(self, task):
        return self.models_dir / self.task(task).name

    def names(self, task):
        """The names of the task's models, sorted."""
        directory = self.task_dir(task)
        if not directory.is_dir():
            return []
        return sorted(
            entry.name
            for entry in directory.iterdir()
            if MODEL_NAME.fullmatch(entry.name)
            and (entry / "config.json").is_file()
            and (entry / "model.weights.h5").is_file()
        )

    def all_names(self):
        """`{task: [names]}` for every task."""
        return {task: self.names(task) for task in self.tasks}

    def no_model_message(self, task):
        return (
            f"No {self.task(task).title.lower()} model yet: put one in "
            f"`{self.task_dir(task)}/<name>/` (a directory written by "
            "`keras-attn train`), or train one in the **Train** tab."
        )

    def path(self, task, name):
        """The directory of a listed model; a clear error otherwise."""
        names = self.names(task)
        if not names:
            raise DemoError(self.no_model_message(task))
        if not name:
            raise DemoError(f"Choose a {task} model: one of {names}.")
        if name not in names:
            raise DemoError(f"There is no {task} model named {name!r}: one of {names}.")
        return self.task_dir(task) / name

    def describe(self, task, name):
        """One line about a model: architecture, epochs, best score."""
        path = self.path(task, name)
        config = read_json(path / "config.json").get("config", {})
        state = read_json(path / "training" / "state.json")
        options = read_json(path / "training" / "options.json")
        attention = config.get("attention")
        parts = [
            f"**{name}**",
            f"{attention} attention" if attention else "no attention (baseline)",
            f"{str(config.get('cell', '?')).upper()} {config.get('hidden_dim', '?')}",
        ]
        if state.get("epochs_done"):
            parts.append(f"{state['epochs_done']} epoch(s)")
        # The validation score the best epoch is kept by.
        metric = f"val_{self.task(task).metrics[0]}"
        best = [
            h
            for h in state.get("history") or []
            if isinstance(h, dict) and h.get("epoch") == state.get("best_epoch")
        ]
        if best and isinstance(best[0].get(metric), int | float):
            parts.append(f"best {metric} {best[0][metric]:.1f}")
        if options.get("from"):
            parts.append(f"fine-tuned from {Path(options['from']).name}")
        return " · ".join(parts)

    # === Loading ===
    def model(self, task, name):
        """The loaded model `name` of `task`, loading it on first use.

        A model whose weights changed on disk since it was loaded is loaded
        again.
        """
        path = self.path(task, name)
        key = (task, name)
        stamp = (path / "model.weights.h5").stat().st_mtime_ns
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:  # one load per model at a time
            with self._lock:
                cached = self._loaded.get(key)
                if cached and cached[0] == stamp:
                    self._loaded.move_to_end(key)
                    return cached[1]
            try:
                model = LoadedModel(path, task, max_batch=self.max_batch)
            except (OSError, ValueError) as error:
                raise DemoError(f"Could not load the model {name!r}: {error}") from None
            if self.warm_up:
                model.warm_up(Decoding())
            with self._lock:
                self._loaded[key] = (stamp, model)
                self._loaded.move_to_end(key)
                while len(self._loaded) > self.max_loaded:
                    self._loaded.popitem(last=False)
            return model
