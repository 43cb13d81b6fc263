"""Undo the spaces WordPiece puts around punctuation when it detokenizes.

The WordPiece tokenizers split every punctuation mark into its own token, so
`detokenize` gives "Where ' s the station ?". `join_punctuation` rewrites
that as "Where's the station?" with a fixed list of RE2 rules, run by
`tf.strings.regex_replace` so that the same graph ops serve both Python
generation and an exported SavedModel.
"""

import tensorflow as tf

_WORD = r"[\pL\pN]"

# (pattern, rewrite) pairs, applied in order. RE2 has no look-around, so the
# characters around a mark are captured and written back.
JOIN_PUNCTUATION_RULES = (
    # Numbers: "3 . 5" -> "3.5", "10 : 30" -> "10:30", "1 , 000" -> "1,000".
    (r"(\pN) ([.,:]) (\pN)", r"\1\2\3"),
    # A space before a closing mark: "station ?" -> "station?".
    (r" ([.,!?;:%)\]}»…])", r"\1"),
    # A space after an opening mark: "¿ dónde" -> "¿dónde".
    (r"([(\[{¿¡«]) ", r"\1"),
    # Apostrophes and hyphens inside words: "don ' t", "well - known".
    (rf"({_WORD}) (['’-]) ({_WORD})", r"\1\2\3"),
    # Straight double quotes, in pairs: '" hello "' -> '"hello"'.
    (r'" ([^"]*?) "', r'"\1"'),
)


def join_punctuation(texts):
    """Removes the spaces that token-by-token joining left around punctuation.

    Args:
        texts: a string tensor (or a list of strings) of any shape.

    Returns:
        A string tensor of the same shape.

    Example:
    >>> join_punctuation(["Where ' s the station ?", "¡ Hola , Tom !"]).numpy()
    array([b"Where's the station?", b'\\xc2\\xa1Hola, Tom!'], dtype=object)
    """
    texts = tf.convert_to_tensor(texts, tf.string)
    for pattern, rewrite in JOIN_PUNCTUATION_RULES:
        # Applied twice: a match consumes the character a neighbouring match
        # needs ("a - b - c"), and the second pass joins those.
        texts = tf.strings.regex_replace(texts, pattern, rewrite)
        texts = tf.strings.regex_replace(texts, pattern, rewrite)
    return texts
