"""Packing of (source, target) pairs for teacher forcing and generation."""

import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from keras_attn.models import AttentionSeq2SeqPreprocessor
from tests.models.corpus import reversal_pairs
from tests.testing import run_serialization_test


def _preprocessor(**kwargs):
    sources, targets = reversal_pairs(100, seed=0)
    return AttentionSeq2SeqPreprocessor.from_corpus(
        sources, targets, vocabulary_size=60, **kwargs
    )


def test_config_round_trip_keeps_lengths_and_options():
    preprocessor = _preprocessor(
        encoder_sequence_length=8,
        decoder_sequence_length=9,
        trim_padding=False,
        join_punctuation=False,
    )
    clone = run_serialization_test(preprocessor)
    assert (clone.encoder_sequence_length, clone.decoder_sequence_length) == (8, 9)
    assert not clone.trim_padding and not clone.join_punctuation


def test_labels_are_the_decoder_input_shifted_left():
    preprocessor = _preprocessor(
        encoder_sequence_length=9, decoder_sequence_length=7, trim_padding=False
    )
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


def test_batches_are_trimmed_to_their_longest_row_in_multiples_of_8():
    full = _preprocessor(
        encoder_sequence_length=40, decoder_sequence_length=30, trim_padding=False
    )
    trimmed = AttentionSeq2SeqPreprocessor.from_config(
        {**full.get_config(), "trim_padding": True}
    )
    trimmed.tokenizer = full.tokenizer
    texts = {
        "encoder_text": ["alpha", " ".join(["beta"] * 11)],  # 13 ids packed
        "decoder_text": ["gamma", "delta epsilon"],  # [START] + 3 ids + [END]
    }
    x, y, weights = _numpy(full(texts))
    tx, ty, tweights = _numpy(trimmed(texts))
    longest = x["encoder_padding_mask"].sum(axis=1).max()
    assert tx["encoder_token_ids"].shape == (2, 16) and longest == 13
    assert ty.shape == (2, 8) and x["decoder_padding_mask"].sum(axis=1).max() <= 8
    for key in tx:  # what is cut is padding only
        width = tx[key].shape[1]
        np.testing.assert_array_equal(tx[key], x[key][:, :width])
        assert not x[key][:, width:].any()
    np.testing.assert_array_equal(ty, y[:, :8])
    np.testing.assert_array_equal(tweights, weights[:, :8])
    assert weights[:, 8:].sum() == 0


def test_generation_inputs_cut_the_source_but_keep_the_decoders_room():
    preprocessor = _preprocessor(encoder_sequence_length=40, decoder_sequence_length=30)
    x = _numpy(preprocessor.generate_preprocess(["alpha beta", "gamma"]))
    assert x["encoder_token_ids"].shape == (2, 8)  # 4 ids, rounded up to 8
    assert x["encoder_padding_mask"].sum(axis=1).tolist() == [4, 3]
    assert x["decoder_token_ids"].shape == (2, 30)
    full = AttentionSeq2SeqPreprocessor.from_config(
        {**preprocessor.get_config(), "trim_padding": False}
    )
    full.tokenizer = preprocessor.tokenizer
    untrimmed = _numpy(full.generate_preprocess(["alpha beta", "gamma"]))
    assert untrimmed["encoder_token_ids"].shape == (2, 40)
    np.testing.assert_array_equal(
        untrimmed["encoder_token_ids"][:, :8], x["encoder_token_ids"]
    )


def test_trimming_never_goes_past_the_full_length():
    preprocessor = _preprocessor(encoder_sequence_length=5, decoder_sequence_length=3)
    long = " ".join(["alpha"] * 20)
    x, y, _ = preprocessor({"encoder_text": [long], "decoder_text": [long]})
    assert tuple(x["encoder_token_ids"].shape) == (1, 5) and tuple(y.shape) == (1, 3)


def _numpy(outputs):
    return keras.tree.map_structure(ops.convert_to_numpy, outputs)


def test_generated_text_has_punctuation_joined():
    texts = ["alpha, beta? gamma's"] * 5
    preprocessor = AttentionSeq2SeqPreprocessor.from_corpus(
        texts, texts, vocabulary_size=40
    )
    tokenizer = preprocessor.tokenizer
    ids = tokenizer(texts[:1])
    ids = ops.convert_to_numpy(ids.to_tensor() if hasattr(ids, "to_tensor") else ids)
    outputs = {"decoder_token_ids": ids, "decoder_padding_mask": ids != 0}
    assert preprocessor.generate_postprocess(outputs) == ["alpha, beta? gamma's"]
    raw = AttentionSeq2SeqPreprocessor(tokenizer, join_punctuation=False)
    assert raw.generate_postprocess(outputs) == ["alpha , beta ? gamma ' s"]


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
