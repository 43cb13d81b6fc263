"""Round trips every layer and model must pass, written once.

As keras-hub's `TestCase` (`keras_hub/src/tests/test_case.py`), but as plain
functions that any pytest test calls, on every backend:

- `run_layer_test`: the config and serialisation round trips, the symbolic
  output spec against the eager outputs, one `fit` step that changes every
  trainable weight, a `.keras` file round trip with `safe_mode=True` and the
  precision policies (`POLICIES`).
- `run_model_saving_test`: a model through a `.keras` file.
- `run_preset_test`: a keras-hub model through `save_to_preset` and
  `from_preset`.

`input_data` names the call's tensor arguments, `{"query": ..., "value":
...}`, as NumPy arrays (lists of arrays where the call takes a list, such as
a cell's `states`); a layer is called with them as keyword arguments and a
`keras.Model` with the dict as its one input. Arguments that are not tensors
(`return_attention_scores=True`) go in `call_kwargs`. `init_kwargs` is a
dict, or a function returning one when it holds layers: every check builds
fresh sublayers, so that none is shared, and sublayers made by that function
take the policy under test.
"""

import json
import os
import tempfile

import keras
import numpy as np
from keras import ops
from keras import tree

POLICIES = ("float32", "mixed_float16", "mixed_bfloat16", "bfloat16")

# For `run_training_eagerly` of a model with a decoder loop: tracing the
# gradient of `ops.scan` into a TensorFlow graph takes seconds, while JAX
# runs the step far faster compiled than op by op.
EAGER_ON_TENSORFLOW = keras.backend.backend() == "tensorflow"


def to_numpy(x):
    """A backend tensor as a NumPy array (bfloat16 and float16 as float32)."""
    x = ops.convert_to_numpy(x)
    if keras.backend.standardize_dtype(x.dtype) in ("bfloat16", "float16"):
        x = x.astype("float32")
    return np.asarray(x)


def assert_same_outputs(got, want, atol=0.0, message=""):
    """Asserts two output structures match: strings equal, arrays within atol.

    `atol=0` asks for identical arrays.
    """
    got_flat, want_flat = tree.flatten(got), tree.flatten(want)
    assert len(got_flat) == len(want_flat), (
        f"{message}: {len(got_flat)} outputs instead of {len(want_flat)}"
    )
    for i, (g, w) in enumerate(zip(got_flat, want_flat, strict=True)):
        if isinstance(w, str | bytes):
            assert g == w, f"{message}: output {i} is {g!r}, expected {w!r}"
        elif atol:
            np.testing.assert_allclose(
                to_numpy(g), to_numpy(w), atol=atol, err_msg=f"{message}: output {i}"
            )
        else:
            np.testing.assert_array_equal(
                to_numpy(g), to_numpy(w), err_msg=f"{message}: output {i}"
            )


def _config_json(instance):
    return json.dumps(instance.get_config(), sort_keys=True, indent=1)


def run_serialization_test(instance, compare_attributes=True):
    """`get_config`/`from_config` and `serialize`/`deserialize` round trips.

    Both must give back an object of the same class with the same config
    (compared as JSON, so that the config is JSON-serialisable too) and the
    same attributes.

    Args:
        instance: a layer, model, sampler or any Keras-serialisable object.
        compare_attributes: bool; `False` for an object whose state is
            partly an asset rather than config (a tokenizer's vocabulary,
            whose TensorFlow lookup tables add attributes once it is set).

    Returns:
        The object revived through `keras.saving.deserialize_keras_object`.
    """
    cls = type(instance)
    config = _config_json(instance)
    revived = cls.from_config(instance.get_config())
    assert _config_json(revived) == config, (
        f"{cls.__name__}.from_config(get_config()) changed the config"
    )
    serialized = json.dumps(keras.saving.serialize_keras_object(instance))
    revived = keras.saving.deserialize_keras_object(json.loads(serialized))
    assert type(revived) is cls, f"deserialized a {type(revived).__name__}"
    assert _config_json(revived) == config, (
        f"serialize/deserialize changed the config of {cls.__name__}"
    )
    if compare_attributes:
        missing = sorted(set(dir(instance)) - set(dir(revived)))
        extra = sorted(set(dir(revived)) - set(dir(instance)))
        assert not missing and not extra, (
            f"{cls.__name__} revived from its config lacks {missing}, has {extra}"
        )
    return revived


