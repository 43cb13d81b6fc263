"""Every private keras-hub name keras_attn uses, imported in one place.

keras-hub keeps these under `keras_hub.src`, which may change in any
release. `tests/test_imports.py` imports each one that this module names
and fails with the name that moved, so an upgrade of keras-hub breaks one
test with a clear message instead of `import keras_attn`.
"""

# `preprocessing_function` wraps a preprocessor's `call` so that it runs on
# TensorFlow tensors inside or outside `tf.data` and returns backend-native
# outputs, as keras-hub's own preprocessors do;
# `convert_preprocessing_outputs` does the same for a plain function's result.
from keras_hub.src.utils.tensor_utils import convert_preprocessing_outputs
from keras_hub.src.utils.tensor_utils import preprocessing_function

__all__ = ["convert_preprocessing_outputs", "preprocessing_function"]
