"""WordPiece tokenization in core TensorFlow ops, for SavedModels.

keras-hub's `WordPieceTokenizer` runs on TensorFlow Text's custom ops
(`regex_split`, `FastWordpieceTokenizer`) inside a graph, so a SavedModel that
uses it only loads where `tensorflow_text` is imported first. `TFWordPiece`
gives the same token ids and the same detokenized strings with core ops only
(RE2 regexes, string slicing and a `tf.lookup.StaticHashTable`), so its
SavedModels load with a plain `import tensorflow`.
"""

import collections

import tensorflow as tf

# The pre-tokenization patterns of keras-hub's `WordPieceTokenizer`
# (keras_hub/src/tokenizers/word_piece_tokenizer.py), copied rather than
# imported: importing keras-hub pulls in Keras and `tensorflow_text`. A test
# checks that they still equal keras-hub's.

# Whitespace and invisible control characters: split on and dropped. RE2's
# `\s` is ASCII whitespace only, so e.g. a no-break space stays in a word.
WHITESPACE_REGEX = r"|".join(
    [
        r"\s",
        r"\p{Cc}",
        r"\p{Cf}",
    ]
)

# Punctuation as BERT defines it (all non-alphanumeric printable ASCII and
# Unicode `P*`): split on and kept as one-character words.
PUNCTUATION_REGEX = r"|".join(
    [
        r"[!-/]",
        r"[:-@]",
        r"[\[-`]",
        r"[{-~]",
        r"[\p{P}]",
    ]
)

# CJK ideographs (BERT's ranges): each one is a word of its own.
CJK_REGEX = r"|".join(
    [
        r"[\x{4E00}-\x{9FFF}]",
        r"[\x{3400}-\x{4DBF}]",
        r"[\x{20000}-\x{2A6DF}]",
        r"[\x{2A700}-\x{2B73F}]",
        r"[\x{2B740}-\x{2B81F}]",
        r"[\x{2B820}-\x{2CEAF}]",
        r"[\x{F900}-\x{FAFF}]",
        r"[\x{2F800}-\x{2FA1F}]",
    ]
)

# `FastWordpieceTokenizer`'s `max_bytes_per_word` (keras-hub keeps the
# default): a longer word becomes the unknown token without being looked at.
MAX_BYTES_PER_WORD = 100


