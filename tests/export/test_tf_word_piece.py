"""`TFWordPiece` against keras-hub's `WordPieceTokenizer`, and its SavedModel
loaded in a process that imports nothing but TensorFlow."""

import json
import random
import subprocess
import sys
import textwrap

import keras_hub
import numpy as np
import pytest
import tensorflow as tf
from keras_hub.src.tokenizers import word_piece_tokenizer as keras_hub_word_piece

from keras_attn.export import tf_word_piece
from keras_attn.export.tf_word_piece import TFWordPiece

RESERVED_TOKENS = ["[PAD]", "[UNK]", "[START]", "[END]"]

TRAIN_TEXTS = [
    "¿Dónde está la estación de tren?",
    "La estación está cerca del río.",
    "Hola, ¿cómo estás? Muy bien, gracias.",
    "El niño come una manzana roja todos los días.",
    "Me gusta leer libros en la biblioteca.",
    "Nos vemos mañana a las 10:30 en la estación.",
    "Where is the train station? It is near the river.",
    "I have 3 cats and 12 dogs at home.",
    "中文 字符",
]

HELD_OUT_TEXTS = [
    "¿Dónde está la estación?",
    "estación,río;niño!(manzana)«libros»",
    "Tengo 1234 gatos y 56,7 kg de 2025-01-01.",
    "  muchos   espacios\t\ty\ttabuladores \n  ",
    "",
    "中文字符和汉字测试",
    "me gusta 😀 👍🏽 mucho",
    "electroencefalografista" * 4,
    "a" * 100,
    "a" * 101,
    "Ωmega Ж qué xylophone quizás",
    "no\u00a0break\u200bzero\u3000ideographic",
    "estaciones bibliotecas mañanas",
]


def to_lists(x):
    """Token ids from a ragged tensor or nested lists, as lists of ints."""
    if isinstance(x, tf.RaggedTensor):
        x = x.to_list()
    return [[int(i) for i in row] for row in x]


def to_strings(x):
    """Python strings from a string tensor or a list."""
    if isinstance(x, tf.Tensor):
        x = x.numpy().tolist()
    return [s.decode("utf-8") if isinstance(s, bytes) else s for s in x]


@pytest.fixture(scope="module")
def vocabulary():
    # A list would be read as file names: pass a dataset.
    data = tf.data.Dataset.from_tensor_slices(TRAIN_TEXTS).batch(4)
    return keras_hub.tokenizers.compute_word_piece_vocabulary(
        data, vocabulary_size=90, reserved_tokens=RESERVED_TOKENS
    )


@pytest.fixture(scope="module")
def reference(vocabulary):
    return keras_hub.tokenizers.WordPieceTokenizer(vocabulary=vocabulary)


def graph_reference(reference):
    """keras-hub's TensorFlow Text path, which runs inside a `tf.function`."""
    tokenize = tf.function(reference.tokenize)
    detokenize = tf.function(reference.detokenize)
    return tokenize, detokenize


def test_patterns_equal_keras_hub():
    assert tf_word_piece.WHITESPACE_REGEX == keras_hub_word_piece.WHITESPACE_REGEX
    assert tf_word_piece.PUNCTUATION_REGEX == keras_hub_word_piece.PUNCTUATION_REGEX
    assert tf_word_piece.CJK_REGEX == keras_hub_word_piece.CJK_REGEX
    assert keras_hub_word_piece.MAX_BYTES_PER_WORD == tf_word_piece.MAX_BYTES_PER_WORD


def test_no_character_is_both_dropped_and_kept():
    # `_split_words` relies on it: check every Unicode scalar value with RE2.
    code_points = np.array(
        [c for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF], np.int32
    )
    chars = tf.strings.unicode_encode(
        tf.RaggedTensor.from_row_lengths(code_points, tf.ones_like(code_points)),
        "UTF-8",
    )
    dropped = tf.strings.regex_full_match(chars, tf_word_piece.WHITESPACE_REGEX)
    kept = tf.strings.regex_full_match(
        chars, tf_word_piece.PUNCTUATION_REGEX + "|" + tf_word_piece.CJK_REGEX
    )
    assert not np.any(dropped.numpy() & kept.numpy())


