"""The report of `benchmarks/speed.py`: ratios, targets and the tables.

`add_ratios` and `check_targets` add to each measured result its figures
as "times better" than the Keras baselines and its checks against issue
6's targets; `markdown` renders a whole report as the tables the README
quotes (figures, targets, ratios, achieved GFLOP/s); `write` saves the
report as JSON and the tables as markdown.
"""

import json
import os

from benchmarks.speed_configs import BASELINES
from benchmarks.speed_configs import short_dtype

# Figure name -> higher is better.
FIGURES = {
    "train_tokens_per_s": True,
    "greedy_tokens_per_s": True,
    "latency_ms": False,
    "beam_s": False,
    "train_peak_mib": False,
    "decode_peak_mib": False,
}

# Issue 6: the best existing implementations on the project's 2-core CPU
# machine (tfa.seq2seq on TF 2.15 and the TF tutorial), and the targets
# (20% better than the best of them). Only meaningful on that machine.
REFERENCE_FIGURES = {
    "train_tokens_per_s": {"tfa Bahdanau": 4331, "TF tutorial": 5816},
    "greedy_tokens_per_s": {"tfa Bahdanau": 16454, "tfa Luong": 18478},
    "latency_ms": {"tfa Luong": 13.3},
    "beam_s": {"tfa Luong": 0.109},
}
TARGETS = {
    "train_tokens_per_s": (">=", 7000),
    "greedy_tokens_per_s": (">=", 22000),
    "latency_ms": ("<=", 11.0),
    "beam_s": ("<=", 0.09),
}
REFERENCE_LABELS = {
    "train_tokens_per_s": "training tok/s",
    "greedy_tokens_per_s": "greedy b64 tok/s",
    "latency_ms": "greedy b1 ms",
    "beam_s": "beam-5 b16 s",
}


def ratio(value, baseline, higher_is_better):
    """`value` as "times better" than `baseline`, to 2 decimals; None when
    either is missing or zero.

    Example:
    >>> ratio(3.0, 2.0, True), ratio(3.0, 2.0, False), ratio(None, 2.0, True)
    (1.5, 0.67, None)
    """
    if not value or not baseline:
        return None
    return round(value / baseline if higher_is_better else baseline / value, 2)


def add_ratios(results):
    """Each figure as "times better" than each Keras baseline, of the same
    dtype where that was measured, else of the float32 one.

    Args:
        results: result dicts of `speed_measure.run_config`; failed ones
            (with an `"error"`) are left as they are.

    Returns:
        None. Each measured result gets `ratios`: baseline name -> figure
        -> ratio (see `ratio`).
    """
    by_name = {r["name"]: r for r in results if "error" not in r}
    for result in results:
        if "error" in result:
            continue
        result["ratios"] = {}
        suffix = (
            "" if result["dtype"] == "float32" else f"@{short_dtype(result['dtype'])}"
        )
        for baseline in BASELINES:
            reference = by_name.get(baseline + suffix) or by_name.get(baseline)
            if reference is None:
                continue
            result["ratios"][reference["name"]] = {
                figure: ratio(result[figure], reference[figure], higher)
                for figure, higher in FIGURES.items()
            }


def check_targets(result):
    """Figure -> whether `result` meets issue 6's target for it."""
    checks = {}
    for figure, (sense, bound) in TARGETS.items():
        value = result.get(figure)
        if value is not None:
            checks[figure] = value >= bound if sense == ">=" else value <= bound
    return checks


def _fmt(value, digits=0):
    if value is None:
        return "—"
    if isinstance(value, float) and digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def figure_labels(sizes):
    """Column labels that name the measured sizes."""
    return {
        "train_tokens_per_s": "train tok/s",
        "greedy_tokens_per_s": f"greedy b{sizes['batch']} tok/s",
        "latency_ms": f"greedy b{sizes['latency_batch']} ms",
        "beam_s": f"beam-{sizes['beams']} b{sizes['beam_batch']} s",
        "train_peak_mib": "train peak MiB",
        "decode_peak_mib": "decode peak MiB",
    }


def _measured(results):
    return [r for r in results if "error" not in r]


def _header(report):
    """The setting of the run: backend, device, sizes and the command."""
    system, sizes = report["system"], report["sizes"]
    device = (
        system.get("gpu") or f"{system.get('cpu')} ({system.get('cpu_count')} cores)"
    )
    return [
        f"Backend {system.get('backend')} (Keras {system.get('keras')}), {device}; "
        f"jit_compile={report['jit_compile']}. Vocabulary {sizes['vocabulary']}, "
        f"embedding {sizes['embedding']}, hidden {sizes['hidden']}, attention "
        f"{sizes['attention_units']}; batch {sizes['batch']}, lengths "
        f"{sizes['source_length']}/{sizes['target_length']} (real lengths "
        f"{sizes['min_length']}–{sizes['target_length']}); median of "
        f"{report['repeats']} after warm-up.",
        "",
        f"Command: `{report['command']}`",
        "",
    ]


