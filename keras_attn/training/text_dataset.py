"""`text_dataset`: the tf.data pipeline of string pairs that training reads
(TensorFlow's tf.data on every Keras backend)."""


def text_dataset(
    sources, targets, batch_size, shuffle_seed=None, multiple=1, drop_remainder=False
):
    """Batches of `{"encoder_text", "decoder_text"}` strings for `fit`.

    With a seed, the pairs are shuffled every epoch and batched by length:
    they fall into ten buckets by word count (the deciles of this data) and
    each batch comes from one bucket, so the preprocessor's trimming leaves
    little padding. The number of batches is known (`len(dataset)`): the
    sum over the buckets of their pairs divided by `batch_size`, rounded
    up. Without a seed (validation), the order is kept.

    Data-parallel training splits every batch evenly over the replicas:
    with `multiple`, a bucket's last, smaller batch is cut to a multiple of
    it (the pairs cut are left out of that epoch only; shuffling changes
    which), and with `drop_remainder` only full batches are kept, with a
    static batch dimension (what Keras needs to split batches over several
    processes). `len(dataset)` counts the batches that remain.

    Args:
        sources: list of str.
        targets: list of str, as many as `sources`.
        batch_size: int, the most pairs in a batch.
        shuffle_seed: int, or None to keep the order and batch plainly.
        multiple: int dividing `batch_size`, every batch holds a multiple
            of this many pairs (the replicas of a data-parallel run).
        drop_remainder: bool, keep only batches of `batch_size` pairs.

    Returns:
        A `tf.data.Dataset` of dicts `{"encoder_text": (batch,) string,
        "decoder_text": (batch,) string}`.

    Example:
    >>> dataset = keras_attn.training.text_dataset(
    ...     ["hola", "adiós amigo"], ["hello", "goodbye friend"], batch_size=2)
    >>> batch = next(iter(dataset))
    >>> [text.decode() for text in batch["encoder_text"].numpy()]
    ['hola', 'adiós amigo']

    For two replicas, the last batch of 3 pairs is cut to 2:
    >>> dataset = keras_attn.training.text_dataset(
    ...     ["a", "b", "c", "d", "e"], ["1", "2", "3", "4", "5"], batch_size=2,
    ...     shuffle_seed=0, multiple=2)
    >>> len(dataset), [len(batch["encoder_text"]) for batch in dataset]
    (2, [2, 2])
    """
    import numpy as np
    import tensorflow as tf

    sources, targets = list(sources), list(targets)
    if len(sources) != len(targets):
        raise ValueError(
            "sources and targets must have the same length. Received: "
            f"{len(sources)} sources and {len(targets)} targets"
        )
    if not sources:
        raise ValueError("sources and targets must not be empty. Received: 0 pairs")
    _check_multiple(batch_size, multiple)
    if shuffle_seed is None:
        dataset = tf.data.Dataset.from_tensor_slices(
            {"encoder_text": sources, "decoder_text": targets}
        )
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
        batches = len(sources) // batch_size
        rest = 0 if drop_remainder else len(sources) % batch_size // multiple
        dataset = _cut_to_multiple(dataset, 1 if drop_remainder else multiple)
        return dataset.apply(
            tf.data.experimental.assert_cardinality(batches + (rest > 0))
        ).prefetch(2)
    # Word counts are computed here, so the number of batches is known
    # exactly (Keras then shows the epoch's length and does not warn that
    # the data "ran out").
    words = np.array(
        [
            len(s.split()) + len(t.split())
            for s, t in zip(sources, targets, strict=True)
        ],
        dtype="int32",
    )
    boundaries, batches = length_buckets(
        words, batch_size, multiple=multiple, drop_remainder=drop_remainder
    )
    dataset = tf.data.Dataset.from_tensor_slices(
        {"encoder_text": sources, "decoder_text": targets, "words": words}
    )
    dataset = dataset.shuffle(
        len(sources), seed=shuffle_seed, reshuffle_each_iteration=True
    )
    dataset = batch_by_length(dataset, boundaries, batch_size, multiple, drop_remainder)
    return dataset.apply(tf.data.experimental.assert_cardinality(batches)).prefetch(2)


def length_buckets(words, batch_size, counts=None, multiple=1, drop_remainder=False):
    """The length buckets of pairs with these word counts, and their batches.

    Ten buckets by word count, split at the deciles of `words` (source and
    target words of each pair); a bucket's pairs make batches of
    `batch_size` and one smaller batch.

    Args:
        words: int array, the word count of each pair (or of a sample).
        batch_size: int.
        counts: dict `{word count: pairs}`, the pairs to count batches for
            when they are not those of `words` (a stream whose sample
            `words` is); default each pair of `words`.
        multiple: int, a bucket's smaller batch is cut to a multiple of it
            (and left out when that leaves none).
        drop_remainder: bool, only full batches are counted.

    Returns:
        `(boundaries, batches)`: the buckets' upper word counts (list of
        int, increasing) and the number of batches.
    """
    import numpy as np

    boundaries = sorted(set(np.percentile(words, range(10, 100, 10)).astype(int) + 1))
    boundaries = [int(b) for b in boundaries]
    lengths, weights = words, None
    if counts is not None:
        lengths, weights = list(counts), list(counts.values())
    per_bucket = np.bincount(
        np.searchsorted(boundaries, np.asarray(lengths, "int64"), side="right"),
        weights=weights,
        minlength=len(boundaries) + 1,
    )
    batches = 0
    for count in per_bucket:
        rest = 0 if drop_remainder else int(count) % batch_size // multiple
        batches += int(count) // batch_size + (rest > 0)
    return boundaries, batches


def batch_by_length(dataset, boundaries, batch_size, multiple=1, drop_remainder=False):
    """Batches a dataset of `{"encoder_text", "decoder_text", "words"}`
    pairs, each batch from one length bucket (see `length_buckets`), as
    dicts of `{"encoder_text", "decoder_text"}` strings; `multiple` and
    `drop_remainder` as `text_dataset`'s."""
    import tensorflow as tf

    dataset = dataset.bucket_by_sequence_length(
        lambda pair: pair["words"],
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        drop_remainder=drop_remainder,
    )
    shape = [batch_size if drop_remainder else None]
    dataset = dataset.map(
        lambda pair: {
            k: tf.ensure_shape(pair[k], shape) for k in ("encoder_text", "decoder_text")
        }
    )
    return _cut_to_multiple(dataset, 1 if drop_remainder else multiple)


def _check_multiple(batch_size, multiple):
    if isinstance(multiple, bool) or not isinstance(multiple, int) or multiple < 1:
        raise ValueError(
            f"multiple must be a positive integer. Received: multiple={multiple!r}"
        )
    if batch_size % multiple:
        raise ValueError(
            f"batch_size must be a multiple of multiple (the replicas a batch is "
            f"split over). Received: batch_size={batch_size}, multiple={multiple}"
        )


def _cut_to_multiple(dataset, multiple):
    """Cuts each batch to a multiple of `multiple` pairs; drops the empty."""
    import tensorflow as tf

    if multiple == 1:
        return dataset

    def cut(batch):
        size = tf.shape(batch["encoder_text"])[0] // multiple * multiple
        return {key: value[:size] for key, value in batch.items()}

    dataset = dataset.map(cut)
    return dataset.filter(lambda batch: tf.shape(batch["encoder_text"])[0] > 0)
