"""Exports of trained models: compact presets for shipping, and TensorFlow
SavedModels for serving (TensorFlow backend only)."""

from keras_attn.export.preset import export_preset
from keras_attn.export.saved_model import export_saved_model

__all__ = ["export_preset", "export_saved_model"]
