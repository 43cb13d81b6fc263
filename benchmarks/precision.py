"""Mixed precision's effect on training speed and on dev BLEU (issue 14).

Trains the translation task (Spanish -> English, `../shared/data`) twice
with the library's pipeline, `keras_attn.training.train`, the same data,
seed and size, once in `float32` and once in `mixed_bfloat16` (and
`mixed_float16` with `--float16`, on a GPU), alternating the policies over
`--rounds` rounds so that a machine's drift hits both alike. It reports the
training speed in real (non-padding) target tokens per second, timed from
the second epoch (the first compiles), each policy's ratio to float32 in
the same round, and corpus BLEU (sacrebleu) of greedy decoding on the first
`--dev` dev pairs, decoded in the policy the model trained in.

Whether bfloat16 pays depends on the hardware: CPUs without bfloat16
instructions (`avx512_bf16`, `amx_bf16` in the results' `cpu_flags`)
emulate it, GPUs and TPUs have it natively.

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/precision.py
    KERAS_BACKEND=jax .venv/bin/python benchmarks/precision.py --smoke

Writes `benchmarks/results/precision-<backend>-<device>.json` and `.md`.
"""

import argparse
import datetime
import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, ROOT)

from benchmarks.machine import cpu_flags  # noqa: E402
from benchmarks.machine import cpu_model  # noqa: E402
from benchmarks.machine import gpu_name  # noqa: E402
from benchmarks.machine import write_report  # noqa: E402

