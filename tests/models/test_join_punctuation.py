"""The detokenization rules, against hand-written expectations."""

import pytest
import tensorflow as tf

from keras_attn.models.join_punctuation import join_punctuation

CASES = [
    ("Where ' s the train station ?", "Where's the train station?"),
    ("I don ' t like coffee .", "I don't like coffee."),
    ("¡ Hola , Tom !", "¡Hola, Tom!"),
    ("¿ Dónde está ?", "¿Dónde está?"),
    ("It ' s 3 . 5 km , at 10 : 30 .", "It's 3.5 km, at 10:30."),
    ("1 , 000 , 000 people", "1,000,000 people"),
    ('He said " hello " to me .', 'He said "hello" to me.'),
    ("a well - known x - ray ( really ) .", "a well-known x-ray (really)."),
    ("a - b - c", "a-b-c"),
    ("Wait ... what ?!", "Wait... what?!"),
    ("l ' homme", "l'homme"),
    ("", ""),
    ("no punctuation here", "no punctuation here"),
]


@pytest.mark.parametrize(("spaced", "joined"), CASES)
def test_rules(spaced, joined):
    assert join_punctuation([spaced]).numpy()[0].decode() == joined


def test_keeps_the_shape():
    texts = tf.constant([["a ,", "b ."], ["c !", "d"]])
    out = join_punctuation(texts)
    assert out.shape == (2, 2) and out.numpy()[1, 0] == b"c!"
