"""The keras-attn Gradio demo: options, models directory, start-up.

    python -m demos.app                      # from a checkout
    keras-attn demo --port 8000 --models-dir saved_models
    keras-attn demo --host 0.0.0.0           # reachable from the network

Safe by default: it listens on 127.0.0.1 only, makes no public share link
unless `--share` is given, caps input length and upload size, checks the
type of uploads and the names of new models, and queues requests with a
concurrency limit. A request that fails shows its error in the page; the
app keeps serving. The page is in `layout.py`, what its events do in
`handlers.py`.
"""

import argparse
import atexit
import logging
import os
import signal
import sys
from pathlib import Path

PROG = "keras-attn demo"
MODELS_ENV = "KERAS_ATTN_MODELS"
PACKAGE_DIR = Path(__file__).resolve().parent


# === Where the models are ===
def checkout_root():
    """The repository this package runs from, or None when it is installed
    (as `keras_attn_demo`, outside a checkout)."""
    root = PACKAGE_DIR.parent
    is_checkout = (root / "pyproject.toml").is_file() and (root / "keras_attn").is_dir()
    return root if is_checkout else None


def default_models_dir(environ=None):
    """`$KERAS_ATTN_MODELS` when set; else the checkout's `saved_models/`
    (the shipped models) when the app runs from a checkout; else
    `./saved_models`."""
    environ = os.environ if environ is None else environ
    if environ.get(MODELS_ENV):
        return Path(environ[MODELS_ENV]).expanduser()
    root = checkout_root()
    return root / "saved_models" if root else Path("saved_models")


def _where(given):
    """How the models directory was chosen, for a message."""
    if given:
        return "--models-dir"
    if os.environ.get(MODELS_ENV):
        return f"${MODELS_ENV}"
    if checkout_root():
        return "the checkout's saved_models/"
    return "./saved_models, the default outside a checkout"


# === Command line ===
def positive_int(text):
    """An argparse type: an int above 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
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
        help="directory with translation/, summarization/, dialogue/ model "
        f"directories (default ${MODELS_ENV}, else the checkout's "
        "saved_models/ when run from one, else ./saved_models; now "
        f"{default_models_dir()})",
    )
    for name, default, what in (
        ("--max-input-chars", 1000, "longest input text accepted"),
        ("--max-upload-mb", 20, "largest training file accepted, in MB"),
        ("--concurrency", 2, "training and listing requests that run at once"),
        ("--queue-size", 256, "requests that may wait; more are refused"),
        ("--max-batch", 32, "concurrent requests decoded together in one batch"),
    ):
        parser.add_argument(
            name, type=positive_int, default=default, help=f"{what} (default {default})"
        )
    return parser


def main(argv=None):
    """Runs the app until interrupted; returns the exit status.

    The `keras_attn.demo` entry point: `keras-attn demo ARGS` calls
    `main(ARGS)`.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:  # `keras-attn demo -- --port 8000` passes "--" on
        argv = argv[1:]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, or a bad option (argparse said which)
        return 0 if stop.code is None else stop.code
    models_dir = args.models_dir or default_models_dir()
    if not models_dir.is_dir():
        print(
            f"{PROG}: error: no models directory at {models_dir.resolve()} "
            f"(from {_where(args.models_dir)}): pass --models-dir DIR or set "
            f"{MODELS_ENV} (an empty directory will do: the Train tab fills it)",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    from .layout import CSS  # gradio and keras: after the options
    from .layout import build_app

    demo, handlers = build_app(
        models_dir,
        max_input_chars=args.max_input_chars,
        max_upload_mb=args.max_upload_mb,
        concurrency=args.concurrency,
        queue_size=args.queue_size,
        max_batch=args.max_batch,
    )
    if not any(handlers.list_models().values()):
        print(
            f"{PROG}: no models in {models_dir.resolve()} yet (it looks for "
            f"<task>/<name>/config.json, task one of {', '.join(handlers.tasks)}); "
            "each tab says so, and the Train tab makes one",
            file=sys.stderr,
        )
    atexit.register(handlers.trainer.stop)
    # Ctrl-C and SIGTERM close the server, so the exit handlers run (they
    # stop a training run, which keeps its finished epochs).
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
        css=CSS,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
