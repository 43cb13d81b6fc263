"""`generate` with a sampler per call and with the alignment of what it
decoded: the same tokens as compiling that sampler, the model untouched, one
compiled function per sampler configuration, safe from two threads at once,
and alignments equal to the teacher-forced pass over the decoded output."""

import threading

import keras
import keras_hub
import numpy as np
import pytest

from keras_attn import samplers
from keras_attn.models import AttentionSeq2SeqBackbone
from keras_attn.models import AttentionSeq2SeqLM
from keras_attn.models import AttentionSeq2SeqPreprocessor
from keras_attn.models import AttentionSeq2SeqTokenizer
from keras_attn.models.attention_seq2seq_tokenizer import RESERVED_TOKENS
from keras_attn.samplers import BeamSearchSampler
from tests.helpers import to_numpy
from tests.models.corpus import WORDS
from tests.models.corpus import reversal_pairs

MAX_LENGTH = 10
SOURCES = reversal_pairs(6, seed=11)[0]


def word_lm(attention="luong-general", **backbone_kwargs):
    """A model whose vocabulary is whole words: decoded text tokenizes back
    into the very tokens that were decoded, so `alignment(sources, outputs)`
    sees the decoded sequence."""
    tokenizer = AttentionSeq2SeqTokenizer(vocabulary=list(RESERVED_TOKENS) + WORDS)
    preprocessor = AttentionSeq2SeqPreprocessor(
        tokenizer,
        encoder_sequence_length=MAX_LENGTH,
        decoder_sequence_length=MAX_LENGTH,
    )
    backbone = AttentionSeq2SeqBackbone(
        vocabulary_size=tokenizer.vocabulary_size(),
        embedding_dim=16,
        hidden_dim=16,
        attention=attention,
        **backbone_kwargs,
    )
    return AttentionSeq2SeqLM(backbone, preprocessor)


@pytest.fixture(scope="module")
def lm():
    """A word model trained a little at reversing word order: it ends its
    outputs with [END] and never emits [PAD], [UNK] or [START]."""
    keras.utils.set_random_seed(0)
    model = word_lm()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), sampler="greedy")
    sources, targets = reversal_pairs(240, seed=0)
    model.fit(
        {"encoder_text": sources, "decoder_text": targets},
        batch_size=40,
        epochs=2,
        verbose=0,
    )
    return model


def assert_same_alignment(pair, reference):
    """`pair` from decoding equals `reference` from `alignment()`; an output
    that reached `max_length` without [END] lacks only the [END] row."""
    assert pair["source_tokens"] == reference["source_tokens"]
    rows = len(pair["output_tokens"])
    assert pair["output_tokens"] == reference["output_tokens"][:rows]
    if pair["output_tokens"][-1] == "[END]":
        assert rows == len(reference["output_tokens"])
    assert pair["weights"].shape == (rows, len(pair["source_tokens"]))
    assert pair["weights"].dtype == np.float32
    np.testing.assert_allclose(pair["weights"], reference["weights"][:rows], atol=1e-4)


def teacher_forced_weights(lm, pair):
    """The backbone's teacher-forced alignment over a pair's own token ids
    (no detokenizing), one source without padding."""
    token_id = lm.preprocessor.tokenizer.token_to_id
    source = [token_id(t) for t in pair["source_tokens"]]
    output = [token_id(t) for t in pair["output_tokens"]]
    decoder = [lm.preprocessor.special_token_id("start")] + output[:-1]
    x = {
        "encoder_token_ids": np.array([source], "int32"),
        "encoder_padding_mask": np.ones((1, len(source)), "int32"),
        "decoder_token_ids": np.array([decoder], "int32"),
        "decoder_padding_mask": np.ones((1, len(decoder)), "int32"),
    }
    return to_numpy(lm.backbone(x)["alignment"])[0]


@pytest.mark.parametrize(
    "sampler", ["greedy", "beam", BeamSearchSampler(num_beams=3, length_penalty=1.0)]
)
def test_alignments_from_decoding_equal_the_teacher_forced_ones(lm, sampler):
    outputs, pairs = lm.generate(
        SOURCES, max_length=MAX_LENGTH, sampler=sampler, return_alignment=True
    )
    assert outputs == lm.generate(SOURCES, max_length=MAX_LENGTH, sampler=sampler)
    assert len(pairs) == len(SOURCES)
    ended = [p["output_tokens"][-1] == "[END]" for p in pairs]
    assert sum(ended) >= len(pairs) // 2, [p["output_tokens"] for p in pairs]
    for pair, reference in zip(pairs, lm.alignment(SOURCES, outputs), strict=True):
        assert pair["source_tokens"][0] == "[START]"
        assert pair["source_tokens"][-1] == "[END]"
        assert_same_alignment(pair, reference)


