"""A WordPiece tokenizer with the special tokens the seq2seq models use."""

import keras
import keras_hub

RESERVED_TOKENS = ("[PAD]", "[UNK]", "[START]", "[END]")


@keras.saving.register_keras_serializable(package="keras_attn")
class AttentionSeq2SeqTokenizer(keras_hub.tokenizers.WordPieceTokenizer):
    """WordPiece tokenizer with `[PAD]`, `[UNK]`, `[START]` and `[END]`.

    The vocabulary must contain the four reserved tokens; `from_corpus`
    trains one with keras-hub's `compute_word_piece_vocabulary`. Exposes
    `pad_token_id`, `start_token_id` and `end_token_id` as keras-hub's
    packers and samplers expect.

    Args:
        vocabulary: list of strings or a vocabulary file, one token a line.
        lowercase: bool, lowercase before splitting.
        strip_accents: bool, strip accents before splitting.
        **kwargs: passed to `keras_hub.tokenizers.WordPieceTokenizer`.

    Example:
    >>> tokenizer = keras_attn.models.AttentionSeq2SeqTokenizer.from_corpus(
    ...     ["the cat sat", "the dog ran"], vocabulary_size=60)
    >>> tokenizer.start_token_id, tokenizer.end_token_id
    (2, 3)
    """

    def __init__(self, vocabulary=None, lowercase=False, strip_accents=False, **kwargs):
        self._add_special_token("[PAD]", "pad_token")
        self._add_special_token("[UNK]", "unk_token")
        self._add_special_token("[START]", "start_token")
        self._add_special_token("[END]", "end_token")
        kwargs.setdefault("oov_token", "[UNK]")
        super().__init__(
            vocabulary=vocabulary,
            lowercase=lowercase,
            strip_accents=strip_accents,
            **kwargs,
        )

    @classmethod
    def from_corpus(
        cls, texts, vocabulary_size=8000, lowercase=False, strip_accents=False, **kwargs
    ):
        """Trains a WordPiece vocabulary on `texts` and returns a tokenizer.

        Tokens that hold a whitespace character (the learner keeps
        Unicode spaces such as U+00A0 inside words) are left out.

        Args:
            texts: an iterable of strings (for a joint vocabulary, the source
                and target texts together) or a `tf.data.Dataset` of strings.
            vocabulary_size: int, the most tokens the vocabulary may hold.
            lowercase, strip_accents: normalisation, as in the constructor.
            **kwargs: passed to the constructor.
        """
        import tensorflow as tf

        if not isinstance(texts, tf.data.Dataset):
            texts = [t for t in texts if isinstance(t, str) and t.strip()]
            if not texts:
                raise ValueError(
                    "`texts` must contain at least one non-empty string to "
                    "train a vocabulary. Received: no usable text"
                )
            texts = tf.data.Dataset.from_tensor_slices(texts).batch(1024)
        vocabulary = keras_hub.tokenizers.compute_word_piece_vocabulary(
            texts,
            vocabulary_size=vocabulary_size,
            lowercase=lowercase,
            strip_accents=strip_accents,
            reserved_tokens=list(RESERVED_TOKENS),
        )
        # The learner splits words on ASCII whitespace only, so a character
        # such as U+00A0 (no-break space) becomes a token, "\xa0" and
        # "##\xa0"; the vocabulary file, one token a line, reads them back
        # stripped, as "" and "##", which match nothing useful. Tokens with
        # whitespace are dropped.
        vocabulary = [
            token
            for token in vocabulary
            if token and not any(char.isspace() for char in token)
        ]
        return cls(
            vocabulary=vocabulary,
            lowercase=lowercase,
            strip_accents=strip_accents,
            **kwargs,
        )
