"""The Train tab's runs without the page: the child process runs
`keras_attn.training.train` from a serialised `TrainingConfig`, its
progress records come back, the model it leaves loads, and a cancelled run
removes only what it wrote."""

import json
import time

import pytest

from demos.errors import DemoError
from demos.trainer import Trainer
from demos.training import model_options
from keras_attn.models import AttentionSeq2SeqLM
from keras_attn.training import TrainingConfig
from tests.demos.conftest import only_tensorflow
from tests.models.corpus import reversal_pairs

pytestmark = only_tensorflow

TINY = model_options("bahdanau", 16, 16, 100)


def write_anki(path, count=40):
    sources, targets = reversal_pairs(count, seed=3)
    pairs = zip(sources, targets, strict=True)
    path.write_text("".join(f"{t}\t{s}\n" for s, t in pairs))  # target first
    return sources


def test_the_child_trains_with_the_library_and_the_model_loads(tmp_path):
    upload = tmp_path / "pairs.tsv"
    sources = write_anki(upload)
    models = tmp_path / "models"
    trainer = Trainer(models, max_upload_bytes=2**20)
    job = trainer.start("translation", "tiny", 2, TINY, upload=str(upload))
    command = job.command()
    assert command[1:3] == ["-m", "demos.train_child"]
    # What the child reads is the library's own configuration.
    config = TrainingConfig.from_json((job.workdir / "config.json").read_text())
    assert config.task == "translation" and config.hidden_dim == 16
    assert (config.source, config.target) == ("1", "0")  # the sample's columns
    assert job.wait(timeout=300), "the run did not end"
    assert job.status == "done", job.markdown()
    # Records from ProgressLog(on_record=...) in the child, one per epoch.
    assert [record["epoch"] for record in job.epochs] == [1, 2]
    assert all("val_bleu" in record for record in job.epochs)
    model = models / "translation" / "tiny"
    lm = AttentionSeq2SeqLM.from_preset(str(model))
    assert isinstance(lm.generate(sources[0]), str)
    options = json.loads((model / "training" / "options.json").read_text())
    assert options["hidden_dim"] == 16 and options["task"] == "translation"
    # Only the model is left: the run's own directories are gone.
    assert [p.name for p in (models / "translation").iterdir()] == ["tiny"]
    assert not job.workdir.exists() and not job.staging.exists()
    assert "done" in trainer.status()


def test_a_run_cancelled_before_its_first_epoch_leaves_what_was_there(tmp_path):
    task_dir = tmp_path / "models" / "dialogue"
    task_dir.mkdir(parents=True)
    (task_dir / "notes.txt").write_text("mine")
    trainer = Trainer(tmp_path / "models", max_upload_bytes=2**20)
    job = trainer.start("dialogue", "stopped", 50, TINY)
    with pytest.raises(DemoError, match="is being trained"):
        trainer.start("dialogue", "second", 1, TINY)
    time.sleep(1.0)  # the child is starting (importing the libraries)
    trainer.cancel()
    assert job.wait(timeout=120), "the cancelled run did not end"
    assert job.status == "cancelled", job.markdown()
    assert "nothing was saved" in trainer.status()
    assert [p.name for p in task_dir.iterdir()] == ["notes.txt"]
    assert (task_dir / "notes.txt").read_text() == "mine"
    assert not job.workdir.exists()


def test_settings_the_library_refuses_are_shown_before_a_run_starts(tmp_path):
    trainer = Trainer(tmp_path, max_upload_bytes=2**20)
    odd = model_options("bahdanau", 15, 16, 100)  # hidden_dim must be even
    with pytest.raises(DemoError, match="hidden_dim must be even"):
        trainer.start("translation", "odd", 1, odd)
    assert trainer.job is None
    assert [p.name for p in (tmp_path / "translation").iterdir()] == []
