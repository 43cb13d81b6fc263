"""Loaders for the data formats fine-tuners bring: TSV/CSV/JSON lines pairs,
Anki/Tatoeba translation files and DailyDialog."""

from keras_attn.data.anki import load_anki
from keras_attn.data.dailydialog import DIALOGUE_SEPARATOR
from keras_attn.data.dailydialog import load_dailydialog
from keras_attn.data.errors import DataFormatError
from keras_attn.data.pairs import load_pairs
from keras_attn.data.text_pairs import TextPairs

__all__ = [
    "DIALOGUE_SEPARATOR",
    "DataFormatError",
    "TextPairs",
    "load_anki",
    "load_dailydialog",
    "load_pairs",
]
