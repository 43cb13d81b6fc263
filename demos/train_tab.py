"""The Train tab: data, model settings, Train and Cancel, and progress."""

import gradio as gr

from keras_attn import tasks
from keras_attn.models import ATTENTIONS

from .handlers import MAX_EPOCHS
from .safety import DATA_EXTENSIONS
from .training import SAMPLES
from .training import default_columns

HIDDEN_SIZES = (16, 32, 64, 128, 256, 512)
VOCABULARY_SIZES = (500, 1000, 2000, 4000, 8000)


def build_train_tab(handlers, names, dropdowns, max_upload_mb):
    """Lays out the Train tab and wires its events.

    Args:
        handlers: the app's `Handlers`.
        names: `{task: [model names]}` when the page is built.
        dropdowns: the model dropdowns of the serving tabs, in the order of
            `handlers.tasks` (a finished model is selected in its list).
        max_upload_mb: the largest data file accepted, in MB.

    Returns:
        `(task, base, progress)`: the task radio, the list of models to
        fine-tune and the progress Markdown, for the app's other events.
    """
    first = handlers.tasks[0]
    gr.Markdown(
        "Train a small model on the shipped sample or on your own file, or "
        "fine-tune a model of the task. Training runs in a separate process "
        "(`keras_attn.training.train`); **Cancel** keeps the finished epochs. "
        "One run at a time."
    )
    with gr.Row():
        with gr.Column():
            task = gr.Radio(
                [
                    (f"{tasks.get(t).title} ({SAMPLES[t].direction})", t)
                    for t in handlers.tasks
                ],
                value=first,
                label="Task",
            )
            data_source = gr.Radio(
                ["shipped sample", "uploaded file"],
                value="shipped sample",
                label="Data",
            )
            sample_note = gr.Markdown(f"Shipped sample: {SAMPLES[first].note}")
            upload = gr.File(
                label=f"Data file ({' '.join(DATA_EXTENSIONS)}; at most "
                f"{max_upload_mb:g} MB)",
                file_types=list(DATA_EXTENSIONS),
                type="filepath",
            )
            columns = gr.Textbox(
                label="Columns (source,target)",
                info="Blank for the defaults: "
                + ", ".join(f"{t} {default_columns(t)}" for t in handlers.tasks)
                + " (a DailyDialog file or an Anki zip needs none). Indices for "
                ".tsv/.txt, names or indices for .csv, names for .jsonl.",
            )
            mode = gr.Radio(
                ["new model", "fine-tune an existing model"],
                value="new model",
                label="Start from",
            )
            base = gr.Dropdown(
                names[first],
                value=(names[first] or [None])[0],
                label="Model to fine-tune (keeps its size and tokenizer)",
                allow_custom_value=True,
            )
        with gr.Column():
            model_name = gr.Textbox(
                label="New model name",
                placeholder="e.g. my-model-1",
                info="Letters, digits, '_', '-', '.'; an existing name is refused.",
                elem_id="train-name",
            )
            epochs = gr.Slider(1, MAX_EPOCHS, value=30, step=1, label="Epochs")
            attention = gr.Dropdown(
                list(ATTENTIONS), value="bahdanau", label="Attention"
            )
            with gr.Row():
                hidden = gr.Dropdown(list(HIDDEN_SIZES), value=64, label="Hidden size")
                embedding = gr.Dropdown(
                    list(HIDDEN_SIZES), value=32, label="Embedding size"
                )
                vocabulary = gr.Dropdown(
                    list(VOCABULARY_SIZES), value=1000, label="Vocabulary size"
                )
            with gr.Row():
                start = gr.Button("Train", variant="primary", elem_id="train-button")
                stop = gr.Button("Cancel", variant="stop")
            progress = gr.Markdown(elem_id="train-progress")
    start.click(
        handlers.train,
        inputs=[
            task, data_source, upload, columns, mode, base, model_name, epochs,
            attention, hidden, embedding, vocabulary,
        ],
        outputs=[progress, *dropdowns, base],
        api_name="train",
        show_progress="minimal",
        concurrency_limit=2,  # a second request is told a run is going
    )  # fmt: skip
    stop.click(handlers.cancel_training, outputs=[progress], api_name="cancel_training")
    task.change(
        handlers.train_task_changed,
        inputs=[task],
        outputs=[base, sample_note],
        api_name="train_task_changed",
    )
    return task, base, progress
