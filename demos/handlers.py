"""What the app's events do: each public method of `Handlers` is one event
(its name is the endpoint's `api_name`), with the docstring `gradio_client`
shows."""

import functools
import html
import time

import gradio as gr

from keras_attn.models import ATTENTIONS

from .decoding import Decoding
from .errors import DemoError
from .errors import shows_errors
from .heatmap import render_heatmap
from .safety import check_text
from .safety import parse_columns
from .serving import ModelRegistry
from .trainer import Trainer
from .training import SAMPLES
from .training import model_options

MAX_EPOCHS = 100
MAX_CHAT_MESSAGES = 40  # the chat shown; the model reads only its last turns
NO_REPLY = "…"  # shown for an empty reply


class Handlers:
    """The app's event handlers, over the models in `models_dir`.

    Args:
        models_dir: the directory with one subdirectory per task.
        max_input_chars: the longest input text accepted.
        max_upload_mb: the largest data file accepted, in MB.
        max_batch: the most concurrent requests (of one model and decoding
            setting) decoded together.
        warm_up: whether models compile their greedy decoding for every
            batch size when they load (`ModelRegistry`).
    """

    def __init__(
        self,
        models_dir,
        *,
        max_input_chars=1000,
        max_upload_mb=20,
        max_batch=32,
        warm_up=False,
    ):
        self.registry = ModelRegistry(models_dir, max_batch=max_batch, warm_up=warm_up)
        self.tasks = self.registry.tasks
        self.max_input_chars = max_input_chars
        self.trainer = Trainer(self.registry.models_dir, int(max_upload_mb * 2**20))

    # === Helpers ===
    def dropdown(self, task, current=None):
        """A model dropdown update: the task's models, `current` if listed."""
        names = self.registry.names(task)
        value = current if current in names else (names[0] if names else None)
        return gr.update(choices=names, value=value)

    def model_info(self, task, name):
        """One line about the model `name` of `task` (or what to do)."""
        names = self.registry.names(task)
        if not names:
            return html.escape(self.registry.no_model_message(task), quote=False)
        if name not in names:
            return f"Choose a model: {', '.join(names)}."
        return self.registry.describe(task, name)

    def model_info_handler(self, task):
        """The `<task>_model_info` event."""
        return shows_errors(functools.partial(self.model_info, task))

    def answer(self, task, text, name, decoding):
        """Output, heatmap and notes for one model input."""
        model = self.registry.model(task, name)
        notes = []
        tokens, limit = model.count_tokens(text), model.source_limit()
        if tokens > limit:
            notes.append(
                f"The input has {tokens} tokens; this model reads at most "
                f"{limit}, so the rest was left out."
            )
        started = time.perf_counter()
        output, pair = model.generate(text, decoding)
        seconds = time.perf_counter() - started
        if not output.strip():
            notes.append("The model produced an empty output.")
        image = None
        if pair is None:
            notes.append(
                "This model has no attention (the fixed-context baseline), "
                "so there is no alignment heatmap to show."
            )
        else:
            image = render_heatmap(pair)
        header = f"{self.registry.describe(task, name)} · {decoding.describe()} · "
        notes.insert(0, header + f"{seconds:.2f} s")
        return output, image, "\n\n".join(notes)

    # === Serving ===
    @shows_errors
    def translate(self, text, model, decoding, beams):
        """Translates Spanish text to English."""
        text = check_text(text, self.max_input_chars)
        return self.answer(
            "translation", text, model, Decoding.from_ui(decoding, beams)
        )

    @shows_errors
    def summarize(self, text, model, decoding, beams):
        """Writes a subject line for an email body."""
        text = check_text(text, self.max_input_chars)
        return self.answer(
            "summarization", text, model, Decoding.from_ui(decoding, beams)
        )

    @shows_errors
    def chat(self, message, history, model, decoding, beams, temperature, top_p):
        """Replies to a message; the model reads the last turns as context."""
        message = check_text(message, self.max_input_chars, "message")
        settings = Decoding.from_ui(decoding, beams, temperature, top_p)
        messages = [
            {"role": m["role"], "content": _message_text(m)}
            for m in (history or [])[-MAX_CHAT_MESSAGES:]
            if isinstance(m, dict) and m.get("role") in ("user", "assistant")
        ]
        # The placeholder shown for an empty reply is not a turn.
        turns = [m["content"] for m in messages if m["content"] != NO_REPLY]
        loaded = self.registry.model("dialogue", model)
        source = loaded.dialogue_source([*turns, message])
        reply, image, note = self.answer("dialogue", source, model, settings)
        messages += [
            {"role": "user", "content": message},
            {"role": "assistant", "content": reply if reply.strip() else NO_REPLY},
        ]
        return messages[-MAX_CHAT_MESSAGES:], "", image, note, source

    @staticmethod
    def clear_chat():
        """Empties the conversation."""
        return [], "", None, "", ""

    # === Model lists ===
    @shows_errors
    def refresh(
        self, translation_model, summarization_model, dialogue_model, base_task
    ):
        """Lists the models on disk again (new ones appear in the lists)."""
        current = dict(
            zip(
                self.tasks,
                (translation_model, summarization_model, dialogue_model),
                strict=True,
            )
        )
        updates = [self.dropdown(task, current[task]) for task in self.tasks]
        infos = [
            self.model_info(task, update["value"])
            for task, update in zip(self.tasks, updates, strict=True)
        ]
        base = self.dropdown(base_task if base_task in self.tasks else self.tasks[0])
        return (*updates, *infos, base, self.registry.all_names())

    def list_models(self) -> dict[str, list[str]]:
        """The models of every task, as `{task: [names]}`."""
        return self.registry.all_names()

    # === Training ===
    @shows_errors
    def train_task_changed(self, task):
        """The models of `task` that can be fine-tuned, and its sample."""
        self.registry.task(task)
        return self.dropdown(task), f"Shipped sample: {SAMPLES[task].note}"

    @shows_errors
    def train(
        self,
        task,
        data_source,
        upload,
        columns,
        mode,
        base,
        name,
        epochs,
        attention,
        hidden,
        embedding,
        vocabulary,
    ):
        """Trains (or fine-tunes) a model; streams its progress."""
        self.registry.task(task)
        epochs = _bounded(epochs, 1, MAX_EPOCHS, "number of epochs")
        if str(mode).startswith("fine-tune"):
            model = {"base": str(self.registry.path(task, base))}
        else:
            if attention not in ATTENTIONS:
                raise DemoError(f"Unknown attention {attention!r}: {ATTENTIONS}.")
            model = model_options(
                attention,
                _bounded(hidden, 8, 1024, "hidden size"),
                _bounded(embedding, 8, 1024, "embedding size"),
                _bounded(vocabulary, 100, 32000, "vocabulary size"),
            )
        uploaded = str(data_source).startswith("upload")
        if uploaded and not upload:
            raise DemoError("Upload a data file first, or choose the shipped sample.")
        job = self.trainer.start(
            task,
            name,
            epochs,
            model,
            upload=upload if uploaded else None,
            columns=parse_columns(columns) if uploaded else None,
        )
        skip = [gr.skip()] * 4
        while not job.wait(timeout=1.0):
            yield job.markdown(), *skip
        # The new model joins its task's list (selected), and the base list.
        names = self.registry.names(task)
        lists = [gr.skip()] * len(self.tasks)
        if job.name in names:
            lists[self.tasks.index(task)] = gr.update(choices=names, value=job.name)
        yield job.markdown(), *lists, gr.update(choices=names)

    @shows_errors
    def cancel_training(self):
        """Stops the current training run; its finished epochs are kept."""
        return self.trainer.cancel()

    @shows_errors
    def training_status(self):
        """The progress of the current (or last) training run."""
        return self.trainer.status()


def _message_text(message):
    """The text of a chat message in any of Gradio's message formats."""
    content = message.get("content") if isinstance(message, dict) else message
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    if isinstance(content, list):
        return " ".join(
            part.get("text", "") if isinstance(part, dict) else str(part)
            for part in content
            if not isinstance(part, dict) or part.get("type", "text") == "text"
        )
    return ""


def _bounded(value, low, high, what):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise DemoError(f"The {what} must be a whole number.") from None
    if not low <= number <= high:
        raise DemoError(f"The {what} must be from {low} to {high}.")
    return number
