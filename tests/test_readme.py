"""The README's code runs as written."""

import pathlib
import re

import keras

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
