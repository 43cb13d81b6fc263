"""How the demo decodes: greedy, beam search or top-p sampling."""

import dataclasses
import functools

from .errors import DemoError

METHODS = ("greedy", "beam", "sample")
MAX_BEAMS = 8


@dataclasses.dataclass(frozen=True)
class Decoding:
    """One decoding setting, checked and rounded so that it can key a cache.

    Sliders send floats such as 0.8500000000000001; rounding keeps the number
    of distinct settings (and so of compiled decoding functions) small.

    Args:
        method: `"greedy"`, `"beam"` (beam search with `beams` beams) or
            `"sample"` (top-p sampling with `temperature` and `top_p`).
        beams: int from 2 to `MAX_BEAMS`, for `"beam"`.
        temperature: float in (0, 2], for `"sample"`.
        top_p: float in (0, 1], for `"sample"`.
    """

    method: str = "greedy"
    beams: int = 4
    temperature: float = 1.0
    top_p: float = 0.9

    def __post_init__(self):
        if self.method not in METHODS:
            raise DemoError(
                f"Unknown decoding method {self.method!r}: choose one of {METHODS}."
            )
        try:
            beams = int(self.beams)
            temperature = round(float(self.temperature), 2)
            top_p = round(float(self.top_p), 2)
        except (TypeError, ValueError):
            raise DemoError(
                "The beam size, temperature and top-p must be numbers."
            ) from None
        if self.method == "beam" and not 2 <= beams <= MAX_BEAMS:
            raise DemoError(f"The beam size must be from 2 to {MAX_BEAMS}.")
        if self.method == "sample":
            if not 0 < temperature <= 2:
                raise DemoError("The temperature must be above 0 and at most 2.")
            if not 0 < top_p <= 1:
                raise DemoError("Top-p must be above 0 and at most 1.")
        # Settings that do not apply are normalised, so they share a cache key.
        object.__setattr__(self, "beams", beams if self.method == "beam" else 0)
        sampling = self.method == "sample"
        object.__setattr__(self, "temperature", temperature if sampling else 0.0)
        object.__setattr__(self, "top_p", top_p if sampling else 0.0)

    @classmethod
    def from_ui(cls, label, beams=4, temperature=1.0, top_p=0.9):
        """From the app's radio label (`"greedy"`, `"beam search"`, ...)."""
        method = {
            "greedy": "greedy",
            "beam search": "beam",
            "beam": "beam",
            "sampling (top-p)": "sample",
            "sample": "sample",
        }.get(str(label).strip().lower())
        if method is None:
            raise DemoError(f"Unknown decoding method {label!r}.")
        return cls(method, beams, temperature, top_p)

    def sampler(self):
        """The `keras_attn` sampler for this setting, for `lm.generate(...,
        sampler=...)`. Equal settings get the same instance, so the model
        reuses the decoding function it compiled for it."""
        return _sampler(self)

    def describe(self):
        """A few words for the page, e.g. "beam search (4 beams)"."""
        if self.method == "beam":
            return f"beam search ({self.beams} beams)"
        if self.method == "sample":
            return f"top-p sampling (p={self.top_p}, temperature={self.temperature})"
        return "greedy search"


@functools.lru_cache(maxsize=64)
def _sampler(decoding):
    from keras_attn import samplers

    if decoding.method == "beam":
        return samplers.get("beam", num_beams=decoding.beams)
    if decoding.method == "sample":
        return samplers.get("top_p", p=decoding.top_p, temperature=decoding.temperature)
    return samplers.get("greedy")