DATA_DIR = os.path.join(
    os.path.dirname(ROOT), "shared", "data", "translation", "spa-eng"
)
RESULTS_DIR = os.path.join(ROOT, "benchmarks", "results")
SIZE = {
    "embedding_dim": 256,
    "hidden_dim": 512,
    "vocabulary_size": 8000,
    "batch_size": 64,
    "dropout": 0.2,
}
SMOKE = {
    "embedding_dim": 16,
    "hidden_dim": 16,
    "vocabulary_size": 200,
    "batch_size": 16,
    "dropout": 0.0,
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=20000, help="training pairs")
    parser.add_argument("--epochs", type=int, default=3, help="per run, >= 2")
    parser.add_argument("--dev", type=int, default=500, help="dev pairs scored")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--float16", action="store_true", help="also mixed_float16")
    parser.add_argument("--data", default=DATA_DIR, help="train.tsv and dev.tsv")
    parser.add_argument("--smoke", action="store_true", help="tiny, for a check")
    parser.add_argument("--out", default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch compiles")
    return args


class EpochTimer:
    """Wall time of each epoch (a Keras callback, made lazily)."""

    def __new__(cls):
        import keras

        class _Timer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.times = []

            def on_epoch_begin(self, epoch, logs=None):
                self._start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.times.append(time.perf_counter() - self._start)

        return _Timer()


def real_target_tokens(lm, targets):
    """Target tokens the loss counts: the tokens after [START], up to and
    including [END], trimmed to the target length."""
    import numpy as np

    preprocessor = lm.preprocessor
    ids = preprocessor.tokenizer(targets)
    limit = preprocessor.decoder_sequence_length - 1
    return int(sum(min(len(np.asarray(row)) + 1, limit) for row in ids))


def run(dtype, data, dev, options, epochs, workdir):
    """Trains in `dtype` on the `data` file; speed and dev BLEU."""
    from keras_attn import metrics
    from keras_attn import training
    from keras_attn.data import load_pairs

    timer = EpochTimer()
    lm = training.train(
        "translation",
        data,
        os.path.join(workdir, dtype),
        valid=dev,
        epochs=epochs,
        overwrite=True,
        verbose=0,
        callbacks=[timer],
        dtype=dtype,
        valid_samples=0,  # decoding stays out of the timed epochs
        source="1",
        target="0",
        **options,
    )
    # Every pair of `data` is trained on (validation is the dev file).
    tokens = real_target_tokens(lm, list(load_pairs(data, 1, 0).targets))
    timed = timer.times[1:]
    dev_pairs = load_pairs(dev, 1, 0)
    outputs = lm.generate(list(dev_pairs.sources))
    references = [[t] for t in dev_pairs.targets]
    return {
        "dtype": dtype,
        "epoch_seconds": timer.times,
        "train_real_target_tokens_per_s": tokens * len(timed) / sum(timed),
        "dev_bleu": metrics.compute_metrics(outputs, references, ["bleu"])["bleu"],
        "dev_pairs": len(references),
    }


def write_subset(source_path, path, count, seed):
    """`count` pairs of an Anki-layout file, shuffled with `seed`, written
    in the same layout."""
    import numpy as np

    from keras_attn.data import load_pairs

    pairs = load_pairs(source_path, 1, 0)
    sources, targets = list(pairs.sources), list(pairs.targets)
    order = np.random.default_rng(seed).permutation(len(sources))[:count]
    with open(path, "w", encoding="utf-8") as file:
        file.writelines(f"{targets[i]}\t{sources[i]}\n" for i in order)
    return path


def main(argv=None):
    args = parse_args(argv)
    import keras

    size, pairs, dev_count = SIZE, args.pairs, args.dev
    if args.smoke:
        size, pairs, dev_count = SMOKE, min(pairs, 400), min(dev_count, 40)
    dtypes = ["float32", "mixed_bfloat16"] + (["mixed_float16"] if args.float16 else [])
    rounds = []
    with tempfile.TemporaryDirectory() as workdir:
        data = write_subset(
            os.path.join(args.data, "train.tsv"),
            os.path.join(workdir, "train.tsv"),
            pairs,
            seed=0,
        )
        dev = write_subset(
            os.path.join(args.data, "dev.tsv"),
            os.path.join(workdir, "dev.tsv"),
            dev_count,
            seed=0,
        )
        for index in range(args.rounds):
            results = {}
            for dtype in dtypes:
                started = time.time()
                results[dtype] = run(dtype, data, dev, dict(size), args.epochs, workdir)
                results[dtype]["wall_s"] = time.time() - started
                print(json.dumps({"round": index + 1, **results[dtype]}), flush=True)
            base = results["float32"]["train_real_target_tokens_per_s"]
            for dtype in dtypes:
                rate = results[dtype]["train_real_target_tokens_per_s"]
                results[dtype]["speed_ratio_to_float32"] = rate / base
            rounds.append(results)
    given = " ".join(sys.argv[1:] if argv is None else argv)
    backend = keras.backend.backend()
    report = {
        "date": datetime.date.today().isoformat(),
        "backend": backend,
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "gpu": gpu_name(),
        "command": f"KERAS_BACKEND={backend} python benchmarks/precision.py {given}",
        "pairs": pairs,
        "dev_pairs": dev_count,
        "epochs": args.epochs,
        "size": size,
        "rounds": rounds,
    }
    write(report, args.out, args.smoke)
    return 0


def write(report, directory, smoke):
    import statistics

    device = "gpu" if report["gpu"] else "cpu"
    name = f"precision-{report['backend']}-{device}{'-smoke' if smoke else ''}"
    dtypes = list(report["rounds"][0])
    lines = [
        f"# Mixed precision, {report['backend']} on {report['gpu'] or report['cpu']}",
        "",
        f"{report['date']}; CPU flags {', '.join(report['cpu_flags']) or 'none'}; "
        f"{report['pairs']:,} training pairs, {report['epochs']} epochs, "
        f"{json.dumps(report['size'])}.",
        "",
        f"    {report['command']}",
        "",
        "| policy | train real tok/s (median) | ratio to float32 (median of rounds)"
        " | dev BLEU (greedy) |",
        "|---|---:|---:|---:|",
    ]
    for dtype in dtypes:
        runs = [r[dtype] for r in report["rounds"]]
        rate = statistics.median(r["train_real_target_tokens_per_s"] for r in runs)
        ratio = statistics.median(r["speed_ratio_to_float32"] for r in runs)
        bleu = statistics.median(r["dev_bleu"] for r in runs)
        lines.append(f"| {dtype} | {rate:,.0f} | {ratio:.2f}× | {bleu:.2f} |")
    write_report(os.path.join(directory, name), report, lines)


if __name__ == "__main__":
    sys.exit(main())
