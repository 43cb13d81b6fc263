"""How `benchmarks/speed.py` measures: timings, peak memory and the
machine's matmul rate.

`run_config` builds one configuration's runner (`speed_runners`) and times
training, greedy decoding (a batch and one sentence) and beam search, each
as the median of `repeats` timings after warm-up, with the peak memory of
the training and the decoding phase; `matmul_rates` measures the dense
matmul rate the achieved GFLOP/s are compared with.
"""

import contextlib
import re
import statistics
import time

import numpy as np

from benchmarks.machine import gpu_name
from benchmarks.speed_flops import forward_flops
from benchmarks.speed_runners import build_runner
from benchmarks.speed_runners import make_batch


def _status_kib(field):
    """A `/proc/self/status` field in KiB (`VmRSS`, `VmHWM`), or None."""
    try:
        with open("/proc/self/status") as file:
            match = re.search(rf"^{field}:\s+(\d+) kB", file.read(), re.M)
        return int(match.group(1)) if match else None
    except OSError:
        return None


class PeakMemory:
    """The peak resident set size (MiB) during a `with` block, and on a GPU
    the backend's peak device memory (MiB).

    Linux resets the peak (`VmHWM`) when 5 is written to
    `/proc/self/clear_refs`; where that is refused, the process's lifetime
    peak (`ru_maxrss`) is reported instead (`reset` is then False).
    """

    def __init__(self, gpu):
        self.gpu = gpu

    def __enter__(self):
        self.reset = False
        try:
            with open("/proc/self/clear_refs", "w") as file:
                file.write("5")
            self.reset = True
        except OSError:
            pass
        self.rss_before = _status_kib("VmRSS")
        if self.gpu:
            reset_device_peak()
        return self

    def __exit__(self, *exc):
        peak = _status_kib("VmHWM") if self.reset else None
        if peak is None:
            import resource

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.peak_mib = round(peak / 1024, 1)
        self.before_mib = round((self.rss_before or 0) / 1024, 1)
        self.device_peak_mib = device_peak_mib() if self.gpu else None
        return False


def reset_device_peak():
    """Starts the backend's peak device memory afresh, where it can."""
    import keras

    backend = keras.backend.backend()
    with contextlib.suppress(Exception):
        if backend == "tensorflow":
            import tensorflow as tf

            tf.config.experimental.reset_memory_stats("GPU:0")
        elif backend == "torch":
            import torch

            torch.cuda.reset_peak_memory_stats()
        # JAX has no reset: its peak is the process's peak so far.


def device_peak_mib():
    """The backend's peak device memory in MiB, or None where unknown."""
    import keras

    backend = keras.backend.backend()
    peak = None
    with contextlib.suppress(Exception):
        if backend == "tensorflow":
            import tensorflow as tf

            peak = tf.config.experimental.get_memory_info("GPU:0")["peak"]
        elif backend == "torch":
            import torch

            peak = torch.cuda.max_memory_allocated()
        elif backend == "jax":
            import jax

            peak = jax.devices()[0].memory_stats()["peak_bytes_in_use"]
    return None if peak is None else round(peak / 2**20, 1)


def median_time(function, repeats, warmup=1):
    """The median wall time of `repeats` calls after `warmup` calls."""
    for _ in range(warmup):
        function()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings), timings


