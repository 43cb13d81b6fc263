"""Training: the whole pipeline (`train`), its configuration, and the
building blocks it is made of (a run kept in a directory, per-epoch
checkpoints, progress records, the bucketed dataset, a corpus streamed
from files too large to hold).

Example:
>>> sorted(keras_attn.training.__all__)[:3]
['EpochCheckpoint', 'ProgressLog', 'StreamingCorpus']
"""

from keras_attn.training.epoch_checkpoint import EpochCheckpoint
from keras_attn.training.pipeline import held_out_count
from keras_attn.training.pipeline import train
from keras_attn.training.progress_log import ProgressLog
from keras_attn.training.streaming_corpus import StreamingCorpus
from keras_attn.training.text_dataset import text_dataset
from keras_attn.training.training_config import TrainingConfig
from keras_attn.training.training_run import TrainingRun
from keras_attn.training.training_run import recorded_options

__all__ = [
    "EpochCheckpoint",
    "ProgressLog",
    "StreamingCorpus",
    "TrainingConfig",
    "TrainingRun",
    "held_out_count",
    "recorded_options",
    "text_dataset",
    "train",
]
