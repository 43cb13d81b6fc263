"""Where `train(..., distribute=True)` runs: the backend's own data
parallelism (`keras.distribution.DataParallel` on JAX,
`tf.distribute.MirroredStrategy` on TensorFlow) and which process writes
the run's files.

Nothing here distributes anything itself: it picks the backend's API and
hands `train` a scope to build, compile and fit the model in.
"""

import contextlib
import json
import os

# The backends whose Keras trainer has data parallelism (Keras 3.15).
BACKENDS = ("jax", "tensorflow")
# Keras 3.15's TensorFlow trainer fails under MultiWorkerMirroredStrategy:
# its first build averages a batch structure, and every step averages the
# scalar logs along an axis they lack.
MULTI_WORKER_ISSUE = "https://github.com/keras-team/keras/issues/20585"


def check_supported(backend=None):
    """Raises a `ValueError` when `distribute=True` cannot train here: on a
    backend (default: Keras's) without data parallelism, or on TensorFlow
    with a `TF_CONFIG` of several workers.

    Example:
    >>> check_supported("jax")
    >>> check_supported("torch")
    Traceback (most recent call last):
    ...
    ValueError: distribute=True trains data-parallel with the Keras backend's own distribution API, which only JAX (keras.distribution.DataParallel) and TensorFlow (tf.distribute) have; Keras 3's trainer has none on torch. Set KERAS_BACKEND=jax or KERAS_BACKEND=tensorflow. Received: distribute=True on the 'torch' backend
    """  # noqa: E501
    import keras

    backend = backend or keras.config.backend()
    if backend not in BACKENDS:
        raise ValueError(
            "distribute=True trains data-parallel with the Keras backend's own "
            "distribution API, which only JAX (keras.distribution.DataParallel) "
            "and TensorFlow (tf.distribute) have; Keras 3's trainer has none on "
            f"{backend}. Set KERAS_BACKEND=jax or KERAS_BACKEND=tensorflow. "
            f"Received: distribute=True on the {backend!r} backend"
        )
    workers = tf_workers(tf_config())
    if backend == "tensorflow" and workers > 1:
        raise ValueError(
            "distribute=True on TensorFlow trains on one machine's devices: "
            "Keras 3.15's fit fails under MultiWorkerMirroredStrategy "
            f"({MULTI_WORKER_ISSUE}). Train on several machines with "
            "KERAS_BACKEND=jax (keras.distribution.initialize), or unset "
            f"TF_CONFIG. Received: a TF_CONFIG of {workers} workers"
        )


def tf_config():
    """The `TF_CONFIG` environment variable, parsed (`{}` when unset).

    Raises:
        ValueError: it is set but is not a JSON object.
    """
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        config = json.loads(text)
    except ValueError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise ValueError(f"TF_CONFIG must be a JSON object. Received: {text!r}")
    return config


def tf_workers(config):
    """How many processes a `TF_CONFIG` cluster trains in (chief and
    workers; at least 1).

    Example:
    >>> tf_workers({"cluster": {"worker": ["a:1", "b:1"], "chief": ["c:1"]}})
    3
    >>> tf_workers({})
    1
    """
    cluster = config.get("cluster") or {}
    return max(1, len(cluster.get("chief") or []) + len(cluster.get("worker") or []))


class Placement:
    """The devices and processes of one `train` call.

    Attributes:
        replicas: int, the model replicas a batch is split over (1 when not
            distributed).
        processes: int, the processes training together.
        chief: bool, this process writes the run (checkpoints, the best
            model, options.json) and scores the validation decoding.
        decodes: bool, this process runs the validation decoding: the
            chief, and on JAX with several processes every process (a
            program on the global device mesh runs in all of them).
    """

    def __init__(
        self, replicas=1, processes=1, chief=True, decodes=None, scope=None, tf=False
    ):
        self.replicas = replicas
        self.processes = processes
        self.chief = chief
        self.decodes = chief if decodes is None else decodes
        self._scope = scope
        self._tf = tf

    def scope(self):
        """The context to build, compile and fit the model in."""
        return self._scope() if self._scope else contextlib.nullcontext()

    @contextlib.contextmanager
    def decoding(self):
        """The context of the validation decoding during training.

        On JAX the batch is not split over the devices: the decoding runs
        on the replicated weights with no distribution set, so any number
        of pairs decodes, and with several processes the tokens come back
        whole to each of them (a split batch's would stay spread over the
        processes).
        """
        if self._tf or self._scope is None:
            yield
            return
        import keras

        distribution = keras.distribution.distribution()
        keras.distribution.set_distribution(None)
        try:
            yield
        finally:
            keras.distribution.set_distribution(distribution)

    @contextlib.contextmanager
    def fitting(self, lm, batch_size):
        """The context of `lm.fit` on batches of `batch_size` pairs: what
        the preprocessed batches need for Keras 3.15 to split them.

        - TensorFlow, several replicas: Keras's first build of a model under
          a strategy averages a sample batch over the replicas, which fails
          on boolean tensors (the padding masks); they go to the model as
          int32 (its inputs are int32, so nothing else changes).
        - Several processes: Keras splits a batch between processes only
          when its size is static, and the preprocessor's token ids lose
          it; it is set again (the batches are all whole).
        """
        import tensorflow as tf

        casts = []
        if self._tf and self.replicas > 1:
            casts.append(lambda t: tf.cast(t, "int32") if t.dtype == tf.bool else t)
        if self.processes > 1:
            casts.append(
                lambda t: tf.ensure_shape(t, [batch_size] + [None] * (t.shape.rank - 1))
            )
        if not casts:
            yield
            return
        preprocess = lm.preprocess_samples

        def preprocess_samples(x, y=None, sample_weight=None):
            batch = preprocess(x, y, sample_weight)
            for cast in casts:
                batch = tf.nest.map_structure(cast, batch)
            return batch

        lm.preprocess_samples = preprocess_samples
        try:
            yield
        finally:
            del lm.preprocess_samples


def placement(distribute):
    """The `Placement` of a run: one device, or data-parallel over every
    device the backend sees.

    JAX: `keras.distribution.DataParallel` over `jax.devices()` (with
    several processes, `keras.distribution.initialize` must have been
    called first, by the launcher; process 0 writes). TensorFlow:
    `MirroredStrategy` over the visible GPUs, else the logical CPUs.

    Example:
    >>> placement(False).replicas
    1
    """
    if not distribute:
        return Placement()
    import keras

    check_supported()
    if keras.config.backend() == "jax":
        import jax

        distribution = keras.distribution.DataParallel(devices=jax.devices())
        processes = jax.process_count()
        chief = jax.process_index() == 0
        return Placement(
            replicas=len(jax.devices()),
            processes=processes,
            chief=chief,
            decodes=chief or processes > 1,
            scope=distribution.scope,
        )
    import tensorflow as tf

    devices = tf.config.list_logical_devices("GPU")
    devices = devices or tf.config.list_logical_devices("CPU")
    strategy = tf.distribute.MirroredStrategy([d.name for d in devices])
    return Placement(
        replicas=strategy.num_replicas_in_sync, scope=strategy.scope, tf=True
    )