def test_sampled_alignments_are_those_of_the_sampled_output(lm):
    sampler = samplers.get("top_k", k=4, seed=3)
    outputs, pairs = lm.generate(
        SOURCES, max_length=MAX_LENGTH, sampler=sampler, return_alignment=True
    )
    for pair, reference in zip(pairs, lm.alignment(SOURCES, outputs), strict=True):
        np.testing.assert_allclose(pair["weights"].sum(-1), 1.0, atol=1e-5)
        assert_same_alignment(pair, reference)


def test_one_string_gives_a_string_and_one_alignment(lm):
    text, pair = lm.generate(SOURCES[0], max_length=MAX_LENGTH, return_alignment=True)
    assert isinstance(text, str) and isinstance(pair, dict)
    assert text == lm.generate(SOURCES[0], max_length=MAX_LENGTH)
    assert_same_alignment(pair, lm.alignment([SOURCES[0]], [text])[0])


def test_a_dataset_is_decoded_batch_by_batch(lm):
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(SOURCES).batch(4)
    outputs, pairs = lm.generate(dataset, max_length=MAX_LENGTH, return_alignment=True)
    assert outputs == lm.generate(SOURCES, max_length=MAX_LENGTH)
    assert len(pairs) == len(SOURCES)
    for pair, reference in zip(pairs, lm.alignment(SOURCES, outputs), strict=True):
        assert_same_alignment(pair, reference)


@pytest.mark.parametrize("sampler", ["greedy", "beam"])
def test_pointer_generator_alignments_equal_the_teacher_forced_pass(sampler):
    # Untrained: the outputs are arbitrary token ids (special tokens too),
    # so the check works on the ids themselves.
    keras.utils.set_random_seed(2)
    model = word_lm(attention="bahdanau", pointer_generator=True)
    outputs, pairs = model.generate(
        SOURCES[:3], max_length=6, sampler=sampler, return_alignment=True
    )
    assert len(outputs) == 3
    for pair in pairs:
        np.testing.assert_allclose(pair["weights"].sum(-1), 1.0, atol=1e-5)
        np.testing.assert_allclose(
            pair["weights"], teacher_forced_weights(model, pair), atol=1e-4
        )


def seeded(name):
    """A sampler by name; the random ones with a fixed seed."""
    random = name in ("top_k", "top_p", "random")
    return samplers.get(name, **({"seed": 7} if random else {}))


@pytest.mark.parametrize("name", samplers.NAMES)
def test_a_per_call_sampler_decodes_as_compiling_it_would(name):
    keras.utils.set_random_seed(4)
    model = word_lm()
    model.compile(sampler="greedy")
    compiled_sampler = model.sampler
    per_call = model.generate(SOURCES, max_length=8, sampler=seeded(name))
    assert model.sampler is compiled_sampler
    model.compile(sampler=seeded(name))
    assert model.generate(SOURCES, max_length=8) == per_call


def test_a_call_leaves_the_sampler_and_the_compiled_function_alone(lm):
    sampler = lm.sampler
    function = lm.make_generate_function()
    assert lm.make_generate_function() is function
    expected = lm.generate(SOURCES, max_length=MAX_LENGTH)
    lm.generate(SOURCES, max_length=MAX_LENGTH, sampler="beam")
    lm.generate(SOURCES, max_length=MAX_LENGTH, num_beams=2)
    lm.generate(SOURCES, max_length=MAX_LENGTH, sampler="top_p", return_alignment=True)
    assert lm.sampler is sampler
    assert lm.generate_function is function
    assert lm.generate(SOURCES, max_length=MAX_LENGTH) == expected
    # keras-hub's callers use the function directly on token ids.
    inputs = lm.preprocessor.generate_preprocess(SOURCES, sequence_length=MAX_LENGTH)
    end = lm.preprocessor.special_token_id("end")
    generated = function(inputs, stop_token_ids=[end])
    assert lm.preprocessor.generate_postprocess(generated) == expected


