"""Decoding strategies beyond keras-hub's own samplers."""

from keras_attn.samplers.beam_search_sampler import BeamSearchSampler

__all__ = ["BeamSearchSampler"]
