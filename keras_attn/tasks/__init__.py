"""Tasks: translation, summarization, dialogue, and any you register.

Each task is a `Task`: its loader (`Task.load`), default columns, metrics
(the first chooses the best checkpoint), default source and target lengths,
and a title. This is the one place those facts live.

Example:
>>> task = keras_attn.tasks.get("translation")
>>> task.metrics, task.source_length, task.target_length
(('bleu', 'chrf'), 32, 32)
"""

from keras_attn.tasks.builtin import BUILTIN_TASKS
from keras_attn.tasks.registry import get
from keras_attn.tasks.registry import names
from keras_attn.tasks.registry import register
from keras_attn.tasks.task import Task

for _task in BUILTIN_TASKS:
    register(_task)
del _task

__all__ = ["Task", "get", "names", "register"]
