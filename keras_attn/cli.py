"""The `keras-attn` command line: train, evaluate, generate, export, demo, info.

    keras-attn train --task translation --data train.tsv --source 1 --target 0 \\
        --valid dev.tsv --out saved_models/translation
    keras-attn train --resume --out saved_models/translation --epochs 20
    keras-attn evaluate saved_models/translation --data dev.tsv --json
    keras-attn generate saved_models/translation "¿Dónde está?" --beam 5 --plot a.png
    keras-attn export saved_models/translation --out served/translation

It parses arguments and prints; the library does the work. A user's mistake
(a bad argument, a missing or malformed file, an existing output, a model
directory that does not load) prints one line, `keras-attn COMMAND: error:
...`, and exits with status 2 (`--debug` adds the traceback); any other
error is a bug and shows its traceback.
"""

import argparse
import glob
import importlib.metadata
import json
import math
import os
import sys
import traceback

DEPENDENCIES = (
    "keras", "keras-hub", "tensorflow", "jax", "torch", "gradio", "matplotlib",
)  # fmt: skip
DEMO_GROUP = "keras_attn.demo"
DEMO_HINT = (
    'the demo app is not installed: pip install "keras-attn[demo]", or run '
    "python -m demos.app from a checkout of the repository"
)
PLOT_HINT = '--plot needs matplotlib: pip install "keras-attn[demo]" (or matplotlib)'


class UsageError(Exception):
    """A user's mistake found by the command line: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: error: {message}")


# === Argument types: a bad value is refused where it is parsed ===
def _bounded(kind, test, bound):
    def parse(value):
        try:
            number = kind(value)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and test(number)):
            what = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(
                f"must be {what} {bound}. Received: {value!r}"
            )
        return number

    return parse


positive_int = _bounded(int, lambda n: n > 0, "> 0")
non_negative_int = _bounded(int, lambda n: n >= 0, ">= 0")
positive_float = _bounded(float, lambda n: n > 0, "> 0")
fraction = _bounded(float, lambda n: 0 <= n < 1, "in [0, 1)")


def existing_file(value):
    """argparse type: a file that exists."""
    if os.path.isdir(value):
        raise argparse.ArgumentTypeError(
            f"expected a file, found a directory: {value!r}"
        )
    if not os.path.isfile(value):
        raise argparse.ArgumentTypeError(f"no such file: {value!r}")
    return value


def data_path(value):
    """argparse type: a file that exists, or a glob pattern (the library
    says when it matches nothing)."""
    return value if glob.has_magic(value) else existing_file(value)


def model_directory(value):
    """argparse type: a directory that exists."""
    if not os.path.isdir(value):
        found = "a file" if os.path.exists(value) else "nothing"
        raise argparse.ArgumentTypeError(
            f"expected a model directory, found {found} at {value!r}"
        )
    return value


def output_directory(value):
    """argparse type: a directory to write, not an existing file (whether a
    directory may be replaced is for --overwrite and the library)."""
    if os.path.lexists(value) and not os.path.isdir(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is an existing file; expected a directory to write"
        )
    return value


def output_file(value):
    """argparse type: a file to write, in a directory that exists."""
    parent = os.path.dirname(os.path.abspath(value))
    if os.path.isdir(value) or not os.path.isdir(parent):
        raise argparse.ArgumentTypeError(
            f"expected a file in an existing directory. Received: {value!r}"
        )
    return value


def column(value):
    """argparse type: a column index (digits) or a column or field name."""
    if not value.strip():
        raise argparse.ArgumentTypeError(
            "expected a column index or name. Received: ''"
        )
    return int(value) if value.strip().isdigit() else value


def columns(value):
    """argparse type: comma-separated columns, e.g. `ann0,ann1`."""
    return [column(part) for part in value.split(",")]


# === Shared steps ===
def _fail(args, message):
    raise UsageError(f"keras-attn {args.command}: error: {message}")


def _load_model(args, path):
    from keras_attn.models import AttentionSeq2SeqLM

    try:
        lm = AttentionSeq2SeqLM.from_preset(path)
    except (OSError, ValueError, KeyError) as error:
        # Only the user's directory is read here: what does not load (a
        # truncated weights file, a broken config) is that directory's fault.
        _fail(args, f"cannot load a model from {path!r}: {error}")
    lm.compile(sampler="greedy")
    return lm


def _read_pairs(args, task):
    from keras_attn.data import DataFormatError

    names = ("source", "target", "format", "reverse", "history", "on_error")
    given = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    try:
        return task.load(args.data, references=args.references, **given)
    except DataFormatError:
        raise
    except ValueError as error:
        # Options that do not fit the file: a CSV column its header lacks,
        # a named column of a TSV file, an extension no loader knows.
        _fail(args, str(error))


# === Commands ===
def _info(args):
    import keras

    import keras_attn

    print(f"keras-attn {keras_attn.__version__}")
    print(f"backend: {keras.backend.backend()}")
    for name in DEPENDENCIES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        print(f"{name}: {version}")
    return 0


def _train_config(args):
    """The run's `TrainingConfig`, from the arguments given."""
    from keras_attn import training
    from keras_attn.training.training_config import ARCHITECTURE_OPTIONS

    fields = training.TrainingConfig.__dataclass_fields__
    given = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    if len(given.get("data", ())) == 1:
        given["data"] = given["data"][0]  # one file or pattern, not a list
    if args.resume:
        run_flags = {"out", "epochs", "resume", "overwrite", "distribute"}
        extra = sorted(set(given) - run_flags)
        if extra or args.overwrite:
            _fail(
                args,
                "--resume continues the run in --out with its recorded options; "
                "only --epochs may be given (and --distribute: where it trains). "
                "Received: " + _flags(extra or ["overwrite"]),
            )
    else:
        missing = [name for name in ("task", "data") if name not in given]
        if missing:
            _fail(args, f"the following arguments are required: {_flags(missing)}")
    kept = [name for name in ARCHITECTURE_OPTIONS if name in given]
    if args.base and kept:
        _fail(
            args,
            "--from keeps the base model's architecture and tokenizer; leave out "
            + _flags(kept),
        )
    try:
        config = training.TrainingConfig(**{"task": None, "data": None, **given})
        if config.distribute:
            from keras_attn.training import _distribution

            _distribution.check_supported()  # PyTorch cannot
        return config
    except ValueError as error:  # a combination of options, checked when made
        _fail(args, str(error))


