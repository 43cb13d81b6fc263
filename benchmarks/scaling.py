"""Data-parallel scaling of training (issue 14): tokens per second on one
device and on several, through the library's own pipeline.

Trains the translation task (Spanish -> English, `../shared/data`) with
`keras_attn.training.train` once per device count, each in a fresh process
(the devices must be set before the backend starts): one device without
`distribute`, and N devices with `distribute=True` (JAX:
`keras.distribution.DataParallel`; TensorFlow: `MirroredStrategy`). The
global batch, the data, the seed and the model are the same in every run.

The figure is training speed in real (non-padding) target tokens per
second (`benchmarks.precision.real_target_tokens` counts them) in the
fastest epoch after the first, timed from the epoch's start to the end of
its last training step (validation and checkpoints are not timed). The
first epoch compiles a step for each batch shape it meets, and a later
epoch that meets a new shape (a length bucket's last batch, a batch's
padded length) compiles again: the fastest epoch is the one that compiled
nothing, or least. A data-parallel epoch cuts each length bucket's last batch to a
multiple of the replicas, so it trains on up to (buckets x (N - 1)) fewer
pairs than counted: at most 0.5% here.

Devices: on a CPU, N host devices that share the machine's cores (JAX:
`XLA_FLAGS=--xla_force_host_platform_device_count=N`; TensorFlow: N logical
CPUs), which measures the overhead of splitting, not a speed-up; on a GPU
machine, 1 GPU and every GPU (`CUDA_VISIBLE_DEVICES`).

    KERAS_BACKEND=jax .venv/bin/python benchmarks/scaling.py
    KERAS_BACKEND=jax .venv/bin/python benchmarks/scaling.py --smoke

Writes `benchmarks/results/scaling-<date>.json` and `.md` (with `--smoke`:
`benchmarks/results/smoke/`).
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, ROOT)

from benchmarks.machine import write_report  # noqa: E402

DATA_DIR = os.path.join(
    os.path.dirname(ROOT), "shared", "data", "translation", "spa-eng"
)
RESULTS_DIR = os.path.join(ROOT, "benchmarks", "results")
# The model: the library's defaults (GRU; Bahdanau attention unless
# `--attention`), smaller, so that a CPU run takes minutes.
SIZE = {
    "embedding_dim": 64,
    "hidden_dim": 128,
    "vocabulary_size": 2000,
    "batch_size": 64,
    "dropout": 0.0,
}
SMOKE = {
    "embedding_dim": 8,
    "hidden_dim": 8,
    "vocabulary_size": 200,
    "batch_size": 16,
    "dropout": 0.0,
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=2000, help="training pairs")
    parser.add_argument("--dev", type=int, default=100, help="validation pairs")
    parser.add_argument("--epochs", type=int, default=6, help="per run, >= 2")
    parser.add_argument(
        "--devices",
        help="device counts, e.g. 1,2 (default: 1 and 2 on a CPU, 1 and every GPU)",
    )
    parser.add_argument("--attention", default="bahdanau", help="default bahdanau")
    parser.add_argument(
        "--no-input-feeding",
        dest="input_feeding",
        action="store_false",
        help="Luong scores: no input feeding (one teacher-forced decoder pass)",
    )
    parser.add_argument("--data", default=DATA_DIR, help="train.tsv and dev.tsv")
    parser.add_argument("--smoke", action="store_true", help="tiny, for a check")
    parser.add_argument("--out", default=RESULTS_DIR)
    # Internal: one run in a subprocess.
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch compiles")
    return args


# === One run, in its own process ===
def make_devices(count):
    """Before the backend starts: `count` host devices on a CPU (JAX sees
    `XLA_FLAGS`, set by the parent; TensorFlow gets logical CPUs)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU") or count == 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * count
    )


def worker(args):
    """Trains with `args.worker` devices; writes the result as JSON."""
    make_devices(args.worker)
    import keras

    from benchmarks.machine import system_info
    from benchmarks.precision import real_target_tokens
    from keras_attn import training
    from keras_attn.data import load_pairs

    class TrainTimer(keras.callbacks.Callback):
        """Seconds from each epoch's start to the end of its last step."""

        def __init__(self):
            super().__init__()
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            if batch + 1 == self.params["steps"]:
                float(logs["loss"])  # waits for the step to finish
                self.times.append(time.perf_counter() - self._start)

    directory = args.worker_dir
    data, dev = (os.path.join(directory, n) for n in ("train.tsv", "dev.tsv"))
    size = SMOKE if args.smoke else SIZE
    timer, records = TrainTimer(), []
    load_before = os.getloadavg()[0]
    lm = training.train(
        "translation",
        data,
        os.path.join(directory, f"run-{args.worker}"),
        valid=dev,
        epochs=args.epochs,
        distribute=args.worker > 1,
        verbose=0,
        callbacks=[timer, training.ProgressLog(on_record=records.append)],
        valid_samples=0,  # decoding stays out of the timed epochs
        attention=args.attention,
        input_feeding=args.input_feeding,
        source="1",
        target="0",
        **size,
    )
    tokens = real_target_tokens(lm, list(load_pairs(data, 1, 0).targets))
    fastest = min(timer.times[1:])
    result = {
        "devices": args.worker,
        "replicas": records[-1]["replicas"],
        "device_list": [str(d) for d in keras.distribution.list_devices()],
        "epoch_train_seconds": timer.times,
        "train_real_target_tokens_per_s": tokens / fastest,
        "real_target_tokens_per_epoch": tokens,
        # Other processes on the machine (1-minute load average).
        "load_average": [load_before, os.getloadavg()[0]],
        "system": system_info(),
    }
    with open(os.path.join(directory, f"result-{args.worker}.json"), "w") as file:
        json.dump(result, file)
    return 0