def test_equal_configurations_share_one_compiled_function(lm):
    cache = lm._function_cache().functions
    lm.generate(SOURCES[:2], max_length=MAX_LENGTH, sampler="beam")
    size = len(cache)
    for _ in range(3):
        lm.generate(SOURCES[:2], max_length=MAX_LENGTH, sampler="beam")
        lm.generate(SOURCES[:2], max_length=MAX_LENGTH, sampler=BeamSearchSampler())
        lm.generate(SOURCES[:2], max_length=MAX_LENGTH, num_beams=5)
    assert len(cache) == size
    # A configuration not used before in this module.
    lm.generate(SOURCES[:2], max_length=MAX_LENGTH, num_beams=2, length_penalty=0.3)
    assert len(cache) == size + 1


def test_two_threads_decode_with_different_samplers_at_once():
    keras.utils.set_random_seed(5)
    reference = word_lm()
    calls = {
        "greedy": {"sampler": "greedy"},
        "beam": {"sampler": samplers.get("beam", num_beams=3)},
    }
    expected = {
        name: reference.generate(SOURCES, max_length=8, **kwargs)
        for name, kwargs in calls.items()
    }
    # A fresh twin, so the threads also compile their functions at once.
    model = word_lm()
    model.set_weights(reference.get_weights())
    barrier = threading.Barrier(len(calls))
    results = {name: [] for name in calls}
    errors = []

    def decode(name):
        try:
            barrier.wait()
            for _ in range(20):
                results[name].append(
                    model.generate(SOURCES, max_length=8, **calls[name])
                )
        except Exception as error:  # reported in the main thread
            errors.append(error)

    threads = [threading.Thread(target=decode, args=(name,)) for name in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for name in calls:
        assert results[name] == [expected[name]] * 20, name
    assert model.sampler.__class__ is samplers.GreedySampler


def test_contrastive_search_is_refused_with_the_reason():
    model = word_lm()
    contrastive = keras_hub.samplers.ContrastiveSampler()
    with pytest.raises(ValueError, match="step returns no hidden states"):
        model.compile(sampler=contrastive)
    with pytest.raises(ValueError, match="step returns no hidden states"):
        model.generate("alpha", sampler=contrastive)
    with pytest.raises(ValueError, match="'contrastive' is not offered"):
        model.compile(sampler="contrastive")


def test_bad_combinations_are_named():
    model = word_lm()
    with pytest.raises(ValueError, match="returns only tokens"):
        model.generate(
            "alpha", sampler=keras_hub.samplers.BeamSampler(2), return_alignment=True
        )
    with pytest.raises(ValueError, match="not both. Received: sampler='beam'"):
        model.generate("alpha", sampler="beam", num_beams=3)
    with pytest.raises(ValueError, match="Received: sampler='nucleus'"):
        model.generate("alpha", sampler="nucleus")
    baseline = word_lm(attention="none")
    with pytest.raises(ValueError, match="has no alignment"):
        baseline.generate("alpha", return_alignment=True)


def test_keras_hubs_own_beam_sampler_still_decodes_per_call(lm):
    # It runs its own loop: no alignment, but plain decoding works.
    beam = lm.generate(
        SOURCES, max_length=MAX_LENGTH, sampler=keras_hub.samplers.BeamSampler(3)
    )
    assert len(beam) == len(SOURCES) and all(isinstance(o, str) for o in beam)


def test_without_a_preprocessor_token_ids_in_and_out(lm):
    inputs = lm.preprocessor.generate_preprocess(SOURCES, sequence_length=MAX_LENGTH)
    inputs = {key: to_numpy(value) for key, value in inputs.items()}
    bare = AttentionSeq2SeqLM(lm.backbone, preprocessor=None)
    bare.compile(sampler="greedy")
    with pytest.raises(ValueError, match="preprocessor=None"):
        bare.generate(inputs)
    end = lm.preprocessor.special_token_id("end")
    outputs = bare.generate(inputs, stop_token_ids=[end], sampler="beam")
    assert outputs["decoder_token_ids"].shape == (len(SOURCES), MAX_LENGTH)
    texts = lm.preprocessor.generate_postprocess(outputs)
    assert texts == lm.generate(SOURCES, max_length=MAX_LENGTH, sampler="beam")