def _flags(names):
    return ", ".join(f"--{name.replace('_', '-')}" for name in names)


def _train(args):
    from keras_attn import training

    config = _train_config(args)
    as_json = args.progress == "json"
    # With --progress json, stdout carries only JSON lines; words go to stderr.
    out = sys.stderr if as_json else sys.stdout
    say = lambda line: print(line, file=out, flush=True)  # noqa: E731
    log = training.ProgressLog(stream=sys.stdout)
    try:
        lm = training.train(
            **config.as_kwargs(),
            callbacks=[log] if as_json else None,
            verbose=0 if as_json else "auto",
            report=say,
        )
    except KeyboardInterrupt:
        state = _run_state(args.out)
        if as_json:
            log.write({"event": "interrupted", "out": args.out, **state})
        say(
            f"\ninterrupted: {state['epochs_done']} finished epoch(s) are saved in "
            f"{args.out}; continue with: keras-attn train --resume --out {args.out}"
        )
        return 130
    if lm is None:  # a process of a multi-process run that does not write
        if as_json:
            log.write({"event": "done", "out": args.out, "writes": False})
        say(f"done: this process's part is over; the chief writes {args.out}")
        return 0
    state = _run_state(args.out)
    if as_json:
        log.write({"event": "done", "out": args.out, **state})
    say(
        f"done: the best model (epoch {state['best_epoch']}, score "
        f"{state['best_score']:.4f}) is in {args.out}"
    )
    return 0


