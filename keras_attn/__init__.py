"""keras-attn: attention for RNN encoder-decoder models in Keras 3."""

from keras_attn import layers

__version__ = "0.1.0"
__all__ = ["layers", "__version__"]
