"""The demo app under load: N concurrent clients × R rounds of real requests.

Starts the app (`python -m demos.app`) on 127.0.0.1 on a free port with the
shipped models (or `--models-dir`), waits until it answers, then runs
`--clients` threads, each sending `--rounds` requests one after another
through Gradio's HTTP API (`POST /gradio_api/call/<endpoint>`, then the
event's stream), as `gradio_client` and the page do. Every request has a
`--timeout`; the whole run has `--overall-timeout`.

    .venv/bin/python benchmarks/serve_load.py --clients 32 --rounds 3
    .venv/bin/python benchmarks/serve_load.py --clients 64 --rounds 2
    .venv/bin/python benchmarks/serve_load.py --url http://127.0.0.1:7860/

The sentences are Spanish sources from the spa-eng dev set
(`../shared/data/translation/spa-eng/dev.tsv`) when it is there, else the
app's shipped sample (`demos/samples/spa-eng.txt`), else a built-in list.

Reports latency p50/p95/p99/max (seconds, from the request's POST to its
last event), requests/s over the run, errors (the app answered with an
error, or a request timed out) and refused requests (HTTP 503, "Queue is
full"), and writes `benchmarks/results/serve-load-<date>.json` and `.md`
(with `--smoke`: `benchmarks/results/smoke/`).
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as a script: `python benchmarks/serve_load.py`
    sys.path.insert(0, ROOT)

from benchmarks.machine import cpu_flags  # noqa: E402
from benchmarks.machine import cpu_model  # noqa: E402
from benchmarks.machine import git_commit  # noqa: E402
from benchmarks.machine import write_report  # noqa: E402

RESULTS_DIR = os.path.join(ROOT, "benchmarks", "results")
DEV_TSV = os.path.join(
    os.path.dirname(ROOT), "shared", "data", "translation", "spa-eng", "dev.tsv"
)
SAMPLE_TSV = os.path.join(ROOT, "demos", "samples", "spa-eng.txt")
# When neither file is there: everyday sentences, as a user would type.
BUILT_IN = (
    "¿Dónde está la estación de tren?",
    "Mi hermano vive en Madrid.",
    "Necesito un bolígrafo y papel.",
    "El estacionamiento está casi vacío.",
    "Hoy hace mucho calor.",
    "¿Cuánto cuesta este libro?",
    "Me gusta leer por la noche.",
    "Ella no sabe nadar.",
)
# The app's endpoints by task: (endpoint, task directory).
TASKS = {
    "translate": ("translate", "translation"),
    "summarize": ("summarize", "summarization"),
}
API = "gradio_api/call"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32, help="default 32")
    parser.add_argument("--rounds", type=int, default=3, help="per client; 3")
    parser.add_argument("--task", choices=sorted(TASKS), default="translate")
    parser.add_argument("--model", help="model name (default: the first listed)")
    parser.add_argument(
        "--models-dir",
        default=os.path.join(ROOT, "saved_models"),
        help="the app's --models-dir (default: the shipped models)",
    )
    parser.add_argument("--url", help="load an app already running here instead")
    parser.add_argument(
        "--app-args",
        default="",
        help="more options for the app, e.g. '--queue-size 64'",
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="per request, s")
    parser.add_argument(
        "--overall-timeout", type=float, default=600.0, help="whole run, s"
    )
    parser.add_argument(
        "--startup-timeout", type=float, default=300.0, help="app start, s"
    )
    parser.add_argument("--data", default=DEV_TSV, help="a spa-eng TSV (eng, spa)")
    parser.add_argument("--smoke", action="store_true", help="tiny: 4 clients × 1")
    parser.add_argument("--out", default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.smoke:
        args.clients, args.rounds = min(args.clients, 4), 1
    if args.clients < 1 or args.rounds < 1:
        parser.error(
            f"--clients and --rounds must be at least 1. Received: "
            f"clients={args.clients}, rounds={args.rounds}"
        )
    return args


# === Sentences ===
def sentences(path, count, seed=0):
    """`count` Spanish sentences: the TSV's second column (Anki order,
    English first), else the shipped sample, else `BUILT_IN`, cycled."""
    found = []
    for candidate in (path, SAMPLE_TSV):
        if candidate and os.path.isfile(candidate):
            with open(candidate, encoding="utf-8") as file:
                found = [
                    line.split("\t")[1].strip()
                    for line in file
                    if line.count("\t") >= 1 and line.split("\t")[1].strip()
                ]
        if found:
            break
    found = found or list(BUILT_IN)
    random.Random(seed).shuffle(found)
    return [found[i % len(found)] for i in range(count)]


# === The app ===
def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(models_dir, app_args, log_path):
    """The app on 127.0.0.1 on a free port: `(process, url)`."""
    port = free_port()
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONUNBUFFERED": "1",
    }
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "demos.app", "--port", str(port),
                "--models-dir", str(models_dir), *app_args.split(),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )  # fmt: skip
    return process, f"http://127.0.0.1:{port}/"


def wait_until_answers(http, url, process, timeout, log_path=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"the app exited with {process.returncode}; its log: {log_path}"
            )
        try:
            if http.get(url, timeout=5).status_code == 200:
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the app did not answer at {url} within {timeout:.0f} s")


def first_model(http, url, task):
    """The first model the app lists for `task` (a directory name)."""
    answer = call(http, url, "list_models", [], timeout=60)
    if answer["status"] != "ok" or not answer["data"][0].get(task):
        raise RuntimeError(f"the app lists no {task} model: {answer}")
    return answer["data"][0][task][0]


# === One request ===
def call(http, url, endpoint, data, timeout):
    """One request through Gradio's HTTP API.

    Returns:
        `{"status": "ok" | "error" | "refused" | "timeout", "seconds",
        "data" or "error"}`.
    """
    started = time.perf_counter()
    deadline = started + timeout

    def result(status, **extra):
        return {"status": status, "seconds": time.perf_counter() - started, **extra}

    try:
        posted = http.post(
            f"{url}{API}/{endpoint}", json={"data": data}, timeout=timeout
        )
        if posted.status_code == 503:
            return result("refused", error=posted.text[:200])
        if posted.status_code != 200:
            return result("error", error=f"HTTP {posted.status_code}: {posted.text}")
        event_id = posted.json()["event_id"]
        left = max(deadline - time.perf_counter(), 0.1)
        event = None
        with http.stream(
            "GET", f"{url}{API}/{endpoint}/{event_id}", timeout=left
        ) as stream:
            for line in stream.iter_lines():
                if time.perf_counter() > deadline:
                    return result("timeout", error=f"over {timeout} s")
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    payload = json.loads(line.split(":", 1)[1])
                    if event == "complete":
                        return result("ok", data=payload)
                    return result("error", error=str(payload)[:200])
        return result("error", error="the stream ended without an answer")
    except Exception as error:  # noqa: BLE001 - counted and reported
        if time.perf_counter() >= deadline:
            return result("timeout", error=f"over {timeout} s")
        return result("error", error=f"{type(error).__name__}: {error}"[:200])


# === The load ===
def run_load(url, endpoint, model, texts, clients, rounds, timeout, overall):
    """`clients` threads, each sending its `rounds` texts in turn; all start
    together. Returns the per-request results and the wall time."""
    import httpx

    barrier = threading.Barrier(clients)
    stop_at = time.monotonic() + overall

    def client(index):
        results = []
        # One connection per client, as separate browsers would have.
        with httpx.Client(trust_env=False) as http:
            barrier.wait()
            for round_ in range(rounds):
                left = stop_at - time.monotonic()
                if left <= 0:
                    results.append(
                        {"status": "timeout", "seconds": 0.0, "error": "run"}
                    )  # the run's time is up
                    continue
                text = texts[(index * rounds + round_) % len(texts)]
                data = [text, model, "greedy", 4]
                result = call(http, url, endpoint, data, min(timeout, left))
                results.append({**result, "round": round_})
        return results

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        per_client = list(pool.map(client, range(clients)))
    wall = time.perf_counter() - started
    return [r for results in per_client for r in results], wall


def percentile(values, q):
    """The `q`-th percentile (0-100), linear between the nearest ranks."""
    values = sorted(values)
    if not values:
        return None
    rank = (len(values) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (rank - low)


def summarize(results, wall):
    answered = [r["seconds"] for r in results if r["status"] == "ok"]
    counts = {
        status: sum(r["status"] == status for r in results)
        for status in ("ok", "error", "refused", "timeout")
    }
    summary = {
        "requests": len(results),
        "answered": counts["ok"],
        "errors": counts["error"] + counts["timeout"],
        "timeouts": counts["timeout"],
        "refused": counts["refused"],
        "wall_s": round(wall, 3),
        "requests_per_s": round(counts["ok"] / wall, 3) if wall else None,
    }
    for name, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100)):
        value = percentile(answered, q)
        summary[f"{name}_s"] = None if value is None else round(value, 3)
    # Each round alone: the first pays for anything not yet warm.
    rounds = sorted({r["round"] for r in results if "round" in r})
    summary["per_round"] = []
    for round_ in rounds:
        times = [
            r["seconds"]
            for r in results
            if r.get("round") == round_ and r["status"] == "ok"
        ]
        summary["per_round"].append(
            {
                "round": round_ + 1,
                "answered": len(times),
                "p50_s": _round(percentile(times, 50)),
                "p99_s": _round(percentile(times, 99)),
            }
        )
    examples = [r["error"] for r in results if r["status"] != "ok"][:5]
    if examples:
        summary["error_examples"] = examples
    return summary


def _round(value):
    return None if value is None else round(value, 3)


def load_average():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def main(argv=None):
    import httpx

    args = parse_args(argv)
    endpoint, task = TASKS[args.task]
    texts = sentences(args.data, args.clients * args.rounds)
    process = None
    # The app's log, outside the results: read it when a run goes wrong.
    log_path = os.path.join(tempfile.gettempdir(), f"serve-load-{os.getpid()}.log")
    url = args.url
    try:
        if url is None:
            process, url = start_app(args.models_dir, args.app_args, log_path)
        url = url if url.endswith("/") else url + "/"
        with httpx.Client(trust_env=False) as http:
            wait_until_answers(http, url, process, args.startup_timeout, log_path)
            model = args.model or first_model(http, url, task)
            # One request first, so the timed run does not include loading
            # the model and compiling its decoding function.
            warm = call(http, url, endpoint, [texts[0], model, "greedy", 4], 300)
            if warm["status"] != "ok":
                raise RuntimeError(
                    f"the warm-up request failed: {warm}; the app's log: {log_path}"
                )
        load_before = load_average()
        print(
            f"{args.clients} clients × {args.rounds} rounds of /{endpoint} "
            f"({model}) at {url}",
            flush=True,
        )
        results, wall = run_load(
            url, endpoint, model, texts, args.clients, args.rounds,
            args.timeout, args.overall_timeout,
        )  # fmt: skip
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    summary = summarize(results, wall)
    given = " ".join(sys.argv[1:] if argv is None else argv)
    report = {
        "date": datetime.date.today().isoformat(),
        "command": f".venv/bin/python benchmarks/serve_load.py {given}".strip(),
        "task": args.task,
        "model": model,
        "clients": args.clients,
        "rounds": args.rounds,
        "decoding": "greedy",
        "timeout_s": args.timeout,
        "load_average": {"before": load_before, "after": load_average()},
        "machine": {
            "cpu": cpu_model(),
            "cpu_count": os.cpu_count(),
            "cpu_flags": cpu_flags(),
            "commit": git_commit(),
        },
        **summary,
    }
    paths = write(report, args.out, args.smoke)
    print(json.dumps(summary, indent=2))
    print("wrote " + " and ".join(paths))
    return 0


def write(report, directory, smoke):
    if smoke:
        directory = os.path.join(directory, "smoke")
    prefix = os.path.join(directory, f"serve-load-{report['date']}")
    machine = report["machine"]
    hardware = (
        f"{machine['cpu']}, {machine['cpu_count']} cores "
        f"({', '.join(machine['cpu_flags']) or 'no AVX'})"
    )

    def seconds(key):
        value = report[key]
        return "–" if value is None else f"{value:.2f}"

    load = report["load_average"]
    lines = [
        "# The demo under load",
        "",
        f"{report['date']}; {hardware}; commit {machine['commit']}; load average "
        f"(1, 5, 15 min) {load['before']} before, {load['after']} after.",
        "",
        f"{report['clients']} concurrent clients × {report['rounds']} rounds of "
        f"/{TASKS[report['task']][0]} with {report['model']} ({report['decoding']}), "
        "each client sending its next request when the last is answered; "
        "latency from the request to its answer.",
        "",
        f"    {report['command']}",
        "",
        "| requests | answered | errors | refused | p50 s | p95 s | p99 s "
        "| max s | requests/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {report['requests']} | {report['answered']} | {report['errors']} "
        f"| {report['refused']} | {seconds('p50_s')} | {seconds('p95_s')} "
        f"| {seconds('p99_s')} | {seconds('max_s')} "
        f"| {report['requests_per_s'] or 0:.2f} |",
        "",
        "By round: "
        + "; ".join(
            f"{r['round']}: p50 {r['p50_s']} s, p99 {r['p99_s']} s"
            for r in report["per_round"]
        )
        + ".",
        "",
    ]
    write_report(prefix, report, lines[:-1])  # it ends the file with a newline
    return prefix + ".json", prefix + ".md"


if __name__ == "__main__":
    sys.exit(main())
