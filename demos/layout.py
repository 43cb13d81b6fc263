"""The app's page: the Translate, Summarize, Chat and Train tabs, and which
handler each event calls."""

import gradio as gr

from keras_attn import tasks

from .decoding import MAX_BEAMS
from .examples import EXAMPLES
from .handlers import Handlers
from .train_tab import build_train_tab

DECODINGS = ("greedy", "beam search")
CHAT_DECODINGS = ("greedy", "beam search", "sampling (top-p)")
# The text tabs: task, tab, input label, output label, endpoint.
TEXT_TABS = (
    ("translation", "Translate", "Spanish", "English", "translate"),
    ("summarization", "Summarize", "Email body", "Subject", "summarize"),
)
HEADER = """# keras-attn demo
Attention-based RNN encoder–decoder models trained with
keras-attn. Each answer comes with its **attention
heatmap**: the source tokens across, the output tokens down, and how much
each output token attended to each source token."""
HEATMAP_CAPTION = (
    "**Attention**: each row is an output token, each column a source token "
    "(as the model's tokenizer cut them: `##` continues a word); brighter "
    "means more attention."
)
# The heatmap at its own size (one cell per token pair), scrolling when it
# is larger than the column, instead of shrunk until its labels are
# unreadable. Pass to `launch(css=...)`.
CSS = """
.heatmap .image-frame {
  display: block !important; overflow: auto; max-height: 80vh; height: auto !important;
}
.heatmap .image-frame img {
  width: auto !important; height: auto !important; max-width: none !important;
  max-height: none !important; object-fit: none !important;
}
.heatmap .image-container { height: auto !important; }
"""


def build_app(
    models_dir,
    *,
    max_input_chars=1000,
    max_upload_mb=20,
    concurrency=2,
    queue_size=256,
    max_batch=32,
):
    """Builds the demo app (not launched).

    Args:
        models_dir: the directory with one subdirectory per task
            (`translation/`, `summarization/`, `dialogue/`), each holding
            model directories.
        max_input_chars: the longest input text accepted.
        max_upload_mb: the largest data file accepted, in MB (pass the same
            to `launch(max_file_size=...)`, as `app.main` does).
        concurrency: how many requests of one kind run at once (training,
            model lists); the serving events (translate, summarize, chat)
            take up to `max_batch` at once, as concurrent requests of one
            model and decoding setting are decoded together in batches.
        queue_size: how many requests may wait; more are refused.
        max_batch: the most requests decoded together in one batch.

    Returns:
        `(demo, handlers)`: a `gr.Blocks` with its queue configured, and
        its `Handlers` (`handlers.trainer.stop()` ends a training run).
    """
    handlers = Handlers(
        models_dir,
        max_input_chars=max_input_chars,
        max_upload_mb=max_upload_mb,
        max_batch=max_batch,
        warm_up=True,  # a server: no request under load waits to compile
    )
    names = handlers.list_models()
    with gr.Blocks(
        title="keras-attn demo", analytics_enabled=False, delete_cache=(3600, 3600)
    ) as demo:
        gr.Markdown(HEADER)
        pickers = {}  # task -> (model dropdown, model info)
        with gr.Tabs():
            for task, tab, source_label, output_label, endpoint in TEXT_TABS:
                with gr.Tab(tab, id=task):
                    pickers[task] = _model_picker(handlers, task, names[task])
                    _text_tab(
                        handlers, task, tab, source_label, output_label, endpoint,
                        pickers[task][0], max_input_chars, max_batch,
                    )  # fmt: skip
            with gr.Tab("Chat", id="dialogue"):
                pickers["dialogue"] = _model_picker(
                    handlers, "dialogue", names["dialogue"]
                )
                _chat_tab(handlers, pickers["dialogue"][0], max_input_chars, max_batch)
            with gr.Tab("Train", id="train"):
                train_task, base, progress = build_train_tab(
                    handlers, names, [pickers[t][0] for t in handlers.tasks],
                    max_upload_mb,
                )  # fmt: skip
                with gr.Accordion("Models on disk", open=False):
                    models_json = gr.JSON(names, label="Models by task")
                    refresh_button = gr.Button("Refresh the model lists")
        dropdowns = [pickers[task][0] for task in handlers.tasks]
        infos = [pickers[task][1] for task in handlers.tasks]
        for task, dropdown, info in zip(handlers.tasks, dropdowns, infos, strict=True):
            dropdown.change(
                handlers.model_info_handler(task),
                inputs=[dropdown],
                outputs=[info],
                api_name=f"{task}_model_info",
            )
        gr.on(
            [demo.load, refresh_button.click],
            handlers.refresh,
            [*dropdowns, train_task],
            [*dropdowns, *infos, base, models_json],
            api_name="refresh",
        )
        demo.load(
            handlers.training_status, outputs=[progress], api_name="training_status"
        )
        gr.api(handlers.list_models, api_name="list_models")
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    return demo, handlers