def run_worker(count, directory, args, gpus):
    """One run with `count` devices in a fresh process."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in range(count))
    else:
        flag = f"--xla_force_host_platform_device_count={count}"
        env["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        str(count),
        "--worker-dir",
        directory,
        "--epochs",
        str(args.epochs),
        "--attention",
        args.attention,
    ]
    command += [] if args.input_feeding else ["--no-input-feeding"]
    command += ["--smoke"] if args.smoke else []
    started = time.perf_counter()
    process = subprocess.run(command, env=env, capture_output=True, text=True)
    path = os.path.join(directory, f"result-{count}.json")
    if process.returncode != 0 or not os.path.isfile(path):
        tail = "\n".join(process.stderr.strip().splitlines()[-25:])
        raise RuntimeError(f"the {count}-device run failed:\n{tail}")
    with open(path, encoding="utf-8") as file:
        result = json.load(file)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    return result


def gpu_count():
    """The GPUs the backend sees (0 on a CPU)."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return len(tf.config.list_physical_devices("GPU"))
    if keras.backend.backend() == "jax":
        import jax

        return sum(device.platform == "gpu" for device in jax.devices())
    return 0


# === The whole benchmark ===
def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    import keras

    from benchmarks.precision import write_subset

    backend = keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise SystemExit(f"scaling runs on JAX or TensorFlow, not {backend}")
    gpus = gpu_count()
    if args.devices:
        counts = [int(n) for n in args.devices.split(",")]
    else:
        counts = [1, max(gpus, 2)] if gpus != 1 else [1]
    pairs, dev = args.pairs, args.dev
    if args.smoke:
        pairs, dev = min(pairs, 400), min(dev, 40)
    runs = []
    with tempfile.TemporaryDirectory() as directory:
        for name, count in (("train.tsv", pairs), ("dev.tsv", dev)):
            write_subset(
                os.path.join(args.data, name),
                os.path.join(directory, name),
                count,
                seed=0,
            )
        for count in counts:
            runs.append(run_worker(count, directory, args, gpus))
            run = runs[-1]
            print(
                f"{count} device(s), {run['replicas']} replica(s): "
                f"{run['train_real_target_tokens_per_s']:,.0f} real target tok/s "
                f"({run['wall_s']:.0f} s)",
                flush=True,
            )
    base = runs[0]["train_real_target_tokens_per_s"]
    for run in runs:
        run["speedup"] = run["train_real_target_tokens_per_s"] / base
    given = " ".join(sys.argv[1:] if argv is None else argv)
    system = runs[-1]["system"]
    report = {
        "date": datetime.date.today().isoformat(),
        "backend": backend,
        "command": f"KERAS_BACKEND={backend} .venv/bin/python benchmarks/scaling.py "
        f"{given}".strip(),
        "devices": "gpu" if gpus else "host devices sharing the CPU cores",
        "pairs": pairs,
        "dev_pairs": dev,
        "epochs": args.epochs,
        "size": SMOKE if args.smoke else SIZE,
        "attention": args.attention,
        "input_feeding": args.input_feeding,
        "system": system,
        "runs": runs,
    }
    write(report, args.out, args.smoke)
    return 0


def write(report, directory, smoke):
    if smoke:
        directory = os.path.join(directory, "smoke")
    name = f"scaling-{report['date']}"
    system = report["system"]
    hardware = system["gpu"] or (
        f"{system['cpu']}, {system['cpu_count']} cores "
        f"({', '.join(system['cpu_flags']) or 'no AVX'})"
    )
    size = report["size"]
    lines = [
        f"# Data-parallel training scaling, {report['backend']}",
        "",
        f"{report['date']}; {hardware}; {report['devices']}; Keras "
        f"{system['keras']}, {report['backend']} "
        f"{system.get(report['backend'], '')}.",
        "",
        f"Translation (spa-eng), {report['pairs']:,} training pairs, global batch "
        f"{size['batch_size']}, embedding {size['embedding_dim']}, hidden "
        f"{size['hidden_dim']}, vocabulary {size['vocabulary_size']}, "
        f"{report['attention']} attention "
        f"{'with' if report['input_feeding'] else 'without'} input feeding, GRU, "
        "float32; "
        f"{report['epochs']} epochs; the fastest after the first is timed "
        "(training steps only).",
        "",
        f"    {report['command']}",
        "",
        "| devices | replicas | train real target tok/s | speed-up | epoch seconds "
        "| load average (start, end) |",
        "|---:|---:|---:|---:|---|---|",
    ]
    for run in report["runs"]:
        seconds = ", ".join(f"{t:.1f}" for t in run["epoch_train_seconds"])
        load = ", ".join(f"{x:.1f}" for x in run["load_average"])
        lines.append(
            f"| {run['devices']} | {run['replicas']} | "
            f"{run['train_real_target_tokens_per_s']:,.0f} | {run['speedup']:.2f}× "
            f"| {seconds} | {load} |"
        )
    write_report(os.path.join(directory, name), report, lines)


if __name__ == "__main__":
    sys.exit(main())
