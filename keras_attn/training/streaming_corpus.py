"""`StreamingCorpus`: training pairs read from files too large to hold, as a
tf.data stream (TensorFlow's tf.data on every Keras backend)."""

import collections
import glob
import math
import os
import random

from keras_attn.data._reading import FIRST_LINES
from keras_attn.data._reading import RowErrors
from keras_attn.data._reading import check_file
from keras_attn.data._reading import read_lines
from keras_attn.data.errors import DataFormatError

# One file larger than this is streamed rather than read into memory.
STREAM_BYTES = 256 * 2**20
# The most training pairs kept in memory to train the tokenizer, set the
# length buckets and start the output bias.
SAMPLE_PAIRS = 100_000
# A pair's place in the corpus as one int64: shard * _LINES + line.
_LINES = 2**40
_LAST = 2**63 - 1
# Shards read at a time, their lines interleaved.
_CYCLE = 4
# Lines parsed together by the TSV stream's string ops.
_LINE_BATCH = 256
# Python's `str.strip()` whitespace (`str.isspace()`) in RE2's syntax:
# Unicode separators and the ASCII and C1 controls Python counts.
_SPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f\x{85}\p{Z}]"
_STRIP = f"^{_SPACE}+|{_SPACE}+$"


def data_files(data):
    """The files `data` names: a path, a glob pattern or a list of them.

    A pattern's files come sorted; a list keeps its order.

    Raises:
        FileNotFoundError: a missing file, or a pattern matching none (the
            message names it).
        IsADirectoryError: a directory where a file was expected.

    Example:
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> for name in ("train-2.tsv", "train-1.tsv"):
    ...     _ = open(os.path.join(folder, name), "w").write("a\\tb\\n")
    >>> files = data_files(os.path.join(folder, "train-*.tsv"))
    >>> [os.path.basename(path) for path in files]
    ['train-1.tsv', 'train-2.tsv']
    """
    names = [data] if isinstance(data, str | os.PathLike) else list(data)
    files = []
    for name in map(os.fspath, names):
        if glob.has_magic(name):
            found = sorted(glob.glob(name))
            if not found:
                raise FileNotFoundError(2, "No data file matches the pattern", name)
            files.extend(check_file(path) for path in found)
        else:
            files.append(check_file(name))
    return files


def streams(files, task=None, format=None):
    """Whether `keras_attn.training.train` streams `files`
    (`StreamingCorpus`) rather than reading them into memory.

    It does for several files, and for one file larger than `STREAM_BYTES`
    (256 MiB) unless it is in a task's own format (an Anki zip, DailyDialog
    text), which its reader reads whole.

    Example:
    >>> streams(["a.tsv", "b.tsv"])
    True
    """
    if len(files) > 1:
        return True
    return os.path.getsize(files[0]) > STREAM_BYTES and not _task_format(
        task, files[0], format
    )