def _make_kwargs(init_kwargs):
    if callable(init_kwargs):
        return dict(init_kwargs())
    if any(isinstance(v, keras.Layer) for v in tree.flatten(init_kwargs)):
        raise ValueError(
            "`init_kwargs` holds layers: pass a function that returns the "
            "kwargs, so that each check gets fresh sublayers. Received: "
            f"init_kwargs={init_kwargs!r}"
        )
    return dict(init_kwargs)


def _call(instance, data, call_kwargs=None):
    call_kwargs = call_kwargs or {}
    if isinstance(data, dict) and not isinstance(instance, keras.Model):
        return instance(**data, **call_kwargs)
    return instance(data, **call_kwargs)


def _dtype(x):
    return keras.backend.standardize_dtype(x.dtype)


def _symbolic(data):
    """KerasTensors for `data`, with the batch size unknown."""
    return tree.map_structure(
        lambda x: keras.KerasTensor((None, *np.shape(x)[1:]), dtype=_dtype(x)), data
    )


def _check_spec(spec, outputs, message):
    """The symbolic outputs have the eager outputs' structure, shapes (where
    known) and dtypes."""
    flat_spec, flat_out = tree.flatten(spec), tree.flatten(outputs)
    assert len(flat_spec) == len(flat_out), (
        f"{message}: {len(flat_spec)} symbolic outputs, {len(flat_out)} eager"
    )
    for i, (s, o) in enumerate(zip(flat_spec, flat_out, strict=True)):
        assert isinstance(s, keras.KerasTensor), f"{message}: output {i} is {s!r}"
        eager_shape = tuple(o.shape)
        assert len(s.shape) == len(eager_shape) and all(
            d is None or d == e for d, e in zip(s.shape, eager_shape, strict=True)
        ), f"{message}: output {i} has spec shape {s.shape}, eager {eager_shape}"
        assert _dtype(s) == _dtype(o), (
            f"{message}: output {i} has spec dtype {_dtype(s)}, eager {_dtype(o)}"
        )


def _float_outputs(outputs):
    return [o for o in tree.flatten(outputs) if keras.backend.is_float_dtype(o.dtype)]


class _TrainingModel(keras.Model):
    """Fits every float output of the wrapped layer or model to a target."""

    def __init__(self, layer, call_kwargs):
        super().__init__(name="training_model")
        self.layer = layer
        self.call_kwargs = call_kwargs

    def call(self, data):
        outputs = _float_outputs(_call(self.layer, data, self.call_kwargs))
        # A trailing axis makes the squared error elementwise, and the new
        # tensors carry no Keras mask, so every entry is fitted.
        return tuple(ops.expand_dims(o, -1) for o in outputs)


def run_training_test(instance, input_data, call_kwargs=None, run_eagerly=False):
    """One `fit` step on `instance` changes every trainable weight.

    The float outputs are fitted to random targets with the mean squared
    error and Adam, whose first step moves every weight with a gradient.
    `run_eagerly=True` skips compiling the step, for a layer whose compiled
    training is tested elsewhere and slow to trace.
    """
    model = _TrainingModel(instance, call_kwargs)
    outputs = model(input_data)
    weights = model.trainable_weights
    assert weights, f"{type(instance).__name__} has no trainable weights"
    before = [to_numpy(w) for w in weights]
    rng = np.random.default_rng(0)
    targets = tuple(rng.normal(size=tuple(o.shape)).astype("float32") for o in outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(0.01), loss="mse", run_eagerly=run_eagerly
    )
    batch = len(tree.flatten(input_data)[0])
    history = model.fit(input_data, targets, batch_size=batch, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0]), history.history
    frozen = [
        w.path
        for w, old in zip(weights, before, strict=True)
        if np.array_equal(to_numpy(w), old)
    ]
    assert not frozen, f"a fit step left these weights unchanged: {frozen}"


