"""Batched serving: the `Batcher` gathers concurrent calls, one bad input
fails only its own call, and a batch decodes each input as it would be
decoded alone."""

import doctest
import threading
import time

import numpy as np
import pytest

import demos.batcher
from demos.batcher import Batcher
from demos.decoding import Decoding
from demos.loaded_model import LoadedModel
from tests.demos.conftest import only_tensorflow
from tests.demos.conftest import shipped_models


def run_together(batcher, calls):
    """`batcher.submit(key, item)` for each `(key, item)` of `calls`, all
    from their own threads at once; the results (or errors) in order."""
    results = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def call(index, key, item):
        start.wait()
        try:
            results[index] = batcher.submit(key, item)
        except Exception as error:
            results[index] = error

    threads = [
        threading.Thread(target=call, args=(i, key, item))
        for i, (key, item) in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


class Recorder:
    """A `decode` that squares its items, records each batch, and refuses
    negative numbers (the whole batch fails, as `lm.generate` would)."""

    def __init__(self, seconds=0.05):
        self.seconds = seconds
        self.batches = []
        self.lock = threading.Lock()

    def __call__(self, key, items):
        with self.lock:
            self.batches.append((key, list(items)))
        time.sleep(self.seconds)  # a decoding pass takes a while
        if any(item < 0 for item in items):
            raise ValueError(f"negative item in {items}")
        return [key * item * item for item in items]


def test_concurrent_calls_with_one_key_are_decoded_together():
    decode = Recorder()
    batcher = Batcher(decode, max_batch=32, max_wait=0.2)
    results = run_together(batcher, [(1, i) for i in range(16)])
    assert results == [i * i for i in range(16)]
    assert len(decode.batches) < 16
    assert max(len(items) for _, items in decode.batches) > 1


def test_batches_hold_one_key_and_at_most_max_batch_items():
    decode = Recorder()
    batcher = Batcher(decode, max_batch=4, max_wait=0.2)
    calls = [(key, i) for i in range(10) for key in (1, 10)]
    results = run_together(batcher, calls)
    assert results == [key * i * i for key, i in calls]
    for _, items in decode.batches:
        assert 1 <= len(items) <= 4
    assert sorted((k, i) for k, items in decode.batches for i in items) == sorted(calls)


def test_a_bad_input_fails_only_its_own_call():
    decode = Recorder()
    batcher = Batcher(decode, max_batch=8, max_wait=0.2)
    results = run_together(batcher, [(1, 2), (1, -1), (1, 3), (1, 4)])
    assert results[0] == 4 and results[2] == 9 and results[3] == 16
    assert isinstance(results[1], ValueError)
    assert "negative item in [-1]" in str(results[1])
    # The batch failed once, together, before each item ran alone.
    assert any(len(items) > 1 for _, items in decode.batches)


def test_an_error_returned_in_place_reaches_its_caller_only():
    def decode(key, items):
        return [ValueError(f"bad {x}") if x == "bad" else x.upper() for x in items]

    batcher = Batcher(decode, max_batch=8, max_wait=0.1)
    results = run_together(batcher, [(0, "a"), (0, "bad"), (0, "b")])
    assert results[0] == "A" and results[2] == "B"
    assert str(results[1]) == "bad bad"


def test_bad_settings_name_the_argument():
    with pytest.raises(ValueError, match="max_batch must be at least 1. Received: 0"):
        Batcher(lambda key, items: items, max_batch=0)
    with pytest.raises(ValueError, match="max_wait must be at least 0"):
        Batcher(lambda key, items: items, max_wait=-1)


def test_the_docstring_example_runs():
    failed, attempted = doctest.testmod(demos.batcher, verbose=False)
    assert attempted and not failed


@only_tensorflow
def test_a_padded_batch_decodes_each_input_as_alone():
    models = shipped_models("translation")
    if not models:
        pytest.skip("no shipped translation model")
    model = LoadedModel(models[0], "translation")
    texts = [
        "Hola.",
        "¿Dónde está la estación de tren?",
        "Mi hermano vive en Madrid con su esposa y sus tres hijos.",
    ]  # three: padded to a batch of four, with rows of different lengths
    greedy = Decoding()
    alone = [model.generate_batch([text], greedy)[0] for text in texts]
    together = model.generate_batch(texts, greedy)
    assert len(together) == len(texts)
    for (output, pair), (batched_output, batched_pair) in zip(
        alone, together, strict=True
    ):
        assert batched_output == output
        assert batched_pair["source_tokens"] == pair["source_tokens"]
        assert batched_pair["output_tokens"] == pair["output_tokens"]
        np.testing.assert_allclose(batched_pair["weights"], pair["weights"], atol=1e-5)
    # Through the batcher, from threads at once: the same answers.
    results = run_together(model.batcher, [(greedy, text) for text in texts])
    assert [output for output, _ in results] == [output for output, _ in alone]