def _text_tab(
    handlers, task, tab, source_label, output_label, endpoint, dropdown, max_chars,
    max_batch,
):  # fmt: skip
    with gr.Row():
        with gr.Column():
            source = gr.Textbox(
                label=f"{source_label} (at most {max_chars:,} characters)",
                lines=2 if task == "translation" else 6,
                elem_id=f"{task}-input",
            )
            gr.Examples(
                [[e] for e in EXAMPLES[task]],
                inputs=[source],
                label="Examples",
                api_name=f"{task}_example",
            )
            method, beams = _decoding_controls(DECODINGS)
            button = gr.Button(tab, variant="primary", elem_id=f"{task}-button")
        with gr.Column():
            output = gr.Textbox(
                label=output_label, interactive=False, elem_id=f"{task}-output"
            )
            heatmap = _heatmap(task)
            note = gr.Markdown(elem_id=f"{task}-note")
    gr.on(
        [button.click, source.submit],
        getattr(handlers, endpoint),
        inputs=[source, dropdown, method, beams],
        outputs=[output, heatmap, note],
        api_name=endpoint,
        # Up to a batch's worth at once: they wait for each other in the
        # model's batcher and are decoded together.
        concurrency_limit=max_batch,
    )


def _chat_tab(handlers, dropdown, max_chars, max_batch):
    with gr.Row():
        with gr.Column():
            chatbot = gr.Chatbot(label="Conversation", elem_id="chatbot")
            message = gr.Textbox(
                label=f"Message (at most {max_chars:,} characters)",
                elem_id="dialogue-input",
            )
            with gr.Row():
                send = gr.Button("Send", variant="primary")
                clear = gr.Button("Clear")
            gr.Examples(
                [[e] for e in EXAMPLES["dialogue"]],
                inputs=[message],
                label="Examples",
                api_name="dialogue_example",
            )
            method, beams = _decoding_controls(CHAT_DECODINGS)
            with gr.Row():
                temperature = gr.Slider(
                    0.1, 2.0, value=0.8, step=0.1, label="Temperature"
                )
                top_p = gr.Slider(0.05, 1.0, value=0.9, step=0.05, label="Top-p")
        with gr.Column():
            heatmap = _heatmap("dialogue")
            note = gr.Markdown(elem_id="dialogue-note")
            model_input = gr.Textbox(
                label="Model input: the last turns, joined as in training "
                "(DailyDialog)",
                interactive=False,
                elem_id="dialogue-model-input",
            )
    outputs = [chatbot, message, heatmap, note, model_input]
    gr.on(
        [send.click, message.submit],
        handlers.chat,
        [message, chatbot, dropdown, method, beams, temperature, top_p],
        outputs,
        api_name="chat",
        concurrency_limit=max_batch,
    )
    clear.click(
        handlers.clear_chat, outputs=outputs, api_name="clear_chat", queue=False
    )


def _model_picker(handlers, task, names):
    with gr.Row():
        dropdown = gr.Dropdown(
            names,
            value=names[0] if names else None,
            label=f"{tasks.get(task).title} model",
            # Any name may be sent; the registry refuses names it does not
            # list. Models trained after the page loaded stay selectable.
            allow_custom_value=True,
            elem_id=f"{task}-model",
            scale=1,
        )
        info = gr.Markdown(
            handlers.model_info(task, names[0] if names else None),
            elem_id=f"{task}-info",
        )
    return dropdown, info


def _decoding_controls(choices):
    with gr.Row():
        method = gr.Radio(list(choices), value="greedy", label="Decoding")
        beams = gr.Slider(2, MAX_BEAMS, value=4, step=1, label="Beam size")
    return method, beams


def _heatmap(task):
    # The caption above, not the component's label, which would sit on the
    # image's first row; no corner buttons, which would cover the colour
    # bar's top label.
    gr.Markdown(HEATMAP_CAPTION, elem_id=f"{task}-heatmap-caption")
    return gr.Image(
        label="Attention heatmap",
        show_label=False,
        type="pil",
        format="png",
        interactive=False,
        buttons=[],
        elem_id=f"{task}-heatmap",
        elem_classes=["heatmap"],
    )
