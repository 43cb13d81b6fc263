"""The task model: it learns a text-to-text task and decodes it with greedy
and beam search, its alignments are the reversal's anti-diagonal, it saves
and reloads, and bad inputs are named."""

import os

import keras
import keras_hub
import numpy as np
import pytest

from keras_attn.models import AttentionSeq2SeqBackbone
from keras_attn.models import AttentionSeq2SeqLM
from keras_attn.models import AttentionSeq2SeqPreprocessor
from tests.models.corpus import reversal_pairs

MAX_LENGTH = 10


def make_lm(attention="luong-general", hidden_dim=64, pairs=None, **backbone_kwargs):
    sources, targets = pairs or reversal_pairs(200, seed=0)
    preprocessor = AttentionSeq2SeqPreprocessor.from_corpus(
        sources,
        targets,
        vocabulary_size=100,
        encoder_sequence_length=MAX_LENGTH,
        decoder_sequence_length=MAX_LENGTH,
    )
    backbone = AttentionSeq2SeqBackbone(
        vocabulary_size=preprocessor.tokenizer.vocabulary_size(),
        embedding_dim=32,
        hidden_dim=hidden_dim,
        attention=attention,
        **backbone_kwargs,
    )
    return AttentionSeq2SeqLM(backbone, preprocessor)


@pytest.fixture(scope="module")
def trained():
    """A model trained to reverse word order, and held-out pairs."""
    if keras.backend.backend() == "torch":
        pytest.skip(
            "the PyTorch backend steps the RNN loop eagerly in Python (minutes "
            "for this training on 2 cores); learning and beam quality are "
            "checked on TensorFlow and JAX, generation on PyTorch by the "
            "tests on untrained models below"
        )
    keras.utils.set_random_seed(0)
    sources, targets = reversal_pairs(3000, seed=0)
    lm = make_lm(pairs=(sources, targets))
    lm.compile(optimizer=keras.optimizers.Adam(5e-3, clipnorm=1.0), sampler="greedy")
    lm.fit(
        {"encoder_text": sources, "decoder_text": targets},
        batch_size=64,
        epochs=6,
        verbose=0,
    )
    return lm, reversal_pairs(60, seed=99)


def exact_match(outputs, expected):
    return np.mean([o == e for o, e in zip(outputs, expected, strict=True)])


def test_learns_to_reverse_words_with_greedy_and_beam_search(trained):
    lm, (sources, expected) = trained
    greedy = lm.generate(sources, max_length=MAX_LENGTH)
    beam = lm.generate(sources, max_length=MAX_LENGTH, num_beams=4)
    assert exact_match(greedy, expected) >= 0.95, greedy[:5]
    assert exact_match(beam, expected) >= 0.95, beam[:5]
    # The sampler chosen at compile time is back after a beam call.
    assert lm.sampler.__class__.__name__ == "GreedySampler"


def test_keras_hubs_beam_sampler_decodes_each_row_from_its_own_source(trained):
    # The source side is expanded to the sampler's rows outside the loop;
    # a wrong row order would decode one input from another's source.
    lm, (sources, expected) = trained
    lm.compile(sampler=keras_hub.samplers.BeamSampler(num_beams=3))
    try:
        beam = lm.generate(sources[:16], max_length=MAX_LENGTH)
    finally:
        lm.compile(
            optimizer=keras.optimizers.Adam(5e-3, clipnorm=1.0), sampler="greedy"
        )
    assert exact_match(beam, expected[:16]) >= 0.9, beam[:5]


def test_beam_search_never_scores_below_greedy(trained):
    lm, (sources, _) = trained
    # Noisy inputs (words the model never saw in that order) give the beam
    # something to do.
    sources = [s + " alpha beta" for s in sources[:20]]
    greedy = lm.generate(sources, max_length=MAX_LENGTH)
    beam = lm.generate(sources, max_length=MAX_LENGTH, num_beams=3, length_penalty=0.6)
    beam_scores = lm.score(sources, beam, length_penalty=0.6)
    greedy_scores = lm.score(sources, greedy, length_penalty=0.6)
    assert np.all(beam_scores >= greedy_scores - 1e-3)


