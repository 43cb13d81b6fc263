"""`TrainingConfig` and `train`'s checks: every bad option is refused with a
message naming it, before anything is read or written."""

import json

import pytest

from keras_attn import training
from keras_attn.training import TrainingConfig

BASE = {"task": "translation", "data": "train.tsv", "out": "run"}


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("learning_rate", -1, "learning_rate must be > 0. Received: learning_rate=-1"),
        ("learning_rate", 0.0, "learning_rate must be > 0"),
        ("learning_rate", float("nan"), "learning_rate must be a finite number"),
        ("learning_rate", "fast", "learning_rate must be a finite number"),
        ("dropout", 1.0, "dropout must be in [0, 1). Received: dropout=1.0"),
        ("dropout", -0.1, "dropout must be in [0, 1)"),
        ("label_smoothing", 1, "label_smoothing must be in [0, 1)"),
        ("hidden_dim", 0, "hidden_dim must be a positive integer"),
        ("hidden_dim", 15, "hidden_dim must be even"),
        ("hidden_dim", "16", "hidden_dim must be a positive integer"),
        ("embedding_dim", 2.5, "embedding_dim must be a positive integer"),
        ("encoder_layers", -1, "encoder_layers must be a positive integer"),
        ("vocabulary_size", True, "vocabulary_size must be a positive integer"),
        ("source_length", 0, "source_length must be a positive integer"),
        ("target_length", -3, "target_length must be a positive integer"),
        ("batch_size", 0, "batch_size must be a positive integer"),
        ("epochs", 0, "epochs must be a positive integer"),
        ("history", 0, "history must be a positive integer"),
        ("max_examples", 0, "max_examples must be a positive integer"),
        ("valid_samples", -1, "valid_samples must be an integer >= 0"),
        ("seed", -1, "seed must be an integer >= 0"),
        ("attention", "cosine", "attention must be one of ("),
        ("attention_order", "sideways", "attention_order must be one of"),
        ("cell", "rnn", "cell must be one of ('gru', 'lstm')"),
        ("format", "xml", "format must be one of ('tsv', 'csv', 'jsonl')"),
        ("on_error", "ignore", "on_error must be one of ('raise', 'skip')"),
        ("source", -1, "source must be a column index"),
        ("target", "", "target must be a column index"),
        ("reverse", "yes", "reverse must be True or False"),
        ("lowercase", 1, "lowercase must be True or False"),
        ("overwrite", "yes", "overwrite must be True or False"),
    ],
)
def test_each_bad_option_is_refused_naming_it(option, value, message):
    with pytest.raises(ValueError) as caught:
        TrainingConfig(**BASE, **{option: value})
    assert message in str(caught.value)


def test_attention_names_come_from_the_backbone():
    from keras_attn.models import ATTENTIONS

    for attention in ATTENTIONS:
        assert TrainingConfig(**BASE, attention=attention).attention == attention


@pytest.mark.parametrize(
    "options, message",
    [
        (
            {"attention": "none", "pointer_generator": True},
            "pointer_generator=True copies through the attention weights",
        ),
        ({"attention": "none", "attention_order": "luong"}, "attention_order"),
        ({"resume": True, "overwrite": True}, "resume and overwrite"),
        ({"data": None}, "data is required for a new run"),
    ],
)
def test_contradictory_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        TrainingConfig(**{**BASE, **options})


def test_train_refuses_bad_options_before_touching_anything(tmp_path):
    out = tmp_path / "run"
    data = tmp_path / "train.tsv"
    data.write_text("a\tb\n", encoding="utf-8")
    with pytest.raises(ValueError, match="Received: learning_rate=-1"):
        training.train("translation", data, out, learning_rate=-1)
    with pytest.raises(ValueError, match=r"Unknown training options \['hidden'\]"):
        training.train("translation", data, out, hidden=16)
    with pytest.raises(ValueError, match="task must be one of"):
        training.train("poetry", data, out)
    with pytest.raises(ValueError, match="verbose must be one of"):
        training.train("translation", data, out, verbose=3)
    with pytest.raises(ValueError, match="callbacks must be keras.callbacks"):
        training.train("translation", data, out, callbacks=[print])
    assert not out.exists()


def test_a_missing_data_file_is_named(tmp_path):
    missing = tmp_path / "nowhere.tsv"
    with pytest.raises(FileNotFoundError) as caught:
        training.train("translation", missing, tmp_path / "run")
    assert str(missing) in str(caught.value)
    data = tmp_path / "train.tsv"
    data.write_text("a\tb\n", encoding="utf-8")
    with pytest.raises(FileNotFoundError) as caught:
        training.train("translation", data, tmp_path / "run", valid=missing)
    assert str(missing) in str(caught.value)
    with pytest.raises(FileNotFoundError) as caught:
        training.train("translation", data, tmp_path / "run", base=tmp_path / "none")
    assert str(tmp_path / "none") in str(caught.value)
    assert not (tmp_path / "run").exists()


def test_nothing_to_resume_is_an_error_naming_the_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="Nothing to resume in"):
        training.train(None, None, tmp_path / "run", resume=True)


def test_json_round_trip_and_train_keyword_arguments():
    config = TrainingConfig(
        **BASE, source="1", target=0, hidden_dim=64, learning_rate=5e-3, resume=False
    )
    again = TrainingConfig.from_json(config.to_json())
    assert again == config
    kwargs = config.as_kwargs()
    assert kwargs == {
        "task": "translation",
        "data": "train.tsv",
        "out": "run",
        "source": "1",
        "target": 0,
        "hidden_dim": 64,
        "learning_rate": 5e-3,
    }
    assert json.loads(config.to_json())["hidden_dim"] == 64


def test_numpy_numbers_become_python_numbers():
    import numpy as np

    config = TrainingConfig(**BASE, hidden_dim=np.int64(32), dropout=np.float32(0.5))
    assert type(config.hidden_dim) is int and type(config.dropout) is float
    json.loads(config.to_json())


def test_options_of_keras_attn_0_1_runs_read_from_as_base():
    recorded = {**BASE, "from": "/models/base", "epochs": 8, "source": "1"}
    assert TrainingConfig.from_dict(recorded).base == "/models/base"
    with pytest.raises(ValueError, match=r"Unknown training options \['colour'\]"):
        TrainingConfig.from_dict({**BASE, "colour": "red"})


@pytest.mark.parametrize(
    "pairs, held",
    [(0, 0), (4, 0), (5, 1), (60, 12), (300, 60), (500, 100), (1_000, 100),
     (20_000, 400), (100_000, 2000), (1_000_000, 2000)],
)  # fmt: skip
def test_held_out_validation_count(pairs, held):
    # 2% (at most 2,000), at least 100, never more than a fifth.
    assert training.held_out_count(pairs) == held
    assert pairs - held >= pairs * 4 // 5
