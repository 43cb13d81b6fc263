"""Packing of (source, target) pairs for teacher forcing and generation."""

import keras_hub
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from keras_attn.models import AttentionSeq2SeqPreprocessor
from tests.models.corpus import reversal_pairs


def _preprocessor(**kwargs):
    sources, targets = reversal_pairs(100, seed=0)
    return AttentionSeq2SeqPreprocessor.from_corpus(
        sources, targets, vocabulary_size=60, **kwargs
    )


def test_labels_are_the_decoder_input_shifted_left():
    preprocessor = _preprocessor(encoder_sequence_length=9, decoder_sequence_length=7)
    x, y, weights = preprocessor(
        {"encoder_text": ["alpha beta"], "decoder_text": ["beta alpha"]}
    )
    start, end, pad = 2, 3, 0
    encoder = ops.convert_to_numpy(x["encoder_token_ids"])[0]
    decoder = ops.convert_to_numpy(x["decoder_token_ids"])[0]
    labels = ops.convert_to_numpy(y)[0]
    assert encoder.shape == (9,) and decoder.shape == (7,) and labels.shape == (7,)
    assert encoder[0] == start and end in encoder and encoder[-1] == pad
    assert decoder[0] == start
    n = int(ops.convert_to_numpy(weights)[0].sum())  # target tokens + [END]
    np.testing.assert_array_equal(labels[: n - 1], decoder[1:n])
    assert labels[n - 1] == end


def test_long_texts_are_cut_to_the_limits():
    preprocessor = _preprocessor(encoder_sequence_length=5, decoder_sequence_length=4)
    long = " ".join(["alpha"] * 20)
    x, y, _ = preprocessor({"encoder_text": [long], "decoder_text": [long]})
    assert tuple(x["encoder_token_ids"].shape) == (1, 5)
    assert ops.convert_to_numpy(x["encoder_token_ids"])[0, -1] == 3  # [END] kept


def test_a_plain_keras_hub_wordpiece_tokenizer_works():
    sources, targets = reversal_pairs(100, seed=1)
    # A list of strings would be read as file names: pass a dataset.
    vocabulary = keras_hub.tokenizers.compute_word_piece_vocabulary(
        tf.data.Dataset.from_tensor_slices(sources + targets).batch(64),
        vocabulary_size=60,
        reserved_tokens=["[PAD]", "[UNK]", "[START]", "[END]"],
    )
    tokenizer = keras_hub.tokenizers.WordPieceTokenizer(vocabulary=vocabulary)
    preprocessor = AttentionSeq2SeqPreprocessor(tokenizer, 8, 8)
    x = preprocessor.generate_preprocess(["alpha beta"])
    assert ops.convert_to_numpy(x["decoder_token_ids"])[0, 0] == 2
    assert preprocessor.special_token_id("end") == 3


def test_a_vocabulary_without_start_token_is_named():
    tokenizer = keras_hub.tokenizers.WordPieceTokenizer(
        vocabulary=["[PAD]", "[UNK]", "a"]
    )
    preprocessor = AttentionSeq2SeqPreprocessor(tokenizer, 8, 8)
    with pytest.raises(ValueError, match=r"no \[START\] token"):
        preprocessor.generate_preprocess(["a"])


@pytest.mark.parametrize("length", [0, -5, 2.5])
def test_bad_sequence_lengths(length):
    with pytest.raises(ValueError, match="encoder_sequence_length"):
        _preprocessor(encoder_sequence_length=length)
