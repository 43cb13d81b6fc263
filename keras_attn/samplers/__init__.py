"""Decoding strategies beyond keras-hub's own samplers, and sampler names."""

from keras_attn.samplers.beam_search_sampler import BeamSearchSampler
from keras_attn.samplers.greedy_sampler import GreedySampler
from keras_attn.samplers.random_sampler import RandomSampler
from keras_attn.samplers.registry import NAMES
from keras_attn.samplers.registry import get
from keras_attn.samplers.top_k_sampler import TopKSampler
from keras_attn.samplers.top_p_sampler import TopPSampler

__all__ = [
    "NAMES",
    "BeamSearchSampler",
    "GreedySampler",
    "RandomSampler",
    "TopKSampler",
    "TopPSampler",
    "get",
]
