"""Tokenizes and packs (source, target) text for the seq2seq models."""

import keras
import keras_hub
from keras_hub.layers import StartEndPacker

from keras_attn._keras_hub_private import convert_preprocessing_outputs
from keras_attn._keras_hub_private import preprocessing_function
from keras_attn._validation import check_positive_int
from keras_attn.models.attention_seq2seq_backbone import AttentionSeq2SeqBackbone
from keras_attn.models.attention_seq2seq_tokenizer import AttentionSeq2SeqTokenizer
from keras_attn.models.join_punctuation import join_punctuation

# Trimmed lengths are rounded up to a multiple of this, so that a backend
# that compiles per shape (JAX) sees a handful of shapes, not one per length.
TRIM_MULTIPLE = 8

SPECIAL_TOKENS = {"pad": "[PAD]", "start": "[START]", "end": "[END]"}


@keras.saving.register_keras_serializable(package="keras_attn")
class AttentionSeq2SeqPreprocessor(keras_hub.models.Seq2SeqLMPreprocessor):
    """Turns `{"encoder_text", "decoder_text"}` strings into token ids.

    Both sides are tokenized (one joint WordPiece vocabulary by default),
    the source is packed as `[START] ... [END]` to `encoder_sequence_length`
    and the target as `[START] ... [END]` to `decoder_sequence_length + 1`;
    the decoder input is the target without its last token and the label is
    the target shifted left, weighted by its padding mask. Longer texts are
    truncated (keeping the end token). With `trim_padding` (the default)
    each batch is then cut to its longest row, rounded up to a multiple of 8,
    so short sentences do not pay for the longest one the model allows.

    The tokenizer may be an `AttentionSeq2SeqTokenizer` or any keras-hub
    `WordPieceTokenizer` whose vocabulary holds `[PAD]`, `[START]` and
    `[END]`; `from_corpus` trains one from your texts.

    Args:
        tokenizer: the tokenizer of both sides.
        encoder_sequence_length: int, the longest source in tokens, with
            `[START]` and `[END]`.
        decoder_sequence_length: int, the longest target likewise.
        trim_padding: bool, cut each batch to its longest row (rounded up to
            a multiple of 8) instead of padding to the full lengths.
        join_punctuation: bool, have `generate_postprocess` remove the
            spaces detokenization leaves around punctuation ("Where ' s" ->
            "Where's").
        **kwargs: passed to `keras_hub.models.Seq2SeqLMPreprocessor`.

    Example:
    >>> sources = ["¿dónde está la estación?", "hola"]
    >>> targets = ["where is the station?", "hello"]
    >>> preprocessor = keras_attn.models.AttentionSeq2SeqPreprocessor.from_corpus(
    ...     sources, targets, vocabulary_size=200,
    ...     encoder_sequence_length=32, decoder_sequence_length=32)
    >>> x, y, sample_weight = preprocessor(
    ...     {"encoder_text": sources, "decoder_text": targets})
    >>> # A corpus this small gives a vocabulary of single characters; the
    >>> # batch is cut from 32 to its longest row (23 tokens with [START] and
    >>> # [END]) rounded up to a multiple of 8.
    >>> tuple(x["encoder_token_ids"].shape), tuple(y.shape)
    ((2, 24), (2, 24))
    """

    backbone_cls = AttentionSeq2SeqBackbone
    tokenizer_cls = AttentionSeq2SeqTokenizer

    def __init__(
        self,
        tokenizer,
        encoder_sequence_length=64,
        decoder_sequence_length=64,
        trim_padding=True,
        join_punctuation=True,
        **kwargs,
    ):
        check_positive_int("encoder_sequence_length", encoder_sequence_length)
        check_positive_int("decoder_sequence_length", decoder_sequence_length)
        super().__init__(
            tokenizer=tokenizer,
            encoder_sequence_length=encoder_sequence_length,
            decoder_sequence_length=decoder_sequence_length,
            **kwargs,
        )
        self.trim_padding = bool(trim_padding)
        self.join_punctuation = bool(join_punctuation)

    def get_config(self):
        config = super().get_config()
        # keras-hub's Seq2SeqLMPreprocessor does not save its lengths.
        config.update(
            encoder_sequence_length=self.encoder_sequence_length,
            decoder_sequence_length=self.decoder_sequence_length,
            trim_padding=self.trim_padding,
            join_punctuation=self.join_punctuation,
        )
        return config

    @preprocessing_function
    def call(self, x, y=None, sample_weight=None, **kwargs):
        outputs = super().call(x, y=y, sample_weight=sample_weight, **kwargs)
        if not self.trim_padding:
            return outputs
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(outputs)

        source = _trimmed_length(x["encoder_padding_mask"])
        # Label weights are the decoder mask shifted left, so never longer.
        target = _trimmed_length(x["decoder_padding_mask"])
        x = {
            key: value[:, : source if key.startswith("encoder") else target]
            for key, value in x.items()
        }
        if y is not None:
            y = y[:, :target]
        if sample_weight is not None:
            sample_weight = sample_weight[:, :target]
        return keras.utils.pack_x_y_sample_weight(x, y, sample_weight)

    @preprocessing_function
    def generate_preprocess(self, x, **kwargs):
        """Token ids for `generate`: as keras-hub's, with the source cut to
        the batch's longest row (with `trim_padding`); the decoder side keeps
        its full length, the room generation has."""
        inputs = super().generate_preprocess(x, **kwargs)
        if self.trim_padding:
            length = _trimmed_length(inputs["encoder_padding_mask"])
            for key in ("encoder_token_ids", "encoder_padding_mask"):
                inputs[key] = inputs[key][:, :length]
        return inputs

    @classmethod
    def from_corpus(
        cls,
        sources,
        targets,
        vocabulary_size=8000,
        encoder_sequence_length=64,
        decoder_sequence_length=64,
        lowercase=False,
        strip_accents=False,
        **kwargs,
    ):
        """Trains one WordPiece vocabulary on the sources and targets.

        Args:
            sources, targets: lists of strings.
            vocabulary_size: int, the most tokens in the joint vocabulary.
            encoder_sequence_length, decoder_sequence_length: ints.
            lowercase, strip_accents: text normalisation of the tokenizer.
            **kwargs: other constructor arguments (`trim_padding`,
                `join_punctuation`).
        """
        tokenizer = AttentionSeq2SeqTokenizer.from_corpus(
            list(sources) + list(targets),
            vocabulary_size=vocabulary_size,
            lowercase=lowercase,
            strip_accents=strip_accents,
        )
        return cls(
            tokenizer,
            encoder_sequence_length=encoder_sequence_length,
            decoder_sequence_length=decoder_sequence_length,
            **kwargs,
        )

    def special_token_id(self, name):
        """The id of `"pad"`, `"start"` or `"end"` in the tokenizer."""
        token_id = getattr(self.tokenizer, f"{name}_token_id", None)
        if token_id is None:
            token = SPECIAL_TOKENS[name]
            if token not in self.tokenizer.get_vocabulary():
                raise ValueError(
                    f"The tokenizer's vocabulary has no {token} token; the "
                    "seq2seq models need [PAD], [START] and [END]. Train it "
                    "with reserved_tokens=['[PAD]', '[UNK]', '[START]', '[END]']."
                )
            token_id = self.tokenizer.token_to_id(token)
        return token_id

    def build(self, input_shape):
        # Packers are made here so tokenizer assets have loaded from a preset.
        ids = {name: self.special_token_id(name) for name in SPECIAL_TOKENS}
        self.encoder_packer, self.decoder_packer = (
            StartEndPacker(
                start_value=ids["start"],
                end_value=ids["end"],
                pad_value=ids["pad"],
                sequence_length=length,
                return_padding_mask=True,
            )
            for length in (self.encoder_sequence_length, self.decoder_sequence_length)
        )
        self.built = True

    def generate_postprocess(self, x):
        """Token ids `{"decoder_token_ids", "decoder_padding_mask"}` to text,
        without padding and special tokens."""
        import tensorflow as tf

        if not self.built:
            self.build(None)
        token_ids = tf.convert_to_tensor(
            keras.ops.convert_to_numpy(x["decoder_token_ids"])
        )
        keep = tf.convert_to_tensor(
            keras.ops.convert_to_numpy(x["decoder_padding_mask"])
        )
        for name in SPECIAL_TOKENS:
            keep = keep & (token_ids != self.special_token_id(name))
        ragged = tf.ragged.boolean_mask(token_ids, keep)
        texts = self.tokenizer.detokenize(ragged)
        if self.join_punctuation:
            texts = convert_preprocessing_outputs(join_punctuation(texts))
        return texts


def _trimmed_length(mask):
    """The longest row of a `(batch, length)` mask, rounded up to a multiple
    of `TRIM_MULTIPLE` and at most `length`."""
    import tensorflow as tf

    count = tf.reduce_max(tf.reduce_sum(tf.cast(mask, tf.int32), axis=-1))
    rounded = -(-count // TRIM_MULTIPLE) * TRIM_MULTIPLE
    return tf.maximum(tf.minimum(rounded, tf.shape(mask)[-1]), 1)
