"""The task registry: `get`, `register` and `names`."""

from keras_attn.tasks.task import Task

_TASKS = {}


def register(task, overwrite=False):
    """Adds `task` to the registry under `task.name`.

    Args:
        task: a `keras_attn.tasks.Task`.
        overwrite: bool, replace a task already registered under that name.

    Returns:
        `task`.

    Raises:
        ValueError: `task` is not a Task, or its name is taken and
            `overwrite` is False.

    Example:
    >>> task = keras_attn.tasks.Task(
    ...     name="paraphrase", title="Paraphrase", metrics=("bleu",))
    >>> keras_attn.tasks.register(task, overwrite=True) is task
    True
    >>> keras_attn.tasks.get("paraphrase").title
    'Paraphrase'
    """
    if not isinstance(task, Task):
        raise ValueError(
            f"task must be a keras_attn.tasks.Task. Received: task={task!r}"
        )
    if task.name in _TASKS and not overwrite:
        raise ValueError(
            f"A task named {task.name!r} is registered already; pass "
            "overwrite=True to replace it."
        )
    _TASKS[task.name] = task
    return task


def get(name):
    """The registered task called `name`.

    Args:
        name: str, e.g. `"translation"`.

    Returns:
        A `keras_attn.tasks.Task`.

    Raises:
        ValueError: no task has that name; the message lists the names.

    Example:
    >>> keras_attn.tasks.get("summarization").metrics
    ('rouge1', 'rouge2', 'rougeL')
    """
    task = _TASKS.get(name) if isinstance(name, str) else None
    if task is None:
        raise ValueError(f"task must be one of {names()}. Received: task={name!r}")
    return task


def names():
    """The names of the registered tasks, in the order they were added.

    Example:
    >>> keras_attn.tasks.names()[:3]
    ('translation', 'summarization', 'dialogue')
    """
    return tuple(_TASKS)