def _run_state(out):
    from keras_attn.training import TrainingRun

    try:
        state = TrainingRun(out, resume=True).state
    except FileNotFoundError:  # stopped before its first epoch ended
        state = {"epochs_done": 0, "best_epoch": None, "best_score": None}
    return {key: state[key] for key in ("epochs_done", "best_epoch", "best_score")}


def _evaluate(args):
    from keras_attn import metrics
    from keras_attn import tasks
    from keras_attn.training import recorded_options

    try:
        name = args.task or (recorded_options(args.model) or {}).get("task")
        task = tasks.get(name) if name else None
    except ValueError as error:  # records that do not parse or name no task
        _fail(args, str(error))
    if task is None:
        _fail(
            args,
            f"{args.model!r} records no task (it was not trained with keras-attn "
            f"train); pass --task, one of: {', '.join(tasks.names())}",
        )
    pairs = _read_pairs(args, task)
    lm = _load_model(args, args.model)
    sources, references = list(pairs.sources), pairs.all_references()
    if args.max_examples:
        sources = sources[: args.max_examples]
        references = references[: args.max_examples]
    result = metrics.evaluate(
        lm,
        sources,
        references,
        metrics=task.metrics,
        batch_size=args.batch_size,
        num_beams=args.beam,
        max_length=args.max_length,
    )
    if args.json:
        print(json.dumps({"task": name, "examples": len(sources), **result["metrics"]}))
    else:
        for metric, value in result["metrics"].items():
            print(f"{metric}: {value:.2f}")
    return 0


def _generate(args):
    if args.plot:
        try:
            import matplotlib  # noqa: F401  (missing: say so before decoding)
        except ImportError:
            _fail(args, PLOT_HINT)
    lm = _load_model(args, args.model)
    if args.plot and lm.backbone.attention is None:
        _fail(args, f"{args.model!r} has no attention: --plot has nothing to draw")
    texts = list(args.texts)
    result = lm.generate(
        texts,
        max_length=args.max_length,
        num_beams=args.beam,
        return_alignment=bool(args.plot),
    )
    outputs, alignments = result if args.plot else (result, [])
    for output in outputs:
        print(output)
    if alignments:
        from keras_attn.plotting import plot_alignment

        root, extension = os.path.splitext(args.plot)
        for i, alignment in enumerate(alignments):
            path = args.plot if len(texts) == 1 else f"{root}-{i + 1}{extension}"
            plot_alignment(alignment, path, title=texts[i][:60])
            print(f"alignment heatmap: {path}", file=sys.stderr)
    return 0


def _export(args):
    import keras

    from keras_attn import export

    if args.format == "preset":
        lm = _load_model(args, args.model)
        export.export_preset(
            lm,
            args.out,
            float16=args.float16,
            overwrite=args.overwrite,
            training_records=args.model,  # the task and how it was trained
        )
        size = os.path.getsize(os.path.join(args.out, "model.weights.h5"))
        print(f"preset written to {args.out} (weights {size / 2**20:.1f} MiB)")
        return 0
    if args.float16:
        _fail(args, "--float16 applies to --format preset only")
    if keras.backend.backend() != "tensorflow":
        _fail(
            args,
            "exporting a SavedModel needs the TensorFlow backend; this process runs "
            f"{keras.backend.backend()!r}. Run it with KERAS_BACKEND=tensorflow.",
        )
    lm = _load_model(args, args.model)
    export.export_saved_model(
        lm,
        args.out,
        max_length=args.max_length,
        num_beams=args.beam,
        overwrite=args.overwrite,
    )
    print(f"SavedModel written to {args.out} (serving_default: texts -> outputs)")
    return 0


def _demo(argv):
    """Runs the app the demo extra registers (`keras_attn.demo`, `app`)."""
    entry_points = importlib.metadata.entry_points(group=DEMO_GROUP)
    found = [point for point in entry_points if point.name == "app"]
    if not found:
        raise UsageError(f"keras-attn demo: error: {DEMO_HINT}")
    return found[0].load()(argv)


