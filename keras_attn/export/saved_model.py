"""Export of a trained model as a TensorFlow SavedModel that maps strings to
strings (TensorFlow backend only)."""

import os

import keras

from keras_attn._files import check_output_directory
from keras_attn._files import write_directory
from keras_attn.models.attention_seq2seq_lm import AttentionSeq2SeqLM
from keras_attn.models.attention_seq2seq_lm import resolve_sampler
from keras_attn.models.join_punctuation import join_punctuation
from keras_attn.samplers import BeamSearchSampler


def export_saved_model(
    lm,
    path,
    max_length=None,
    num_beams=None,
    length_penalty=0.6,
    overwrite=False,
    *,
    sampler=None,
):
    """Writes `lm` as a SavedModel whose `serving_default` maps text to text.

    The SavedModel holds the whole pipeline: tokenization (WordPiece in core
    TensorFlow ops, see `TFWordPiece`), packing, the encoder, the compiled
    decoding loop and detokenization. It loads with plain
    `tf.saved_model.load` (no `keras_attn`, no `tensorflow_text`), so
    TensorFlow Serving can host it:

        served = tf.saved_model.load(path)
        served.signatures["serving_default"](tf.constant(["hola"]))["outputs"]

    Args:
        lm: a trained `AttentionSeq2SeqLM` with a preprocessor.
        path: the directory to write; it must not exist unless `overwrite`.
        max_length: int, the most output tokens; defaults to the
            preprocessor's `decoder_sequence_length`.
        num_beams: int, shortcut for
            `sampler=BeamSearchSampler(num_beams, length_penalty)`.
        length_penalty: float, GNMT's alpha with `num_beams`.
        overwrite: bool, replace an existing directory that keras-attn
            wrote (a SavedModel export); any other is refused untouched.
        sampler: the sampler the SavedModel decodes with: a name of
            `keras_attn.samplers.NAMES` or a sampler instance; defaults to
            the one `lm` was compiled with. `lm` itself is not changed.

    Returns:
        The path written.
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "Exporting a SavedModel needs the TensorFlow backend (set "
            "KERAS_BACKEND=tensorflow). Received backend: "
            f"{keras.backend.backend()!r}. Save with save_to_preset() here and "
            "export from a TensorFlow process."
        )
    if not isinstance(lm, AttentionSeq2SeqLM) or lm.preprocessor is None:
        raise ValueError(
            "`lm` must be an AttentionSeq2SeqLM with a preprocessor. "
            f"Received: {type(lm).__name__}"
        )
    path = os.fspath(path)
    # Before the work: an existing directory keras-attn did not write is
    # refused, and left as it is.
    check_output_directory(path, overwrite, kinds=("saved_model",))
    import tensorflow as tf

    from keras_attn.export.tf_word_piece import TFWordPiece

    preprocessor = lm.preprocessor
    tokenizer = TFWordPiece.from_keras_hub(preprocessor.tokenizer)
    pad, start, end = (
        preprocessor.special_token_id(n) for n in ("pad", "start", "end")
    )
    source_length = preprocessor.encoder_sequence_length
    target_length = max_length or preprocessor.decoder_sequence_length
    if num_beams is not None:
        if sampler is not None:
            raise ValueError(
                "Pass `sampler` or `num_beams`, not both. Received: "
                f"sampler={sampler!r}, num_beams={num_beams!r}"
            )
        sampler = BeamSearchSampler(num_beams, length_penalty)
    sampler = lm.sampler if sampler is None else resolve_sampler(sampler)

    def serve(texts):
        ids = tokenizer.tokenize(texts)[:, : source_length - 2]
        batch = tf.shape(texts)[0]
        column = tf.ones([batch, 1], tf.int32)
        packed = tf.concat([column * start, tf.cast(ids, tf.int32), column * end], 1)
        encoder_ids = packed.to_tensor(default_value=pad, shape=[None, source_length])
        encoder_mask = tf.sequence_mask(packed.row_lengths(), source_length)
        decoder_ids = tf.concat(
            [column * start, tf.fill([batch, target_length - 1], pad)], axis=1
        )
        decoder_mask = tf.sequence_mask(tf.ones([batch], tf.int32), target_length)
        generated = lm.generate_step(
            {
                "encoder_token_ids": encoder_ids,
                "encoder_padding_mask": encoder_mask,
                "decoder_token_ids": decoder_ids,
                "decoder_padding_mask": decoder_mask,
            },
            stop_token_ids=[end],
            sampler=sampler,
        )
        token_ids = generated["decoder_token_ids"]
        keep = generated["decoder_padding_mask"]
        for special in (pad, start, end):
            keep = keep & (token_ids != special)
        texts = tokenizer.detokenize(tf.ragged.boolean_mask(token_ids, keep))
        if preprocessor.join_punctuation:
            texts = join_punctuation(texts)
        return {"outputs": texts}

    archive = keras.export.ExportArchive()
    archive.track(lm)
    archive.track(tokenizer)
    archive.add_endpoint(
        "serve", serve, input_signature=[tf.TensorSpec([None], tf.string, name="texts")]
    )
    return write_directory(
        path,
        lambda staging: archive.write_out(staging, verbose=False),
        overwrite=overwrite,
        kinds=("saved_model",),
    )
