"""The `keras-attn` command line: train, evaluate, generate, export, info.

    keras-attn train --task translation --data train.tsv --source 1 --target 0 \\
        --valid dev.tsv --out saved_models/translation
    keras-attn train --resume --out saved_models/translation
    keras-attn evaluate saved_models/translation --data dev.tsv --json
    keras-attn generate saved_models/translation "¿Dónde está?" --beam 5 --plot a.png
    keras-attn export saved_models/translation --out served/translation

A bad argument exits with status 2 and one line saying what was wrong; so
does a bad file (missing, malformed row, existing output directory).
"""

import argparse
import importlib.metadata
import json
import os
import shutil
import sys

TASKS = ("translation", "summarization", "dialogue")
ATTENTIONS = ("bahdanau", "luong-dot", "luong-general", "luong-concat", "none")
# The column or field names each task reads by default.
TASK_COLUMNS = {
    "translation": ("0", "1"),
    "summarization": ("body", "subject"),
    "dialogue": ("0", "1"),
}
DEPENDENCIES = ("keras", "keras-hub", "tensorflow", "jax", "torch", "gradio")


class UsageError(Exception):
    """A user error: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


# === Data ===
def _column(value):
    return int(value) if value is not None and value.isdigit() else value


def load_task_data(task, path, args, references=None):
    """Reads (source, target) pairs of `task` from `path` as the options say."""
    from keras_attn import data

    if task == "dialogue" and (path.endswith(".zip") or "dialogues_" in path):
        return data.load_dailydialog(path, history=args.history, on_error=args.on_error)
    if task == "translation" and path.endswith(".zip"):
        return data.load_anki(path, reverse=args.reverse, on_error=args.on_error)
    default_source, default_target = TASK_COLUMNS[task]
    pairs = data.load_pairs(
        path,
        source=_column(args.source or default_source),
        target=_column(args.target or default_target),
        format=args.format,
        on_error=args.on_error,
        references=references,
    )
    if args.reverse:
        pairs.sources, pairs.targets = pairs.targets, pairs.sources
    return pairs


def _records_dir(model_dir):
    """Where a model's training records are: `MODEL/training`, or for a
    run's last epoch (`RUN/training/last`) the run's `training/`."""
    state_dir = os.path.join(model_dir, "training")
    parent = os.path.dirname(os.path.abspath(model_dir))
    if not os.path.isdir(state_dir) and os.path.basename(parent) == "training":
        return parent
    return state_dir


def _task_of(model_dir, given):
    if given:
        return given
    path = os.path.join(_records_dir(model_dir), "options.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as file:
            return json.load(file)["task"]
    return "translation"


def _load_model(model_dir):
    from keras_attn.models import AttentionSeq2SeqLM

    if not os.path.isdir(model_dir):
        raise UsageError(f"no model directory at {model_dir!r}")
    lm = AttentionSeq2SeqLM.from_preset(model_dir)
    lm.compile(sampler="greedy")
    return lm


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


def _train_options(args):
    if args.resume:
        return None
    missing = [n for n in ("task", "data") if getattr(args, n) is None]
    if missing:
        raise UsageError(
            "keras-attn train: the following arguments are required: "
            + ", ".join(f"--{n}" for n in missing)
        )
    if args.pointer_generator and args.attention == "none":
        raise UsageError(
            "keras-attn train: --pointer-generator copies through the attention "
            "weights; it cannot be used with --attention none"
        )
    return {
        "task": args.task,
        "data": os.path.abspath(args.data),
        "valid": os.path.abspath(args.valid) if args.valid else None,
        "format": args.format,
        "source": args.source,
        "target": args.target,
        "reverse": args.reverse,
        "history": args.history,
        "on_error": args.on_error,
        "max_examples": args.max_examples,
        "from": os.path.abspath(args.from_dir) if args.from_dir else None,
        "attention": args.attention,
        "attention_order": args.attention_order,
        "input_feeding": not args.no_input_feeding,
        "pointer_generator": args.pointer_generator,
        "cell": args.cell,
        "embedding_dim": args.embedding_dim,
        "hidden_dim": args.hidden_dim,
        "encoder_layers": args.encoder_layers,
        "dropout": args.dropout,
        "vocabulary_size": args.vocabulary_size,
        "lowercase": args.lowercase,
        "source_length": args.source_length,
        "target_length": args.target_length,
        "batch_size": args.batch_size,
        "epochs": args.epochs or 10,
        "learning_rate": args.learning_rate,
        "label_smoothing": args.label_smoothing,
        "valid_samples": args.valid_samples,
        "seed": args.seed,
    }


def _build_model(options, sources, targets):
    from keras_attn.models import AttentionSeq2SeqBackbone
    from keras_attn.models import AttentionSeq2SeqLM
    from keras_attn.models import AttentionSeq2SeqPreprocessor

    if options["from"]:
        lm = AttentionSeq2SeqLM.from_preset(options["from"])  # keeps its tokenizer
        return lm
    preprocessor = AttentionSeq2SeqPreprocessor.from_corpus(
        sources,
        targets,
        vocabulary_size=options["vocabulary_size"],
        lowercase=options.get("lowercase", False),
        encoder_sequence_length=options["source_length"],
        decoder_sequence_length=options["target_length"],
    )
    attention = None if options["attention"] == "none" else options["attention"]
    backbone = AttentionSeq2SeqBackbone(
        vocabulary_size=preprocessor.tokenizer.vocabulary_size(),
        embedding_dim=options["embedding_dim"],
        hidden_dim=options["hidden_dim"],
        num_encoder_layers=options["encoder_layers"],
        cell=options["cell"],
        attention=attention,
        attention_order=options.get("attention_order") if attention else None,
        input_feeding=options.get("input_feeding", True),
        pointer_generator=options.get("pointer_generator", False),
        dropout=options["dropout"],
    )
    return AttentionSeq2SeqLM(backbone, preprocessor)


def _text_dataset(sources, targets, batch_size, shuffle_seed=None):
    """Batches of `{"encoder_text", "decoder_text"}`.

    With a seed, the pairs are shuffled every epoch and batched by length:
    pairs fall into ten buckets by word count (the deciles of this data) and
    each batch comes from one bucket, so the preprocessor's trimming leaves
    little padding. Without one (validation), the order is kept.
    """
    import numpy as np
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(
        {"encoder_text": list(sources), "decoder_text": list(targets)}
    )
    if shuffle_seed is None:
        return dataset.batch(batch_size).prefetch(2)
    dataset = dataset.shuffle(
        len(sources), seed=shuffle_seed, reshuffle_each_iteration=True
    )
    pairs = zip(sources, targets, strict=True)
    words = [len(s.split()) + len(t.split()) for s, t in pairs]
    boundaries = sorted(set(np.percentile(words, range(10, 100, 10)).astype(int) + 1))
    return dataset.bucket_by_sequence_length(
        lambda pair: (
            tf.size(tf.strings.split(pair["encoder_text"]))
            + tf.size(tf.strings.split(pair["decoder_text"]))
        ),
        bucket_boundaries=[int(b) for b in boundaries],
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
    ).prefetch(2)


def _train(args):
    import keras
    import numpy as np

    from keras_attn import metrics
    from keras_attn.training import EpochCheckpoint
    from keras_attn.training import ProgressLog
    from keras_attn.training import TrainingRun

    as_json = args.progress == "json"
    # With --progress json, stdout carries only JSON lines; words go to stderr.
    say = (lambda line: print(line, file=sys.stderr, flush=True)) if as_json else print
    options = _train_options(args)
    run = TrainingRun(args.out, overwrite=args.overwrite, resume=args.resume)
    if args.resume:
        options = run.options
        if args.epochs:
            options["epochs"] = args.epochs
    keras.utils.set_random_seed(options["seed"])
    data_args = argparse.Namespace(**options)
    train = load_task_data(options["task"], options["data"], data_args)
    sources, targets = list(train.sources), list(train.targets)
    rng = np.random.default_rng(options["seed"])
    order = rng.permutation(len(sources))
    if options["max_examples"]:
        order = order[: options["max_examples"]]
    sources = [sources[i] for i in order]
    targets = [targets[i] for i in order]
    if options["valid"]:
        valid = load_task_data(options["task"], options["valid"], data_args)
        valid_sources, valid_targets = list(valid.sources), list(valid.targets)
    else:  # hold out 2% (at most 2,000) of the shuffled training pairs
        held = max(1, min(2000, len(sources) // 50))
        valid_sources, valid_targets = sources[-held:], targets[-held:]
        sources, targets = sources[:-held], targets[:-held]
    say(
        f"{options['task']}: {len(sources):,} training pairs, "
        f"{len(valid_sources):,} validation pairs"
    )

    from keras_attn.models import AttentionSeq2SeqLM

    if args.resume:
        lm = AttentionSeq2SeqLM.from_preset(run.last_checkpoint)
    else:
        lm = _build_model(options, sources, targets)
        if not options["from"]:
            lm.initialize_output_bias(targets)
    lm.compile(
        optimizer=keras.optimizers.Adam(options["learning_rate"], clipnorm=1.0),
        sampler="greedy",
        label_smoothing=options.get("label_smoothing", 0.0),
    )
    if args.resume:
        run.restore_optimizer(lm)
    run.start(options)

    metric = metrics.TASK_METRICS[options["task"]][0]
    sample = min(options["valid_samples"], len(valid_sources))

    def score():
        outputs = lm.generate(
            valid_sources[:sample], max_length=options["target_length"]
        )
        references = [[t] for t in valid_targets[:sample]]
        return metric, metrics.compute_metrics(outputs, references, [metric])[metric]

    done = run.state["epochs_done"]
    if done >= options["epochs"]:
        say(f"{args.out}: all {options['epochs']} epochs are done already.")
        return 0
    batch_size = options["batch_size"]
    callbacks = [
        EpochCheckpoint(
            run,
            score_fn=score if sample else None,
            report=say,
            total_epochs=options["epochs"],
        )
    ]
    if as_json:
        callbacks.append(
            ProgressLog(
                steps_per_epoch=-(-len(sources) // batch_size),
                total_epochs=options["epochs"],
            )
        )
    try:
        lm.fit(
            _text_dataset(sources, targets, batch_size, shuffle_seed=options["seed"]),
            validation_data=_text_dataset(valid_sources, valid_targets, batch_size),
            epochs=options["epochs"],
            initial_epoch=done,
            callbacks=callbacks,
            verbose=0 if as_json else 1 if sys.stdout.isatty() else 2,
            shuffle=False,  # the dataset is shuffled above, every epoch
        )
    except KeyboardInterrupt:
        state = run.state
        if as_json:
            print(json.dumps({"event": "interrupted", **_summary(run, args.out)}))
        say(
            f"\ninterrupted: {state['epochs_done']} finished epoch(s) are saved in "
            f"{args.out}; continue with: keras-attn train --resume --out {args.out}"
        )
        return 130
    state = run.state
    if as_json:
        print(json.dumps({"event": "done", **_summary(run, args.out)}), flush=True)
    say(
        f"done: best {metric if sample else 'loss'} {state['best_score']:.4f} at epoch "
        f"{state['best_epoch']}; model in {args.out}"
    )
    return 0


def _summary(run, out):
    state = run.state
    return {
        "out": out,
        "epochs_done": state["epochs_done"],
        "best_epoch": state["best_epoch"],
        "best_score": state["best_score"],
    }


def _evaluate(args):
    from keras_attn import metrics

    task = _task_of(args.model, args.task)
    references = args.references.split(",") if args.references else None
    pairs = load_task_data(task, args.data, args, references=references)
    sources = list(pairs.sources)
    refs = pairs.all_references()
    if args.max_examples:
        sources, refs = sources[: args.max_examples], refs[: args.max_examples]
    lm = _load_model(args.model)
    result = metrics.evaluate(
        lm,
        sources,
        refs,
        metrics=metrics.TASK_METRICS[task],
        batch_size=args.batch_size,
        num_beams=args.beam,
        max_length=args.max_length,
    )
    report = {"task": task, "examples": len(sources), **result["metrics"]}
    if args.json:
        print(json.dumps(report))
    else:
        for name, value in result["metrics"].items():
            print(f"{name}: {value:.2f}")
    return 0


def _generate(args):
    lm = _load_model(args.model)
    outputs = lm.generate(
        list(args.texts), max_length=args.max_length, num_beams=args.beam
    )
    for output in outputs:
        print(output)
    if args.plot:
        from keras_attn.plotting import plot_alignment

        pairs = lm.alignment(list(args.texts), outputs)
        root, extension = os.path.splitext(args.plot)
        for i, pair in enumerate(pairs):
            path = args.plot if len(pairs) == 1 else f"{root}-{i + 1}{extension}"
            plot_alignment(pair, path, title=args.texts[i][:60])
            print(f"alignment heatmap: {path}", file=sys.stderr)
    return 0


def _export(args):
    import keras

    if args.format == "preset":
        from keras_attn.export import export_preset

        lm = _load_model(args.model)
        state_dir = _records_dir(args.model)
        options_path = os.path.join(state_dir, "options.json")
        if os.path.isfile(options_path):
            # Presets saved before the preprocessor kept its lengths load
            # with the defaults; the run's options hold the trained ones.
            with open(options_path, encoding="utf-8") as file:
                options = json.load(file)
            preprocessor = lm.preprocessor
            preprocessor.encoder_sequence_length = options["source_length"]
            preprocessor.decoder_sequence_length = options["target_length"]
        export_preset(lm, args.out, float16=args.float16, overwrite=args.overwrite)
        # The run's options and history say what the model is (its task)
        # and how it was trained; the checkpoints for resuming stay behind.
        for name in ("options.json", "state.json"):
            if os.path.isfile(os.path.join(state_dir, name)):
                os.makedirs(os.path.join(args.out, "training"), exist_ok=True)
                shutil.copyfile(
                    os.path.join(state_dir, name),
                    os.path.join(args.out, "training", name),
                )
        size = os.path.getsize(os.path.join(args.out, "model.weights.h5"))
        print(f"preset written to {args.out} (weights {size / 2**20:.1f} MiB)")
        return 0
    if args.float16:
        raise UsageError(
            "keras-attn export: error: --float16 applies to --format preset only"
        )
    from keras_attn.export import export_saved_model

    if keras.backend.backend() != "tensorflow":
        raise UsageError(
            "keras-attn export: error: exporting a SavedModel needs the TensorFlow "
            f"backend; this process runs {keras.backend.backend()!r}. Run it with "
            "KERAS_BACKEND=tensorflow."
        )
    lm = _load_model(args.model)
    export_saved_model(
        lm,
        args.out,
        max_length=args.max_length,
        num_beams=args.beam,
        overwrite=args.overwrite,
    )
    print(f"SavedModel written to {args.out} (serving_default: texts -> outputs)")
    return 0


def _demo(args):
    try:
        from demos.app import main as demo_main
    except ImportError as error:
        raise UsageError(
            f"keras-attn demo: error: the demo app is not importable ({error}); "
            "run it from a checkout of the repository: python -m demos.app"
        ) from error
    return demo_main(args.demo_args)


# === Parser ===
def positive_int(value):
    """argparse type: a positive integer, or a one-line error."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def _data_options(parser):
    group = parser.add_argument_group("data")
    group.add_argument(
        "--format", choices=("tsv", "csv", "jsonl"), help="default: from the extension"
    )
    group.add_argument(
        "--source", help="source column index (tsv) or name (csv, jsonl)"
    )
    group.add_argument("--target", help="target column index or name")
    group.add_argument(
        "--reverse",
        action="store_true",
        help="swap source and target (Anki: Spanish to English)",
    )
    group.add_argument(
        "--history",
        type=positive_int,
        default=1,
        help="dialogue: previous turns in the source",
    )
    group.add_argument(
        "--on-error", choices=("raise", "skip"), default="raise", help="malformed rows"
    )
    group.add_argument(
        "--max-examples", type=positive_int, help="use at most this many pairs"
    )