def run_layer_saving_test(cls, init_kwargs, input_data, call_kwargs=None):
    """A functional model around the layer, saved to a `.keras` file and
    loaded with `safe_mode=True`, gives identical outputs."""
    # Inputs named after their argument, as Keras wants for a dict of inputs.
    inputs = tree.pack_sequence_as(
        input_data,
        [
            keras.Input(np.shape(x)[1:], dtype=_dtype(x), name="_".join(map(str, path)))
            for path, x in tree.flatten_with_path(input_data)
        ],
    )
    outputs = _call(cls(**_make_kwargs(init_kwargs)), inputs, call_kwargs)
    model = keras.Model(inputs, outputs)
    expected = model(input_data)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
    assert any(isinstance(layer, cls) for layer in loaded.layers), (
        f"the loaded model has no {cls.__name__}"
    )
    assert_same_outputs(loaded(input_data), expected, message="after .keras reload")


def run_model_saving_test(cls, init_kwargs, input_data, atol=0.0):
    """The model saved to a `.keras` file and loaded with `safe_mode=True` is
    a `cls` again and gives the same outputs (identical with `atol=0`)."""
    model = cls(**_make_kwargs(init_kwargs))
    expected = model(input_data)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, cls), f"loaded a {type(loaded).__name__}"
    assert_same_outputs(
        loaded(input_data), expected, atol=atol, message="after .keras reload"
    )
    return loaded


def _check_policy(layer, outputs, input_data, call_kwargs, float32_outputs):
    """The outputs, spec, weights and sublayers of a layer called under its
    policy."""
    policy = layer.dtype_policy
    message = f"{type(layer).__name__} under {policy.name}"
    for path, tensor in tree.flatten_with_path(outputs):
        if not keras.backend.is_float_dtype(tensor.dtype):
            continue
        kept = bool(path) and path[0] in float32_outputs
        want = "float32" if kept else policy.compute_dtype
        assert _dtype(tensor) == want, (
            f"{message}: output {path} is {_dtype(tensor)}, expected {want}"
        )
        assert np.all(np.isfinite(to_numpy(tensor))), (
            f"{message}: output {path} is not finite"
        )
    _check_spec(_call(layer, _symbolic(input_data), call_kwargs), outputs, message)
    for weight in layer.weights:
        if keras.backend.is_float_dtype(weight.dtype):
            assert _dtype(weight) == policy.variable_dtype, (
                f"{message}: weight {weight.path} is {_dtype(weight)}"
            )
    for sublayer in layer._flatten_layers():
        if isinstance(sublayer, keras.layers.InputLayer):
            continue
        assert (sublayer.compute_dtype, sublayer.variable_dtype) == (
            policy.compute_dtype,
            policy.variable_dtype,
        ), f"{message}: sublayer {sublayer.name} is on {sublayer.dtype_policy.name}"


def run_precision_test(
    cls,
    init_kwargs,
    input_data,
    call_kwargs=None,
    float32_outputs=(),
    policies=POLICIES,
):
    """Under every policy of `policies`: float outputs in the compute dtype
    (except `float32_outputs`, kept in float32 by design), the symbolic spec
    with the eager dtypes, weights in the variable dtype, every sublayer on
    the policy, and finite outputs.

    Args:
        float32_outputs: the outputs that stay float32, by their index in a
            tuple or their key in a dict (the first step of their path).
        policies: the policy names to check, all of `POLICIES` by default.
    """
    previous = keras.config.dtype_policy()
    try:
        for name in policies:
            policy = keras.dtype_policies.DTypePolicy(name)
            # Sublayers made by `init_kwargs` take the policy as the default.
            keras.config.set_dtype_policy(policy)
            layer = cls(**{**_make_kwargs(init_kwargs), "dtype": policy})
            outputs = _call(layer, input_data, call_kwargs)
            _check_policy(layer, outputs, input_data, call_kwargs, float32_outputs)
    finally:
        keras.config.set_dtype_policy(previous)


