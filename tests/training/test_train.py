"""`keras_attn.training.train` end to end, from Python, on small files the
tests write: a new model, fine-tuning, resuming, overwriting."""

import json
import os
import shutil

import keras
import numpy as np
import pytest

from keras_attn import training
from keras_attn.models import AttentionSeq2SeqLM
from tests.models.corpus import reversal_pairs

# Tiny and quick: Luong dot attention without input feeding runs the
# teacher-forced decoder in one pass.
TINY = {
    "attention": "luong-dot",
    "input_feeding": False,
    "embedding_dim": 16,
    "hidden_dim": 16,
    "vocabulary_size": 100,
    "source_length": 12,
    "target_length": 12,
    "batch_size": 16,
    "valid_samples": 8,
    "source": "1",  # the files are in the Anki layout: target first
    "target": "0",
}
VOCABULARY = os.path.join("assets", "tokenizer", "vocabulary.txt")


def write_tsv(path, count, seed):
    # Pairs of one length fall into one length bucket: full batches of few
    # shapes, so TensorFlow and JAX compile the training step once or twice.
    sources, targets = reversal_pairs(count, seed, min_words=4, max_words=4)
    lines = [f"{t}\t{s}\n" for s, t in zip(sources, targets, strict=True)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def read_json(path):
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def snapshot(root):
    """Every file under `root` with its bytes, and every folder."""
    files, folders = {}, set()
    for folder, names, filenames in os.walk(root):
        folders.update(os.path.relpath(os.path.join(folder, n), root) for n in names)
        for name in filenames:
            path = os.path.join(folder, name)
            with open(path, "rb") as file:
                files[os.path.relpath(path, root)] = file.read()
    return files, folders


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One epoch on 48 pairs, validation held out of them."""
    root = tmp_path_factory.mktemp("train")
    data = write_tsv(root / "train.tsv", 48, seed=0)
    lines = []
    lm = training.train(
        "translation",
        data,
        root / "run",
        epochs=1,
        verbose=0,
        report=lines.append,
        **TINY,
    )
    return {"root": root, "data": data, "out": root / "run", "lm": lm, "lines": lines}


def test_a_new_run_writes_the_best_model_and_its_records(trained):
    out = trained["out"]
    assert isinstance(trained["lm"], AttentionSeq2SeqLM)
    assert isinstance(trained["lm"].generate("alpha beta gamma"), str)
    state = read_json(out / "training" / "state.json")
    assert state["epochs_done"] == 1 and state["best_epoch"] == 1
    assert state["history"][0]["valid_pairs"] == 8
    assert "val_bleu" in state["history"][0]  # the task's first metric
    options = read_json(out / "training" / "options.json")
    assert options["task"] == "translation"
    assert options["data"] == os.path.abspath(trained["data"])
    assert options["hidden_dim"] == 16 and options["attention_order"] == "luong"
    assert options["dropout"] == 0.2  # a default, recorded
    # 48 pairs: 9 held out (at most a fifth), 8 of them scored each epoch.
    assert trained["lines"][0] == (
        "translation: 39 training pairs, 9 validation pairs, 8 of them scored "
        "with bleu after each epoch"
    )
    assert trained["lines"][1].startswith("epoch 1 | loss ")
    config = read_json(out / "preprocessor.json")["config"]
    assert config["encoder_sequence_length"] == 12
    assert (out / "training" / "last" / "model.weights.h5").is_file()


def test_fine_tuning_from_a_file_keeps_the_tokenizer(trained, tmp_path):
    base = trained["out"]
    data = write_tsv(tmp_path / "more.tsv", 32, seed=7)
    tuned = tmp_path / "tuned"
    lm = training.train(
        "translation",
        data,
        tuned,
        base=base,
        epochs=1,
        verbose=0,
        source=1,
        target=0,
        target_length=14,
        valid_samples=0,  # the best epoch by validation loss
    )
    assert (tuned / VOCABULARY).read_bytes() == (base / VOCABULARY).read_bytes()
    assert (tuned / "model.weights.h5").read_bytes() != (
        base / "model.weights.h5"
    ).read_bytes()
    assert lm.backbone.hidden_dim == 16 and lm.backbone.attention == "luong-dot"
    assert lm.preprocessor.decoder_sequence_length == 14  # lengths may change
    options = read_json(tuned / "training" / "options.json")
    assert options["base"] == os.path.abspath(base)
    assert options["hidden_dim"] == 16  # the base model's
    # The architecture and tokenizer are the base model's: others are refused.
    with pytest.raises(ValueError, match=r"hidden_dim=32 \(the base model has 16\)"):
        training.train("translation", data, tmp_path / "x", base=base, hidden_dim=32)
    assert not (tmp_path / "x").exists()


def test_resume_continues_to_more_epochs_with_the_optimizer_state(trained, tmp_path):
    from keras_attn.training import TrainingRun

    out = tmp_path / "run"
    shutil.copytree(trained["out"], out)
    run = TrainingRun(out, resume=True)
    saved = run.saved_optimizer_variables()
    # Restoring gives the optimizer exactly the saved variables.
    lm = AttentionSeq2SeqLM.from_preset(run.last_checkpoint)
    lm.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0))
    assert run.restore_optimizer(lm) is True
    variables = lm.optimizer.variables
    assert len(variables) == len(saved) > 2
    for index, variable in enumerate(variables):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(variable), saved[str(index)]
        )
    steps = int(keras.ops.convert_to_numpy(lm.optimizer.iterations))
    assert steps > 0
    moments = [saved[str(i)] for i in range(len(saved)) if saved[str(i)].ndim]
    assert any(np.abs(m).sum() > 0 for m in moments)

    # The same options may be given again; only epochs changes.
    training.train(
        "translation", trained["data"], out, resume=True, epochs=2, verbose=0, **TINY
    )
    state = read_json(out / "training" / "state.json")
    assert state["epochs_done"] == 2
    assert [h["epoch"] for h in state["history"]] == [1, 2]
    assert read_json(out / "training" / "options.json")["epochs"] == 2
    after = TrainingRun(out, resume=True).saved_optimizer_variables()
    iteration = next(i for i, v in enumerate(variables) if v is lm.optimizer.iterations)
    # The second epoch counted on from the restored step count.
    assert int(after[str(iteration)]) == 2 * steps
    # All epochs done: nothing more to train, the best model comes back.
    lines = []
    again = training.train(None, None, out, resume=True, report=lines.append)
    assert lines == [f"{out}: all 2 epochs are done already."]
    assert isinstance(again, AttentionSeq2SeqLM)
    with pytest.raises(ValueError, match=r"only epochs may change.*hidden_dim=32"):
        training.train(None, None, out, resume=True, epochs=3, hidden_dim=32)


def test_resuming_without_optimizer_state_warns(trained, tmp_path):
    from keras_attn.training import TrainingRun

    out = tmp_path / "run"
    shutil.copytree(trained["out"], out)
    os.remove(out / "training" / "last_optimizer.npz")
    run = TrainingRun(out, resume=True)
    lm = AttentionSeq2SeqLM.from_preset(run.last_checkpoint)
    lm.compile()
    with pytest.warns(UserWarning, match="no saved optimizer state"):
        assert run.restore_optimizer(lm) is False


def test_overwrite_never_touches_a_directory_keras_attn_did_not_write(
    trained, tmp_path
):
    foreign = tmp_path / "thesis"
    (foreign / "data").mkdir(parents=True)
    (foreign / "notes.txt").write_text("three years of notes", encoding="utf-8")
    (foreign / "data" / "corpus.tsv").write_bytes(b"a\tb\n" * 10)
    (foreign / "model.weights.h5").write_bytes(bytes(range(256)))
    (foreign / "config.json").write_text('{"name": "my own model"}')
    before = snapshot(foreign)
    for overwrite in (False, True):
        with pytest.raises(FileExistsError) as caught:
            training.train(
                "translation", trained["data"], foreign, overwrite=overwrite, **TINY
            )
        assert str(foreign) in str(caught.value)
        assert snapshot(foreign) == before

    # A run or a preset that holds a file of the user's is not replaced either.
    run = tmp_path / "run"
    shutil.copytree(trained["out"], run)
    (run / "README.md").write_text("my model card", encoding="utf-8")
    before = snapshot(run)
    with pytest.raises(FileExistsError, match="README.md"):
        training.train("translation", trained["data"], run, overwrite=True, **TINY)
    assert snapshot(run) == before


def test_overwrite_replaces_a_previous_run(trained, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(trained["out"], out)
    (out / "training" / "options.json.tmp").write_text("{")  # a killed write
    records = []
    log = training.ProgressLog(every=1, on_record=records.append)
    training.train(
        "translation",
        trained["data"],
        out,
        overwrite=True,
        epochs=1,
        seed=3,
        verbose=0,
        callbacks=[log],
        **TINY,
    )
    assert read_json(out / "training" / "options.json")["seed"] == 3
    state = read_json(out / "training" / "state.json")
    assert state["epochs_done"] == 1 and len(state["history"]) == 1
    assert not (out / "training" / "options.json.tmp").exists()
    # Progress records, every one with the number of pairs scored.
    assert records and all(r["valid_pairs"] == 8 for r in records)
    steps = [r for r in records if r["event"] == "step"]
    epochs = [r for r in records if r["event"] == "epoch"]
    assert [r["step"] for r in steps] == list(range(1, len(steps) + 1))
    assert all(r["steps"] == len(steps) and r["epochs"] == 1 for r in steps)
    assert len(epochs) == 1 and "val_bleu" in epochs[0] and epochs[0]["loss"] > 0
