"""BLEU by source length: attention against the fixed-context baseline.

Issue 6, item 2: the experiment of Bahdanau et al. (2015, Fig. 2) on real
data. Two models of the same size, an attention model (`--attention`,
Bahdanau by default) and the fixed-context encoder-decoder
(`attention=None`), are trained with the same budget (data, epochs, batch
size, seed) by the library's own pipeline, `keras_attn.training.train`, so a
run interrupted at any point continues where it stopped when the command is
run again (it passes `resume=True`). Both are then scored with corpus BLEU
(sacrebleu, via `keras_attn.metrics`) by source-length bucket on inputs built
by joining 1 to `--max-join` consecutive dev pairs (Spanish -> English; Anki layout
`English<TAB>Spanish`, so the source is column 1 and the target column 0).

Training data: the training pairs, in file order, are joined into groups of
1 to `--train-join` consecutive pairs (sizes drawn uniformly, seed fixed), so
that every sentence is seen once an epoch and the models see inputs as long
as the test's. Anki sentences are short (99% have at most 15 words): trained
on single sentences only (`--train-join 1`), every model fails on 30-60
word inputs, for lack of them, and the test would not tell the two
architectures apart. This is also how the paper was set up: both models
were trained on sentences of up to 50 words and the fixed-context one still
fell past about 20-30.

Outputs: `benchmarks/results/length.json` (settings, per-bucket counts and
BLEU, BLEU per number of joined pairs, training summaries), `length.md` (the
table) and `length.png` (BLEU against source length, one line per model).
Runs and the decoded outputs are kept under `benchmarks/runs/length/`.
The attention model is also decoded under the `mixed_bfloat16` policy
(`--no-bf16-eval` skips it), to show what bfloat16 inference costs in BLEU.

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/length.py
    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/length.py --smoke
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import sys
import tempfile
import time
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, ROOT)

from benchmarks.machine import cpu_model  # noqa: E402

DATA_DIR = os.path.join(
    os.path.dirname(ROOT), "shared", "data", "translation", "spa-eng"
)
RUNS_DIR = os.path.join(ROOT, "benchmarks", "runs", "length")
RESULTS_DIR = os.path.join(ROOT, "benchmarks", "results")

# The reference size of issue 6 and a tiny one for CI.
FULL = {
    "embedding_dim": 256,
    "hidden_dim": 512,
    "vocabulary_size": 8000,
    "source_length": 128,  # tokens: six joined sentences fit
    "target_length": 128,
    "batch_size": 64,
    "epochs": 8,
    "dropout": 0.2,
    "valid_samples": 200,
}
SMOKE = {
    "embedding_dim": 16,
    "hidden_dim": 16,
    "vocabulary_size": 120,
    "source_length": 72,
    "target_length": 72,
    "batch_size": 32,
    "epochs": 1,
    "dropout": 0.0,
    "valid_samples": 10,
}


# === Data ===
def load_tsv(path):
    """(sources, targets) from an Anki-layout file: target first."""
    from keras_attn.data import load_pairs

    pairs = load_pairs(path, source=1, target=0, format="tsv")
    return list(pairs.sources), list(pairs.targets)


def join_groups(sources, targets, sizes):
    """Joins consecutive pairs: `sizes` gives each group's number of pairs."""
    joined_sources, joined_targets, joined = [], [], []
    start = 0
    for size in sizes:
        if start + size > len(sources):
            break
        joined_sources.append(" ".join(sources[start : start + size]))
        joined_targets.append(" ".join(targets[start : start + size]))
        joined.append(int(size))
        start += size
    return joined_sources, joined_targets, joined


def training_groups(count, max_join, seed):
    """Group sizes 1..max_join, uniform, covering `count` pairs."""
    rng = np.random.default_rng(seed)
    sizes, total = [], 0
    while total < count:
        size = int(min(rng.integers(1, max_join + 1), count - total))
        sizes.append(size)
        total += size
    return sizes