def test_alignment_is_the_anti_diagonal_of_the_reversal(trained):
    lm, (sources, expected) = trained
    pairs = lm.alignment(sources[:20], expected[:20])
    mirrored_is_max, rows = 0, 0
    for pair, source in zip(pairs, sources[:20], strict=True):
        weights = pair["weights"]
        assert pair["source_tokens"][0] == "[START]"
        assert pair["source_tokens"][-1] == "[END]"
        assert pair["output_tokens"][-1] == "[END]"
        assert weights.shape == (len(pair["output_tokens"]), len(pair["source_tokens"]))
        np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
        words = len(source.split())  # one token a word in this vocabulary
        for t in range(words):
            mirrored = words - t  # source position 0 is [START]
            mirrored_is_max += int(np.argmax(weights[t]) == mirrored)
            rows += 1
    assert mirrored_is_max / rows >= 0.9


def test_preset_and_keras_file_round_trips_generate_the_same(trained, tmp_path):
    lm, (sources, _) = trained
    expected = lm.generate(sources[:8], max_length=MAX_LENGTH)
    lm.save_to_preset(os.path.join(tmp_path, "preset"))
    loaded = AttentionSeq2SeqLM.from_preset(os.path.join(tmp_path, "preset"))
    loaded.compile(sampler="greedy")
    for name in ("encoder_sequence_length", "decoder_sequence_length"):
        # keras-hub's base preprocessor leaves these out of its config.
        assert getattr(loaded.preprocessor, name) == MAX_LENGTH
    assert loaded.generate(sources[:8], max_length=MAX_LENGTH) == expected
    lm.save(os.path.join(tmp_path, "model.keras"))
    reloaded = keras.saving.load_model(
        os.path.join(tmp_path, "model.keras"), safe_mode=True
    )
    reloaded.compile(sampler="greedy")
    assert reloaded.generate(sources[:8], max_length=MAX_LENGTH) == expected


@pytest.mark.parametrize(
    "attention,kwargs",
    [("bahdanau", {}), (None, {}), ("bahdanau", {"pointer_generator": True})],
)
def test_untrained_models_generate_and_round_trip_on_every_backend(
    attention, kwargs, tmp_path
):
    lm = make_lm(attention=attention, hidden_dim=16, **kwargs)
    lm.compile(sampler="greedy")
    sources, targets = reversal_pairs(100, seed=0)
    history = lm.fit(
        {"encoder_text": sources, "decoder_text": targets},
        batch_size=50,
        epochs=1,
        verbose=0,
    )
    assert np.isfinite(history.history["loss"][0])
    outputs = lm.generate(sources[:3], max_length=6)
    assert len(outputs) == 3 and all(isinstance(o, str) for o in outputs)
    assert len(lm.generate(sources[:3], max_length=6, num_beams=2)) == 3
    lm.save_to_preset(os.path.join(tmp_path, "preset"))
    loaded = AttentionSeq2SeqLM.from_preset(os.path.join(tmp_path, "preset"))
    loaded.compile(sampler="greedy")
    assert loaded.generate(sources[:3], max_length=6) == outputs
    if attention is None:
        with pytest.raises(ValueError, match="has no alignment"):
            lm.alignment(sources[:1], targets[:1])


@pytest.mark.parametrize("sampler", ["top_k", "top_p", "random", "beam"])
def test_sampler_names(sampler):
    lm = make_lm(hidden_dim=16)
    lm.compile(sampler=sampler)
    assert isinstance(lm.generate("alpha beta", max_length=6), str)


def test_unknown_sampler_lists_the_valid_ones():
    lm = make_lm(hidden_dim=16)
    with pytest.raises(
        ValueError,
        match=r"sampler must be one of \('greedy', 'beam', .*"
        r"Received: sampler='nucleus'",
    ):
        lm.compile(sampler="nucleus")


@pytest.mark.parametrize(
    "inputs,message",
    [
        ("", r"`inputs\[0\]` is empty"),
        ([], r"`inputs` must not be empty"),
        (None, r"must be a string or a list of strings\. Received: inputs=None"),
        (["alpha", 3], r"`inputs\[1\]` must be a string\. Received: 3 of type int"),
    ],
)
def test_bad_generate_inputs_are_named(inputs, message):
    lm = make_lm(hidden_dim=16)
    lm.compile()
    with pytest.raises(ValueError, match=message):
        lm.generate(inputs)