def test_tokenize_matches_keras_hub(vocabulary, reference):
    tokenizer = TFWordPiece.from_keras_hub(reference)
    got = to_lists(tokenizer.tokenize(tf.constant(HELD_OUT_TEXTS)))

    python_ids = to_lists(reference.tokenize(HELD_OUT_TEXTS))
    graph_tokenize, _ = graph_reference(reference)
    graph_ids = to_lists(graph_tokenize(tf.constant(HELD_OUT_TEXTS)))
    assert got == python_ids
    assert got == graph_ids

    # The held-out text exercises suffix pieces and unknown words.
    tokens = [vocabulary[i] for row in got for i in row]
    assert any(t.startswith("##") for t in tokens)
    assert "[UNK]" in tokens
    assert got[HELD_OUT_TEXTS.index("")] == []
    assert got[HELD_OUT_TEXTS.index("a" * 101)] == [vocabulary.index("[UNK]")]
    assert len(got[HELD_OUT_TEXTS.index("a" * 100)]) > 1


def test_tokenize_in_tf_function(reference):
    tokenizer = TFWordPiece.from_keras_hub(reference)
    tokenize = tf.function(
        tokenizer.tokenize, input_signature=[tf.TensorSpec([None], tf.string)]
    )
    texts = tf.constant(HELD_OUT_TEXTS)
    output = tokenize(texts)
    assert output.dtype == tf.int32
    assert to_lists(output) == to_lists(tokenizer.tokenize(texts))
    assert to_lists(tokenize(tf.constant([], tf.string))) == []


def test_random_text_matches_keras_hub(reference):
    # Seeded random strings of letters, punctuation, whitespace, control and
    # format characters, CJK, emoji and combining marks.
    alphabet = list("aeinostuáéñ DELW¿?¡!.,;:'\"()-#@[]{}\\_/0123456789\t\n\r\x0b")
    alphabet += ["\u00a0", "\u3000", "\u200b", "\ufeff", "\x1c", "\u0301", "中"]
    alphabet += ["字", "\U00020001", "😀", "–", "«", "ｓ", "##", "estación", "é" * 30]
    rng = random.Random(0)
    texts = [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        for _ in range(300)
    ]
    tokenizer = TFWordPiece.from_keras_hub(reference)
    got = to_lists(tokenizer.tokenize(tf.constant(texts)))
    assert got == to_lists(reference.tokenize(texts))
    graph_tokenize, _ = graph_reference(reference)
    assert got == to_lists(graph_tokenize(tf.constant(texts)))


def test_nul_ends_the_text_as_in_tensorflow_text(reference):
    # `tf_text.regex_split` stops at a NUL character; keras-hub's Python path
    # does not. TFWordPiece follows the graph path that a SavedModel replaces.
    texts = tf.constant(["está\x00 la estación", "\x00río"])
    tokenizer = TFWordPiece.from_keras_hub(reference)
    graph_tokenize, _ = graph_reference(reference)
    got = to_lists(tokenizer.tokenize(texts))
    assert got == to_lists(graph_tokenize(texts))
    assert got == to_lists(tokenizer.tokenize(tf.constant(["está", ""])))


@pytest.mark.parametrize("split,split_on_cjk", [(True, False), (False, True)])
def test_split_options_match_keras_hub(vocabulary, split, split_on_cjk):
    reference = keras_hub.tokenizers.WordPieceTokenizer(
        vocabulary=vocabulary, split=split, split_on_cjk=split_on_cjk
    )
    tokenizer = TFWordPiece.from_keras_hub(reference)
    texts = HELD_OUT_TEXTS + ["estación", "中文", "##ción", "a b"]
    got = to_lists(tokenizer.tokenize(tf.constant(texts)))
    if split:
        want = reference.tokenize(texts)
    else:
        # keras-hub takes pre-split words: one word per row.
        want = reference.tokenize([[text] for text in texts])
    assert got == to_lists(want)


def test_detokenize_matches_keras_hub(vocabulary, reference):
    tokenizer = TFWordPiece.from_keras_hub(reference)
    ids = to_lists(tokenizer.tokenize(tf.constant(HELD_OUT_TEXTS)))
    # Random sequences too: suffix tokens first in a row, after `[UNK]`, ...
    rng = random.Random(1)
    ids += [
        [rng.randrange(len(vocabulary)) for _ in range(rng.randint(0, 8))]
        for _ in range(200)
    ]
    ragged = tf.ragged.constant(ids, dtype=tf.int32, ragged_rank=1)
    got = to_strings(tokenizer.detokenize(ragged))
    assert got == to_strings(reference.detokenize(ids))
    _, graph_detokenize = graph_reference(reference)
    assert got == to_strings(graph_detokenize(ragged))

    detokenize = tf.function(
        tokenizer.detokenize,
        input_signature=[tf.RaggedTensorSpec([None, None], tf.int32)],
    )
    assert to_strings(detokenize(ragged)) == got
    assert got[HELD_OUT_TEXTS.index("")] == ""


