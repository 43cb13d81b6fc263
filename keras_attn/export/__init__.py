"""TensorFlow-only edge: serving exports of trained models."""

from keras_attn.export.saved_model import export_saved_model

__all__ = ["export_saved_model"]