def test_too_long_input_warns_by_how_much():
    lm = make_lm(hidden_dim=16)
    lm.compile()
    with pytest.warns(
        UserWarning,
        match="Input 0 has 12 tokens; the model reads at most 8, so the last 4",
    ):
        lm.generate(" ".join(["alpha"] * 12), max_length=4)


def test_alignment_and_score_check_their_arguments():
    lm = make_lm(hidden_dim=16)
    with pytest.raises(
        ValueError, match="same length. Received: 2 sources and 1 outputs"
    ):
        lm.score(["alpha", "beta"], ["alpha"])
    with pytest.raises(ValueError, match=r"`inputs\[0\]` is empty"):
        lm.alignment([""], ["alpha"])


@pytest.mark.parametrize(
    "damage,message",
    [
        ("missing", "No model directory at"),
        ("no_weights", "has no model.weights.h5"),
        ("no_vocabulary", "has no assets/tokenizer/vocabulary.txt"),
        ("bad_json", r"config.json is not valid JSON"),
    ],
)
def test_from_preset_names_what_is_missing_or_corrupt(tmp_path, damage, message):
    path = os.path.join(tmp_path, "preset")
    if damage != "missing":
        lm = make_lm(hidden_dim=16)
        lm.save_to_preset(path)
        if damage == "no_weights":
            os.remove(os.path.join(path, "model.weights.h5"))
        elif damage == "no_vocabulary":
            os.remove(os.path.join(path, "assets", "tokenizer", "vocabulary.txt"))
        else:
            with open(os.path.join(path, "config.json"), "w") as file:
                file.write("{not json")
    with pytest.raises((FileNotFoundError, ValueError), match=message):
        AttentionSeq2SeqLM.from_preset(path)


def test_alignment_accepts_an_empty_output():
    lm = make_lm(hidden_dim=16)
    pair = lm.alignment(["alpha beta"], [""])[0]
    assert pair["output_tokens"] == ["[END]"]
    assert pair["weights"].shape == (1, len(pair["source_tokens"]))


def test_label_smoothing_compiles_the_smoothed_loss():
    lm = make_lm(hidden_dim=16)
    lm.compile(label_smoothing=0.1)
    assert lm.loss.label_smoothing == 0.1
    sources, targets = reversal_pairs(64, seed=0)
    history = lm.fit(
        {"encoder_text": sources, "decoder_text": targets}, epochs=1, verbose=0
    )
    assert np.isfinite(history.history["loss"][0])


def test_output_bias_starts_at_the_targets_unigram_distribution():
    from collections import Counter

    lm = make_lm(hidden_dim=16)
    sources, targets = reversal_pairs(40, seed=3)
    bias = lm.initialize_output_bias(targets, smoothing=1.0)
    tokenizer = lm.preprocessor.tokenizer
    counts = Counter()
    for text in targets:
        counts.update(int(i) for i in np.asarray(tokenizer(text)).reshape(-1))
    counts[lm.preprocessor.special_token_id("end")] += len(targets)
    vocabulary = len(bias)
    total = sum(counts.values()) + vocabulary
    expected = np.log([(counts[i] + 1) / total for i in range(vocabulary)])
    np.testing.assert_allclose(bias, expected, rtol=1e-5)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(lm.backbone.output_projection.bias), expected, 1e-5
    )
    # With a zero kernel the model predicts exactly that distribution: the
    # log-likelihood of the targets is the sum of their tokens' log priors.
    kernel = lm.backbone.output_projection.kernel
    kernel.assign(np.zeros(kernel.shape, "float32"))
    ids = [i for t in targets for i in np.asarray(tokenizer(t)).reshape(-1)]
    ids += [lm.preprocessor.special_token_id("end")] * len(targets)
    total = np.sum(lm.score(sources, targets))
    np.testing.assert_allclose(total, np.sum(expected[ids]), rtol=1e-4)
