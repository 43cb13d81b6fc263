"""The docstring examples of the training and task modules run as written."""

import doctest
import importlib

import keras
import pytest

import keras_attn

MODULES = (
    "keras_attn._files",
    "keras_attn.tasks",
    "keras_attn.tasks.task",
    "keras_attn.tasks.registry",
    "keras_attn.training",
    "keras_attn.training.pipeline",
    "keras_attn.training.progress_log",
    "keras_attn.training.text_dataset",
    "keras_attn.training.training_config",
    "keras_attn.training.training_run",
    "keras_attn.export.preset",
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    globs = {**vars(module), "keras": keras, "keras_attn": keras_attn}
    failed, attempted = doctest.testmod(
        module, globs=globs, optionflags=doctest.ELLIPSIS, verbose=False
    )
    assert attempted > 0, f"{name} has no example"
    assert failed == 0, f"{failed} of {attempted} examples of {name} failed"
