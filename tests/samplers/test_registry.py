"""`keras_attn.samplers.get` and `NAMES`: names to configured samplers,
instances as they are, and errors that list the valid names."""

import keras_hub
import pytest

from keras_attn import samplers


def test_names_build_the_samplers_they_say():
    assert samplers.NAMES == ("greedy", "beam", "top_k", "top_p", "random")
    assert type(samplers.get("greedy")) is samplers.GreedySampler
    beam = samplers.get("beam", num_beams=3, length_penalty=1.0)
    assert type(beam) is samplers.BeamSearchSampler
    assert (beam.num_beams, beam.length_penalty) == (3, 1.0)
    top_k = samplers.get("top_k", k=7, temperature=0.5)
    assert type(top_k) is samplers.TopKSampler
    assert isinstance(top_k, keras_hub.samplers.TopKSampler)
    assert (top_k.k, top_k.temperature) == (7, 0.5)
    top_p = samplers.get("top_p", p=0.8, temperature=2.0)
    assert type(top_p) is samplers.TopPSampler
    assert isinstance(top_p, keras_hub.samplers.TopPSampler)
    assert (top_p.p, top_p.temperature) == (0.8, 2.0)
    random = samplers.get("random", temperature=0.7, seed=3)
    assert type(random) is samplers.RandomSampler
    assert isinstance(random, keras_hub.samplers.RandomSampler)
    assert (random.temperature, random.seed) == (0.7, 3)


def test_an_instance_is_returned_as_it_is():
    sampler = keras_hub.samplers.TopKSampler(k=2)
    assert samplers.get(sampler) is sampler
    with pytest.raises(ValueError, match=r"an instance\. Received: .*k=3"):
        samplers.get(sampler, k=3)


@pytest.mark.parametrize(
    "identifier,message",
    [
        ("nucleus", r"sampler must be one of \('greedy', 'beam', 'top_k', "),
        ("contrastive", r"'contrastive' is not offered: .* hidden states"),
        (None, r"Received: sampler=None"),
        ("Greedy", r"Received: sampler='Greedy'"),
    ],
)
def test_unknown_names_list_the_valid_ones(identifier, message):
    with pytest.raises(ValueError, match=message):
        samplers.get(identifier)


@pytest.mark.parametrize(
    "name,kwargs,message",
    [
        ("beam", {"k": 3}, r"'beam' sampler takes num_beams, .*Received: k=3"),
        ("greedy", {"num_beams": 2}, r"takes no_repeat_ngram_size, .*num_beams=2"),
        ("greedy", {"min_length": -1}, r"`min_length` must be .*min_length=-1"),
        ("top_k", {"repetition_penalty": 0}, r"Received: repetition_penalty=0"),
        ("top_p", {"no_repeat_ngram_size": 1.5}, r"no_repeat_ngram_size=1\.5"),
        ("beam", {"coverage_penalty": -0.2}, r"Received: coverage_penalty=-0\.2"),
        ("top_k", {"k": 0}, r"Received: k=0"),
        ("top_p", {"p": 1.5}, r"`p` must be in \(0, 1\]\. Received: p=1\.5"),
        ("random", {"temperature": 0}, r"`temperature` must be > 0"),
        ("beam", {"num_beams": 0}, r"Received: num_beams=0"),
    ],
)
def test_bad_arguments_are_named(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        samplers.get(name, **kwargs)
