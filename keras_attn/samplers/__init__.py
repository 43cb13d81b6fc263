"""Decoding strategies beyond keras-hub's own samplers, and sampler names."""

from keras_attn.samplers.beam_search_sampler import BeamSearchSampler
from keras_attn.samplers.greedy_sampler import GreedySampler
from keras_attn.samplers.registry import NAMES
from keras_attn.samplers.registry import get

__all__ = ["NAMES", "BeamSearchSampler", "GreedySampler", "get"]