# === Parser ===
def _data_arguments(parser):
    data = parser.add_argument_group("data")
    data.add_argument("--format", choices=("tsv", "csv", "jsonl"))
    data.add_argument("--source", type=column, help="column index or name")
    data.add_argument("--target", type=column, help="column index or name")
    data.add_argument("--reverse", action="store_true", default=None)
    data.add_argument("--history", type=positive_int, help="dialogue: turns")
    data.add_argument("--on-error", choices=("raise", "skip"), help="bad rows")
    data.add_argument("--max-examples", type=positive_int)
    return data


def _train_parser(commands, common):
    from keras_attn import tasks
    from keras_attn.models import ATTENTIONS
    from keras_attn.training.training_config import DEFAULTS
    from keras_attn.training.training_config import DTYPES

    train = commands.add_parser(
        "train",
        parents=[common],
        help="train or fine-tune a model on a data file",
        description="Options left out take keras_attn.training.TrainingConfig's "
        "defaults (lengths: the task's); with --from, the base model's.",
    )

    def adder(container):
        def add(flag, **kwargs):
            dest = kwargs.get("dest") or flag[2:].replace("-", "_")
            if dest in DEFAULTS and ("type" in kwargs or "choices" in kwargs):
                # The default lives in the library; help shows it.
                shown = f"default: {DEFAULTS[dest]}"
                kwargs["help"] = (
                    f"{kwargs['help']}; {shown}" if "help" in kwargs else shown
                )
            container.add_argument(flag, **kwargs)

        return add

    add = adder(train)
    add("--task", choices=tasks.names())
    add(
        "--data",
        type=data_path,
        nargs="+",
        help="tsv, csv, jsonl, Anki or DailyDialog; several files or a quoted "
        "glob of shards are streamed",
    )
    add("--valid", type=existing_file, help="validation file (default: held out)")
    add("--out", type=output_directory, required=True, help="run directory")
    add("--resume", action="store_true", help="continue the run in --out")
    add("--overwrite", action="store_true", help="replace a run keras-attn wrote")
    add("--from", dest="base", type=model_directory, help="a model to fine-tune")
    add(
        "--distribute",
        action="store_true",
        help="data-parallel over every device (JAX, TensorFlow)",
    )
    add("--epochs", type=positive_int, help="of the whole run")
    add(
        "--progress",
        choices=("text", "json"),
        default="text",
        help="json: records on stdout, words on stderr",
    )
    _data_arguments(train)
    add = adder(train.add_argument_group("model"))
    add("--attention", choices=ATTENTIONS)
    add(
        "--attention-order", choices=("bahdanau", "luong"), help="default: by attention"
    )
    add("--no-input-feeding", dest="input_feeding", action="store_false", default=None)
    add("--pointer-generator", action="store_true", default=None)
    add("--cell", choices=("gru", "lstm"))
    for name in ("embedding-dim", "hidden-dim", "encoder-layers", "vocabulary-size"):
        add(f"--{name}", type=positive_int)
    add("--dropout", type=fraction, help="in [0, 1)")
    add("--lowercase", action="store_true", default=None)
    add("--source-length", type=positive_int, help="tokens; default: the task's")
    add("--target-length", type=positive_int, help="tokens; default: the task's")
    add = adder(train.add_argument_group("fitting"))
    add("--batch-size", type=positive_int)
    add("--learning-rate", type=positive_float, help="> 0")
    add("--label-smoothing", type=fraction, help="in [0, 1)")
    add("--valid-samples", type=non_negative_int, help="pairs scored an epoch")
    add("--seed", type=non_negative_int)
    add("--shuffle-buffer", type=positive_int, help="streamed data: pairs mixed")
    add("--dtype", choices=DTYPES, help="mixed precision policy")
    train.set_defaults(handler=_train)


