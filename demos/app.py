"""The Gradio app: Translate, Summarize, Chat and Train tabs.

    python -m demos.app                      # http://127.0.0.1:7860
    python -m demos.app --port 8000 --models-dir saved_models
    keras-attn demo --host 0.0.0.0           # reachable from the network

Safe by default: it listens on 127.0.0.1 only, makes no public share link
unless `--share` is given, caps input length and upload size, checks the
type of uploads and the names of new models, and queues requests with a
concurrency limit. A request that fails shows its error in the page; the
app keeps serving.
"""

import argparse
import atexit
import functools
import html
import inspect
import logging
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import gradio as gr

from demos.decoding import MAX_BEAMS
from demos.decoding import Decoding
from demos.errors import DemoError
from demos.examples import CHAT_EXAMPLES
from demos.examples import EXAMPLES
from demos.examples import SUMMARIZATION_EXAMPLES
from demos.examples import TRANSLATION_EXAMPLES
from demos.safety import DATA_EXTENSIONS
from demos.safety import check_text
from demos.safety import new_model_path
from demos.safety import parse_columns
from demos.serving import TASK_TITLES
from demos.serving import TASKS
from demos.serving import ModelRegistry
from demos.serving import render_heatmap
from demos.training import TrainingJob
from demos.training import model_options
from demos.training import prepare_data
from demos.training import train_command
from keras_attn.cli import ATTENTIONS
from keras_attn.cli import positive_int

__all__ = ["EXAMPLES", "build_app", "main"]

DEFAULT_MODELS_DIR = Path(__file__).resolve().parents[1] / "saved_models"
HIDDEN_SIZES = (16, 32, 64, 128, 256, 512)
VOCABULARY_SIZES = (500, 1000, 2000, 4000, 8000)
MAX_EPOCHS = 100
MAX_CHAT_MESSAGES = 40  # the chat shown; the model reads only its last turns
NO_REPLY = "…"  # shown for an empty reply
DECODINGS = ("greedy", "beam search")
CHAT_DECODINGS = ("greedy", "beam search", "sampling (top-p)")
TRAIN_TASKS = [
    ("Translation (Spanish → English)", "translation"),
    ("Summarization (email → subject line)", "summarization"),
    ("Dialogue (chat)", "dialogue"),
]
SAMPLE_NOTES = {
    "translation": "64 short Spanish–English pairs (Anki format: English, tab, "
    "Spanish).",
    "summarization": "22 short emails with their subject lines (JSON lines: "
    "body, subject).",
    "dialogue": "22 short dialogues (DailyDialog format: turns separated by __eou__).",
}
COLUMNS_HELP = (
    "Blank for the defaults: translation 1,0 (Anki: English in column 0, "
    "Spanish in column 1), summarization body,subject, dialogue 0,1 (a "
    "DailyDialog file needs none). Indices for .tsv/.txt, names or indices "
    "for .csv, names for .jsonl."
)
HEADER = """# keras-attn demo
Attention-based RNN encoder–decoder models trained with
keras-attn. Each answer comes with its **attention
heatmap**: the source tokens across, the output tokens down, and how much
each output token attended to each source token."""

log = logging.getLogger("demos.app")


# === Errors ===
def _as_gradio_error(error):
    """A `gr.Error` whose message is the error's text (escaped: gr.Error
    renders HTML, and the text may hold what a user typed)."""
    if isinstance(error, gr.Error):
        return error
    if isinstance(error, DemoError):
        return gr.Error(html.escape(str(error), quote=False), print_exception=False)
    log.exception("request failed")
    return gr.Error(
        html.escape(
            f"Something went wrong: {type(error).__name__}: {error}", quote=False
        )
    )