def run_config(config, sizes, repeats, jit_compile, seed=0):
    """Builds one configuration and measures it.

    Args:
        config: a config dict of `speed_configs.parse_config`.
        sizes: the sizes dict (`speed_configs.REFERENCE` or `SMOKE`).
        repeats: timings per figure (three times as many for batch-1
            latency, which is quick and noisy).
        jit_compile: passed to `compile()`: `"auto"`, True or False.
        seed: the seed of the weights and of the random batches.

    Returns:
        A dict: the config, each figure of `speed_report.FIGURES`, device
        peaks, achieved `gflops_per_s`, every timing and compile times.
    """
    import keras

    keras.config.set_dtype_policy(config["dtype"])
    keras.utils.set_random_seed(seed)
    gpu = gpu_name() is not None
    rng = np.random.default_rng(seed)
    try:
        build_start = time.perf_counter()
        runner = build_runner(config, sizes, jit_compile)
        build_s = time.perf_counter() - build_start
        batch, steps = sizes["batch"], sizes["target_length"]
        src_len = sizes["source_length"]

        # Training: `repeats` timings of `train_steps` steps each.
        train_batches = [make_batch(rng, sizes, batch) for _ in range(4)]
        with PeakMemory(gpu) as train_memory:
            warm_start = time.perf_counter()
            for i in range(sizes["warmup_steps"]):
                runner.train(train_batches[i % len(train_batches)])
            train_warmup_s = time.perf_counter() - warm_start
            rates = []
            for _ in range(repeats):
                tokens = 0
                start = time.perf_counter()
                for i in range(sizes["train_steps"]):
                    chosen = train_batches[i % len(train_batches)]
                    runner.train(chosen)
                    tokens += int(chosen["weights"].sum())
                rates.append(tokens / (time.perf_counter() - start))
        train_rate = statistics.median(rates)
        train_flops = 3 * forward_flops(config, sizes, src_len, steps, batch)
        train_steps_per_s = train_rate / statistics.mean(
            float(b["weights"].sum()) for b in train_batches
        )

        greedy_batch = make_batch(rng, sizes, batch, with_targets=False)
        latency_batch = make_batch(rng, sizes, sizes["latency_batch"], False)
        latency_batch["source_mask"][:] = True  # one full-length sentence
        latency_batch["source"] = rng.integers(
            4, sizes["vocabulary"], latency_batch["source"].shape
        ).astype("int32")
        beam_batch = make_batch(rng, sizes, sizes["beam_batch"], False)
        with PeakMemory(gpu) as decode_memory:
            start = time.perf_counter()
            runner.greedy(greedy_batch)
            greedy_warmup_s = time.perf_counter() - start
            greedy_s, greedy_all = median_time(
                lambda: runner.greedy(greedy_batch), repeats
            )
            # One sentence is quick and noisy: three times the repeats.
            latency_s, latency_all = median_time(
                lambda: runner.greedy(latency_batch), 3 * repeats, warmup=2
            )
            start = time.perf_counter()
            runner.beam(beam_batch)
            beam_warmup_s = time.perf_counter() - start
            beam_s, beam_all = median_time(lambda: runner.beam(beam_batch), repeats)
    finally:
        keras.config.set_dtype_policy("float32")
    # Our beam search carries the greedy hypothesis as one more slot.
    beam_rows = sizes["beam_batch"] * (
        sizes["beams"] + (1 if config["kind"] == "ours" else 0)
    )
    flops = {
        "train": train_flops * train_steps_per_s,
        "greedy": forward_flops(config, sizes, src_len, steps, batch, True) / greedy_s,
        "latency": forward_flops(
            config, sizes, src_len, steps, sizes["latency_batch"], True
        )
        / latency_s,
        "beam": forward_flops(config, sizes, src_len, steps, beam_rows, True) / beam_s,
    }
    result = {
        **config,
        "train_tokens_per_s": round(train_rate, 1),
        "greedy_tokens_per_s": round(batch * steps / greedy_s, 1),
        "latency_ms": round(1000 * latency_s, 3),
        "beam_s": round(beam_s, 5),
        "train_peak_mib": train_memory.peak_mib,
        "decode_peak_mib": decode_memory.peak_mib,
        "rss_before_train_mib": train_memory.before_mib,
        "peak_is_per_phase": train_memory.reset,
        "train_device_peak_mib": train_memory.device_peak_mib,
        "decode_device_peak_mib": decode_memory.device_peak_mib,
        # Four significant digits: a smoke run's tiny rates must not round to 0.
        "gflops_per_s": {k: float(f"{v / 1e9:.4g}") for k, v in flops.items()},
        "flops_per_train_step": train_flops,
        "timings": {
            "train_tokens_per_s": [round(r, 1) for r in rates],
            "greedy_s": [round(t, 5) for t in greedy_all],
            "latency_s": [round(t, 6) for t in latency_all],
            "beam_s": [round(t, 5) for t in beam_all],
        },
        "compile_s": {
            "build": round(build_s, 2),
            "train_warmup": round(train_warmup_s, 2),
            "greedy_warmup": round(greedy_warmup_s, 2),
            "beam_warmup": round(beam_warmup_s, 2),
        },
    }
    keras.backend.clear_session()
    return result


def matmul_rates(sizes, dtypes):
    """GFLOP/s of a square matmul (the machine's dense rate) and of the
    batch-64 output projection's shape, per dtype, with the Keras backend."""
    import keras
    from keras import ops

    def rate(m, k, n, dtype, repeats=10):
        rng = np.random.default_rng(0)
        a = ops.convert_to_tensor(rng.standard_normal((m, k)), dtype)
        b = ops.convert_to_tensor(rng.standard_normal((k, n)), dtype)

        def run():
            # Summing forces a result out of asynchronous backends; its
            # cost is one pass over m x n numbers.
            ops.convert_to_numpy(ops.cast(ops.sum(ops.matmul(a, b)), "float32"))

        _, timings = median_time(run, repeats, warmup=2)
        seconds, best = statistics.median(timings), min(timings)
        return {
            "shape": [m, k, n],
            "median_gflops_per_s": round(2 * m * k * n / seconds / 1e9, 1),
            "best_gflops_per_s": round(2 * m * k * n / best / 1e9, 1),
        }

    size = sizes["matmul_size"]
    if gpu_name() is not None:
        size = max(size, 8192)
    results = {}
    for dtype in dtypes:
        storage = "bfloat16" if "bfloat16" in dtype else "float32"
        if storage in results:
            continue
        results[storage] = {
            "square": rate(size, size, size, storage),
            "output_projection": rate(
                sizes["batch"], sizes["hidden"], sizes["vocabulary"], storage, 30
            ),
        }
    keras.backend.clear_session()
    return results
