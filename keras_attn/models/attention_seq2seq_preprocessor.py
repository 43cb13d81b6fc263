"""Tokenizes and packs (source, target) text for the seq2seq models."""

import keras
import keras_hub
from keras_hub.layers import StartEndPacker

from keras_attn._validation import check_positive_int
from keras_attn.models.attention_seq2seq_backbone import AttentionSeq2SeqBackbone
from keras_attn.models.attention_seq2seq_tokenizer import AttentionSeq2SeqTokenizer

SPECIAL_TOKENS = {"pad": "[PAD]", "start": "[START]", "end": "[END]"}


@keras.saving.register_keras_serializable(package="keras_attn")
class AttentionSeq2SeqPreprocessor(keras_hub.models.Seq2SeqLMPreprocessor):
    """Turns `{"encoder_text", "decoder_text"}` strings into token ids.

    Both sides are tokenized (one joint WordPiece vocabulary by default),
    the source is packed as `[START] ... [END]` to `encoder_sequence_length`
    and the target as `[START] ... [END]` to `decoder_sequence_length + 1`;
    the decoder input is the target without its last token and the label is
    the target shifted left, weighted by its padding mask. Longer texts are
    truncated (keeping the end token).

    The tokenizer may be an `AttentionSeq2SeqTokenizer` or any keras-hub
    `WordPieceTokenizer` whose vocabulary holds `[PAD]`, `[START]` and
    `[END]`; `from_corpus` trains one from your texts.

    Args:
        tokenizer: the tokenizer of both sides.
        encoder_sequence_length: int, the longest source in tokens, with
            `[START]` and `[END]`.
        decoder_sequence_length: int, the longest target likewise.
        **kwargs: passed to `keras_hub.models.Seq2SeqLMPreprocessor`.

    Example:
    >>> sources = ["¿dónde está la estación?", "hola"]
    >>> targets = ["where is the station?", "hello"]
    >>> preprocessor = keras_attn.models.AttentionSeq2SeqPreprocessor.from_corpus(
    ...     sources, targets, vocabulary_size=200,
    ...     encoder_sequence_length=16, decoder_sequence_length=16)
    >>> x, y, sample_weight = preprocessor(
    ...     {"encoder_text": sources, "decoder_text": targets})
    >>> tuple(x["encoder_token_ids"].shape), tuple(y.shape)
    ((2, 16), (2, 16))
    """

    backbone_cls = AttentionSeq2SeqBackbone
    tokenizer_cls = AttentionSeq2SeqTokenizer

    def __init__(
        self,
        tokenizer,
        encoder_sequence_length=64,
        decoder_sequence_length=64,
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
    ):
        """Trains one WordPiece vocabulary on the sources and targets.

        Args:
            sources, targets: lists of strings.
            vocabulary_size: int, the most tokens in the joint vocabulary.
            encoder_sequence_length, decoder_sequence_length: ints.
            lowercase, strip_accents: text normalisation of the tokenizer.
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
        return self.tokenizer.detokenize(ragged)
