"""keras-attn: attention for RNN encoder-decoder models in Keras 3."""

from keras_attn import data
from keras_attn import export
from keras_attn import layers
from keras_attn import losses
from keras_attn import metrics
from keras_attn import models
from keras_attn import samplers
from keras_attn import tasks
from keras_attn import training

__version__ = "0.1.0"
__all__ = [
    "data",
    "export",
    "layers",
    "losses",
    "metrics",
    "models",
    "samplers",
    "tasks",
    "training",
    "__version__",
]