def _shows_errors(fn):
    """Runs `fn` so that any failure reaches the page as a `gr.Error`.

    Generator functions stay generator functions: Gradio streams them.
    """
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as error:
                raise _as_gradio_error(error) from None

        return generator

    @functools.wraps(fn)
    def function(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            raise _as_gradio_error(error) from None

    return function


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


# === The app ===
def build_app(
    models_dir=DEFAULT_MODELS_DIR,
    *,
    max_input_chars=1000,
    max_upload_mb=20,
    concurrency=2,
    queue_size=32,
):
    """Builds the demo app (not launched).

    Args:
        models_dir: the directory with one subdirectory per task
            (`translation/`, `summarization/`, `dialogue/`), each holding
            model directories.
        max_input_chars: the longest input text accepted.
        max_upload_mb: the largest data file accepted, in MB (pass the same
            to `launch(max_file_size=...)`, as `main` does).
        concurrency: how many requests of one kind run at once.
        queue_size: how many requests may wait; more are refused.

    Returns:
        A `gr.Blocks` with its queue configured.
    """
    registry = ModelRegistry(models_dir)
    max_upload_bytes = int(max_upload_mb * 2**20)
    training = {"job": None}  # the current or last training job
    training_lock = threading.Lock()
    atexit.register(_cancel_training, training)

    # --- Helpers ---
    def dropdown(task, current=None):
        names = registry.names(task)
        value = current if current in names else (names[0] if names else None)
        return gr.update(choices=names, value=value)

    def model_info(task, name):
        names = registry.names(task)
        if not names:
            return html.escape(registry.no_model_message(task), quote=False)
        if name not in names:
            return f"Choose a model: {', '.join(names)}."
        return registry.describe(task, name)

    def answer(task, text, name, decoding):
        """Output, heatmap and notes for one model input."""
        model = registry.model(task, name)
        notes = []
        tokens, limit = model.count_tokens(text), model.source_limit()
        if tokens > limit:
            notes.append(
                f"The input has {tokens} tokens; this model reads at most "
                f"{limit}, so the rest was left out."
            )
        started = time.perf_counter()
        output = model.generate(text, decoding)
        seconds = time.perf_counter() - started
        if not output.strip():
            notes.append("The model produced an empty output.")
        pair = model.alignment(text, output)
        if pair is None:
            image = None
            notes.append(
                "This model has no attention (the fixed-context baseline), "
                "so there is no alignment heatmap to show."
            )
        else:
            # No title: the source is on the x axis, and a title would sit
            # under the image component's label.
            image = render_heatmap(pair)
        header = f"{registry.describe(task, name)} · {decoding.describe()} · "
        notes.insert(0, header + f"{seconds:.2f} s")
        return output, image, "\n\n".join(notes)

    # --- Handlers ---
    @_shows_errors
    def translate(text, model, decoding, beams):
        """Translates Spanish text to English."""
        text = check_text(text, max_input_chars)
        return answer("translation", text, model, Decoding.from_ui(decoding, beams))

    @_shows_errors
    def summarize(text, model, decoding, beams):
        """Writes a subject line for an email body."""
        text = check_text(text, max_input_chars)
        return answer("summarization", text, model, Decoding.from_ui(decoding, beams))

    @_shows_errors
    def chat(message, history, model, decoding, beams, temperature, top_p):
        """Replies to a message; the model reads the last turns as context."""
        message = check_text(message, max_input_chars, "message")
        settings = Decoding.from_ui(decoding, beams, temperature, top_p)
        messages = [
            {"role": m["role"], "content": _message_text(m)}
            for m in (history or [])[-MAX_CHAT_MESSAGES:]
            if isinstance(m, dict) and m.get("role") in ("user", "assistant")
        ]
        # The placeholder shown for an empty reply is not a turn.
        turns = [m["content"] for m in messages if m["content"] != NO_REPLY]
        loaded = registry.model("dialogue", model)
        source = loaded.dialogue_source([*turns, message])
        reply, image, note = answer("dialogue", source, model, settings)
        messages += [
            {"role": "user", "content": message},
            {"role": "assistant", "content": reply if reply.strip() else NO_REPLY},
        ]
        return messages[-MAX_CHAT_MESSAGES:], "", image, note, source

    @_shows_errors
    def refresh(translation_model, summarization_model, dialogue_model, base_task):
        """Lists the models on disk again (new ones appear in the lists)."""
        current = {
            "translation": translation_model,
            "summarization": summarization_model,
            "dialogue": dialogue_model,
        }
        updates = [dropdown(task, current[task]) for task in TASKS]
        infos = [
            model_info(task, update["value"])
            for task, update in zip(TASKS, updates, strict=True)
        ]
        base = dropdown(base_task if base_task in TASKS else "translation")
        return (*updates, *infos, base, registry.all_names())

    @_shows_errors
    def train_task_changed(task):
        """The models of `task` that can be fine-tuned, and its sample."""
        if task not in TASKS:
            raise DemoError(f"Unknown task {task!r}.")
        return dropdown(task), f"Shipped sample: {SAMPLE_NOTES[task]}"

    @_shows_errors
    def train(
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
        from keras_attn.metrics import TASK_METRICS

        if task not in TASKS:
            raise DemoError(f"Unknown task {task!r}: choose one of {TASKS}.")
        epochs = _bounded(epochs, 1, MAX_EPOCHS, "number of epochs")
        fine_tune = str(mode).startswith("fine-tune")
        if fine_tune:
            base_path = registry.path(task, base)
            options = model_options(task, None, 0, 0, 0, base=base_path)
        else:
            if attention not in ATTENTIONS:
                raise DemoError(f"Unknown attention {attention!r}: {ATTENTIONS}.")
            options = model_options(
                task,
                attention,
                _bounded(hidden, 8, 1024, "hidden size"),
                _bounded(embedding, 8, 1024, "embedding size"),
                _bounded(vocabulary, 100, 32000, "vocabulary size"),
            )
        uploaded = str(data_source).startswith("upload")
        if uploaded and not upload:
            raise DemoError("Upload a data file first, or choose the shipped sample.")
        with training_lock:
            job = training["job"]
            if job is not None and not job.finished:
                raise DemoError(
                    f"The {job.task} model {job.name!r} is being trained; wait "
                    "for it to finish or cancel it, then start another."
                )
            out = new_model_path(registry.models_dir, task, name)
            workdir = tempfile.mkdtemp(prefix="keras-attn-train-")
            try:
                data, data_options, pairs = prepare_data(
                    task,
                    upload if uploaded else None,
                    parse_columns(columns) if uploaded else None,
                    workdir,
                    max_upload_bytes,
                )
                out.parent.mkdir(parents=True, exist_ok=True)
                command = train_command(
                    task, data, data_options, out, epochs, pairs, options
                )
                details = _run_details(command, pairs, upload if uploaded else data)
                registry.hide(task, out.name)
                job = TrainingJob(
                    task,
                    out.name,
                    out,
                    command,
                    TASK_METRICS[task][0],
                    details=details,
                    workdir=workdir,
                    on_finish=lambda j: registry.hide(j.task, j.name, hidden=False),
                ).start()
            except BaseException:
                registry.hide(task, out.name, hidden=False)
                shutil.rmtree(workdir, ignore_errors=True)
                raise
            training["job"] = job
        log.info("training %s/%s: %s", task, out.name, " ".join(command))
        skip = [gr.skip()] * 4
        while not job.wait(timeout=1.0):
            yield job.markdown(), *skip
        # The new model joins its task's list (selected), and the base list.
        names = registry.names(task)
        lists = [gr.skip()] * 3
        if out.name in names:
            lists[TASKS.index(task)] = gr.update(choices=names, value=out.name)
        yield job.markdown(), *lists, gr.update(choices=names)

    @_shows_errors
    def cancel_training():
        """Stops the current training run; its finished epochs are kept."""
        job = training["job"]
        if job is None or job.finished:
            return "No model is being trained."
        job.cancel()
        return job.markdown()

    @_shows_errors
    def training_status():
        """The progress of the current (or last) training run."""
        job = training["job"]
        return "No model has been trained yet." if job is None else job.markdown()

    def list_models() -> dict[str, list[str]]:
        """The models of every task, as `{task: [names]}`."""
        return registry.all_names()

    # --- Layout ---
    names = registry.all_names()
    with gr.Blocks(
        title="keras-attn demo", analytics_enabled=False, delete_cache=(3600, 3600)
    ) as demo:
        gr.Markdown(HEADER)
        dropdowns, infos = {}, {}
        with gr.Tabs():
            for task, tab, examples, label in (
                ("translation", "Translate", TRANSLATION_EXAMPLES, "Spanish"),
                ("summarization", "Summarize", SUMMARIZATION_EXAMPLES, "Email body"),
            ):
                with gr.Tab(tab, id=task):
                    dropdowns[task], infos[task] = _model_picker(
                        registry, task, names[task], model_info
                    )
                    with gr.Row():
                        with gr.Column():
                            source = gr.Textbox(
                                label=f"{label} (at most {max_input_chars:,} "
                                "characters)",
                                lines=2 if task == "translation" else 6,
                                elem_id=f"{task}-input",
                            )
                            gr.Examples(
                                [[e] for e in examples],
                                inputs=[source],
                                label="Examples",
                                api_name=f"{task}_example",
                            )
                            method, beams = _decoding_controls(DECODINGS)
                            button = gr.Button(
                                tab, variant="primary", elem_id=f"{task}-button"
                            )
                        with gr.Column():
                            output = gr.Textbox(
                                label="English" if task == "translation" else "Subject",
                                interactive=False,
                                elem_id=f"{task}-output",
                            )
                            heatmap = _heatmap(task)
                            note = gr.Markdown(elem_id=f"{task}-note")
                    gr.on(
                        [button.click, source.submit],
                        translate if task == "translation" else summarize,
                        inputs=[source, dropdowns[task], method, beams],
                        outputs=[output, heatmap, note],
                        api_name="translate" if task == "translation" else "summarize",
                    )

            with gr.Tab("Chat", id="dialogue"):
                dropdowns["dialogue"], infos["dialogue"] = _model_picker(
                    registry, "dialogue", names["dialogue"], model_info
                )
                with gr.Row():
                    with gr.Column():
                        chatbot = gr.Chatbot(label="Conversation", elem_id="chatbot")
                        message = gr.Textbox(
                            label=f"Message (at most {max_input_chars:,} characters)",
                            elem_id="dialogue-input",
                        )
                        with gr.Row():
                            send = gr.Button("Send", variant="primary")
                            clear = gr.Button("Clear")
                        gr.Examples(
                            [[e] for e in CHAT_EXAMPLES],
                            inputs=[message],
                            label="Examples",
                            api_name="dialogue_example",
                        )
                        chat_method, chat_beams = _decoding_controls(CHAT_DECODINGS)
                        with gr.Row():
                            temperature = gr.Slider(
                                0.1, 2.0, value=0.8, step=0.1, label="Temperature"
                            )
                            top_p = gr.Slider(
                                0.05, 1.0, value=0.9, step=0.05, label="Top-p"
                            )
                    with gr.Column():
                        chat_heatmap = _heatmap("dialogue")
                        chat_note = gr.Markdown(elem_id="dialogue-note")
                        model_input = gr.Textbox(
                            label="Model input: the last turns, joined as in "
                            "training (DailyDialog)",
                            interactive=False,
                            elem_id="dialogue-model-input",
                        )
                chat_inputs = [
                    message,
                    chatbot,
                    dropdowns["dialogue"],
                    chat_method,
                    chat_beams,
                    temperature,
                    top_p,
                ]
                chat_outputs = [
                    chatbot,
                    message,
                    chat_heatmap,
                    chat_note,
                    model_input,
                ]
                gr.on(
                    [send.click, message.submit],
                    chat,
                    chat_inputs,
                    chat_outputs,
                    api_name="chat",
                )
                clear.click(
                    lambda: ([], "", None, "", ""),
                    outputs=chat_outputs,
                    api_name="clear_chat",
                    queue=False,
                )

            with gr.Tab("Train", id="train"):
                gr.Markdown(
                    "Train a small model on the shipped sample or on your own "
                    "file, or fine-tune a model of the task. Training runs in a "
                    "separate `keras-attn train` process; **Cancel** keeps the "
                    "finished epochs. One run at a time."
                )
                with gr.Row():
                    with gr.Column():
                        train_task = gr.Radio(
                            TRAIN_TASKS, value="translation", label="Task"
                        )
                        data_source = gr.Radio(
                            ["shipped sample", "uploaded file"],
                            value="shipped sample",
                            label="Data",
                        )
                        sample_note = gr.Markdown(
                            f"Shipped sample: {SAMPLE_NOTES['translation']}"
                        )
                        upload = gr.File(
                            label=f"Data file ({' '.join(DATA_EXTENSIONS)}; at most "
                            f"{max_upload_mb:g} MB)",
                            file_types=list(DATA_EXTENSIONS),
                            type="filepath",
                        )
                        columns = gr.Textbox(
                            label="Columns (source,target)", info=COLUMNS_HELP
                        )
                        mode = gr.Radio(
                            ["new model", "fine-tune an existing model"],
                            value="new model",
                            label="Start from",
                        )
                        base = gr.Dropdown(
                            names["translation"],
                            value=(names["translation"] or [None])[0],
                            label="Model to fine-tune (keeps its size and tokenizer)",
                            allow_custom_value=True,
                        )
                    with gr.Column():
                        model_name = gr.Textbox(
                            label="New model name",
                            placeholder="e.g. my-model-1",
                            info="Letters, digits, '_', '-', '.'; an existing "
                            "name is refused.",
                            elem_id="train-name",
                        )
                        epochs = gr.Slider(
                            1, MAX_EPOCHS, value=30, step=1, label="Epochs"
                        )
                        attention = gr.Dropdown(
                            list(ATTENTIONS), value="bahdanau", label="Attention"
                        )
                        with gr.Row():
                            hidden = gr.Dropdown(
                                list(HIDDEN_SIZES), value=64, label="Hidden size"
                            )
                            embedding = gr.Dropdown(
                                list(HIDDEN_SIZES), value=32, label="Embedding size"
                            )
                            vocabulary = gr.Dropdown(
                                list(VOCABULARY_SIZES),
                                value=1000,
                                label="Vocabulary size",
                            )
                        with gr.Row():
                            start = gr.Button(
                                "Train", variant="primary", elem_id="train-button"
                            )
                            stop = gr.Button("Cancel", variant="stop")
                        progress = gr.Markdown(elem_id="train-progress")
                with gr.Accordion("Models on disk", open=False):
                    models_json = gr.JSON(names, label="Models by task")
                    refresh_button = gr.Button("Refresh the model lists")

        start.click(
            train,
            inputs=[
                train_task,
                data_source,
                upload,
                columns,
                mode,
                base,
                model_name,
                epochs,
                attention,
                hidden,
                embedding,
                vocabulary,
            ],
            outputs=[progress, *dropdowns.values(), base],
            api_name="train",
            show_progress="minimal",
            concurrency_limit=2,  # a second request is told a run is going
        )
        stop.click(cancel_training, outputs=[progress], api_name="cancel_training")
        train_task.change(
            train_task_changed,
            inputs=[train_task],
            outputs=[base, sample_note],
            api_name="train_task_changed",
        )
        for task in TASKS:
            dropdowns[task].change(
                _shows_errors(functools.partial(model_info, task)),
                inputs=[dropdowns[task]],
                outputs=[infos[task]],
                api_name=f"{task}_model_info",
            )
        refresh_inputs = [*dropdowns.values(), train_task]
        refresh_outputs = [*dropdowns.values(), *infos.values(), base, models_json]
        gr.on(
            [demo.load, refresh_button.click],
            refresh,
            refresh_inputs,
            refresh_outputs,
            api_name="refresh",
        )
        demo.load(training_status, outputs=[progress], api_name="training_status")
        gr.api(list_models, api_name="list_models")
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    return demo


def _model_picker(registry, task, names, model_info):
    with gr.Row():
        dropdown = gr.Dropdown(
            names,
            value=names[0] if names else None,
            label=f"{TASK_TITLES[task][0].upper()}{TASK_TITLES[task][1:]} model",
            # Any name may be sent; the registry refuses names it does not
            # list. Models trained after the page loaded stay selectable.
            allow_custom_value=True,
            elem_id=f"{task}-model",
            scale=1,
        )
        info = gr.Markdown(
            model_info(task, names[0] if names else None), elem_id=f"{task}-info"
        )
    return dropdown, info


def _decoding_controls(choices):
    with gr.Row():
        method = gr.Radio(list(choices), value="greedy", label="Decoding")
        beams = gr.Slider(2, MAX_BEAMS, value=4, step=1, label="Beam size")
    return method, beams


def _heatmap(task):
    return gr.Image(
        label="Attention (source across, output down)",
        type="pil",
        format="png",
        interactive=False,
        elem_id=f"{task}-heatmap",
    )


def _run_details(command, pairs, data):
    """ "63 pairs from spa-eng.txt · batch size 8 · learning rate 0.005"."""

    def option(name):
        return command[command.index(name) + 1] if name in command else None

    parts = [f"{pairs:,} pairs from {html.escape(Path(data).name, quote=False)}"]
    if option("--from"):
        parts.append(f"fine-tuning {Path(option('--from')).name}")
    else:
        parts.append(
            f"{option('--attention')} attention, hidden size "
            f"{option('--hidden-dim')}, embedding size {option('--embedding-dim')}"
        )
    parts.append(f"batch size {option('--batch-size')}")
    parts.append(f"learning rate {option('--learning-rate')}")
    return " · ".join(parts)


def _cancel_training(training):
    job = training["job"]
    if job is not None and not job.finished:
        job.cancel()
        job.wait(timeout=30)


# === Command line ===
def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-attn demo",
        description="The keras-attn Gradio demo: translate, summarize, chat, train.",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; "
        "0.0.0.0 for the network)",
    )
    parser.add_argument("--port", type=int, default=7860, help="default 7860")
    parser.add_argument(
        "--share",
        action="store_true",
        help="also make a public gradio.live link (off by default)",
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=DEFAULT_MODELS_DIR,
        help="directory with translation/, summarization/, dialogue/ model "
        f"directories (default {DEFAULT_MODELS_DIR})",
    )
    parser.add_argument(
        "--max-input-chars",
        type=positive_int,
        default=1000,
        help="longest input text accepted (default 1000)",
    )
    parser.add_argument(
        "--max-upload-mb",
        type=positive_int,
        default=20,
        help="largest training file accepted, in MB (default 20)",
    )
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=2,
        help="requests of one kind that run at once (default 2)",
    )
    parser.add_argument(
        "--queue-size",
        type=positive_int,
        default=32,
        help="requests that may wait; more are refused (default 32)",
    )
    return parser


def main(argv=None):
    """Runs the app until interrupted; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:  # `keras-attn demo -- --port 8000` passes "--" on
        argv = argv[1:]
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    demo = build_app(
        args.models_dir,
        max_input_chars=args.max_input_chars,
        max_upload_mb=args.max_upload_mb,
        concurrency=args.concurrency,
        queue_size=args.queue_size,
    )
    # Ctrl-C and SIGTERM close the server, so the exit handlers run (they
    # stop a training subprocess). Installing a SIGINT handler also undoes an
    # inherited "ignore SIGINT" (`python -m demos.app &` in a script), which
    # the training subprocesses would inherit and so not hear Cancel.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        max_file_size=f"{args.max_upload_mb}mb",
        show_error=False,  # gr.Error messages are shown; tracebacks are not
        enable_monitoring=False,
        mcp_server=False,
        ssr_mode=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