def run_layer_test(
    cls,
    init_kwargs,
    input_data,
    call_kwargs=None,
    expected_output_shape=None,
    expected_num_trainable_weights=None,
    float32_outputs=(),
    run_training_check=True,
    run_saving_check=True,
    run_precision_checks=True,
    run_training_eagerly=False,
    policies=POLICIES,
):
    """Every check a layer (or a functional model) must pass.

    Args:
        cls: the layer class.
        init_kwargs: its constructor arguments, or a function returning them.
        input_data: the tensor call arguments by name (see the module).
        call_kwargs: other call arguments.
        expected_output_shape: optional structure of output shapes.
        expected_num_trainable_weights: optional int.
        float32_outputs: outputs kept in float32 under every policy.
        run_training_check, run_saving_check, run_precision_checks: bools,
            to leave out a check that does not apply.
        run_training_eagerly: bool, fit without compiling the step.
        policies: the precision policies to check.

    Returns:
        The eager outputs of a fresh layer, for more assertions.
    """
    run_serialization_test(cls(**_make_kwargs(init_kwargs)))

    layer = cls(**_make_kwargs(init_kwargs))
    outputs = _call(layer, input_data, call_kwargs)
    assert layer.built, f"{cls.__name__} is not built after a call"
    if expected_output_shape is not None:
        shapes = tree.map_structure(lambda x: tuple(x.shape), outputs)
        assert shapes == expected_output_shape, shapes
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights, [
            w.path for w in layer.trainable_weights
        ]
    # The symbolic call of a fresh layer builds it from unknown batch sizes.
    fresh = cls(**_make_kwargs(init_kwargs))
    _check_spec(
        _call(fresh, _symbolic(input_data), call_kwargs),
        outputs,
        f"{cls.__name__} symbolic call",
    )
    # And a built layer answers the same through `compute_output_spec`.
    _check_spec(
        _call(layer, _symbolic(input_data), call_kwargs),
        outputs,
        f"{cls.__name__} built, symbolic call",
    )

    if run_training_check:
        run_training_test(
            cls(**_make_kwargs(init_kwargs)),
            input_data,
            call_kwargs,
            run_eagerly=run_training_eagerly,
        )
    if run_saving_check:
        if issubclass(cls, keras.Model):
            run_model_saving_test(cls, init_kwargs, input_data)
        else:
            run_layer_saving_test(cls, init_kwargs, input_data, call_kwargs)
    if run_precision_checks:
        # The layer above ran under the default policy: the others are new.
        default = keras.config.dtype_policy().name
        if default in policies:
            _check_policy(layer, outputs, input_data, call_kwargs, float32_outputs)
        run_precision_test(
            cls,
            init_kwargs,
            input_data,
            call_kwargs,
            float32_outputs,
            [p for p in policies if p != default],
        )
    return outputs


def run_preset_test(instance, input_data, directory, call=None, atol=0.0):
    """`save_to_preset` then `from_preset` gives the same class, config and
    outputs.

    Args:
        instance: a keras-hub `Backbone` or `Task`.
        input_data: what `call` takes.
        directory: an empty directory for the preset (pytest's `tmp_path`).
        call: `call(model, input_data)` -> outputs; by default the model is
            called on `input_data`.
        atol: tolerance of the outputs; 0 asks for identical ones.

    Returns:
        The model loaded from the preset.
    """
    call = call or (lambda model, data: model(data))
    path = os.path.join(os.fspath(directory), "preset")
    instance.save_to_preset(path)
    restored = type(instance).from_preset(path)
    assert type(restored) is type(instance), f"loaded a {type(restored).__name__}"
    assert _config_json(restored) == _config_json(instance), (
        "the preset changed the config"
    )
    assert_same_outputs(
        call(restored, input_data),
        call(instance, input_data),
        atol=atol,
        message="after the preset round trip",
    )
    return restored
