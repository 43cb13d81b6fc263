"""Losses for sequence-to-sequence training."""

from keras_attn.losses.smoothed_sparse_categorical_crossentropy import (
    SmoothedSparseCategoricalCrossentropy,
)

__all__ = ["SmoothedSparseCategoricalCrossentropy"]
