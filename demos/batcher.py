"""Concurrent requests that share a key, decoded together in one call."""

import threading


class Batcher:
    """Gathers concurrent calls with the same key into one batch.

    The first call for a key opens a batch and leads it: it waits up to
    `max_wait` seconds for others to join (or until `max_batch` have), then
    runs `decode(key, items)` once for all of them, while later calls join
    the next batch. One batch per key runs at a time, and the next one keeps
    gathering while it runs, so under load the batches grow (to
    `max_batch`) instead of queueing one by one. Batches of different keys
    run side by side.

    An item whose decoding fails fails only its own call: when `decode`
    raises for a batch of several, each item is decoded again alone, and
    `decode` may also return an exception in an item's place.

    Args:
        decode: `decode(key, items) -> results`, a list with one result (or
            exception) per item, in order.
        max_batch: int, the most items in one call of `decode`.
        max_wait: float, the seconds a batch's first call waits for others.

    Example:
    >>> batcher = Batcher(lambda key, items: [key * x for x in items])
    >>> batcher.submit(3, 2)
    6
    """

    def __init__(self, decode, max_batch=32, max_wait=0.015):
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1. Received: {max_batch}")
        if max_wait < 0:
            raise ValueError(f"max_wait must be at least 0. Received: {max_wait}")
        self.decode = decode
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._lock = threading.Lock()
        self._open = {}  # key -> the batch still taking items
        self._running = {}  # key -> the lock its running batch holds

    def submit(self, key, item):
        """Decodes `item` in a batch of `key`; returns its result (or
        raises its error) once the batch is done. Blocks the caller."""
        with self._lock:
            batch = self._open.get(key)
            leads = batch is None
            if leads:
                batch = self._open[key] = _Batch()
                running = self._running.setdefault(key, threading.Lock())
            index = len(batch.items)
            batch.items.append(item)
            if len(batch.items) >= self.max_batch:
                self._close(key, batch)
        if leads:
            batch.full.wait(self.max_wait)
            with running:
                with self._lock:
                    self._close(key, batch)  # later calls join the next one
                self._run(key, batch)
        else:
            batch.done.wait()
        result = batch.results[index]
        if isinstance(result, BaseException):
            raise result
        return result

    def _close(self, key, batch):
        """Takes no more items into `batch` (call with `_lock` held)."""
        if self._open.get(key) is batch:
            del self._open[key]
        batch.full.set()

    def _run(self, key, batch):
        try:
            batch.results = self._decode(key, batch.items)
        except Exception as error:
            if len(batch.items) == 1:
                batch.results = [error]
            else:  # find the item that failed: the others still answer
                batch.results = [self._alone(key, item) for item in batch.items]
        finally:
            if batch.results is None:  # interrupted: no caller waits forever
                stopped = RuntimeError("the batch was interrupted")
                batch.results = [stopped] * len(batch.items)
            batch.done.set()

    def _decode(self, key, items):
        results = list(self.decode(key, list(items)))
        if len(results) != len(items):
            raise RuntimeError(
                f"decode returned {len(results)} results for {len(items)} items"
            )
        return results

    def _alone(self, key, item):
        try:
            return self._decode(key, [item])[0]
        except Exception as error:
            return error


class _Batch:
    def __init__(self):
        self.items = []
        self.results = None
        self.full = threading.Event()  # no more items: start now
        self.done = threading.Event()  # results are in
