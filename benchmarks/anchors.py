"""keras-attn against the speed anchors, in one run (issue 15).

The anchors in `../shared/anchors/` (the retired `tfa.seq2seq`, the
TensorFlow NMT tutorial on Keras 3 and a plain Keras 3 model, each in its
own environment, made by their `run_all.sh`) and `benchmarks/speed.py`
train and decode the same reference configuration (vocabulary 8000,
embedding 256, BiGRU 2x256, decoder GRU 512, attention 512, batch 64,
lengths 20 with random padding tails). These machines drift by 30% within
minutes, so one anchor run followed by one package run says little: this
script alternates them for `--rounds` rounds (anchors then package in even
rounds, package then anchors in odd ones), takes each figure's ratio
within a round, and reports the median of the per-round ratios.

Pairs (ours, anchor):

- `bahdanau:bahdanau` and `tfa_seq2seq` (tfa Bahdanau with input
  feeding): like for like;
- `luong-general:luong` and `tfa_seq2seq_luong`: like for like;
- `luong-dot:luong-nofeed` and `tfa_seq2seq_luong`: a cheaper model (no
  input feeding, the parallel training path), not like for like;
- `tutorial` and `tf_tutorial_nmt_keras3`, `additive` and
  `keras3_builtin_naive`: `speed.py`'s own Keras 3 baselines against the
  scripts they stand for (they should be within 15%).

Figures, as "times better" (higher is better for every one): training in
real (non-padding) target tokens/s, ours / anchor; greedy tokens/s at
batch 64 and 20 steps, ours / anchor; batch-1 latency and beam-5 batch-16
seconds, anchor / ours; peak resident memory, anchor / ours (the anchors'
whole-process peak against the higher of our training and decoding
peaks).

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/anchors.py
    KERAS_BACKEND=jax .venv/bin/python benchmarks/anchors.py --rounds 3
    .venv/bin/python benchmarks/anchors.py --quick --rounds 1   # plumbing only

The anchors' environments are made once by `run_all.sh` (under
`~/.cache/keras-attn-anchors/`; it needs the package index the first
time). Writes `benchmarks/results/anchors-<backend>-<date>.json` and `.md`.
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, ROOT)

from benchmarks.machine import cpu_flags  # noqa: E402
from benchmarks.machine import cpu_model  # noqa: E402
from benchmarks.machine import write_report  # noqa: E402

ANCHORS_DIR = os.path.join(os.path.dirname(ROOT), "shared", "anchors")
RESULTS_DIR = os.path.join(ROOT, "benchmarks", "results")
ANCHORS = ("tfa", "tfa_luong", "tutorial", "keras_builtin")
# (ours, anchor, what the pair is)
PAIRS = (
    ("bahdanau:bahdanau", "tfa_seq2seq", "like for like"),
    ("luong-general:luong", "tfa_seq2seq_luong", "like for like"),
    ("luong-dot:luong-nofeed", "tfa_seq2seq_luong", "cheaper model (no feeding)"),
    ("tutorial", "tf_tutorial_nmt_keras3", "speed.py's baseline vs its script"),
    ("additive", "keras3_builtin_naive", "speed.py's baseline vs its script"),
)
# (figure, our field, the anchor's field, True when higher is better)
FIGURES = (
    ("train", "train_tokens_per_s", "train_nonpad_target_tokens_per_s", True),
    ("greedy", "greedy_tokens_per_s", "greedy_tokens_per_s", True),
    ("latency", "latency_ms", "greedy_b1_latency_ms", False),
    ("beam", "beam_s", "beam_seconds", False),
    ("memory", "peak_mib", "peak_rss_mb", False),
)
UNITS = {
    "train": "real tok/s",
    "greedy": "tok/s",
    "latency": "ms",
    "beam": "s",
    "memory": "MiB",
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="at least 3 to judge")
    parser.add_argument("--repeats", type=int, default=5, help="speed.py timings")
    parser.add_argument("--anchors-dir", default=ANCHORS_DIR)
    parser.add_argument(
        "--anchors", default=" ".join(ANCHORS), help="run_all.sh's ANCHORS"
    )
    parser.add_argument(
        "--configs",
        default=",".join(dict.fromkeys(ours for ours, _, _ in PAIRS)),
        help="speed.py configurations",
    )
    parser.add_argument(
        "--quick", action="store_true", help="anchors --quick, speed.py --smoke"
    )
    parser.add_argument("--out", help="results prefix (default benchmarks/results/)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.repeats < 1:
        parser.error("--rounds and --repeats must be at least 1")
    if not os.path.isfile(os.path.join(args.anchors_dir, "run_all.sh")):
        parser.error(f"no run_all.sh in --anchors-dir {args.anchors_dir}")
    return args


# === The figures ===
def ours_by_name(speed_results):
    """speed.py's results by configuration name, with `peak_mib`: the higher
    of the training and decoding peaks (the anchors report one peak)."""
    rows = {}
    for row in speed_results["results"]:
        peaks = [row.get("train_peak_mib"), row.get("decode_peak_mib")]
        peaks = [p for p in peaks if p is not None]
        rows[row["name"]] = {**row, "peak_mib": max(peaks) if peaks else None}
    return rows


def anchors_by_name(lines):
    """run_all.sh's JSON lines by anchor name (failed anchors left out)."""
    rows = {}
    for line in lines:
        line = line.strip()
        if line:
            row = json.loads(line)
            if "error" not in row:
                rows[row["name"]] = row
    return rows