def test_set(sources, targets, max_join):
    """For k = 1..max_join, the dev pairs in consecutive groups of k."""
    joined_sources, joined_targets, joins = [], [], []
    for k in range(1, max_join + 1):
        s, t, j = join_groups(sources, targets, [k] * (len(sources) // k))
        joined_sources += s
        joined_targets += t
        joins += j
    return joined_sources, joined_targets, joins


def write_tsv(path, sources, targets):
    """Anki layout: target, tab, source."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as file:
        for source, target in zip(sources, targets, strict=True):
            file.write(f"{target}\t{source}\n")
    os.replace(path + ".tmp", path)


def synthetic_corpus(directory, seed=0, train_count=240, dev_count=60):
    """A tiny word-for-word "translation" task with 6-10 word sentences,
    written as `train.tsv` and `dev.tsv` in the Anki layout (for --smoke)."""
    rng = np.random.default_rng(seed)
    spanish = [f"pal{i}" for i in range(24)]
    english = [f"word{i}" for i in range(24)]

    def pairs(count):
        sources, targets = [], []
        for _ in range(count):
            ids = rng.integers(0, len(spanish), rng.integers(6, 11))
            sources.append(" ".join(spanish[i] for i in ids) + " .")
            targets.append(" ".join(english[i] for i in ids) + " .")
        return sources, targets

    write_tsv(os.path.join(directory, "train.tsv"), *pairs(train_count))
    write_tsv(os.path.join(directory, "dev.tsv"), *pairs(dev_count))
    return directory


# === Training (the library's pipeline, resumable) ===
def train(name, attention, train_path, valid_path, run_dir, sizes, seed):
    """Trains (or resumes) one model with `keras_attn.training.train`;
    returns the run's state (epochs done, history)."""
    import keras

    from keras_attn import training

    state_path = os.path.join(run_dir, "training", "state.json")
    if os.path.isfile(state_path):
        with open(state_path, encoding="utf-8") as file:
            state = json.load(file)
        if state["epochs_done"] >= sizes["epochs"]:
            print(
                f"[{name}] trained already: {state['epochs_done']} epochs", flush=True
            )
            state["wall_s_total"] = training_wall_s(run_dir)
            return state
        task, data = None, None  # the run's own
        options = {"resume": True}
    else:
        task, data = "translation", train_path
        options = {
            "valid": valid_path,
            "source": 1,  # Anki layout: English<TAB>Spanish, Spanish -> English
            "target": 0,
            "attention": attention,
            "seed": seed,
            **{k: v for k, v in sizes.items() if k != "epochs"},
        }
        if os.path.isdir(run_dir) and os.listdir(run_dir):
            # Started but no epoch finished: nothing there to keep (and
            # overwrite removes only a run the library wrote).
            options["overwrite"] = True
    print(
        f"[{name}] keras_attn.training.train({task!r}, {data!r}, {run_dir!r}, "
        f"epochs={sizes['epochs']}, "
        + ", ".join(f"{k}={v!r}" for k, v in options.items())
        + ")",
        flush=True,
    )
    start = time.perf_counter()
    try:
        training.train(
            task, data, run_dir, epochs=sizes["epochs"], verbose=2, **options
        )
    except KeyboardInterrupt:
        raise SystemExit(
            f"length.py: training {name} was interrupted; its finished epochs "
            "are kept: run the same command again to continue"
        ) from None
    finally:
        keras.backend.clear_session()
    with open(state_path, encoding="utf-8") as file:
        state = json.load(file)
    # The wall time of all training calls, kept next to the run.
    timing_path = os.path.join(run_dir, "length-train-time.json")
    total = 0.0
    if os.path.isfile(timing_path):
        with open(timing_path, encoding="utf-8") as file:
            total = json.load(file)["wall_s"]
    total += time.perf_counter() - start
    with open(timing_path, "w", encoding="utf-8") as file:
        json.dump({"wall_s": round(total, 1)}, file)
    state["wall_s_total"] = total
    return state


def training_wall_s(run_dir):
    path = os.path.join(run_dir, "length-train-time.json")
    if not os.path.isfile(path):
        return 0.0
    with open(path, encoding="utf-8") as file:
        return json.load(file)["wall_s"]


# === Evaluation ===
def decode(run_dir, sources, batch_size, dtype=None, num_beams=None):
    """Greedy (or beam) outputs of the model in `run_dir` for `sources`.

    Inputs are decoded sorted by length, so that rows of a batch end at
    about the same step, and returned in the original order.
    """
    import keras

    from keras_attn.models import AttentionSeq2SeqLM

    if dtype:
        # The backbone does not pass its `dtype` to the encoder's inner RNN
        # layers, which take the global policy: set both, or the encoder
        # runs in float32 and the decoding loop fails on the state dtype.
        keras.config.set_dtype_policy(dtype)
        try:
            lm = AttentionSeq2SeqLM.from_preset(run_dir, dtype=dtype)
        finally:
            keras.config.set_dtype_policy("float32")
    else:
        lm = AttentionSeq2SeqLM.from_preset(run_dir)
    lm.compile(sampler="greedy")
    order = sorted(range(len(sources)), key=lambda i: len(sources[i].split()))
    outputs = [None] * len(sources)
    truncated = 0
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            batch = lm.generate([sources[i] for i in chosen], num_beams=num_beams)
        truncated += sum(
            "tokens; the model reads at most" in str(w.message) for w in caught
        )
        for i, output in zip(chosen, batch, strict=True):
            outputs[i] = output
    keras.backend.clear_session()
    return outputs, truncated


def cached_decode(run_dir, key, sources, batch_size, dtype=None, num_beams=None):
    """`decode`, kept in `run_dir/length-eval.json` under `key` along with
    the model's weights' timestamp, so rerunning the report decodes again
    only after more training."""
    path = os.path.join(run_dir, "length-eval.json")
    weights = os.path.join(run_dir, "model.weights.h5")
    stamp = os.path.getmtime(weights) if os.path.isfile(weights) else None
    cache = {}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as file:
            cache = json.load(file)
    entry = cache.get(key)
    if entry and entry["weights_mtime"] == stamp and entry["sources"] == sources:
        return entry["outputs"], entry["truncated"], entry["decode_s"], False
    start = time.perf_counter()
    outputs, truncated = decode(run_dir, sources, batch_size, dtype, num_beams)
    seconds = round(time.perf_counter() - start, 1)
    cache[key] = {
        "weights_mtime": stamp,
        "sources": sources,
        "outputs": outputs,
        "truncated": truncated,
        "decode_s": seconds,
    }
    with open(path + ".tmp", "w", encoding="utf-8") as file:
        json.dump(cache, file)
    os.replace(path + ".tmp", path)
    return outputs, truncated, seconds, True


def buckets_of(words, width, count):
    """Bucket index of each source length in words: [0, w), [w, 2w), ...,
    and the last one open-ended."""
    return [min(n // width, count - 1) for n in words]


def bucket_label(index, width, count):
    low = index * width
    return f"{low}+" if index == count - 1 else f"{low}-{low + width - 1}"


def score(hypotheses, references, indices):
    from keras_attn.metrics import bleu

    if not indices:
        return None
    return round(
        bleu([hypotheses[i] for i in indices], [references[i] for i in indices]), 2
    )


# === Report ===
def markdown(report):
    models = list(report["models"])
    lines = [
        f"BLEU by source length (words), {report['data']['pairs_per_input']}; "
        f"greedy decoding; {report['settings']['epochs']} epochs each. Command: "
        f"`{report['command']}`",
        "",
        "| source words | inputs | mean words | " + " | ".join(models) + " |",
        "|---|---:|---:|" + "---:|" * len(models),
    ]
    for bucket in report["buckets"]:
        cells = [
            "—" if bucket["bleu"][m] is None else f"{bucket['bleu'][m]:.1f}"
            for m in models
        ]
        lines.append(
            f"| {bucket['label']} | {bucket['inputs']} | {bucket['mean_words']:.1f} | "
            + " | ".join(cells)
            + " |"
        )
    lines.append(
        "| all | {} | {:.1f} | {} |".format(
            report["data"]["test_inputs"],
            report["data"]["mean_words"],
            " | ".join(f"{report['models'][m]['bleu_all']:.1f}" for m in models),
        )
    )
    lines += ["", "By number of joined dev pairs:", ""]
    lines.append("| pairs joined | " + " | ".join(models) + " |")
    lines.append("|---:|" + "---:|" * len(models))
    for k in sorted(report["models"][models[0]]["bleu_by_join"], key=int):
        lines.append(
            f"| {k} | "
            + " | ".join(
                f"{report['models'][m]['bleu_by_join'][k]:.1f}" for m in models
            )
            + " |"
        )
    system = report["system"]
    lines += [
        "",
        f"Backend {report['backend']} (Keras {system['keras']}), "
        f"{system['gpu'] or system['cpu']} ({system['cpu_count']} CPU cores).",
        "",
    ]
    for m, result in report["models"].items():
        lines.append(
            f"- {m}: `{result['attention']}`, {result['parameters']:,} parameters, "
            f"{result['epochs_done']} epochs, best epoch {result['best_epoch']}, "
            f"training {result['train_hours']:.2f} h, decoding "
            f"{result['decode_s']:.0f} s, {result['truncated']} inputs truncated."
        )
    if report.get("bf16"):
        b = report["bf16"]
        lines.append(
            f"- {b['model']} decoded under mixed_bfloat16: BLEU {b['bleu_all']:.1f} "
            f"(float32 {report['models'][b['model']]['bleu_all']:.1f}), "
            f"decoding {b['decode_s']:.0f} s."
        )
    return "\n".join(lines) + "\n"


def plot(report, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    buckets = report["buckets"]
    for name in report["models"]:
        points = [
            (b["mean_words"], b["bleu"][name])
            for b in buckets
            if b["bleu"][name] is not None
        ]
        label = (
            "fixed context (no attention)"
            if report["models"][name]["attention"] == "none"
            else f"attention ({name})"
        )
        axes.plot(*zip(*points, strict=True), marker="o", label=label)
    bf16 = report.get("bf16")
    if bf16:
        points = [
            (b["mean_words"], value)
            for b, value in zip(buckets, bf16["bleu_by_bucket"], strict=True)
            if value is not None
        ]
        axes.plot(
            *zip(*points, strict=True),
            linestyle="--",
            marker=".",
            label=f"attention ({bf16['model']}), bfloat16 decoding",
        )
    axes.set_xlabel("source length (words)")
    axes.set_ylabel("BLEU")
    axes.set_ylim(bottom=0)
    what = "synthetic smoke data" if report["smoke"] else "Spanish to English"
    axes.set_title(f"BLEU by source length ({what})")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def count_parameters(run_dir):
    import keras

    from keras_attn.models import AttentionSeq2SeqBackbone

    backbone = AttentionSeq2SeqBackbone.from_preset(run_dir, load_weights=False)
    count = int(backbone.count_params())
    keras.backend.clear_session()
    return count


def main(argv=None):
    from keras_attn.models import ATTENTIONS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=DATA_DIR, help="train.tsv and dev.tsv")
    parser.add_argument("--runs-dir", help=f"default {os.path.relpath(RUNS_DIR, ROOT)}")
    parser.add_argument("--results-dir", help="default benchmarks/results")
    parser.add_argument(
        "--attention",
        choices=[a for a in ATTENTIONS if a != "none"],  # "none" is the baseline
        default="bahdanau",
    )
    parser.add_argument("--train-join", type=int, default=6, help="most pairs joined")
    parser.add_argument("--max-join", type=int, default=6, help="test: 1..N dev pairs")
    parser.add_argument("--bucket-width", type=int, default=10, help="words")
    parser.add_argument("--buckets", type=int, default=6, help="the last is open")
    parser.add_argument("--max-dev", type=int, help="use the first N dev pairs")
    parser.add_argument("--eval-batch-size", type=int, default=64)
    parser.add_argument("--beam", type=int, help="beam size (default greedy)")
    parser.add_argument(
        "--bf16-eval",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also decode the attention model under mixed_bfloat16 (default: on)",
    )
    parser.add_argument("--skip-train", action="store_true", help="evaluate only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="tiny synthetic run")
    for name, value in FULL.items():
        kind = float if isinstance(value, float) else int
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=kind,
            help=f"default {value} ({SMOKE[name]} with --smoke)",
        )
    args = parser.parse_args(argv)
    sizes = dict(SMOKE if args.smoke else FULL)
    for name in FULL:
        if getattr(args, name) is not None:
            sizes[name] = getattr(args, name)

    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if args.smoke:
            # The synthetic corpus lives with the runs: a resumed run reads
            # its files again.
            runs_dir = args.runs_dir or stack.enter_context(
                tempfile.TemporaryDirectory()
            )
            data_dir = synthetic_corpus(os.path.join(runs_dir, "data"), args.seed)
            results_dir = args.results_dir or os.path.join(RESULTS_DIR, "smoke")
        else:
            data_dir = args.data_dir
            runs_dir = args.runs_dir or RUNS_DIR
            results_dir = args.results_dir or RESULTS_DIR
        for name in ("train.tsv", "dev.tsv"):
            if not os.path.isfile(os.path.join(data_dir, name)):
                raise SystemExit(f"length.py: no {name} in {data_dir}")
        report = run(args, sizes, data_dir, runs_dir, results_dir, argv)
    report["wall_s"] = round(time.perf_counter() - started, 1)
    paths = write(report, results_dir)
    print()
    print(markdown(report))
    print("wrote " + ", ".join(paths) + f" ({report['wall_s']:.0f} s)")
    return 0


def run(args, sizes, data_dir, runs_dir, results_dir, argv):
    import keras

    os.makedirs(runs_dir, exist_ok=True)
    train_sources, train_targets = load_tsv(os.path.join(data_dir, "train.tsv"))
    dev_sources, dev_targets = load_tsv(os.path.join(data_dir, "dev.tsv"))
    if args.max_dev:
        dev_sources, dev_targets = (
            dev_sources[: args.max_dev],
            dev_targets[: args.max_dev],
        )

    # Training data: consecutive pairs joined in groups of 1..train_join.
    group_sizes = training_groups(len(train_sources), args.train_join, args.seed)
    joined = join_groups(train_sources, train_targets, group_sizes)
    train_path = os.path.join(
        runs_dir, f"train-join{args.train_join}-seed{args.seed}.tsv"
    )
    if not os.path.isfile(train_path):
        write_tsv(train_path, joined[0], joined[1])
    train_words = [len(s.split()) for s in joined[0]]
    print(
        f"training data: {len(train_sources):,} pairs joined into {len(joined[0]):,} "
        f"inputs of 1-{args.train_join} pairs ({np.mean(train_words):.1f} words on "
        f"average, {np.percentile(train_words, 99):.0f} at the 99th percentile)",
        flush=True,
    )
    valid_path = os.path.join(data_dir, "dev.tsv")

    models = {args.attention: args.attention, "fixed-context": "none"}
    runs = {name: os.path.join(runs_dir, name) for name in models}
    states = {}
    for name, attention in models.items():
        if args.skip_train:
            with open(os.path.join(runs[name], "training", "state.json")) as file:
                states[name] = json.load(file)
            states[name]["wall_s_total"] = training_wall_s(runs[name])
        else:
            states[name] = train(
                name, attention, train_path, valid_path, runs[name], sizes, args.seed
            )

    # Test set: 1..max_join consecutive dev pairs, bucketed by source words.
    sources, references, joins = test_set(dev_sources, dev_targets, args.max_join)
    words = [len(s.split()) for s in sources]
    buckets = buckets_of(words, args.bucket_width, args.buckets)
    print(
        f"test set: {len(sources):,} inputs, {min(words)}-{max(words)} words",
        flush=True,
    )
    decoding = "greedy" if not args.beam else f"beam{args.beam}"
    key = f"{decoding}-join{args.max_join}-dev{len(dev_sources)}"
    results = {}
    outputs_by_model = {}
    for name, attention in models.items():
        outputs, truncated, seconds, fresh = cached_decode(
            runs[name], key, sources, args.eval_batch_size, num_beams=args.beam
        )
        outputs_by_model[name] = outputs
        state = states[name]
        history = state.get("history", [])
        results[name] = {
            "attention": attention,
            "run_dir": os.path.relpath(runs[name], ROOT),
            "parameters": count_parameters(runs[name]),
            "epochs_done": state.get("epochs_done"),
            "best_epoch": state.get("best_epoch"),
            "best_valid_score": state.get("best_score"),
            "train_hours": round(state.get("wall_s_total", 0.0) / 3600, 3),
            "history": history,
            "decode_s": seconds,
            "truncated": truncated,
            "bleu_all": score(outputs, references, list(range(len(sources)))),
            "bleu_by_join": {
                str(k): score(
                    outputs, references, [i for i, j in enumerate(joins) if j == k]
                )
                for k in range(1, args.max_join + 1)
            },
            "examples": [
                {"source": sources[i], "reference": references[i], "output": outputs[i]}
                for i in _examples(joins, args.max_join)
            ],
        }
        print(
            f"[{name}] BLEU {results[name]['bleu_all']:.2f} on all "
            f"({'decoded' if fresh else 'outputs reused'}, {seconds:.0f} s)",
            flush=True,
        )

    bucket_rows = []
    for index in range(args.buckets):
        members = [i for i, b in enumerate(buckets) if b == index]
        bucket_rows.append(
            {
                "label": bucket_label(index, args.bucket_width, args.buckets),
                "low": index * args.bucket_width,
                "high": None
                if index == args.buckets - 1
                else (index + 1) * args.bucket_width,
                "inputs": len(members),
                "mean_words": round(float(np.mean([words[i] for i in members])), 2)
                if members
                else float(index * args.bucket_width),
                "bleu": {
                    name: score(outputs_by_model[name], references, members)
                    for name in models
                },
            }
        )

    bf16 = None
    if args.bf16_eval:
        name = args.attention
        outputs, truncated, seconds, _ = cached_decode(
            runs[name],
            key + "-bf16",
            sources,
            args.eval_batch_size,
            "mixed_bfloat16",
            args.beam,
        )
        bf16 = {
            "model": name,
            "dtype": "mixed_bfloat16",
            "decode_s": seconds,
            "bleu_all": score(outputs, references, list(range(len(sources)))),
            "bleu_by_bucket": [
                score(
                    outputs,
                    references,
                    [i for i, b in enumerate(buckets) if b == index],
                )
                for index in range(args.buckets)
            ],
        }

    backend = keras.backend.backend()
    system = {
        "keras": keras.__version__,
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpu": _gpu_name(),
        "platform": platform.platform(),
    }
    return {
        "system": system,
        "benchmark": "length",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "command": f"KERAS_BACKEND={backend} python benchmarks/length.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "smoke": args.smoke,
        "backend": backend,
        "settings": {
            **sizes,
            "train_join": args.train_join,
            "max_join": args.max_join,
            "bucket_width": args.bucket_width,
            "buckets": args.buckets,
            "decoding": decoding,
            "seed": args.seed,
        },
        "data": {
            "data_dir": "synthetic" if args.smoke else os.path.abspath(data_dir),
            "training_pairs": len(train_sources),
            "training_inputs": len(joined[0]),
            "dev_pairs": len(dev_sources),
            "test_inputs": len(sources),
            "mean_words": round(float(np.mean(words)), 2),
            "pairs_per_input": f"inputs of 1-{args.max_join} consecutive dev pairs",
        },
        "buckets": bucket_rows,
        "models": results,
        "bf16": bf16,
    }


def _gpu_name():
    """The first GPU TensorFlow sees (training runs on TensorFlow's data
    pipeline in every backend), or None."""
    with contextlib.suppress(Exception):
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return tf.config.experimental.get_device_details(gpus[0]).get(
                "device_name", "GPU"
            )
    return None


def _examples(joins, max_join):
    """The first input of each join size, for a look at the outputs."""
    seen, chosen = set(), []
    for i, k in enumerate(joins):
        if k not in seen and k in (1, max_join // 2, max_join):
            seen.add(k)
            chosen.append(i)
    return chosen


def write(report, results_dir):
    os.makedirs(results_dir, exist_ok=True)
    json_path = os.path.join(results_dir, "length.json")
    md_path = os.path.join(results_dir, "length.md")
    png_path = os.path.join(results_dir, "length.png")
    with open(json_path, "w", encoding="utf-8") as file:
        json.dump(report, file, indent=1)
    with open(md_path, "w", encoding="utf-8") as file:
        file.write(markdown(report))
    plot(report, png_path)
    return [json_path, md_path, png_path]


if __name__ == "__main__":
    sys.exit(main())
