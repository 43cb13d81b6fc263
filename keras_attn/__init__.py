"""keras-attn: attention for RNN encoder-decoder models in Keras 3."""

from keras_attn import export
from keras_attn import layers
from keras_attn import models
from keras_attn import samplers

__version__ = "0.1.0"
__all__ = ["export", "layers", "models", "samplers", "__version__"]