def round_ratios(ours, anchors, pairs=PAIRS):
    """Each pair's "times better" per figure in one round.

    Returns:
        `{"ours vs anchor": {figure: ratio or None}}`, None where either
        side lacks the figure; a pair missing from either side is left out.

    Example:
    >>> ours = {"a": {"train_tokens_per_s": 300.0, "latency_ms": 10.0}}
    >>> anchors = {"b": {"train_nonpad_target_tokens_per_s": 200.0,
    ...                  "greedy_b1_latency_ms": 15.0}}
    >>> ratios = round_ratios(ours, anchors, pairs=(("a", "b", "test"),))
    >>> ratios["a vs b"]["train"], ratios["a vs b"]["latency"]
    (1.5, 1.5)
    >>> ratios["a vs b"]["beam"] is None
    True
    """
    ratios = {}
    for name, anchor, _ in pairs:
        if name not in ours or anchor not in anchors:
            continue
        row = {}
        for figure, our_field, anchor_field, higher in FIGURES:
            mine, theirs = ours[name].get(our_field), anchors[anchor].get(anchor_field)
            if not mine or not theirs:
                row[figure] = None
            else:
                row[figure] = mine / theirs if higher else theirs / mine
        ratios[f"{name} vs {anchor}"] = row
    return ratios


def summarise(rounds, pairs=PAIRS):
    """The median over rounds of each pair's per-round ratios, and of each
    side's absolute figures.

    Args:
        rounds: list of `(ours, anchors)`, the dicts of `ours_by_name` and
            `anchors_by_name` for each round.

    Returns:
        `{"ours vs anchor": {"what", "ratios": {figure: [per round]},
        "median": {figure}, "ours": {figure: median}, "anchor": {...}}}`.

    Example:
    >>> rounds = [({"a": {"beam_s": s}}, {"b": {"beam_seconds": 0.2}})
    ...           for s in (0.1, 0.25, 0.2)]
    >>> summary = summarise(rounds, pairs=(("a", "b", "test"),))["a vs b"]
    >>> summary["ratios"]["beam"], summary["median"]["beam"]
    ([2.0, 0.8, 1.0], 1.0)
    """
    summary = {}
    for name, anchor, what in pairs:
        key = f"{name} vs {anchor}"
        present = [(o, a) for o, a in rounds if name in o and anchor in a]
        if not present:
            continue
        entry = {"what": what, "ratios": {}, "median": {}, "ours": {}, "anchor": {}}
        for figure, our_field, anchor_field, _ in FIGURES:
            per_round = [
                round_ratios(o, a, ((name, anchor, what),))[key][figure]
                for o, a in present
            ]
            entry["ratios"][figure] = per_round
            known = [r for r in per_round if r is not None]
            entry["median"][figure] = statistics.median(known) if known else None
            entry["ours"][figure] = _median(o[name].get(our_field) for o, _ in present)
            entry["anchor"][figure] = _median(
                a[anchor].get(anchor_field) for _, a in present
            )
        summary[key] = entry
    return summary


def _median(values):
    values = [v for v in values if v]
    return statistics.median(values) if values else None