class StreamingCorpus:
    """Source/target pairs of one or more files (shards), read line by line.

    Made in one pass over the files, in order, that holds only bounded
    parts of them: it counts the good pairs, applies `on_error` to bad
    rows with the loaders' rules and messages (a `DataFormatError` naming
    the file and line, or skipped and counted), keeps a random sample of
    at most `SAMPLE_PAIRS` training pairs (for the tokenizer, the length
    buckets and the output bias) and, with `hold_out`, the first pairs of
    the first shard(s) as validation pairs (`held_out_count` of them).
    `dataset()` then streams the other pairs with tf.data, never holding
    the corpus.

    The shards are TSV, CSV or JSON lines files of one format (from their
    extension, or `format`), read as `keras_attn.data.load_pairs` reads
    them: the same columns, the same bad rows, except that lines end at LF
    only (CR characters are dropped, as `tf.data.TextLineDataset` does).
    A task's own formats (Anki zip, DailyDialog) are not streamed.

    Args:
        files: list of str, the shard files (see `data_files`).
        task: the `keras_attn.tasks.Task`, for its default columns.
        source: the source column or field; default the task's.
        target: the target column or field; default the task's.
        format: `"tsv"`, `"csv"`, `"jsonl"` or None (from the extensions).
        reverse: bool, swap sources and targets.
        on_error: `"raise"` or `"skip"`, for bad rows.
        max_examples: int, use only the first this many good pairs, in
            file order (the rest is not read).
        hold_out: bool, hold out validation pairs: the first
            `held_out_count(pairs)` good pairs.
        seed: int, for the sample.

    Attributes:
        pairs: int, the good pairs read.
        train_pairs: int, those the stream yields (less the held out).
        valid_sources, valid_targets: lists of str, the held-out pairs.
        sample_sources, sample_targets: lists of str, a uniform random
            sample of the training pairs (all of them when they are at most
            `SAMPLE_PAIRS`).
        skipped: int, the bad rows skipped; `skipped_kinds` counts them by
            reason, `skipped_at` gives the first few as `"file:line"`.

    Raises:
        keras_attn.data.DataFormatError: a bad row (`on_error="raise"`),
            undecodable text, an empty file, or no usable pair at all.
        ValueError: shards of several formats, or in a task's own format.

    Example:
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> for shard in range(2):
    ...     with open(os.path.join(folder, f"train-{shard}.tsv"), "w") as file:
    ...         _ = file.write("".join(f"w{i} w{shard}\\tv{i}\\n" for i in range(30)))
    ...         _ = file.write("no tab here\\n")
    >>> corpus = keras_attn.training.StreamingCorpus(
    ...     data_files(os.path.join(folder, "train-*.tsv")),
    ...     keras_attn.tasks.get("translation"), on_error="skip", hold_out=True)
    >>> corpus.pairs, corpus.skipped, len(corpus.valid_sources), corpus.train_pairs
    (60, 2, 12, 48)
    >>> batch = next(iter(corpus.dataset(batch_size=4)))
    >>> sorted(batch), batch["encoder_text"].shape
    (['decoder_text', 'encoder_text'], TensorShape([4]))
    """

    def __init__(
        self,
        files,
        task,
        *,
        source=None,
        target=None,
        format=None,
        reverse=False,
        on_error="raise",
        max_examples=None,
        hold_out=False,
        seed=0,
    ):
        from keras_attn.data.pairs import file_format
        from keras_attn.tasks.task import as_column

        self.files = list(files)
        if not self.files:
            raise ValueError("files must name at least one file. Received: []")
        own = [path for path in self.files if _task_format(task, path, format)]
        if own:
            raise ValueError(
                f"{own[0]!r} is in the {task.name} task's own format (an Anki zip "
                "or DailyDialog file), which is read whole: train on one such file, "
                "or give the shards as TSV, CSV or JSON lines files."
            )
        formats = {path: file_format(path, format) for path in self.files}
        if len(set(formats.values())) > 1:
            found = ", ".join(f"{path!r} ({kind})" for path, kind in formats.items())
            raise ValueError(
                "The shards of a corpus must share one format; pass format= to "
                f"read them all as one. Received: {found}"
            )
        self.format = formats[self.files[0]]
        self.columns = [
            as_column(task.source_field if source is None else source),
            as_column(task.target_field if target is None else target),
        ]
        self.reverse = reverse
        self.on_error = on_error
        self._read(max_examples, hold_out, seed)

    # === The pass over the files ===
    def _read(self, max_examples, hold_out, seed):
        from keras_attn.data.pairs import read_rows
        from keras_attn.training.pipeline import MAX_HELD_OUT
        from keras_attn.training.pipeline import held_out_count

        sample = _Reservoir(SAMPLE_PAIRS, seed)
        first = []  # the first pairs, which validation may hold out
        lengths = collections.Counter()  # pairs by word count: the batches
        count, last_key = 0, _LAST
        self.skipped, self.skipped_kinds, self.skipped_at = 0, {}, []
        for shard, path in enumerate(self.files):
            rows = RowErrors(path, self.on_error)
            found = 0
            for line, values in read_rows(
                read_lines(path), self.format, self.columns, path, rows
            ):
                source, target = values[::-1] if self.reverse else values
                words = len(source.split()) + len(target.split())
                pair = (shard * _LINES + line, source, target, words)
                lengths[words] += 1
                count += 1
                found += 1
                if hold_out and len(first) < MAX_HELD_OUT:
                    first.append(pair)
                sample.add(pair)
                if count == max_examples:
                    last_key = pair[0]
                    break
            self._count_skipped(rows)
            if not found and not rows.skipped and _blank(path):
                raise DataFormatError(
                    path, None, "the file is empty", kind="empty file"
                )
            if last_key != _LAST:
                break
        if not count:
            files = len(self.files)
            where = (
                self.files[0] if files == 1 else f"{files} files: {self.files[0]}, ..."
            )
            detail = f"all {self.skipped} rows were skipped ({self._skipped_text()})"
            raise DataFormatError(
                where,
                None,
                "no usable pair" + (f": {detail}" if self.skipped else ""),
                kind="no usable rows",
            )
        held = held_out_count(count) if hold_out else 0
        self.pairs = count
        self.train_pairs = count - held
        self._start = first[held - 1][0] if held else -1
        self._end = last_key
        self.valid_sources = [pair[1] for pair in first[:held]]
        self.valid_targets = [pair[2] for pair in first[:held]]
        lengths.subtract(pair[3] for pair in first[:held])
        self._lengths = +lengths
        kept = [pair for pair in sample.items if pair[0] > self._start]
        self.sample_sources = [pair[1] for pair in kept]
        self.sample_targets = [pair[2] for pair in kept]
        self._sample_words = [pair[3] for pair in kept]

    def _count_skipped(self, rows):
        self.skipped += sum(rows.skipped.values())
        for kind, number in rows.skipped.items():
            self.skipped_kinds[kind] = self.skipped_kinds.get(kind, 0) + number
        for line in rows.first_lines[: FIRST_LINES - len(self.skipped_at)]:
            self.skipped_at.append(f"{rows.path}:{line}")

    def summary(self):
        """One line for the run's report: files, pairs, skipped rows."""
        files = len(self.files)
        text = (
            f"streaming {files:,} file{'s' if files != 1 else ''}: {self.pairs:,} pairs"
        )
        if self.skipped:
            rows = "row" if self.skipped == 1 else "rows"
            text += f"; skipped {self.skipped:,} bad {rows} ({self._skipped_text()})"
        return text

    def _skipped_text(self):
        kinds = ", ".join(f"{n:,} {kind}" for kind, n in self.skipped_kinds.items())
        return f"{kinds}; first at {', '.join(self.skipped_at)}"

    # === The stream ===
    def dataset(
        self,
        batch_size,
        shuffle_buffer=10_000,
        seed=0,
        multiple=1,
        drop_remainder=False,
    ):
        """The training pairs, streamed: the shards interleaved, shuffled
        in a buffer of `shuffle_buffer` pairs (again every epoch) and
        batched by length as `keras_attn.training.text_dataset` batches
        (its buckets are the deciles of the sample's lengths).

        Args:
            batch_size: int, the most pairs in a batch.
            shuffle_buffer: int, the pairs shuffled among.
            seed: int, for the order of the shards and the shuffling.
            multiple, drop_remainder: as `text_dataset`'s.

        Returns:
            A `tf.data.Dataset` of dicts `{"encoder_text": (batch,) string,
            "decoder_text": (batch,) string}`. Its length (`len(dataset)`)
            is counted by the pass over the files: the stream finds the
            same rows.
        """
        import tensorflow as tf

        from keras_attn.training.text_dataset import batch_by_length
        from keras_attn.training.text_dataset import length_buckets

        first = max(self._start, 0) // _LINES
        last = len(self.files) - 1 if self._end == _LAST else self._end // _LINES
        shards = tf.data.Dataset.from_tensor_slices(
            (
                tf.constant(list(range(first, last + 1)), tf.int64),
                tf.constant(self.files[first : last + 1]),
            )
        )
        if last > first:
            shards = shards.shuffle(
                last - first + 1, seed=seed, reshuffle_each_iteration=True
            )
        read = self._tsv_shard if self.format == "tsv" else self._python_shard
        pairs = shards.interleave(
            read,
            cycle_length=min(_CYCLE, last - first + 1),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        pairs = pairs.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        boundaries, batches = length_buckets(
            self._sample_words,
            batch_size,
            counts=self._lengths,
            multiple=multiple,
            drop_remainder=drop_remainder,
        )
        batches_of = batch_by_length(
            pairs, boundaries, batch_size, multiple, drop_remainder
        )
        return batches_of.apply(
            tf.data.experimental.assert_cardinality(batches)
        ).prefetch(tf.data.AUTOTUNE)

    def _tsv_shard(self, shard, path):
        """A TSV shard's good pairs, parsed with TensorFlow string ops by
        the rules of `keras_attn.data._reading.tsv_rows`."""
        import tensorflow as tf

        columns = self.columns
        needed = max(columns) + 1
        start, end = self._start, self._end

        def parse(lines, texts):
            keys = shard * _LINES + lines
            texts = tf.where(
                lines == 1, tf.strings.regex_replace(texts, "^\ufeff", ""), texts
            )
            fields = tf.strings.split(texts, "\t")
            table = fields.to_tensor(default_value="", shape=[None, needed])
            source, target = (
                tf.strings.regex_replace(table[:, column], _STRIP, "")
                for column in columns
            )
            if self.reverse:
                source, target = target, source
            good = (
                (keys > start)
                & (keys <= end)
                & (fields.row_lengths() >= needed)
                & (source != "")
                & (target != "")
            )
            source = tf.boolean_mask(source, good)
            target = tf.boolean_mask(target, good)
            return {
                "encoder_text": source,
                "decoder_text": target,
                "words": _word_count(source) + _word_count(target),
            }

        lines = tf.data.TextLineDataset(path).enumerate(start=1)
        if end != _LAST:  # max_examples: the rest of the file is not read
            lines = lines.take_while(lambda line, _: shard * _LINES + line <= end)
        return lines.batch(_LINE_BATCH).map(parse).unbatch()

    def _python_shard(self, shard, path):
        """A CSV or JSON lines shard's good pairs, read by the loaders' own
        Python rows (`keras_attn.data.pairs.read_rows`)."""
        import tensorflow as tf

        text = tf.TensorSpec((), tf.string)
        return tf.data.Dataset.from_generator(
            self._shard_pairs,
            args=(shard, path),
            output_signature={
                "encoder_text": text,
                "decoder_text": text,
                "words": tf.TensorSpec((), tf.int32),
            },
        )

    def _shard_pairs(self, shard, path):
        from keras_attn.data.pairs import read_rows

        path = os.fsdecode(path)
        rows = RowErrors(path, "skip")  # the pass over the files saw them
        for line, (source, target) in read_rows(
            read_lines(path), self.format, self.columns, path, rows
        ):
            key = int(shard) * _LINES + line
            if key > self._end:
                return
            if key > self._start:
                if self.reverse:
                    source, target = target, source
                yield {
                    "encoder_text": source,
                    "decoder_text": target,
                    "words": len(source.split()) + len(target.split()),
                }


def _word_count(texts):
    """`len(text.split())` of stripped, non-empty texts, in TensorFlow."""
    import tensorflow as tf

    words = tf.strings.split(tf.strings.regex_replace(texts, f"{_SPACE}+", " "), " ")
    return tf.cast(words.row_lengths(), "int32")


class _Reservoir:
    """A uniform random sample of at most `size` items of a stream of
    unknown length (Li's algorithm L: one random skip per kept item)."""

    def __init__(self, size, seed):
        self.size = size
        self.items = []
        self._random = random.Random(seed)
        self._seen = 0
        self._next = None
        self._log_w = 0.0

    def _uniform(self):
        return self._random.random() or 0.5  # in (0, 1)

    def _skip(self):
        self._log_w += math.log(self._uniform()) / self.size
        # log(1 - w), precise when w is close to 1.
        gap = math.log(self._uniform()) / math.log(-math.expm1(self._log_w))
        self._next = self._seen + int(gap) + 1

    def add(self, item):
        self._seen += 1
        if len(self.items) < self.size:
            self.items.append(item)
            if len(self.items) == self.size:
                self._skip()
        elif self._seen == self._next:
            self.items[self._random.randrange(self.size)] = item
            self._skip()


def _blank(path):
    return not any(text.strip() for text in read_lines(path))


def _task_format(task, path, format):
    """Whether `path` is in a task's own format, which its reader reads
    whole: a zip, DailyDialog text, or an extension `load_pairs` does not
    know."""
    from keras_attn.data.pairs import EXTENSIONS
    from keras_attn.tasks.builtin import _looks_like_dailydialog
    from keras_attn.tasks.builtin import read_dailydialog
    from keras_attn.tasks.task import file_extension

    if format is not None or task is None or task.reader is None:
        return False
    extension = file_extension(path)
    if extension == ".zip":
        return True
    if task.reader is read_dailydialog:
        return _looks_like_dailydialog(path)
    return extension not in EXTENSIONS