def build_parser():
    """The `keras-attn` argument parser."""
    import keras_attn
    from keras_attn import tasks

    debug = "print the traceback of an error reported in one line"
    # --debug goes before or after the command; SUPPRESS keeps a command's
    # parser from resetting a --debug given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help=debug
    )
    parser = _Parser(prog="keras-attn", description="Attention seq2seq in Keras 3.")
    parser.add_argument(
        "--version", action="version", version=f"keras-attn {keras_attn.__version__}"
    )
    parser.add_argument("--debug", action="store_true", help=debug)
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_Parser
    )
    commands.add_parser(
        "info", parents=[common], help="versions and the Keras backend"
    ).set_defaults(handler=_info)
    _train_parser(commands, common)

    evaluate = commands.add_parser(
        "evaluate", parents=[common], help="the task's metrics on a data file"
    )
    evaluate.add_argument("model", type=model_directory)
    evaluate.add_argument("--data", type=existing_file, required=True)
    evaluate.add_argument(
        "--task", choices=tasks.names(), help="default: the model's recorded task"
    )
    evaluate.add_argument("--references", type=columns, help="more, e.g. ann0,ann1")
    _data_arguments(evaluate)
    evaluate.add_argument("--beam", type=positive_int, help="default: greedy")
    evaluate.add_argument("--max-length", type=positive_int, help="output tokens")
    evaluate.add_argument("--batch-size", type=positive_int, default=64)
    evaluate.add_argument("--json", action="store_true", help="one JSON object")
    evaluate.set_defaults(handler=_evaluate)

    generate = commands.add_parser(
        "generate", parents=[common], help="outputs and alignment heatmaps"
    )
    generate.add_argument("model", type=model_directory)
    generate.add_argument("texts", nargs="+", metavar="TEXT")
    generate.add_argument("--beam", type=positive_int, help="default: greedy")
    generate.add_argument("--max-length", type=positive_int, help="output tokens")
    generate.add_argument(
        "--plot", type=output_file, help="heatmap file (several texts: NAME-1.png...)"
    )
    generate.set_defaults(handler=_generate)

    export = commands.add_parser(
        "export", parents=[common], help="a preset to ship, a SavedModel to serve"
    )
    export.add_argument("model", type=model_directory)
    export.add_argument("--out", type=output_directory, required=True)
    export.add_argument(
        "--format", choices=("saved_model", "preset"), default="saved_model"
    )
    export.add_argument("--float16", action="store_true", help="preset: half size")
    export.add_argument("--beam", type=positive_int, help="saved_model: beam size")
    export.add_argument("--max-length", type=positive_int, help="saved_model: tokens")
    export.add_argument("--overwrite", action="store_true", help="replace an export")
    export.set_defaults(handler=_export)
    # Listed for --help; main() hands what follows `demo` to the app.
    commands.add_parser("demo", help="the Gradio app (keras-attn demo --help)")
    return parser


def main(argv=None):
    """Runs `keras-attn` with `argv` (default `sys.argv[1:]`).

    Returns:
        The exit status: 0; 2 for a user's mistake; 130 when training is
        interrupted.
    """
    argv = sys.argv[1:] if argv is None else [os.fspath(arg) for arg in argv]
    debug, command = False, ""
    try:
        demo = argv.index("demo") if "demo" in argv[:2] else None
        if demo is not None and argv[:demo] in ([], ["--debug"]):
            # The app parses its own options (argparse would refuse them).
            return _demo(argv[demo + 1 :])
        parser = build_parser()
        args = parser.parse_args(argv)
        debug, command = args.debug, args.command
        if args.command in (None, "demo"):
            parser.print_help(sys.stderr)
            return 2
        return args.handler(args)
    except _user_errors() as error:
        if debug:
            traceback.print_exc()
        if not isinstance(error, UsageError):
            error = f"keras-attn {command}: error: {error}"
        print(" ".join(str(error).split()), file=sys.stderr)  # one line
        return 2


def _user_errors():
    """The exceptions that report a user's mistake: the command line's own,
    a malformed data file, and paths that are missing or in the way."""
    from keras_attn.data import DataFormatError

    return (
        UsageError,
        DataFormatError,
        FileNotFoundError,
        FileExistsError,
        IsADirectoryError,
        NotADirectoryError,
    )


if __name__ == "__main__":
    sys.exit(main())
