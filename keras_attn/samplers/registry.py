"""Samplers by name: `keras_attn.samplers.get("beam", num_beams=4)`."""

import keras_hub

from keras_attn._validation import check_positive_int
from keras_attn.samplers.beam_search_sampler import BeamSearchSampler
from keras_attn.samplers.greedy_sampler import GreedySampler
from keras_attn.samplers.random_sampler import RandomSampler
from keras_attn.samplers.top_k_sampler import TopKSampler
from keras_attn.samplers.top_p_sampler import TopPSampler

# The names `get` (and so `compile` and `generate`) accept. Contrastive
# search is left out: it compares each step's hidden states, and the
# attention decoder's step returns none.
NAMES = ("greedy", "beam", "top_k", "top_p", "random")

# The decoding controls every sampler takes.
CONTROLS = ("no_repeat_ngram_size", "min_length", "repetition_penalty")

# Each name's class and the keyword arguments it takes.
_SAMPLERS = {
    "greedy": (GreedySampler, CONTROLS),
    "beam": (
        BeamSearchSampler,
        ("num_beams", "length_penalty", "temperature", *CONTROLS, "coverage_penalty"),
    ),
    "top_k": (TopKSampler, ("k", "temperature", "seed", *CONTROLS)),
    "top_p": (TopPSampler, ("p", "k", "temperature", "seed", *CONTROLS)),
    "random": (RandomSampler, ("temperature", "seed", *CONTROLS)),
}


def get(identifier, **kwargs):
    """A sampler from its name, or the sampler instance given.

    Args:
        identifier: a name in `keras_attn.samplers.NAMES`: `"greedy"`
            (`keras_attn.samplers.GreedySampler`), `"beam"`
            (`keras_attn.samplers.BeamSearchSampler`), `"top_k"`, `"top_p"`
            or `"random"` (keras-hub's samplers, as
            `keras_attn.samplers.TopKSampler`, `TopPSampler` and
            `RandomSampler`); or a `keras_hub.samplers.Sampler` instance,
            returned as it is.
        **kwargs: arguments of the named sampler: `num_beams`,
            `length_penalty`, `temperature`, `coverage_penalty` for
            `"beam"`; `k`, `temperature`, `seed` for `"top_k"`; `p`, `k`,
            `temperature`, `seed` for `"top_p"`; `temperature`, `seed` for
            `"random"`; and for every name the decoding controls
            `no_repeat_ngram_size`, `min_length` and `repetition_penalty`.

    Returns:
        A `keras_hub.samplers.Sampler`.

    Example:
    >>> import keras_attn
    >>> sampler = keras_attn.samplers.get("beam", num_beams=4)
    >>> sampler.num_beams, sampler.length_penalty
    (4, 0.6)
    >>> keras_attn.samplers.get(sampler) is sampler
    True
    >>> keras_attn.samplers.get("top_k", k=10, min_length=3).min_length
    3
    """
    if isinstance(identifier, keras_hub.samplers.Sampler):
        if kwargs:
            raise ValueError(
                "Keyword arguments configure a sampler given by name; this one "
                f"is an instance. Received: sampler={type(identifier).__name__}"
                f"(...) with {_format(kwargs)}"
            )
        return identifier
    if not isinstance(identifier, str) or identifier not in _SAMPLERS:
        reason = (
            " ('contrastive' is not offered: contrastive search compares the "
            "decoder's hidden states, and the attention decoder's step returns "
            "none)"
            if identifier == "contrastive"
            else ""
        )
        raise ValueError(
            f"sampler must be one of {NAMES} or a keras_hub.samplers.Sampler "
            f"instance{reason}. Received: sampler={identifier!r}"
        )
    cls, accepted = _SAMPLERS[identifier]
    unknown = {k: v for k, v in kwargs.items() if k not in accepted}
    if unknown:
        raise ValueError(
            f"The {identifier!r} sampler takes "
            f"{', '.join(accepted) if accepted else 'no arguments'}. "
            f"Received: {_format(unknown)}"
        )
    _check_arguments(identifier, kwargs)
    return cls(**kwargs)


def _check_arguments(name, kwargs):
    for key, low, high in (("temperature", 0, float("inf")), ("p", 0, 1)):
        value = kwargs.get(key, 1)
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if not is_number or not low < value <= high:
            bound = "> 0" if key == "temperature" else "in (0, 1]"
            raise ValueError(f"`{key}` must be {bound}. Received: {key}={value!r}")
    if "k" in kwargs:
        # top-p's k is an optional pre-cut; top-k needs one.
        check_positive_int("k", kwargs["k"], allow_none=name == "top_p")


def _format(kwargs):
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
