"""What the Train tab trains on and with: the data and the
`keras_attn.training.TrainingConfig` of a run."""

import dataclasses
import html
import shutil
from pathlib import Path

from keras_attn import tasks

from .errors import DemoError
from .safety import check_upload

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
MIN_PAIRS = 10
SMALL_DATA = 5000  # pairs; below this a new model trains with a higher rate
VALID_SAMPLES = 50  # validation pairs scored after each epoch


@dataclasses.dataclass(frozen=True)
class Sample:
    """The shipped sample of a task: its file, the columns the demo reads it
    with (None: the task's default columns), what it goes from and to, and
    a note for the page. An upload with no columns given is read the same
    way."""

    file: str
    columns: tuple | None
    direction: str
    note: str


SAMPLES = {
    "translation": Sample(
        "spa-eng.txt",
        ("1", "0"),  # Anki: English<TAB>Spanish; the demo translates to English
        "Spanish → English",
        "64 short Spanish–English pairs (Anki format: English, tab, Spanish).",
    ),
    "summarization": Sample(
        "emails.jsonl",
        None,
        "email → subject line",
        "22 short emails with their subject lines (JSON lines: body, subject).",
    ),
    "dialogue": Sample(
        "dialogues_sample.txt",
        None,
        "chat",
        "22 short dialogues (DailyDialog format: turns separated by __eou__).",
    ),
}


def default_columns(task):
    """`"1,0"`: the columns an upload of `task` is read with when none are
    given (those of the shipped sample, else the task's own)."""
    columns = SAMPLES[task].columns
    if columns is None:
        task = tasks.get(task)
        columns = (task.source_field, task.target_field)
    return ",".join(str(column) for column in columns)


# === Data ===
def prepare_data(task, upload, columns, workdir, max_bytes):
    """The data file and its reading options for a training request.

    With no `upload`, the task's shipped sample. An upload is checked
    (extension, size), copied into `workdir` under a fixed name, and read
    once here with the task's loader (`keras_attn.tasks.get(task).load`), so
    that a malformed file is refused at once with the line that is wrong.

    Returns:
        `(path, options, pairs)`: the file, its reading options (`source`,
        `target`, `reverse`: arguments of `keras_attn.training.train`), and
        how many (source, target) pairs it holds.
    """
    sample = SAMPLES[task]
    reverse = False
    if upload is None:
        path, shown, columns = SAMPLES_DIR / sample.file, sample.file, sample.columns
    else:
        shown = Path(upload).name
        extension = check_upload(upload, max_bytes)
        if extension == ".zip":
            if task == "summarization":
                raise DemoError(
                    "A .zip file is read for translation (an Anki zip) and "
                    "dialogue (a DailyDialog zip); upload summarization data as "
                    ".jsonl, .csv or .tsv."
                )
            columns = None
            reverse = task == "translation"  # Anki zips are English first
        elif columns is None:
            columns = sample.columns
            if extension == ".jsonl" and task == "translation":
                raise DemoError(
                    "A .jsonl file needs the names of its source (Spanish) and "
                    "target (English) fields: write them in Columns, e.g. es,en."
                )
        # A name of the demo's own (the task's loader tells formats by
        # extension and content, not by name).
        path = Path(workdir) / f"data{extension}"
        shutil.copyfile(upload, path)
    options = {
        "source": columns[0] if columns else None,
        "target": columns[1] if columns else None,
        "reverse": reverse,
    }
    try:
        pairs = tasks.get(task).load(str(path), **options)
    except (ValueError, OSError, UnicodeError) as error:
        message = str(error).replace(str(path), shown)
        raise DemoError(f"Cannot read {shown!r}: {message}") from None
    if len(pairs) < MIN_PAIRS:
        raise DemoError(
            f"{shown!r} holds {len(pairs)} pair(s); training needs at least "
            f"{MIN_PAIRS}."
        )
    return path, options, len(pairs)


# === The configuration ===
def batch_size_for(pairs):
    """Small data trains better with more, smaller steps."""
    return int(min(64, max(8, pairs // 8)))


def learning_rate_for(pairs, fine_tune):
    """A higher rate than the library's 1e-3 lets a small sample be learnt
    in a minute; fine-tuning takes smaller steps so as not to undo the
    model."""
    if fine_tune:
        return 5e-4
    return 5e-3 if pairs < SMALL_DATA else 1e-3


def model_options(attention, hidden, embedding, vocabulary):
    """The options of a new model (its lengths: the task's defaults)."""
    return {
        "attention": attention,
        "hidden_dim": int(hidden),
        "embedding_dim": int(embedding),
        "vocabulary_size": int(vocabulary),
    }


def training_config(task, data, data_options, out, epochs, pairs, model):
    """The `keras_attn.training.TrainingConfig` of a run.

    Args:
        task: the task name.
        data: the data file.
        data_options: its reading options, from `prepare_data`.
        out: the directory the run writes.
        epochs: int.
        pairs: int, how many pairs the data holds.
        model: `model_options(...)` for a new model, or `{"base": path}` to
            fine-tune (the base model keeps its size and tokenizer).
    """
    from keras_attn.training import TrainingConfig

    return TrainingConfig(
        task=task,
        data=str(data),
        out=str(out),
        epochs=int(epochs),
        batch_size=batch_size_for(pairs),
        valid_samples=VALID_SAMPLES,
        learning_rate=learning_rate_for(pairs, "base" in model),
        **data_options,
        **model,
    )


def run_details(config, pairs, data):
    """ "63 pairs from spa-eng.txt · batch size 8 · learning rate 0.005"."""
    parts = [f"{pairs:,} pairs from {html.escape(Path(data).name, quote=False)}"]
    if config.base:
        parts.append(f"fine-tuning {Path(config.base).name}")
    else:
        parts.append(
            f"{config.attention} attention, hidden size {config.hidden_dim}, "
            f"embedding size {config.embedding_dim}"
        )
    parts.append(f"batch size {config.batch_size}")
    parts.append(f"learning rate {config.learning_rate:g}")
    return " · ".join(parts)
