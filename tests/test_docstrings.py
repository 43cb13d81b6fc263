"""The `>>>` examples in the docstrings of keras_attn's public modules run.

Every public module (no part of its name starting with `_`) is searched with
`doctest`; each docstring with examples is one test, run in an empty
working directory with the module's own names plus `keras`, `keras_attn` and
`np` (`numpy`), as a user who imported those would have them. Nothing is
left out: an example that cannot run here must say so in its own docstring
(`# doctest: +SKIP`), and a docstring whose examples are all skipped shows
as a skipped test with that reason.
"""

import doctest
import importlib
import io
import pkgutil

import keras
import numpy as np
import pytest

import keras_attn

SETUP = {"keras": keras, "keras_attn": keras_attn, "np": np}
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# Modules whose examples must be found: a docstring whose examples stop
# being collected (say, a `>>>` lost its indentation) fails here instead of
# passing unnoticed.
EXPECTED = (
    "keras_attn.layers.attention_decoder",
    "keras_attn.layers.attention_decoder_cell",
    "keras_attn.layers.bahdanau_attention",
    "keras_attn.layers.luong_attention",
    "keras_attn.layers.pointer_generator",
    "keras_attn.losses.smoothed_sparse_categorical_crossentropy",
    "keras_attn.metrics",
    "keras_attn.models.attention_seq2seq_lm",
    "keras_attn.models.attention_seq2seq_preprocessor",
    "keras_attn.models.attention_seq2seq_tokenizer",
    "keras_attn.models.join_punctuation",
    "keras_attn.plotting",
)


def public_modules():
    names = ["keras_attn"]
    for info in pkgutil.walk_packages(keras_attn.__path__, "keras_attn."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def collect_examples():
    """Every docstring with examples, as `doctest.DocTest`s, by name."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    examples = {}
    for name in public_modules():
        module = importlib.import_module(name)
        for test in finder.find(module, name, extraglobs=SETUP):
            if test.examples:
                examples[test.name] = test
    return examples


EXAMPLES = collect_examples()


def test_examples_are_collected_from_every_documented_module():
    missing = [
        module
        for module in EXPECTED
        if not any(name.startswith(module + ".") for name in EXAMPLES)
    ]
    assert not missing, f"no docstring examples collected from {missing}"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_docstring_example_runs(name, tmp_path, monkeypatch):
    found = EXAMPLES[name]
    if all(example.options.get(doctest.SKIP) for example in found.examples):
        pytest.skip(f"every example of {name} is marked `# doctest: +SKIP`")
    # Examples may write files ("alignment.png"): into a fresh directory.
    monkeypatch.chdir(tmp_path)
    test = doctest.DocTest(
        found.examples,
        dict(found.globs),
        found.name,
        found.filename,
        found.lineno,
        found.docstring,
    )
    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test, out=report.write)
    assert runner.failures == 0, (
        f"{runner.failures} of {runner.tries} examples of {name} failed "
        f"({found.filename}:{found.lineno}):\n{report.getvalue()}"
    )
