"""Training and decoding speed of keras-attn against Keras 3 baselines.

Issue 6, item 1. At the reference configuration (vocabulary 8000 for source
and target, embedding 256, BiGRU encoder 256 per direction so the memory has
512 features, decoder GRU 512, attention units 512, Adam; batch 64, source
and target length 20 with random padding tails) this measures, for every
configuration, each as the median of `--repeats` timings after warm-up:

- training: target tokens per second (non-padding target tokens; one
  timing is `--train-steps` `train_on_batch` calls);
- greedy decoding, batch 64, 20 steps: tokens per second;
- greedy latency for one sentence (batch 1, 20 steps), in milliseconds;
- beam search with 5 beams, batch 16, 20 steps: seconds per call;
- peak memory: the peak resident set size of the process during training
  and during decoding (Linux: `VmHWM`, reset before each phase) and, on a
  GPU, the backend's peak device memory.

Decoding never stops early (`stop_token_ids=None`), so every call runs
exactly 20 steps. Weights are random: speed does not depend on them.

Configurations (`--configs`, comma-separated names or groups):

- `ATTENTION:ORDER` for this package's `AttentionSeq2SeqLM`, ATTENTION one
  of `bahdanau`, `luong-dot`, `luong-general`, `luong-concat` and ORDER one
  of `bahdanau` (query with s_{t-1}, then step the RNN on [x; c]), `luong`
  (input feeding of the previous attentional output; the backbone's default
  order for the Luong scores) or `luong-nofeed` (no input feeding: the training
  pass runs the RNN over the whole target, then attends in one call);
- `none`: the fixed-context encoder-decoder (`attention=None`);
- `tutorial`: the TensorFlow NMT tutorial's architecture written with
  Keras 3 built-ins (decoder GRU over the whole target, then one
  `MultiHeadAttention` cross-attention with a residual and
  `LayerNormalization`), decoded by a greedy loop in Python;
- `additive`: a plain `keras.layers.AdditiveAttention` model (decoder GRU
  over the whole target, Bahdanau's score through `Dense` projections,
  `tanh(W_c [h; c])`), decoded step by step from Python.

The two baselines decode as a Keras user would: one compiled step
(`predict_on_batch` of a step model that shares the trained layers) called
from a Python loop, greedy or a NumPy beam search. A configuration may end
in `@bf16` (or `@DTYPE_POLICY`) to run under `mixed_bfloat16`; `--dtype`
sets the default. Groups: `all` (every attention type in every order, the
baseline and both Keras models, float32), `default` (each attention type in
the backbone's own order), `baselines`, `bf16` (`default`, `none` and the
two Keras models under `mixed_bfloat16`). The default is `all,bf16`.

Every figure is also printed as a ratio to the two Keras baselines (of the
same dtype when measured, else float32), as "times better" (higher is
better for throughput, time and memory alike), and as achieved GFLOP/s
against this machine's measured dense-matmul rate (a float32 and a bfloat16
2048x2048 matmul, and the batch-64 output projection's shape). FLOPs are
counted analytically: see `speed_flops.forward_flops`.

Each configuration runs in a fresh subprocess (`--in-process` runs them in
this one: faster, but peaks and compile caches mix). Results go to
`benchmarks/results/speed-<backend>-<cpu|gpu>[-<tag>].json` and `.md`.

The parts: `speed_configs` (configuration names and sizes),
`speed_runners` (the models under test), `speed_measure` (timings, peak
memory, matmul rate), `speed_flops` (FLOP counts), `speed_report` (ratios,
targets, tables) and `machine` (what it ran on); this script parses the
command line, runs each configuration and writes the report.

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/speed.py
    KERAS_BACKEND=jax .venv/bin/python benchmarks/speed.py --configs default,baselines
    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/speed.py --smoke
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

from benchmarks import speed_report  # noqa: E402
from benchmarks.machine import git_commit  # noqa: E402
from benchmarks.machine import system_info  # noqa: E402
from benchmarks.speed_configs import BASELINES  # noqa: E402
from benchmarks.speed_configs import DTYPE_ALIASES  # noqa: E402
from benchmarks.speed_configs import GROUPS  # noqa: E402
from benchmarks.speed_configs import ORDERS  # noqa: E402
from benchmarks.speed_configs import REFERENCE  # noqa: E402
from benchmarks.speed_configs import SMOKE  # noqa: E402
from benchmarks.speed_configs import SMOKE_CONFIGS  # noqa: E402
from benchmarks.speed_configs import attentions  # noqa: E402
from benchmarks.speed_configs import parse_configs  # noqa: E402
from benchmarks.speed_measure import matmul_rates  # noqa: E402
from benchmarks.speed_measure import run_config  # noqa: E402

RESULTS_DIR = os.path.join(ROOT, "benchmarks", "results")


def parse_args(argv):
    """The command line; a worker's (internal) has no help epilog, whose
    attention names would load keras_attn into a baseline's process."""
    epilog = None
    if "--worker" not in argv:
        epilog = (
            f"Configurations: {', '.join(attentions())} with :{'/:'.join(ORDERS)}; "
            f"none; {', '.join(BASELINES)}; groups {', '.join(GROUPS)}; @bf16 for "
            "mixed_bfloat16."
        )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=epilog)
    parser.add_argument("--configs", default=None, help="default: all,bf16")
    parser.add_argument("--dtype", default="float32", help="default dtype policy")
    parser.add_argument("--repeats", type=int, default=None, help="default 7")
    parser.add_argument(
        "--jit-compile",
        choices=("auto", "true", "false"),
        default="auto",
        help="passed to compile(); auto is Keras's default (no XLA on a "
        "CPU-only TensorFlow)",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, few steps")
    parser.add_argument("--in-process", action="store_true", help="no subprocesses")
    parser.add_argument("--json", help="results file (default: benchmarks/results/)")
    parser.add_argument("--markdown", help="tables file (default: next to --json)")
    parser.add_argument("--tag", help="suffix for the default result file names")
    for name, value in REFERENCE.items():
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=int,
            default=None,
            help=f"default {value} ({SMOKE[name]} with --smoke)",
        )
    # Internal: one configuration in a subprocess.
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", help=argparse.SUPPRESS)
    parser.add_argument("--dtypes", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# === Running one configuration, here or in a fresh process ===
def measure(config, sizes, dtypes, repeats, jit_compile):
    """One configuration's figures, or with `config` `"hardware"` the
    machine's description and matmul rates."""
    if config == "hardware":
        return {"system": system_info(), "matmul": matmul_rates(sizes, dtypes)}
    jit = {"auto": "auto", "true": True, "false": False}[jit_compile]
    return run_config(config, sizes, repeats, jit)


def worker(args):
    """The subprocess side of `run_worker`: measures, writes the JSON."""
    result = measure(
        "hardware" if args.worker == "hardware" else json.loads(args.worker),
        json.loads(args.sizes),
        json.loads(args.dtypes),
        args.repeats,
        args.jit_compile,
    )
    with open(args.worker_out, "w", encoding="utf-8") as file:
        json.dump(result, file)
    return 0


def run_worker(config, sizes, dtypes, args):
    """Runs one configuration (or the hardware probe) in a fresh process.

    The process gets the config dict, not its name: parsing a name would
    load keras_attn there before the model is built (see `attentions`).
    """
    with tempfile.TemporaryDirectory() as directory:
        out = os.path.join(directory, "result.json")
        command = [
            sys.executable,
            os.path.abspath(__file__),
            "--worker",
            config if config == "hardware" else json.dumps(config),
            "--worker-out",
            out,
            "--sizes",
            json.dumps(sizes),
            "--dtypes",
            json.dumps(dtypes),
            "--repeats",
            str(args.repeats),
            "--jit-compile",
            args.jit_compile,
        ]
        env = {
            **os.environ,
            "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
        }
        process = subprocess.run(command, env=env, capture_output=True, text=True)
        if process.returncode != 0 or not os.path.isfile(out):
            tail = "\n".join(process.stderr.strip().splitlines()[-25:])
            return {"error": f"exit status {process.returncode}", "stderr": tail}
        with open(out, encoding="utf-8") as file:
            return json.load(file)


def run_in_process(config, sizes, dtypes, args):
    """Runs one configuration (or the hardware probe) in this process; an
    error is recorded in the result, so that the others go on."""
    try:
        return measure(config, sizes, dtypes, args.repeats, args.jit_compile)
    except Exception as error:  # noqa: BLE001 - recorded, the others go on
        import traceback

        return {"error": repr(error), "stderr": traceback.format_exc()[-3000:]}


# === The whole run ===
def run_configs(configs, run, sizes, dtypes, args):
    """Measures `configs` one after the other with `run` (`run_worker` or
    `run_in_process`), printing each one's figures; returns the results."""
    results = []
    for config in configs:
        start = time.perf_counter()
        result = run(config, sizes, dtypes, args)
        result.setdefault("name", config["name"])
        results.append(result)
        if "error" in result:
            print(f"{config['name']}: FAILED {result['error']}", flush=True)
            print(result.get("stderr", ""), file=sys.stderr, flush=True)
            continue
        print(
            f"{config['name']}: train {result['train_tokens_per_s']:,.0f} tok/s, "
            f"greedy {result['greedy_tokens_per_s']:,.0f} tok/s, "
            f"b1 {result['latency_ms']:.2f} ms, beam {result['beam_s']:.3f} s, "
            f"peak {result['train_peak_mib']:,.0f}/{result['decode_peak_mib']:,.0f} "
            f"MiB ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    return results


def result_paths(args, backend, device):
    """The JSON and markdown paths: `--json` and `--markdown`, else
    `benchmarks/results/[smoke/]speed-<backend>-<device>[-<tag>][-xla]`."""
    if args.json:
        json_path = args.json
    else:
        directory = os.path.join(RESULTS_DIR, "smoke") if args.smoke else RESULTS_DIR
        tag = f"-{args.tag}" if args.tag else ""
        if args.jit_compile == "true":
            tag += "-xla"
        json_path = os.path.join(directory, f"speed-{backend}-{device}{tag}.json")
    return json_path, args.markdown or os.path.splitext(json_path)[0] + ".md"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.worker:
        args.repeats = args.repeats or 7
        return worker(args)

    import keras

    sizes = dict(SMOKE if args.smoke else REFERENCE)
    for name in REFERENCE:
        if getattr(args, name) is not None:
            sizes[name] = getattr(args, name)
    args.repeats = args.repeats or (1 if args.smoke else 7)
    configs = parse_configs(
        args.configs or (SMOKE_CONFIGS if args.smoke else "all,bf16"),
        DTYPE_ALIASES.get(args.dtype, args.dtype),
    )
    in_process = args.in_process or args.smoke
    backend = keras.backend.backend()
    dtypes = sorted({c["dtype"] for c in configs} | {"float32"})
    run = run_in_process if in_process else run_worker

    started = time.perf_counter()
    print(f"speed.py: backend {backend}, {len(configs)} configurations", flush=True)
    hardware = run("hardware", sizes, dtypes, args)
    if "error" in hardware:
        print(hardware["stderr"], file=sys.stderr)
        return 1
    device = "gpu" if hardware["system"].get("gpu") else "cpu"
    for dtype, m in hardware["matmul"].items():
        print(
            f"matmul {dtype}: {m['square']['best_gflops_per_s']:,.0f} GFLOP/s "
            f"(square), {m['output_projection']['best_gflops_per_s']:,.0f} GFLOP/s "
            "(output projection)",
            flush=True,
        )
    results = run_configs(configs, run, sizes, dtypes, args)
    speed_report.add_ratios(results)
    for result in results:
        if "error" not in result:
            result["meets_targets"] = speed_report.check_targets(result)

    command = f"KERAS_BACKEND={backend} python benchmarks/speed.py {' '.join(argv)}"
    command = command.strip()
    report = {
        "benchmark": "speed",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "git_commit": git_commit(),
        "command": command,
        "smoke": args.smoke,
        "in_process": in_process,
        "jit_compile": args.jit_compile,
        "repeats": args.repeats,
        "sizes": sizes,
        "system": hardware["system"],
        "matmul": hardware["matmul"],
        "reference_figures": speed_report.REFERENCE_FIGURES,
        "targets": {k: list(v) for k, v in speed_report.TARGETS.items()},
        "results": results,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    json_path, md_path = result_paths(args, backend, device)
    table = speed_report.write(report, json_path, md_path)
    print()
    print(table)
    print(f"wrote {json_path} and {md_path} ({report['wall_s']:.0f} s)")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
