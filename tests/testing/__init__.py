"""The shared test harness: one call gives a layer or model every round trip.

See `tests/testing/harness.py`.
"""

from tests.testing.harness import EAGER_ON_TENSORFLOW
from tests.testing.harness import POLICIES
from tests.testing.harness import assert_same_outputs
from tests.testing.harness import run_layer_saving_test
from tests.testing.harness import run_layer_test
from tests.testing.harness import run_model_saving_test
from tests.testing.harness import run_precision_test
from tests.testing.harness import run_preset_test
from tests.testing.harness import run_serialization_test

__all__ = [
    "EAGER_ON_TENSORFLOW",
    "POLICIES",
    "assert_same_outputs",
    "run_layer_saving_test",
    "run_layer_test",
    "run_model_saving_test",
    "run_precision_test",
    "run_preset_test",
    "run_serialization_test",
]