# === Running ===
def run_anchors(args, path):
    env = {**os.environ, "ANCHORS": args.anchors}
    env.pop("KERAS_BACKEND", None)  # the anchors are TensorFlow programs
    command = ["bash", os.path.join(args.anchors_dir, "run_all.sh"), path]
    if args.quick:
        command.append("--quick")
    subprocess.run(command, env=env, check=True)
    with open(path, encoding="utf-8") as file:
        return anchors_by_name(file)


def run_package(args, path):
    command = [
        sys.executable,
        os.path.join(ROOT, "benchmarks", "speed.py"),
        "--configs",
        args.configs,
        "--repeats",
        str(args.repeats),
        "--json",
        path,
        "--markdown",
        path[: -len(".json")] + ".md",
    ]
    if args.quick:
        command.append("--smoke")
    subprocess.run(command, check=True)
    with open(path, encoding="utf-8") as file:
        return ours_by_name(json.load(file))


def main(argv=None):
    args = parse_args(argv)
    import keras

    backend = keras.config.backend()
    date = datetime.date.today().isoformat()
    prefix = args.out or os.path.join(RESULTS_DIR, f"anchors-{backend}-{date}")
    started = time.time()
    rounds, raw = [], []
    with tempfile.TemporaryDirectory() as work:
        for index in range(args.rounds):
            anchors_path = os.path.join(work, f"anchors-{index}.jsonl")
            ours_path = os.path.join(work, f"ours-{index}.json")
            if index % 2 == 0:
                anchors = run_anchors(args, anchors_path)
                ours = run_package(args, ours_path)
            else:
                ours = run_package(args, ours_path)
                anchors = run_anchors(args, anchors_path)
            rounds.append((ours, anchors))
            raw.append({"round": index, "ours": ours, "anchors": anchors})
            print(f"round {index + 1}/{args.rounds} done", file=sys.stderr)
    summary = summarise(rounds)
    command = " ".join(["benchmarks/anchors.py", *(argv or sys.argv[1:])])
    report = {
        "benchmark": "anchors",
        "date": date,
        "backend": backend,
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "command": f"KERAS_BACKEND={backend} python {command}",
        "rounds": args.rounds,
        "quick": args.quick,
        "summary": summary,
        "raw": raw,
        "wall_s": round(time.time() - started, 1),
    }
    write_report(prefix, report, markdown(report).splitlines())
    return 0


def markdown(report):
    """The report's tables: median ratios, then the absolute medians."""
    lines = [
        f"# keras-attn ({report['backend']}) against the anchors, "
        f"{report['rounds']} alternating rounds",
        "",
        f"{report['date']}; {report['cpu']} ({', '.join(report['cpu_flags'])}); "
        f"{report['wall_s']:.0f} s.",
        "",
        f"    {report['command']}",
        "",
        *(
            [
                "**--quick: the package ran at speed.py's smoke sizes; these "
                "ratios check the plumbing and compare nothing.**",
                "",
            ]
            if report.get("quick")
            else []
        ),
        "Median of the per-round ratios, as times better (higher is better; "
        "latency, beam and memory are anchor / ours):",
        "",
        "| pair | what | " + " | ".join(f for f, *_ in FIGURES) + " |",
        "|---|---|" + "---:|" * len(FIGURES),
    ]
    for key, entry in report["summary"].items():
        cells = [_cell(entry["median"][f], "{:.2f}×") for f, *_ in FIGURES]
        lines.append(f"| `{key}` | {entry['what']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Per-round ratios:",
        "",
        "| pair | " + " | ".join(f for f, *_ in FIGURES) + " |",
        "|---|" + "---:|" * len(FIGURES),
    ]
    for key, entry in report["summary"].items():
        cells = [
            ", ".join(_cell(r, "{:.2f}") for r in entry["ratios"][f])
            for f, *_ in FIGURES
        ]
        lines.append(f"| `{key}` | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Absolute medians on this machine ({report['cpu']}), ours / anchor:",
        "",
        "| pair | " + " | ".join(f"{f} ({UNITS[f]})" for f, *_ in FIGURES) + " |",
        "|---|" + "---:|" * len(FIGURES),
    ]
    for key, entry in report["summary"].items():
        cells = [
            f"{_cell(entry['ours'][f], '{:,.4g}')} / "
            f"{_cell(entry['anchor'][f], '{:,.4g}')}"
            for f, *_ in FIGURES
        ]
        lines.append(f"| `{key}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(value, template):
    return "n/a" if value is None else template.format(value)


if __name__ == "__main__":
    sys.exit(main())
