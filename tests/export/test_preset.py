"""`export_preset`: a compact preset written atomically, that replaces only
a directory keras-attn wrote."""

import os

import h5py
import keras
import numpy as np
import pytest

from keras_attn.export import export_preset
from keras_attn.models import AttentionSeq2SeqBackbone
from keras_attn.models import AttentionSeq2SeqLM
from keras_attn.models import AttentionSeq2SeqPreprocessor
from tests.models.corpus import reversal_pairs


@pytest.fixture(scope="module")
def lm():
    sources, targets = reversal_pairs(20, seed=0)
    preprocessor = AttentionSeq2SeqPreprocessor.from_corpus(
        sources, targets, vocabulary_size=60
    )
    backbone = AttentionSeq2SeqBackbone(
        vocabulary_size=preprocessor.tokenizer.vocabulary_size(),
        embedding_dim=8,
        hidden_dim=8,
    )
    return AttentionSeq2SeqLM(backbone, preprocessor)


def snapshot(root):
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as file:
                files[os.path.relpath(path, root)] = file.read()
    return files


def array_bytes(path):
    sizes = []
    with h5py.File(path, "r") as file:
        file.visititems(lambda _, item: sizes.append(getattr(item, "nbytes", 0)))
    return sum(sizes)


def test_float16_halves_the_weights_and_loads_as_float32(lm, tmp_path):
    full = export_preset(lm, tmp_path / "full")
    half = export_preset(lm, tmp_path / "half", float16=True)
    weights = "model.weights.h5"
    assert array_bytes(os.path.join(half, weights)) * 2 == array_bytes(
        os.path.join(full, weights)
    )
    loaded = AttentionSeq2SeqLM.from_preset(half)
    for a, b in zip(lm.weights, loaded.weights, strict=True):
        assert b.dtype == "float32"
        a, b = keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
        np.testing.assert_array_equal(b, a.astype(np.float16))


def test_an_existing_export_is_replaced_only_with_overwrite(lm, tmp_path):
    shipped = tmp_path / "shipped"
    export_preset(lm, shipped)
    before = snapshot(shipped)
    with pytest.raises(FileExistsError, match="exists and is not empty"):
        export_preset(lm, shipped, float16=True)
    assert snapshot(shipped) == before
    export_preset(lm, shipped, float16=True, overwrite=True)
    assert snapshot(shipped) != before
    assert AttentionSeq2SeqLM.from_preset(str(shipped)).backbone.hidden_dim == 8
    assert os.listdir(tmp_path) == ["shipped"]  # no temporaries left


def test_a_file_is_refused_and_left_as_it_is(lm, tmp_path):
    target = tmp_path / "model.keras"
    target.write_bytes(b"a user's file")
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="is an existing file"):
            export_preset(lm, target, overwrite=overwrite)
    assert target.read_bytes() == b"a user's file"
    assert os.listdir(tmp_path) == ["model.keras"]


def test_a_directory_keras_attn_did_not_write_is_never_touched(lm, tmp_path):
    foreign = tmp_path / "thesis"
    (foreign / "chapters").mkdir(parents=True)
    (foreign / "chapters" / "one.tex").write_text("\\chapter{One}")
    (foreign / "model.weights.h5").write_bytes(bytes(range(256)))
    (foreign / "config.json").write_text('{"module": "my_models"}')
    before = snapshot(foreign)
    with pytest.raises(FileExistsError) as caught:
        export_preset(lm, foreign, overwrite=True)
    assert str(foreign) in str(caught.value)
    assert "nothing in it was changed" in str(caught.value)
    assert snapshot(foreign) == before
    # A preset to which the user added a file of their own is theirs now.
    card = tmp_path / "with-card"
    export_preset(lm, card)
    (card / "README.md").write_text("my model card")
    before = snapshot(card)
    with pytest.raises(FileExistsError, match="README.md"):
        export_preset(lm, card, overwrite=True)
    assert snapshot(card) == before


def test_training_records_travel_without_the_checkpoints(lm, tmp_path):
    run = tmp_path / "run"
    (run / "training" / "last").mkdir(parents=True)
    (run / "training" / "options.json").write_text('{"task": "dialogue"}')
    (run / "training" / "state.json").write_text('{"epochs_done": 3}')
    shipped = export_preset(
        lm, tmp_path / "shipped", training_records=run / "training" / "last"
    )
    assert sorted(os.listdir(os.path.join(shipped, "training"))) == [
        "options.json",
        "state.json",
    ]
    from keras_attn.training import recorded_options

    assert recorded_options(shipped) == {"task": "dialogue"}
