"""`text_dataset`: the tf.data pipeline of string pairs that training reads
(TensorFlow's tf.data on every Keras backend)."""


def text_dataset(sources, targets, batch_size, shuffle_seed=None):
    """Batches of `{"encoder_text", "decoder_text"}` strings for `fit`.

    With a seed, the pairs are shuffled every epoch and batched by length:
    they fall into ten buckets by word count (the deciles of this data) and
    each batch comes from one bucket, so the preprocessor's trimming leaves
    little padding. The number of batches is known (`len(dataset)`): the
    sum over the buckets of their pairs divided by `batch_size`, rounded
    up. Without a seed (validation), the order is kept.

    Args:
        sources: list of str.
        targets: list of str, as many as `sources`.
        batch_size: int, the most pairs in a batch.
        shuffle_seed: int, or None to keep the order and batch plainly.

    Returns:
        A `tf.data.Dataset` of dicts `{"encoder_text": (batch,) string,
        "decoder_text": (batch,) string}`.

    Example:
    >>> dataset = keras_attn.training.text_dataset(
    ...     ["hola", "adiós amigo"], ["hello", "goodbye friend"], batch_size=2)
    >>> batch = next(iter(dataset))
    >>> [text.decode() for text in batch["encoder_text"].numpy()]
    ['hola', 'adiós amigo']
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
    if shuffle_seed is None:
        dataset = tf.data.Dataset.from_tensor_slices(
            {"encoder_text": sources, "decoder_text": targets}
        )
        return dataset.batch(batch_size).prefetch(2)
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
    boundaries = sorted(set(np.percentile(words, range(10, 100, 10)).astype(int) + 1))
    boundaries = [int(b) for b in boundaries]
    per_bucket = np.bincount(
        np.searchsorted(boundaries, words, side="right"),
        minlength=len(boundaries) + 1,
    )
    batches = int(sum(-(-int(count) // batch_size) for count in per_bucket))
    dataset = tf.data.Dataset.from_tensor_slices(
        {"encoder_text": sources, "decoder_text": targets, "words": words}
    )
    dataset = dataset.shuffle(
        len(sources), seed=shuffle_seed, reshuffle_each_iteration=True
    )
    dataset = dataset.bucket_by_sequence_length(
        lambda pair: pair["words"],
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
    )
    dataset = dataset.map(
        lambda pair: {k: pair[k] for k in ("encoder_text", "decoder_text")}
    )
    return dataset.apply(tf.data.experimental.assert_cardinality(batches)).prefetch(2)
