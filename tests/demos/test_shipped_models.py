"""Every model shipped in `saved_models/<task>/` loads and answers every
example the app shows.

The tasks in `SHIPPED_TASKS` must have a model in the repository; another
task without one is skipped (with `KERAS_ATTN_REQUIRE_SHIPPED=1` it fails
instead). Summarization ships once a model reaches dev ROUGE-1 20.
"""

import os

import pytest

from demos.decoding import Decoding
from demos.examples import EXAMPLES
from demos.heatmap import render_heatmap
from demos.serving import ModelRegistry
from tests.demos.conftest import SHIPPED_DIR
from tests.demos.conftest import TASKS
from tests.demos.conftest import only_tensorflow
from tests.demos.conftest import shipped_models

pytestmark = only_tensorflow

REQUIRE = os.environ.get("KERAS_ATTN_REQUIRE_SHIPPED") == "1"
SHIPPED_TASKS = ("translation", "summarization", "dialogue")


@pytest.mark.parametrize("task", TASKS)
def test_every_shipped_model_answers_the_app_examples(task):
    models = shipped_models(task)
    if not models:
        message = (
            f"no shipped {task} model: {SHIPPED_DIR / task}/ has no model "
            "directory (one with a config.json)"
        )
        if REQUIRE or task in SHIPPED_TASKS:
            pytest.fail(f"{message}; the repository ships one")
        pytest.skip(message)
    registry = ModelRegistry(SHIPPED_DIR)
    listed = registry.names(task)
    for path in models:
        assert path.name in listed, f"the app does not list {path}"
        model = registry.model(task, path.name)
        for example in EXAMPLES[task]:
            source = model.dialogue_source([example]) if task == "dialogue" else example
            output, alignment = model.generate(source, Decoding())
            assert output.strip(), f"{path.name}: empty output for {example!r}"
            assert (alignment is not None) == model.has_attention
        if model.has_attention:
            image = render_heatmap(alignment)
            assert image.width > 100 and image.height > 100
