"""The docstring examples of private modules run as written (those of
public modules run in tests/test_docstrings.py)."""

import doctest
import importlib

import keras
import pytest

import keras_attn

MODULES = (
    "keras_attn._files",
    "keras_attn.training._distribution",
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