def test_hand_written_vocabulary():
    # Cases that a trained vocabulary may miss; expected values are what
    # keras-hub (TensorFlow Text) gives.
    vocabulary = ["[UNK]", "a", "b", "ab", "##a", "##b", "##ab", "##", "é", "##é"]
    tokenizer = TFWordPiece(vocabulary, split=False)
    texts = ["aab", "abab", "ba", "abx", "##a", "##", "aé", "", "a" * 100, "a" * 101]
    assert to_lists(tokenizer.tokenize(tf.constant(texts))) == [
        [1, 6],
        [3, 6],
        [2, 4],
        [0],
        [4],
        [7],
        [1, 9],
        [],
        [1] + [4] * 99,
        [0],
    ]
    ids = tf.ragged.constant([[4], [4, 5], [1, 7, 4], [0, 5], [8, 9], []], tf.int32)
    assert to_strings(tokenizer.detokenize(ids)) == [
        "##a",
        "##ab",
        "a ##a",
        "[UNK]b",
        "éé",
        "",
    ]


def test_unsupported_options_raise(vocabulary):
    with pytest.raises(ValueError, match="lowercase"):
        TFWordPiece(vocabulary, lowercase=True)
    with pytest.raises(ValueError, match="strip_accents"):
        TFWordPiece(vocabulary, strip_accents=True)
    with pytest.raises(ValueError, match="lowercase"):
        TFWordPiece.from_keras_hub(
            keras_hub.tokenizers.WordPieceTokenizer(
                vocabulary=vocabulary, lowercase=True
            )
        )
    with pytest.raises(ValueError, match="special_tokens_in_strings"):
        TFWordPiece.from_keras_hub(
            keras_hub.tokenizers.WordPieceTokenizer(
                vocabulary=vocabulary,
                special_tokens=["[START]"],
                special_tokens_in_strings=True,
            )
        )
    with pytest.raises(ValueError, match="unique"):
        TFWordPiece(["[UNK]", "a", "a"])
    with pytest.raises(ValueError, match="oov_token"):
        TFWordPiece(["a", "b"])


def test_detokenize_rejects_unknown_ids(vocabulary):
    tokenizer = TFWordPiece(vocabulary)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tokenizer.detokenize(tf.ragged.constant([[len(vocabulary)]], tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError):
        tokenizer.detokenize(tf.ragged.constant([[-1]], tf.int32))


LOAD_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf

    path, texts_file, out_file = sys.argv[1:]
    with open(texts_file, encoding="utf-8") as file:
        texts = json.load(file)
    loaded = tf.saved_model.load(path)
    ids = loaded.tokenize(tf.constant(texts))
    strings = loaded.detokenize(ids)
    served = loaded.signatures["serving_default"](texts=tf.constant(texts))
    result = {
        "ids": ids.to_list(),
        "strings": [s.decode("utf-8") for s in strings.numpy().tolist()],
        "served": [s.decode("utf-8") for s in served["outputs"].numpy().tolist()],
        "modules": [m for m in ("tensorflow_text", "keras_hub") if m in sys.modules],
    }
    with open(out_file, "w", encoding="utf-8") as file:
        json.dump(result, file)
    """
)


def test_saved_model_loads_without_tensorflow_text(reference, tmp_path):
    tokenizer = TFWordPiece.from_keras_hub(reference)
    module = tf.Module()
    module.tokenizer = tokenizer
    module.tokenize = tf.function(
        tokenizer.tokenize, input_signature=[tf.TensorSpec([None], tf.string)]
    )
    module.detokenize = tf.function(
        tokenizer.detokenize,
        input_signature=[tf.RaggedTensorSpec([None, None], tf.int32)],
    )

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def round_trip(texts):
        return {"outputs": tokenizer.detokenize(tokenizer.tokenize(texts))}

    path = str(tmp_path / "saved_model")
    tf.saved_model.save(module, path, signatures={"serving_default": round_trip})

    texts = tf.constant(HELD_OUT_TEXTS)
    want_ids = to_lists(tokenizer.tokenize(texts))
    want_strings = to_strings(tokenizer.detokenize(tokenizer.tokenize(texts)))

    texts_file = tmp_path / "texts.json"
    texts_file.write_text(json.dumps(HELD_OUT_TEXTS), encoding="utf-8")
    out_file = tmp_path / "result.json"
    subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, path, str(texts_file), str(out_file)],
        check=True,
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    result = json.loads(out_file.read_text(encoding="utf-8"))
    assert result["modules"] == []
    assert result["ids"] == want_ids
    assert result["strings"] == want_strings
    assert result["served"] == want_strings
