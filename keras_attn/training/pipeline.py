"""`train`: the whole training pipeline, from a data file to the best model."""

import dataclasses
import os
import sys

from keras_attn import tasks
from keras_attn.training import _distribution
from keras_attn.training.training_config import ARCHITECTURE_OPTIONS
from keras_attn.training.training_config import DEFAULTS
from keras_attn.training.training_config import RUN_FIELDS
from keras_attn.training.training_config import TrainingConfig

VERBOSE_MODES = ("auto", 0, 1, 2)
# Held-out validation when no file is given: 2% of the pairs, at most this
# many, at least MIN_HELD_OUT, and never more than a fifth of the pairs.
MAX_HELD_OUT = 2000
MIN_HELD_OUT = 100


def held_out_count(pairs):
    """How many of `pairs` shuffled training pairs are held out for
    validation when no validation file is given.

    2% of them, at most 2,000, but at least 100, and never more than a
    fifth, so that small data keeps four fifths for training (and data of
    fewer than 5 pairs holds none out).

    Example:
    >>> [held_out_count(n) for n in (4, 60, 300, 1_000, 20_000, 500_000)]
    [0, 12, 60, 100, 400, 2000]
    """
    return min(max(MIN_HELD_OUT, min(MAX_HELD_OUT, pairs // 50)), pairs // 5)


def train(
    task,
    data,
    out,
    *,
    valid=None,
    epochs=None,
    resume=False,
    base=None,
    overwrite=False,
    distribute=False,
    callbacks=None,
    verbose="auto",
    report=None,
    **options,
):
    """Trains, fine-tunes or resumes a model on a data file.

    The pipeline: read the pairs with the task's loader; shuffle them (seed
    `seed`) and keep `max_examples`; hold out validation pairs when no
    `valid` file is given (see `held_out_count`: 2% of the pairs, at most
    2,000, at least 100, at most a fifth); train a WordPiece tokenizer on
    the training pairs; build the model from the options, or load `base`
    to fine-tune it (its tokenizer and architecture are kept); start a new
    model's output bias at the target token frequencies; compile (Adam,
    gradient norm clipped at 1); fit on length-bucketed batches
    (`text_dataset`). After every epoch the first `valid_samples`
    validation pairs (`valid_pairs` in the logs and progress records) are
    decoded greedily and scored with the task's first metric; the best
    epoch is saved as a preset in `out`, and the last one with its
    optimizer state in `out/training/` (see `TrainingRun`), so that
    `resume=True` continues where the run stopped, to `epochs` (which may
    be more than it was started with).

    Data larger than memory is streamed (`StreamingCorpus`): several files
    (a glob pattern or a list of shards), or one TSV, CSV or JSON lines
    file over 256 MiB (`streaming_corpus.streams` is the rule). One pass
    over the files counts the pairs, applies `on_error` (a bad row raises
    before training, naming its file and line, or is skipped and counted
    in the report) and keeps a sample of at most 100,000 pairs for the
    tokenizer and the output bias; the validation pairs (without `valid`)
    are the first `held_out_count` pairs of the first file, not shuffled
    ones; `max_examples` takes the first pairs of the files, in order.
    Training then reads the files line by line with tf.data, shuffling in
    a buffer of `shuffle_buffer` pairs.

    Args:
        task: a `keras_attn.tasks` name or a `keras_attn.tasks.Task`; with
            `resume`, None takes the recorded one.
        data: str or path-like, the training file (TSV, CSV, JSON lines,
            Anki zip, DailyDialog text or zip), a glob pattern of TSV, CSV
            or JSON lines files (`"corpus/train-*.tsv"`), or a list of
            them; with `resume`, None takes the recorded one.
        out: str or path-like, the run directory.
        valid: optional validation file, read like `data`.
        epochs: int, the epochs of the whole run (default 10; on resume the
            recorded number).
        resume: bool, continue the run recorded in `out`. Options given
            with it must equal the recorded ones (except `epochs`).
        base: a preset directory to fine-tune. Architecture and tokenizer
            options given with it must equal the base model's; the lengths
            may change.
        overwrite: bool, replace `out` when it holds a run or preset that
            keras-attn wrote; any other directory is refused
            (`FileExistsError` naming it) and left untouched.
        distribute: bool, train data-parallel on every device the backend
            sees: on JAX, `keras.distribution.DataParallel` over
            `jax.devices()`, of every process when the launcher has called
            `keras.distribution.initialize`; on TensorFlow,
            `tf.distribute.MirroredStrategy` over one machine's GPUs (else
            its logical CPUs). Not on PyTorch, nor on TensorFlow with a
            `TF_CONFIG` of several workers (Keras 3.15's fit fails under
            `MultiWorkerMirroredStrategy`): a `ValueError` says so before
            any data is read. `batch_size` stays the global batch and must
            be a multiple of the replicas; the learning rate is not
            changed; each bucket's last batch is cut to a multiple of the
            replicas (with several processes, only whole batches are
            kept). One process (JAX's process 0) writes the run and scores
            the validation pairs. A resumed run may change it.
        callbacks: Keras callbacks added to `fit`. A `ProgressLog` among
            them gets the steps per epoch, the epochs and `valid_pairs`.
        verbose: `"auto"` (a progress bar on a terminal, else one line an
            epoch), 0, 1 or 2, as `keras.Model.fit`; 0 prints nothing.
        report: callable taking the run's own lines of text (the data
            summary, each epoch's scores); default `print`, or nothing when
            `verbose=0`.
        **options: the data, model and fitting options of
            `TrainingConfig` (`source`, `target`, `hidden_dim`,
            `learning_rate`, ...), each checked: a bad value is a
            `ValueError` naming the option and the value received.

    Returns:
        The best `keras_attn.models.AttentionSeq2SeqLM`, loaded from `out`
        (compiled for greedy decoding) on one device; None in the processes
        of a multi-process run that do not write it.

    Raises:
        ValueError: a bad option or option combination.
        FileNotFoundError: a missing data file or base model, a pattern
            that matches no file (named), or nothing to resume in `out`.
        FileExistsError: `out` exists (see `overwrite`) or is a file.
        keras_attn.data.DataFormatError: a malformed data file.
        KeyboardInterrupt: training was interrupted; the finished epochs
            are saved and `resume=True` continues.

    Example:
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "train.tsv"), "w") as file:
    ...     _ = file.write("".join(f"w{i} w{i + 1}\\tv{i + 1} v{i}\\n"
    ...                            for i in range(40)))
    >>> lm = keras_attn.training.train(
    ...     "translation", os.path.join(folder, "train.tsv"),
    ...     os.path.join(folder, "model"), epochs=1, hidden_dim=16,
    ...     embedding_dim=16, vocabulary_size=100, verbose=0)
    >>> isinstance(lm.generate("w3 w4"), str)
    True
    """
    if verbose not in VERBOSE_MODES or isinstance(verbose, bool):
        raise ValueError(
            f"verbose must be one of {VERBOSE_MODES}. Received: verbose={verbose!r}"
        )
    callbacks = _check_callbacks(callbacks)
    if report is not None and not callable(report):
        raise ValueError(
            f"report must be callable or None. Received: report={report!r}"
        )
    if report is None and verbose != 0:
        report = print
    known = {field.name for field in dataclasses.fields(TrainingConfig)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(
            f"Unknown training options {unknown}. The options are "
            f"{sorted(known - {'task', 'data', 'out', *RUN_FIELDS})}."
        )
    task_object = task if isinstance(task, tasks.Task) else None
    if task is not None and task_object is None and not isinstance(task, str):
        raise ValueError(
            "task must be a task name or a keras_attn.tasks.Task. "
            f"Received: task={task!r}"
        )
    config = TrainingConfig(
        task=task_object.name if task_object else task,
        data=_path(data),
        out=_path(out),
        valid=_path(valid),
        epochs=epochs,
        resume=resume,
        base=_path(base),
        overwrite=overwrite,
        distribute=distribute,
        **options,
    )
    if config.task is None and not config.resume:
        raise ValueError("task is required for a new run. Received: task=None")
    if config.distribute:
        _distribution.check_supported()  # before any data is read
    trainer = _Trainer(config, task_object, callbacks, verbose, report)
    return trainer.run()


class _Trainer:
    """One call of `train`: the steps in order, sharing their results."""

    def __init__(self, config, task_object, callbacks, verbose, report):
        self.config = config
        self.task_object = task_object
        self.callbacks = callbacks
        self.verbose = verbose
        self.report = report or (lambda line: None)

    def run(self):
        import keras

        from keras_attn.models import AttentionSeq2SeqLM
        from keras_attn.training.training_run import TrainingRun

        config = self.config
        placement = self.placement = _distribution.placement(config.distribute)
        if config.resume:
            run = TrainingRun(config.out, resume=True)
            config = _resumed(config, run.options)
            self.task = self._task(config.task)
            if run.state["epochs_done"] >= config.epochs:
                epochs = config.epochs
                self.report(f"{config.out}: all {epochs} epochs are done already.")
                return AttentionSeq2SeqLM.from_preset(config.out)
        else:
            self.task = self._task(config.task)
            _check_new_run_paths(config)
            # Only the chief writes; the other processes keep no run.
            run = None
            if placement.chief:
                run = TrainingRun(config.out, overwrite=config.overwrite)
        _check_batch_size(_value(config, "batch_size"), placement.replicas)
        keras.utils.set_random_seed(_value(config, "seed"))
        split = self._read_data(config)
        with placement.scope():  # the model's variables go on every replica
            lm, settings = self._model(config, run, split)
            lm.compile(
                optimizer=keras.optimizers.Adam(
                    settings["learning_rate"], clipnorm=1.0
                ),
                sampler="greedy",
                label_smoothing=settings["label_smoothing"],
            )
            if config.resume:
                run.restore_optimizer(lm)
            if placement.chief:
                run.start(settings)
            self._fit(lm, run, settings, split)
        if not placement.chief:
            return None
        # Loaded outside the distribution: on one device.
        return AttentionSeq2SeqLM.from_preset(config.out, dtype=settings["dtype"])

    # === Steps ===
    def _task(self, name):
        if self.task_object is not None:
            if name != self.task_object.name:
                raise ValueError(
                    f"The run in {self.config.out!r} was trained for task "
                    f"{name!r}. Received: task={self.task_object.name!r}"
                )
            return self.task_object
        return tasks.get(name)

    def _load(self, config, path):
        return self.task.load(
            path,
            source=config.source,
            target=config.target,
            format=config.format,
            reverse=_value(config, "reverse"),
            history=_value(config, "history"),
            on_error=_value(config, "on_error"),
        )

    def _read_data(self, config):
        import numpy as np

        from keras_attn.training import streaming_corpus

        files = streaming_corpus.data_files(config.data)
        if streaming_corpus.streams(files, self.task, config.format):
            return self._stream_data(config, files)
        pairs = self._load(config, files[0])
        sources, targets = list(pairs.sources), list(pairs.targets)
        order = np.random.default_rng(_value(config, "seed")).permutation(len(sources))
        if config.max_examples:
            order = order[: config.max_examples]
        sources = [sources[i] for i in order]
        targets = [targets[i] for i in order]
        if config.valid:
            valid = self._load(config, config.valid)
            valid_sources, valid_targets = list(valid.sources), list(valid.targets)
        else:
            held = held_out_count(len(sources))
            cut = len(sources) - held
            valid_sources, valid_targets = sources[cut:], targets[cut:]
            sources, targets = sources[:cut], targets[:cut]
        if not sources:
            raise ValueError(
                f"{config.data!r} holds too few pairs to train on: {len(pairs)} "
                "pair(s), of which none is left once validation pairs are held out."
            )
        return self._split(config, sources, targets, valid_sources, valid_targets)

    def _stream_data(self, config, files):
        from keras_attn.training.streaming_corpus import StreamingCorpus

        corpus = StreamingCorpus(
            files,
            self.task,
            source=config.source,
            target=config.target,
            format=config.format,
            reverse=_value(config, "reverse"),
            on_error=_value(config, "on_error"),
            max_examples=config.max_examples,
            hold_out=not config.valid,
            seed=_value(config, "seed"),
        )
        self.report(f"{self.task.name}: {corpus.summary()}")
        valid_sources, valid_targets = corpus.valid_sources, corpus.valid_targets
        if config.valid:
            valid = self._load(config, config.valid)
            valid_sources, valid_targets = list(valid.sources), list(valid.targets)
        if not corpus.train_pairs:
            raise ValueError(
                f"{config.data!r} holds too few pairs to train on: {corpus.pairs} "
                "pair(s), of which none is left once validation pairs are held out."
            )
        return self._split(
            config,
            corpus.sample_sources,
            corpus.sample_targets,
            valid_sources,
            valid_targets,
            corpus,
        )

    def _split(
        self, config, sources, targets, valid_sources, valid_targets, corpus=None
    ):
        """The data of the run, reported: training pairs (or a sample of a
        streamed `corpus`) and validation pairs."""
        valid_pairs = min(_value(config, "valid_samples"), len(valid_sources))
        metric = self.task.metrics[0]
        scored = f", {valid_pairs:,} of them scored with {metric} after each epoch"
        train_pairs = corpus.train_pairs if corpus else len(sources)
        replicas = self.placement.replicas
        batch_size = _value(config, "batch_size")
        parallel = (
            f"; data-parallel over {replicas} replicas, {batch_size // replicas} "
            f"pairs each of a batch of {batch_size}"
        )
        self.report(
            f"{self.task.name}: {train_pairs:,} training pairs, "
            f"{len(valid_sources):,} validation pairs{scored if valid_pairs else ''}"
            f"{parallel if replicas > 1 else ''}"
        )
        return {
            "train_sources": sources,
            "train_targets": targets,
            "valid_sources": valid_sources,
            "valid_targets": valid_targets,
            "valid_pairs": valid_pairs,
            "corpus": corpus,
        }

    def _model(self, config, run, split):
        """The model to train and the run's full settings (for options.json)."""
        from keras_attn.models import AttentionSeq2SeqLM

        settings = _settings(config)
        if config.resume:
            lm = AttentionSeq2SeqLM.from_preset(
                run.last_checkpoint, dtype=settings["dtype"]
            )
            return lm, settings
        if config.base:
            # Keeps its tokenizer; trains in the run's dtype policy.
            lm = AttentionSeq2SeqLM.from_preset(config.base, dtype=settings["dtype"])
            settings.update(_check_base(config, lm))
            preprocessor = lm.preprocessor
            lengths = (settings["source_length"], settings["target_length"])
            if lengths != (
                preprocessor.encoder_sequence_length,
                preprocessor.decoder_sequence_length,
            ):
                preprocessor.encoder_sequence_length = lengths[0]
                preprocessor.decoder_sequence_length = lengths[1]
                preprocessor.built = False  # its packers are made for the lengths
            return lm, settings
        for name in ARCHITECTURE_OPTIONS:
            if settings.get(name) is None and name in DEFAULTS:
                settings[name] = DEFAULTS[name]
        for name in ("source_length", "target_length"):
            if settings[name] is None:
                settings[name] = getattr(self.task, name)
        lm = _build_model(settings, split["train_sources"], split["train_targets"])
        lm.initialize_output_bias(split["train_targets"])
        return lm, settings

    def _fit(self, lm, run, settings, split):
        from keras_attn import metrics
        from keras_attn.training.epoch_checkpoint import EpochCheckpoint
        from keras_attn.training.progress_log import ProgressLog
        from keras_attn.training.text_dataset import text_dataset

        epochs = settings["epochs"]
        done = run.state["epochs_done"] if run is not None else 0
        valid_sources, valid_targets = split["valid_sources"], split["valid_targets"]
        valid_pairs = split["valid_pairs"]
        metric = self.task.metrics[0]
        placement = self.placement
        replicas = placement.replicas
        # Every batch splits evenly over the replicas (JAX needs it; with
        # several processes, Keras splits only full batches over them).
        even = {"multiple": replicas, "drop_remainder": placement.processes > 1}

        def score():
            with placement.decoding():
                outputs = lm.generate(valid_sources[:valid_pairs])
            references = [[t] for t in valid_targets[:valid_pairs]]
            scores = metrics.compute_metrics(outputs, references, [metric])
            return metric, scores[metric]

        batch_size = settings["batch_size"]
        corpus = split["corpus"]
        if corpus is None:
            dataset = text_dataset(
                split["train_sources"],
                split["train_targets"],
                batch_size,
                shuffle_seed=settings["seed"],
                **even,
            )
        else:
            dataset = corpus.dataset(
                batch_size, settings["shuffle_buffer"], seed=settings["seed"], **even
            )
        if not len(dataset):
            raise ValueError(
                f"The training pairs make no batch of batch_size={batch_size} "
                f"split evenly over {replicas} replicas in {placement.processes} "
                "processes: use a smaller batch_size or more data."
            )
        for callback in self.callbacks:
            if isinstance(callback, ProgressLog):
                if callback.steps_per_epoch is None:
                    callback.steps_per_epoch = len(dataset)
                if callback.total_epochs is None:
                    callback.total_epochs = epochs
                if callback.valid_pairs is None:
                    callback.valid_pairs = valid_pairs
                if callback.replicas is None:
                    callback.replicas = replicas
        checkpoint = EpochCheckpoint(
            run if placement.chief else None,
            score_fn=score if valid_pairs and placement.decodes else None,
            report=self.report,
            total_epochs=epochs,
            valid_pairs=valid_pairs,
        )
        verbose = self.verbose
        if verbose == "auto":
            verbose = 1 if sys.stdout.isatty() else 2
        validation = None
        if valid_sources:
            validation = text_dataset(valid_sources, valid_targets, batch_size, **even)
            if not len(validation):  # too few pairs to split evenly
                validation = None
        with placement.fitting(lm, batch_size):
            lm.fit(
                dataset,
                validation_data=validation,
                epochs=epochs,
                initial_epoch=done,
                callbacks=[checkpoint, *self.callbacks],
                verbose=verbose,
                shuffle=False,  # the dataset reshuffles every epoch
            )


# === Options ===
def _path(value):
    if value is None or isinstance(value, list | tuple):
        return value  # a list of shards: TrainingConfig checks them
    return os.fspath(value)


def _value(config, name):
    """An option's value, or its default when it is None."""
    value = getattr(config, name)
    return DEFAULTS.get(name) if value is None else value


def _settings(config):
    """The run's options as recorded in options.json: every option, the
    defaults filled in (the model's are filled in by `_model`)."""
    settings = config.to_dict()
    for name in RUN_FIELDS:
        settings.pop(name)
    for name in ("data", "valid", "base"):
        if settings[name] is not None:
            settings[name] = _absolute(settings[name])
    for name, value in DEFAULTS.items():
        if settings[name] is None and name not in ARCHITECTURE_OPTIONS:
            settings[name] = value
    return settings


def _absolute(paths):
    """A path, or each path of a list, made absolute."""
    if isinstance(paths, list):
        return [os.path.abspath(path) for path in paths]
    return os.path.abspath(paths)


def _same(name, given, recorded):
    if name in ("data", "valid", "base") and given is not None and recorded:
        return _absolute(given) == _absolute(recorded)
    if name in ("source", "target"):
        from keras_attn.tasks.task import as_column

        return as_column(given) == as_column(recorded)
    return given == recorded


def _resumed(config, recorded):
    """The configuration of a resumed run: the recorded options, with more
    epochs if asked; any other option given must equal the recorded one."""
    recorded = TrainingConfig.from_dict(
        {**recorded, "out": config.out, "resume": True, "distribute": config.distribute}
    ).to_dict()
    given = config.given()
    given.update(task=config.task, data=config.data)
    conflicts = [
        f"{name}={value!r} (the run has {recorded.get(name)!r})"
        for name, value in given.items()
        if value is not None
        and name != "epochs"
        and not _same(name, value, recorded.get(name))
    ]
    if conflicts:
        raise ValueError(
            f"resume continues the run in {config.out!r} with the options it was "
            "started with; only epochs may change. Received: " + ", ".join(conflicts)
        )
    recorded["epochs"] = config.epochs or recorded.get("epochs") or DEFAULTS["epochs"]
    return TrainingConfig(**recorded)


def _check_batch_size(batch_size, replicas):
    if batch_size % replicas:
        raise ValueError(
            f"batch_size is the global batch, split evenly over the {replicas} "
            f"replicas of a data-parallel run: it must be a multiple of {replicas}. "
            f"Received: batch_size={batch_size}"
        )


def _check_new_run_paths(config):
    from keras_attn.data._reading import check_file
    from keras_attn.models.attention_seq2seq_lm import check_preset_directory
    from keras_attn.training.streaming_corpus import data_files

    data_files(config.data)
    if config.valid:
        check_file(config.valid)
    if config.base:
        check_preset_directory(config.base)
        out, base = os.path.abspath(config.out), os.path.abspath(config.base)
        if base == out or base.startswith(out + os.sep):
            raise ValueError(
                "base must not be inside out: the run would replace the model it "
                f"fine-tunes. Received: base={config.base!r}, out={config.out!r}"
            )


def _base_options(lm):
    """The architecture and tokenizer options of a loaded model."""
    backbone = lm.backbone
    return {
        "attention": backbone.attention or "none",
        "attention_order": backbone.attention_order,
        "input_feeding": backbone.input_feeding,
        "pointer_generator": backbone.pointer_generator,
        "cell": backbone.cell,
        "embedding_dim": backbone.embedding_dim,
        "hidden_dim": backbone.hidden_dim,
        "encoder_layers": backbone.num_encoder_layers,
        "dropout": backbone.dropout,
        "vocabulary_size": lm.preprocessor.tokenizer.vocabulary_size(),
        "lowercase": bool(getattr(lm.preprocessor.tokenizer, "lowercase", False)),
        "source_length": lm.preprocessor.encoder_sequence_length,
        "target_length": lm.preprocessor.decoder_sequence_length,
    }


def _check_base(config, lm):
    """The base model's options; those given must be the same."""
    options = _base_options(lm)
    conflicts = [
        f"{name}={getattr(config, name)!r} (the base model has {options[name]!r})"
        for name in ARCHITECTURE_OPTIONS
        if getattr(config, name) is not None and getattr(config, name) != options[name]
    ]
    if conflicts:
        raise ValueError(
            f"A fine-tuned model keeps the architecture and tokenizer of its base "
            f"{config.base!r}; leave these options out. Received: "
            + ", ".join(conflicts)
        )
    for name in ("source_length", "target_length"):
        if getattr(config, name) is not None:
            options[name] = getattr(config, name)
    return options


def _build_model(settings, sources, targets):
    from keras_attn.models import AttentionSeq2SeqBackbone
    from keras_attn.models import AttentionSeq2SeqLM
    from keras_attn.models import AttentionSeq2SeqPreprocessor

    preprocessor = AttentionSeq2SeqPreprocessor.from_corpus(
        sources,
        targets,
        vocabulary_size=settings["vocabulary_size"],
        lowercase=settings["lowercase"],
        encoder_sequence_length=settings["source_length"],
        decoder_sequence_length=settings["target_length"],
    )
    attention = settings["attention"]
    backbone = AttentionSeq2SeqBackbone(
        vocabulary_size=preprocessor.tokenizer.vocabulary_size(),
        embedding_dim=settings["embedding_dim"],
        hidden_dim=settings["hidden_dim"],
        num_encoder_layers=settings["encoder_layers"],
        cell=settings["cell"],
        attention=attention,
        attention_order=settings["attention_order"] if attention != "none" else None,
        input_feeding=settings["input_feeding"],
        pointer_generator=settings["pointer_generator"],
        dropout=settings["dropout"],
        dtype=settings["dtype"],
    )
    # What the backbone chose for what was left to it (the attention order).
    settings["attention_order"] = backbone.attention_order
    return AttentionSeq2SeqLM(backbone, preprocessor)


def _check_callbacks(callbacks):
    import keras

    if callbacks is None:
        return []
    if isinstance(callbacks, keras.callbacks.Callback):
        callbacks = [callbacks]
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, keras.callbacks.Callback):
            raise ValueError(
                "callbacks must be keras.callbacks.Callback instances. "
                f"Received: {callback!r}"
            )
    return callbacks
