"""Trains one tiny model twice, on one device and data-parallel over two,
and prints what the test compares as one JSON line.

Run by tests/training/test_distribute.py as
`python _distribute_child.py DATA ROOT` with `KERAS_BACKEND` set: the two
devices must exist before the backend starts, so they are made here, in a
process of their own (JAX: two host devices from `XLA_FLAGS`; TensorFlow:
two logical CPUs).
"""

import json
import os
import sys

BACKEND = os.environ["KERAS_BACKEND"]
if BACKEND == "jax":
    flag = "--xla_force_host_platform_device_count=2"
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()
elif BACKEND == "tensorflow":
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )

import keras  # noqa: E402

from keras_attn import training  # noqa: E402

# Tiny and quick (Luong dot attention without input feeding runs the
# teacher-forced decoder in one pass); no dropout, so both runs compute the
# same function. One batch holds all 32 training pairs, so each step's
# batch is the same whatever the order (on TensorFlow, Keras's first build
# under a strategy draws a batch, and the first epoch then sees the
# dataset's second shuffle). The 5 validation pairs decoded after each
# epoch are an odd number, which 2 replicas could not split.
TINY = {
    "attention": "luong-dot",
    "input_feeding": False,
    "embedding_dim": 8,
    "hidden_dim": 8,
    "dropout": 0.0,
    "vocabulary_size": 100,
    "source_length": 8,
    "target_length": 8,
    "batch_size": 32,
    "learning_rate": 0.01,
    "valid_samples": 5,
    "seed": 3,
}


class Watch(keras.callbacks.Callback):
    """Each step's loss, and how many devices hold the model's weights
    while it trains."""

    def __init__(self):
        super().__init__()
        self.losses = []
        self.weight_devices = None

    def on_train_batch_end(self, batch, logs=None):
        # Keras logs the epoch's running mean: a batch's own loss is
        # (batch + 1) * mean - batch * previous mean.
        mean = float(logs["loss"])
        self.losses.append((batch + 1) * mean - batch * (self._mean if batch else 0))
        self._mean = mean
        if self.weight_devices is None:
            variable = self.model.trainable_variables[0]
            if BACKEND == "jax":
                self.weight_devices = len(variable.value.sharding.device_set)
            else:
                strategy = self.model.distribute_strategy
                self.weight_devices = strategy.num_replicas_in_sync


def train(data, out, distribute):
    watch, records, lines = Watch(), [], []
    lm = training.train(
        "translation",
        data,
        out,
        epochs=2,
        distribute=distribute,
        callbacks=[watch, training.ProgressLog(on_record=records.append, every=1)],
        verbose=0,
        report=lines.append,
        **TINY,
    )
    return {
        "losses": watch.losses,
        "weight_devices": watch.weight_devices,
        "records": records,
        "lines": lines,
        "outputs": lm.generate(["alpha beta gamma delta", "mu eta iota zeta"]),
        # The distribution is the caller's again once train returns.
        "distribution_after": repr(keras.distribution.distribution()),
    }


def main(data, root):
    result = {
        "devices": len(keras.distribution.list_devices()),
        "single": train(data, os.path.join(root, "single"), False),
        "distributed": train(data, os.path.join(root, "distributed"), True),
    }
    try:
        options = {**TINY, "batch_size": 7}
        training.train(
            "translation", data, os.path.join(root, "odd"), distribute=True, **options
        )
    except ValueError as error:
        result["odd_batch_error"] = str(error)
    print(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:])
