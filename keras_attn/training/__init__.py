"""Training runs kept in a directory, with checkpoints and resumption."""

from keras_attn.training.epoch_checkpoint import EpochCheckpoint
from keras_attn.training.progress_log import ProgressLog
from keras_attn.training.training_run import TrainingRun

__all__ = ["EpochCheckpoint", "ProgressLog", "TrainingRun"]
