"""Argument and shape checks shared by the layers, with messages that name
the argument, what was expected and what was received."""


def check_rank(name, shape, ranks, layer_name):
    """Raises if `shape` (a tuple) does not have one of `ranks`."""
    if shape is None:
        return
    if len(shape) not in ranks:
        expected = " or ".join(str(r) for r in ranks)
        raise ValueError(
            f"Layer '{layer_name}' expected `{name}` of rank {expected}. "
            f"Received: {name}.shape={tuple(shape)} (rank {len(shape)})"
        )


def check_same_batch(named_shapes, layer_name):
    """Raises if the static batch sizes of the named shapes disagree."""
    known = [(n, s) for n, s in named_shapes if s is not None and s[0]]
    for name, shape in known[1:]:
        first_name, first_shape = known[0]
        if shape[0] != first_shape[0]:
            raise ValueError(
                f"Layer '{layer_name}' expected `{first_name}` and `{name}` to "
                f"have the same batch size. Received: {first_name}.shape="
                f"{tuple(first_shape)}, {name}.shape={tuple(shape)}"
            )


def check_feature_dim(name, shape, expected, layer_name):
    """Raises if the last dimension of `shape` is not the built one."""
    if shape[-1] is not None and expected is not None and shape[-1] != expected:
        raise ValueError(
            f"Layer '{layer_name}' was built for `{name}` with last dimension "
            f"{expected}. Received: {name}.shape={tuple(shape)}"
        )


def check_positive_int(name, value, allow_none=False):
    """Raises unless `value` is a positive int (or None when allowed)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        expected = "a positive integer" + (" or None" if allow_none else "")
        raise ValueError(f"`{name}` must be {expected}. Received: {name}={value!r}")


def check_choice(name, value, choices):
    """Raises unless `value` is one of `choices`."""
    if value not in choices:
        raise ValueError(
            f"{name} must be one of {tuple(choices)}. Received: {name}={value!r}"
        )