class TFWordPiece(tf.Module):
    """WordPiece tokenization in core TensorFlow ops only, equal to keras-hub's
    `WordPieceTokenizer`.

    `tokenize` gives the ids `keras_hub.tokenizers.WordPieceTokenizer` gives
    and `detokenize` gives its strings, but the graph holds only core
    TensorFlow ops and a `tf.lookup.StaticHashTable`, so a SavedModel that
    calls them loads without `tensorflow_text`. Both methods run eagerly and
    inside a
    `tf.function` (e.g. with `input_signature=[tf.TensorSpec([None],
    tf.string)]`).

    What is reproduced:
        - pre-tokenization: text is split on whitespace and invisible control
          characters (dropped) and on punctuation and, with `split_on_cjk`,
          CJK ideographs (each kept as a word), with keras-hub's RE2 patterns;
        - greedy longest-match-first WordPiece, with `suffix_indicator` before
          every piece but a word's first;
        - a word that cannot be segmented completely, or that is longer than
          100 UTF-8 bytes, becomes a single `oov_token`;
        - like keras-hub's TensorFlow Text path (used in `tf.function` and
          `tf.data`), text after a NUL character is ignored; keras-hub's
          eager Python path tokenizes it, otherwise the two paths agree;
        - `detokenize` maps ids to tokens, glues a suffix token (one that
          starts with `suffix_indicator` and is longer than it) to the token
          before it without the indicator, and joins the rest with spaces.

    keras-hub's `lowercase` and `strip_accents` need Unicode NFKC case
    folding and NFD normalisation, which core TensorFlow lacks
    (`tf.strings.lower` differs, e.g. on "ß", "ﬁ", full-width letters and
    decomposed accents), so they raise a `ValueError` rather than tokenize
    differently. `special_tokens_in_strings` is not supported either.

    Args:
        vocabulary: list of strings (one WordPiece token each, suffix pieces
            starting with `suffix_indicator`), or the path of a text file with
            one token a line. Tokens must be unique; a token's id is its
            index.
        lowercase: bool, must be False (see above).
        strip_accents: bool, must be False (see above).
        split: bool. If True, split the text into words as keras-hub does.
            If False, each input string is one word (keras-hub's `split=False`
            with one pre-split word per row).
        split_on_cjk: bool, with `split`, make every CJK ideograph a word.
        suffix_indicator: str, the prefix of non-initial pieces.
        oov_token: str, the token for words that cannot be segmented; it must
            be in the vocabulary.
        name: str, the name of the `tf.Module`.

    Example:
    >>> tokenizer = TFWordPiece(["[UNK]", "the", "qu", "##ick", "fox", "."])
    >>> ids = tokenizer.tokenize(tf.constant(["the quick fox.", "the fax"]))
    >>> ids.to_list()
    [[1, 2, 3, 4, 5], [1, 0]]
    >>> tokenizer.detokenize(ids).numpy().tolist()
    [b'the quick fox .', b'the [UNK]']

    For a trained keras-hub tokenizer, use `TFWordPiece.from_keras_hub`.
    In a SavedModel, e.g.:

    >>> module = tf.Module()
    >>> module.tokenizer = tokenizer  # Tracks the lookup table.
    >>> module.tokenize = tf.function(
    ...     tokenizer.tokenize, input_signature=[tf.TensorSpec([None], tf.string)]
    ... )
    >>> tf.saved_model.save(module, "/tmp/tokenizer")  # doctest: +SKIP
    """

    def __init__(
        self,
        vocabulary,
        lowercase=False,
        strip_accents=False,
        split=True,
        split_on_cjk=True,
        suffix_indicator="##",
        oov_token="[UNK]",
        name=None,
    ):
        super().__init__(name=name)
        if lowercase or strip_accents:
            raise ValueError(
                "TFWordPiece cannot reproduce keras-hub's `lowercase=True` or "
                "`strip_accents=True`: they use TensorFlow Text's NFKC case "
                "folding and NFD normalisation, which core TensorFlow lacks "
                "(`tf.strings.lower` gives other results, e.g. for 'ß' or "
                "decomposed accents). Received: "
                f"lowercase={lowercase}, strip_accents={strip_accents}"
            )
        if not isinstance(suffix_indicator, str) or not suffix_indicator:
            raise ValueError(
                "`suffix_indicator` must be a non-empty string. "
                f"Received: suffix_indicator={suffix_indicator!r}"
            )
        if isinstance(vocabulary, str):
            # Read like keras-hub does: one token a line, trailing space off.
            with open(vocabulary, encoding="utf-8") as file:
                vocabulary = [line.rstrip() for line in file]
        vocabulary = list(vocabulary)
        if not all(isinstance(token, str) for token in vocabulary):
            raise ValueError("`vocabulary` must be a list of strings.")
        if oov_token not in vocabulary:
            raise ValueError(
                f"Cannot find `oov_token={oov_token!r}` in the vocabulary."
            )
        if len(set(vocabulary)) != len(vocabulary):
            # FastWordpieceTokenizer refuses these too; an id would be lost.
            counts = collections.Counter(vocabulary)
            duplicates = sorted(token for token, n in counts.items() if n > 1)
            raise ValueError(
                f"Tokens in `vocabulary` must be unique. Repeated: {duplicates[:10]}"
            )

        self.vocabulary = vocabulary
        self.lowercase = False
        self.strip_accents = False
        self.split = bool(split)
        self.split_on_cjk = bool(split_on_cjk)
        self.suffix_indicator = suffix_indicator
        self.oov_token = oov_token
        self.oov_token_id = vocabulary.index(oov_token)

        size = len(vocabulary)
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(vocabulary, tf.string),
                tf.range(size, dtype=tf.int32),
            ),
            default_value=-1,
            name="word_piece_ids",
        )
        # A candidate piece longer (in bytes) than every token cannot match,
        # so the search never looks further than this.
        longest = max(len(token.encode("utf-8")) for token in vocabulary)
        self._max_piece_bytes = max(1, min(longest, MAX_BYTES_PER_WORD))

        # For detokenize: the text each id adds and whether it is glued to
        # the token before it (a suffix token that is not first in its row).
        indicator_length = len(suffix_indicator)
        is_suffix = [
            len(token) > indicator_length and token.startswith(suffix_indicator)
            for token in vocabulary
        ]
        glued = [
            token[indicator_length:] if suffix else token
            for token, suffix in zip(vocabulary, is_suffix, strict=True)
        ]
        # Constants captured by a traced function are written into the
        # SavedModel's graph, so nothing else needs saving.
        self._tokens = tf.constant(vocabulary, tf.string)
        self._glued_tokens = tf.constant(glued, tf.string)
        self._is_suffix = tf.constant(is_suffix, tf.bool)

        if self.split:
            keep = [PUNCTUATION_REGEX]
            if self.split_on_cjk:
                keep.append(CJK_REGEX)
            self._keep_regex = r"|".join(keep)

    @classmethod
    def from_keras_hub(cls, tokenizer):
        """Builds a `TFWordPiece` equal to a keras-hub `WordPieceTokenizer`.

        Reads the vocabulary, `lowercase`, `strip_accents`, `split`,
        `split_on_cjk`, `suffix_indicator` and `oov_token`. The output stays
        ragged: keras-hub's `sequence_length` padding is left to the caller.

        Args:
            tokenizer: a `keras_hub.tokenizers.WordPieceTokenizer` (or a
                subclass) with a vocabulary.

        Raises:
            ValueError: for options that cannot be reproduced exactly.
        """
        if not hasattr(tokenizer, "suffix_indicator") or not hasattr(
            tokenizer, "get_vocabulary"
        ):
            raise ValueError(
                "`tokenizer` must be a keras_hub WordPieceTokenizer. "
                f"Received: {type(tokenizer).__name__}"
            )
        if tokenizer.split and getattr(tokenizer, "special_tokens_in_strings", False):
            raise ValueError(
                "TFWordPiece does not support `special_tokens_in_strings=True` "
                "(special tokens written in the text are split like any text)."
            )
        return cls(
            vocabulary=tokenizer.get_vocabulary(),
            lowercase=tokenizer.lowercase,
            strip_accents=tokenizer.strip_accents,
            split=tokenizer.split,
            split_on_cjk=tokenizer.split_on_cjk,
            suffix_indicator=tokenizer.suffix_indicator,
            oov_token=tokenizer.oov_token,
        )

    def tokenize(self, texts):
        """Token ids of a batch of strings.

        Args:
            texts: string tensor of shape `(batch,)`.

        Returns:
            An int32 `tf.RaggedTensor` of shape `(batch, None)`.
        """
        texts = tf.convert_to_tensor(texts, tf.string)
        if texts.shape.rank is not None and texts.shape.rank != 1:
            raise ValueError(
                f"`texts` must have shape (batch,). Received: shape={texts.shape}"
            )
        words = self._split_words(texts)
        # Sentences repeat words, so segment each distinct word once.
        unique_words, index = tf.unique(words.flat_values)
        pieces = tf.gather(self._word_piece(unique_words), index)
        pieces = tf.RaggedTensor.from_row_splits(
            pieces, words.row_splits, validate=False
        )
        return pieces.merge_dims(1, 2)

    def detokenize(self, token_ids):
        """Strings of a batch of token id sequences.

        Args:
            token_ids: integer `tf.RaggedTensor` (or dense tensor) of shape
                `(batch, None)`. Every id must be in the vocabulary.

        Returns:
            A string tensor of shape `(batch,)`.
        """
        if not isinstance(token_ids, tf.RaggedTensor):
            token_ids = tf.RaggedTensor.from_tensor(tf.convert_to_tensor(token_ids))
        ids = token_ids.flat_values
        # FastWordpieceTokenizer crashes the process on unknown ids; fail
        # with a message instead.
        size = tf.cast(tf.shape(self._tokens)[0], ids.dtype)
        with tf.control_dependencies(
            [
                tf.debugging.assert_non_negative(
                    ids, message="detokenize: negative token id"
                ),
                tf.debugging.assert_less(
                    ids, size, message="detokenize: token id out of vocabulary"
                ),
            ]
        ):
            ids = tf.identity(ids)
        # Position of each id in its row: a suffix token glues to the token
        # before it, but a row's first token is written as is.
        starts = tf.gather(token_ids.row_starts(), token_ids.value_rowids())
        not_first = tf.range(tf.shape(ids, out_type=starts.dtype)[0]) > starts
        glue = tf.gather(self._is_suffix, ids) & not_first
        text = tf.where(
            glue,
            tf.gather(self._glued_tokens, ids),
            tf.where(
                not_first,
                tf.strings.join([" ", tf.gather(self._tokens, ids)]),
                tf.gather(self._tokens, ids),
            ),
        )
        return tf.strings.reduce_join(token_ids.with_flat_values(text), axis=-1)

    def _split_words(self, texts):
        """Splits `(batch,)` strings into a `(batch, None)` ragged of words.

        Equals `tf_text.regex_split(text, WHITESPACE|KEEP, KEEP)`: every
        alternative of these patterns matches one character and no character
        is both whitespace and kept, so surrounding each kept character with
        spaces, turning whitespace into spaces and splitting on spaces gives
        the same words.
        """
        if not self.split:
            return tf.RaggedTensor.from_tensor(texts[:, None])
        # `tf_text.regex_split` reads its input as a C string: nothing after a
        # NUL character is tokenized.
        texts = tf.strings.regex_replace(texts, r"(?s)\x00.*", "")
        texts = tf.strings.regex_replace(texts, self._keep_regex, r" \0 ")
        texts = tf.strings.regex_replace(texts, WHITESPACE_REGEX, " ")
        words = tf.strings.split(texts, sep=" ")
        return tf.ragged.boolean_mask(words, tf.strings.length(words) > 0)

    def _word_piece(self, words):
        """Greedy longest-match-first WordPiece of a 1-D string tensor.

        Every loop iteration finds the next piece of every unfinished word:
        it looks up all candidate prefixes of the rest of the word (longest
        first, byte lengths up to the longest token) in the hash table. Bytes
        rather than characters are fine: a vocabulary token is valid UTF-8,
        so a byte slice of a word equals one only at character boundaries.

        Returns:
            An int32 `tf.RaggedTensor` of shape `(len(words), None)`.
        """
        num_words = tf.shape(words)[0]
        num_bytes = tf.strings.length(words)
        overlong = num_bytes > MAX_BYTES_PER_WORD
        indicator = tf.constant(self.suffix_indicator)
        max_piece_bytes = tf.constant(self._max_piece_bytes, tf.int32)

        def step(start, active, failed, pieces):
            todo = tf.where(active)[:, 0]
            word = tf.gather(words, todo)
            offset = tf.gather(start, todo)
            rest = tf.gather(num_bytes, todo) - offset
            width = tf.minimum(max_piece_bytes, tf.reduce_max(rest))
            lengths = tf.range(width, 0, -1)  # Longest candidate first.
            shape = tf.stack([tf.shape(todo)[0], width])
            candidates = tf.strings.substr(
                tf.broadcast_to(word[:, None], shape),
                tf.broadcast_to(offset[:, None], shape),
                tf.broadcast_to(lengths[None, :], shape),
            )
            candidates = tf.where(
                offset[:, None] > 0,
                tf.strings.join([indicator, candidates]),
                candidates,
            )
            ids = self._table.lookup(candidates)
            matches = (ids >= 0) & (lengths[None, :] <= rest[:, None])
            found = tf.reduce_any(matches, axis=1)
            best = tf.argmax(tf.cast(matches, tf.int32), axis=1, output_type=tf.int32)
            piece = tf.where(found, tf.gather(ids, best, batch_dims=1), -1)
            offset += tf.gather(lengths, best)

            at = todo[:, None]
            start = tf.tensor_scatter_nd_update(start, at, offset)
            failed = tf.tensor_scatter_nd_update(failed, at, ~found)
            active = tf.tensor_scatter_nd_update(
                active, at, found & (offset < tf.gather(num_bytes, todo))
            )
            column = tf.tensor_scatter_nd_update(tf.fill([num_words], -1), at, piece)
            pieces = tf.concat([pieces, column[:, None]], axis=1)
            return start, active, failed, pieces

        # Most words are tokens themselves: the longest match, found at once.
        whole = tf.where(overlong, -1, self._table.lookup(words))
        _, _, failed, pieces = tf.while_loop(
            lambda start, active, failed, pieces: tf.reduce_any(active),
            step,
            (
                tf.zeros([num_words], tf.int32),
                (num_bytes > 0) & ~overlong & (whole < 0),
                tf.zeros([num_words], tf.bool),
                whole[:, None],
            ),
            shape_invariants=(
                tf.TensorShape([None]),
                tf.TensorShape([None]),
                tf.TensorShape([None]),
                tf.TensorShape([None, None]),
            ),
        )
        # A word that cannot be segmented completely is one unknown token.
        unknown = failed | overlong
        pieces = tf.where(unknown[:, None], -1, pieces)
        pieces = tf.concat(
            [tf.where(unknown, self.oov_token_id, -1)[:, None], pieces], axis=1
        )
        return tf.ragged.boolean_mask(pieces, pieces >= 0)
