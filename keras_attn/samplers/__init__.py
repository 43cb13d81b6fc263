"""Decoding strategies beyond keras-hub's own samplers."""

from keras_attn.samplers.beam_search_sampler import BeamSearchSampler
from keras_attn.samplers.greedy_sampler import GreedySampler

__all__ = ["BeamSearchSampler", "GreedySampler"]
