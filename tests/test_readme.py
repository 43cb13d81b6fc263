"""The README's code runs as written."""

import json
import pathlib
import re

import keras
import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_layer_example_builds_and_runs():
    blocks = python_blocks()
    assert blocks, "README.md has no python example"
    namespace = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)  # noqa: S102
    model = namespace["model"]
    assert isinstance(model, keras.Model)
    assert tuple(namespace["alignment"].shape) == (None, None, None)
    logits = model.predict(
        [keras.ops.ones((2, 7), "int32"), keras.ops.ones((2, 5), "int32")], verbose=0
    )
    assert logits.shape == (2, 5, 8000)


def test_readme_model_example_trains_and_generates(capsys):
    blocks = python_blocks()
    assert len(blocks) >= 2, "README.md lost its model example"
    code = blocks[1].replace("vocabulary_size=8000", "vocabulary_size=200")
    code = code.replace(
        "embedding_dim=256, hidden_dim=512", "embedding_dim=16, hidden_dim=32"
    )
    namespace = {}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert last_line.startswith("['") and last_line.endswith("']")  # one string


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the pipeline's calls are checked on every backend by "
    "tests/training; the README's use of them once, on TensorFlow",
)
def test_readme_training_example_trains_fine_tunes_and_resumes(tmp_path, monkeypatch):
    blocks = python_blocks()
    assert len(blocks) >= 3, "README.md lost its training example"
    code = blocks[2]
    assert len(code.strip().splitlines()) <= 15, "the example should stay short"
    # The same calls at a size that trains in seconds.
    for old, new in (
        ("hidden_dim=256", "hidden_dim=16, embedding_dim=8, vocabulary_size=150"),
        ("epochs=5", "epochs=1"),
        ("epochs=2", "epochs=1"),
        ("epochs=4", "epochs=2"),
    ):
        assert old in code, old
        code = code.replace(old, new)
    words = ["uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho"]
    english = ["one", "two", "three", "four", "five", "six", "seven", "eight"]
    rows = [
        f"{words[i]} {words[j]}\t{english[i]} {english[j]}"
        for i in range(8)
        for j in range(8)
    ]
    (tmp_path / "pairs.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "my_pairs.tsv").write_text("\n".join(rows[:30]) + "\n", "utf-8")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102
    outputs, alignments = namespace["outputs"], namespace["alignments"]
    assert len(outputs) == 1 and isinstance(outputs[0], str)
    weights = alignments[0]["weights"]
    assert weights.shape == (
        len(alignments[0]["output_tokens"]),
        len(alignments[0]["source_tokens"]),
    )
    state = json.loads((tmp_path / "runs/mine-tuned/training/state.json").read_text())
    assert state["epochs_done"] == 2  # resumed from 1 to 2 epochs
    # Fine-tuning kept the base model's tokenizer.
    vocabulary = "assets/tokenizer/vocabulary.txt"
    assert (tmp_path / "runs/mine" / vocabulary).read_text() == (
        tmp_path / "runs/mine-tuned" / vocabulary
    ).read_text()