def _figures_table(results, labels):
    lines = [
        "| configuration | " + " | ".join(labels.values()) + " |",
        "|---|" + "---:|" * len(FIGURES),
    ]
    for r in results:
        if "error" in r:
            lines.append(
                f"| {r['name']} | failed: {r['error']} |" + " |" * (len(FIGURES) - 1)
            )
            continue
        lines.append(
            f"| {r['name']} | {_fmt(r['train_tokens_per_s'])} | "
            f"{_fmt(r['greedy_tokens_per_s'])} | {_fmt(r['latency_ms'], 2)} | "
            f"{_fmt(r['beam_s'], 3)} | {_fmt(r['train_peak_mib'])} | "
            f"{_fmt(r['decode_peak_mib'])} |"
        )
    return lines


def _device_memory(results):
    """On a GPU: the backend's peak device memory per configuration."""
    lines = ["", "Peak device memory (MiB), training / decoding:", ""]
    for r in _measured(results):
        lines.append(
            f"- {r['name']}: {_fmt(r['train_device_peak_mib'])} / "
            f"{_fmt(r['decode_device_peak_mib'])}"
        )
    return lines


def _targets(results):
    """On a CPU: issue 6's targets and which configurations meet them all."""
    lines = [
        "",
        "Issue 6 targets (2-core CPU): "
        + ", ".join(f"{REFERENCE_LABELS[f]} {s} {b:,}" for f, (s, b) in TARGETS.items())
        + "; best existing there: "
        + "; ".join(
            f"{REFERENCE_LABELS[f]} " + ", ".join(f"{n} {v:,}" for n, v in refs.items())
            for f, refs in REFERENCE_FIGURES.items()
        )
        + ".",
    ]
    meets = [r["name"] for r in _measured(results) if all(check_targets(r).values())]
    lines.append(f"Meeting every target here: {', '.join(meets) or 'none'}.")
    return lines


def _ratios_table(results, labels):
    lines = [
        "",
        "Times better than the Keras baselines (higher is better; for time and "
        "memory, baseline / ours):",
        "",
        "| configuration | vs | " + " | ".join(labels.values()) + " |",
        "|---|---|" + "---:|" * len(FIGURES),
    ]
    for r in results:
        for baseline, ratios in r.get("ratios", {}).items():
            if baseline == r["name"]:
                continue
            lines.append(
                f"| {r['name']} | {baseline} | "
                + " | ".join(_fmt(ratios[f], 2) for f in FIGURES)
                + " |"
            )
    return lines


def _gflops_table(results, matmul):
    """Achieved GFLOP/s and their share of the measured matmul rate."""
    peaks = ", ".join(
        f"{dtype} {m['square']['best_gflops_per_s']:,.0f} "
        f"({'x'.join(map(str, m['square']['shape']))}), output projection "
        f"{m['output_projection']['best_gflops_per_s']:,.0f} "
        f"({'x'.join(map(str, m['output_projection']['shape']))})"
        for dtype, m in matmul.items()
    )
    lines = [
        "",
        f"Achieved GFLOP/s (analytic FLOPs, `forward_flops`; training counts 3x "
        f"the forward pass) and share of the matmul rate. Matmul best GFLOP/s: "
        f"{peaks}.",
        "",
        "| configuration | train | greedy b64 | greedy b1 | beam-5 b16 "
        "| train % of peak | greedy % of peak |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in _measured(results):
        g = r["gflops_per_s"]
        storage = "bfloat16" if "bfloat16" in r["dtype"] else "float32"
        peak = matmul.get(storage, matmul.get("float32"))["square"]["best_gflops_per_s"]
        lines.append(
            f"| {r['name']} | {g['train']:,.1f} | {g['greedy']:,.1f} | "
            f"{g['latency']:,.2f} | {g['beam']:,.1f} | "
            f"{100 * g['train'] / peak:.0f}% | {100 * g['greedy'] / peak:.0f}% |"
        )
    return lines


def markdown(report):
    """The tables for the README: figures, ratios and GFLOP/s.

    Args:
        report: the report dict `benchmarks/speed.py` writes as JSON.

    Returns:
        The markdown text, ending in a newline.
    """
    results = report["results"]
    labels = figure_labels(report["sizes"])
    lines = _header(report) + _figures_table(results, labels)
    if report["system"].get("gpu"):
        lines += _device_memory(results)
    else:
        lines += _targets(results)
    lines += _ratios_table(results, labels)
    lines += _gflops_table(results, report["matmul"])
    return "\n".join(lines) + "\n"


def write(report, json_path, md_path):
    """Writes `report` as JSON to `json_path` and its tables to `md_path`
    (creating the JSON file's folder); returns the tables."""
    os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
    with open(json_path, "w", encoding="utf-8") as file:
        json.dump(report, file, indent=1)
    table = markdown(report)
    with open(md_path, "w", encoding="utf-8") as file:
        file.write(table)
    return table
