"""The configurations `benchmarks/speed.py` measures, and the sizes.

A configuration name is `ATTENTION:ORDER` (this package's model), `none`
(the fixed-context model), `tutorial` or `additive` (the Keras 3
baselines), or a group of them (`all`, `default`, `baselines`, `bf16`),
optionally ending in `@DTYPE_POLICY` (`@bf16` for `mixed_bfloat16`).
`parse_configs` turns such a list into config dicts, the form every other
part of the benchmark takes.
"""

ORDERS = ("bahdanau", "luong", "luong-nofeed")
BASELINES = ("tutorial", "additive")
DTYPE_ALIASES = {"bf16": "mixed_bfloat16", "f32": "float32", "fp32": "float32"}
DTYPES = ("float32", "mixed_bfloat16", "bfloat16", "mixed_float16")

# The reference configuration of issue 6, and a tiny one for CI.
REFERENCE = {
    "vocabulary": 8000,
    "embedding": 256,
    "hidden": 512,  # decoder GRU and memory (BiGRU 256 per direction)
    "attention_units": 512,
    "batch": 64,
    "source_length": 20,
    "target_length": 20,
    "min_length": 10,  # real lengths are uniform in [min_length, length]
    "latency_batch": 1,
    "beam_batch": 16,
    "beams": 5,
    "train_steps": 10,  # train_on_batch calls per timing
    "warmup_steps": 3,
    "matmul_size": 2048,
}
SMOKE = {
    "vocabulary": 64,
    "embedding": 8,
    "hidden": 16,
    "attention_units": 16,
    "batch": 4,
    "source_length": 6,
    "target_length": 6,
    "min_length": 3,
    "latency_batch": 1,
    "beam_batch": 2,
    "beams": 2,
    "train_steps": 2,
    "warmup_steps": 1,
    "matmul_size": 128,
}
SMOKE_CONFIGS = "bahdanau:bahdanau,luong-dot:luong-nofeed,none,tutorial,additive"
GROUPS = ("all", "default", "baselines", "bf16")


def attentions():
    """The backbone's attention names, less `"none"` (the fixed-context
    model, a configuration of its own).

    Imported on first use, not with this module: a Keras baseline's worker
    never loads keras_attn, whose modules would count in its peak memory.
    """
    from keras_attn.models import ATTENTIONS

    return tuple(a for a in ATTENTIONS if a != "none")


def default_order(attention):
    """The backbone's own order for an attention score."""
    return "bahdanau" if attention == "bahdanau" else "luong"


def parse_configs(text, default_dtype):
    """Configuration names and groups -> config dicts.

    Args:
        text: comma-separated names and groups, e.g.
            `"all,bahdanau:luong@bf16"`; a name met twice is measured once.
        default_dtype: the dtype policy of a name without `@DTYPE`.

    Returns:
        A list of config dicts (see `parse_config`), in the order named.

    Example:
    >>> [c["name"] for c in parse_configs("baselines,none@bf16", "float32")]
    ['tutorial', 'additive', 'none@bf16']
    """
    names = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        for name in _group(item) if item in GROUPS else [item]:
            if name not in names:
                names.append(name)
    return [parse_config(name, default_dtype) for name in names]


def _group(group):
    """The configuration names of a group."""
    defaults = [f"{a}:{default_order(a)}" for a in attentions()]
    if group == "all":
        orders = [f"{a}:{o}" for a in attentions() for o in ORDERS]
        return [*orders, "none", *BASELINES]
    if group == "default":
        return defaults
    if group == "baselines":
        return list(BASELINES)
    return [f"{n}@bf16" for n in [*defaults, "none", *BASELINES]]  # "bf16"


def parse_config(name, default_dtype="float32"):
    """One configuration name -> its config dict.

    Args:
        name: `ATTENTION[:ORDER][@DTYPE]`, `none[@DTYPE]`, or a baseline.
        default_dtype: the dtype policy when `name` names none.

    Returns:
        A dict: `name` (canonical, with the order spelled out), `kind`
        (`"ours"`, `"tutorial"` or `"additive"`), `attention` (None for the
        fixed-context model and the baselines), `order` and `dtype`.

    Raises:
        SystemExit: an unknown name or dtype policy, with the valid ones.

    Example:
    >>> parse_config("luong-general@bf16")["name"]
    'luong-general:luong@bf16'
    """
    base, _, dtype = name.partition("@")
    dtype = DTYPE_ALIASES.get(dtype, dtype) or default_dtype
    if dtype not in DTYPES:
        raise SystemExit(f"speed.py: unknown dtype policy in {name!r}")
    if base in BASELINES or base == "none":
        attention, order = (None, None)
        kind = base if base in BASELINES else "ours"
    else:
        attention, _, order = base.partition(":")
        order = order or default_order(attention)
        if attention not in attentions() or order not in ORDERS:
            raise SystemExit(
                f"speed.py: unknown configuration {name!r}; expected "
                f"ATTENTION:ORDER with ATTENTION in {attentions()} and ORDER in "
                f"{ORDERS}, 'none', {BASELINES} or a group ({', '.join(GROUPS)})"
            )
        kind = "ours"
        base = f"{attention}:{order}"
    label = base if dtype == "float32" else f"{base}@{short_dtype(dtype)}"
    return {
        "name": label,
        "kind": kind,
        "attention": attention,
        "order": order,
        "dtype": dtype,
    }


def short_dtype(dtype):
    """`"mixed_bfloat16"` -> `"bf16"`, as configuration names spell it."""
    return {"mixed_bfloat16": "bf16", "mixed_float16": "f16"}.get(dtype, dtype)