def build_parser():
    import keras_attn

    parser = _Parser(
        prog="keras-attn",
        description="Attention for RNN encoder-decoder models in Keras 3.",
    )
    parser.add_argument(
        "--version", action="version", version=f"keras-attn {keras_attn.__version__}"
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_Parser
    )

    info = commands.add_parser("info", help="print versions and the Keras backend")
    info.set_defaults(handler=_info)

    train = commands.add_parser(
        "train", help="train or fine-tune a model on a data file"
    )
    train.add_argument("--task", choices=TASKS)
    train.add_argument(
        "--data", help="training file (tsv, csv, jsonl, Anki zip, DailyDialog zip)"
    )
    train.add_argument("--valid", help="validation file (default: 2%% of --data)")
    train.add_argument("--out", required=True, help="model directory to write")
    train.add_argument(
        "--resume", action="store_true", help="continue the run in --out"
    )
    train.add_argument(
        "--overwrite", action="store_true", help="replace an existing --out"
    )
    train.add_argument(
        "--from", dest="from_dir", help="fine-tune this model (keeps its tokenizer)"
    )
    _data_options(train)
    model = train.add_argument_group("model")
    model.add_argument("--attention", choices=ATTENTIONS, default="bahdanau")
    model.add_argument(
        "--attention-order",
        choices=("bahdanau", "luong"),
        help="attend before (bahdanau) or after (luong) the RNN step; "
        "default: bahdanau for --attention bahdanau, else luong",
    )
    model.add_argument(
        "--no-input-feeding",
        action="store_true",
        help="luong order: do not feed the attentional output back (faster "
        "training: attention runs over all steps at once)",
    )
    model.add_argument(
        "--pointer-generator",
        action="store_true",
        help="let the decoder copy source tokens through its attention (See "
        "et al., 2017): names and rare words of the source reach the output",
    )
    model.add_argument("--cell", choices=("gru", "lstm"), default="gru")
    model.add_argument("--embedding-dim", type=positive_int, default=256)
    model.add_argument("--hidden-dim", type=positive_int, default=512)
    model.add_argument("--encoder-layers", type=positive_int, default=1)
    model.add_argument("--dropout", type=float, default=0.2)
    model.add_argument("--vocabulary-size", type=positive_int, default=8000)
    model.add_argument(
        "--lowercase",
        action="store_true",
        help="lowercase texts before tokenizing (outputs are lowercase)",
    )
    model.add_argument("--source-length", type=positive_int, default=40, help="tokens")
    model.add_argument("--target-length", type=positive_int, default=40, help="tokens")
    fitting = train.add_argument_group("training")
    fitting.add_argument("--batch-size", type=positive_int, default=64)
    fitting.add_argument("--epochs", type=positive_int, help="default 10")
    fitting.add_argument("--learning-rate", type=float, default=1e-3)
    fitting.add_argument("--label-smoothing", type=float, default=0.0)
    fitting.add_argument(
        "--valid-samples", type=int, default=200, help="pairs scored each epoch"
    )
    fitting.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--progress",
        choices=("text", "json"),
        default="text",
        help="json: one JSON object per line on stdout (steps, epochs, done), "
        "the rest on stderr",
    )
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("evaluate", help="the task's metrics on a data file")
    evaluate.add_argument("model", help="model directory")
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument(
        "--task", choices=TASKS, help="default: from the model's training run"
    )
    evaluate.add_argument(
        "--references", help="extra reference fields, e.g. ann0,ann1,ann2"
    )
    evaluate.add_argument(
        "--beam", type=positive_int, help="beam size (default: greedy)"
    )
    evaluate.add_argument("--max-length", type=positive_int)
    evaluate.add_argument("--batch-size", type=positive_int, default=64)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    _data_options(evaluate)
    evaluate.set_defaults(handler=_evaluate)

    generate = commands.add_parser(
        "generate", help="outputs for texts, optionally a heatmap"
    )
    generate.add_argument("model", help="model directory")
    generate.add_argument("texts", nargs="+", metavar="TEXT")
    generate.add_argument(
        "--beam", type=positive_int, help="beam size (default: greedy)"
    )
    generate.add_argument("--max-length", type=positive_int)
    generate.add_argument("--plot", help="write the alignment heatmap to this .png")
    generate.set_defaults(handler=_generate)

    export = commands.add_parser("export", help="a TensorFlow SavedModel for serving")
    export.add_argument("model", help="model directory")
    export.add_argument("--out", required=True)
    export.add_argument("--beam", type=positive_int)
    export.add_argument("--max-length", type=positive_int)
    export.add_argument(
        "--format",
        choices=("saved_model", "preset"),
        default="saved_model",
        help="saved_model: strings in, strings out (TensorFlow); preset: a "
        "model directory to ship (from_preset on any backend)",
    )
    export.add_argument(
        "--float16", action="store_true", help="preset: store weights as float16"
    )
    export.add_argument("--overwrite", action="store_true")
    export.set_defaults(handler=_export)

    demo = commands.add_parser(
        "demo",
        help="the Gradio app (options: see keras-attn demo --help)",
        add_help=False,
    )
    demo.add_argument("demo_args", nargs=argparse.REMAINDER)
    demo.set_defaults(handler=_demo)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv[:1] == ["demo"]:
            # The app parses its own options (argparse's REMAINDER would
            # refuse `demo --port 8000`).
            return _demo(argparse.Namespace(demo_args=argv[1:]))
        parser = build_parser()
        args = parser.parse_args(argv)
        if getattr(args, "handler", None) is None:
            parser.print_help()
            return 2
        return args.handler(args)
    except UsageError as error:
        print(error, file=sys.stderr)
        return 2
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        # Bad input files and arguments: one line, no traceback.
        command = sys.argv[1] if len(sys.argv) > 1 else ""
        print(
            f"keras-attn {command}: error: {error}".replace("  ", " "), file=sys.stderr
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
