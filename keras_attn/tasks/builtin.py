"""The three tasks keras-attn ships: translation, summarization, dialogue.

Their readers dispatch by file type as `keras-attn train` always has: an
Anki/Tatoeba `.zip` for translation; DailyDialog text (a `dialogues_*.txt`
file, or any `.txt` whose turns are separated by `__eou__`) or zip for
dialogue. Everything else is TSV, CSV or JSON lines with the task's columns.
"""

import os

from keras_attn.tasks.task import Task
from keras_attn.tasks.task import file_extension

# Bytes read to tell a DailyDialog text from a TSV file.
_SNIFF_BYTES = 65536


def read_anki_zip(path, *, reverse=False, history=1, on_error="raise"):
    """Translation: an Anki/Tatoeba zip (English first), else None."""
    from keras_attn import data

    if file_extension(path) != ".zip":
        return None
    return data.load_anki(path, reverse=reverse, on_error=on_error)


def _looks_like_dailydialog(path):
    if os.path.basename(path).startswith("dialogues_"):
        return True
    if file_extension(path) != ".txt":
        return False
    with open(path, "rb") as file:
        return b"__eou__" in file.read(_SNIFF_BYTES)


def read_dailydialog(path, *, reverse=False, history=1, on_error="raise"):
    """Dialogue: DailyDialog text or zip, else None."""
    from keras_attn import data

    if file_extension(path) != ".zip" and not _looks_like_dailydialog(path):
        return None
    pairs = data.load_dailydialog(path, history=history, on_error=on_error)
    if reverse:
        pairs.sources, pairs.targets = pairs.targets, pairs.sources
    return pairs


TRANSLATION = Task(
    name="translation",
    title="Translation",
    source_field=0,
    target_field=1,
    metrics=("bleu", "chrf"),
    source_length=32,
    target_length=32,
    reader=read_anki_zip,
)
SUMMARIZATION = Task(
    name="summarization",
    title="Summarization",
    source_field="body",
    target_field="subject",
    metrics=("rouge1", "rouge2", "rougeL"),
    source_length=128,
    target_length=24,
)
DIALOGUE = Task(
    name="dialogue",
    title="Dialogue",
    source_field=0,
    target_field=1,
    metrics=("bleu1", "bleu2", "distinct1", "distinct2"),
    source_length=48,
    target_length=32,
    reader=read_dailydialog,
)
BUILTIN_TASKS = (TRANSLATION, SUMMARIZATION, DIALOGUE)
