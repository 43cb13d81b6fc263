"""The benchmarks stay runnable: each script's `--smoke` run (tiny sizes, a
few steps) in a subprocess, as `python benchmarks/<script>.py --smoke`.

The runs use the TensorFlow backend only (the suite runs once per backend
and the scripts are backend-independent code); the checks of the scripts'
pure-Python parts run on every backend.
"""

import json
import os
import subprocess
import sys

import keras
import pytest

from benchmarks import speed_configs
from benchmarks import speed_flops
from benchmarks import speed_report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tensorflow_only = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the benchmark smoke runs are backend-independent code; they run "
    "once, with the TensorFlow backend",
)


def run_script(name, *args, timeout=600):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", name), "--smoke", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@tensorflow_only
def test_speed_smoke_writes_positive_figures(tmp_path):
    json_path = tmp_path / "speed.json"
    run_script("speed.py", "--json", str(json_path))
    report = json.loads(json_path.read_text(encoding="utf-8"))
    configs = speed_configs.parse_configs(speed_configs.SMOKE_CONFIGS, "float32")
    names = [config["name"] for config in configs]
    assert [r["name"] for r in report["results"]] == names
    for result in report["results"]:
        assert "error" not in result, result
        for figure in speed_report.FIGURES:
            assert result[figure] > 0, (result["name"], figure)
        assert all(value > 0 for value in result["gflops_per_s"].values())
        # Every configuration is compared with both Keras baselines.
        assert {"tutorial", "additive"} <= set(result["ratios"]) | {result["name"]}
    for rates in report["matmul"].values():
        assert rates["square"]["best_gflops_per_s"] > 0
    table = (tmp_path / "speed.md").read_text(encoding="utf-8")
    for name in names:
        assert f"| {name} |" in table


@tensorflow_only
def test_length_smoke_writes_bleu_per_bucket_and_plot(tmp_path):
    results = tmp_path / "results"
    run_script(
        "length.py", "--results-dir", str(results), "--runs-dir", str(tmp_path / "runs")
    )
    report = json.loads((results / "length.json").read_text(encoding="utf-8"))
    models = list(report["models"])
    assert models == ["bahdanau", "fixed-context"]
    assert [b["label"] for b in report["buckets"]] == [
        "0-9", "10-19", "20-29", "30-39", "40-49", "50+"
    ]  # fmt: skip
    assert sum(b["inputs"] for b in report["buckets"]) == report["data"]["test_inputs"]
    for bucket in report["buckets"]:
        assert bucket["inputs"] > 0, bucket  # the synthetic dev set fills each
        for model in models:
            assert 0.0 <= bucket["bleu"][model] <= 100.0
    for model in models:
        assert 0.0 <= report["models"][model]["bleu_all"] <= 100.0
        assert report["models"][model]["epochs_done"] == 1
        assert set(report["models"][model]["bleu_by_join"]) == set("123456")
    assert (results / "length.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| 50+ |" in (results / "length.md").read_text(encoding="utf-8")
    # A second run resumes the finished runs and reuses their outputs.
    again = run_script(
        "length.py", "--results-dir", str(results), "--runs-dir", str(tmp_path / "runs")
    )
    assert again.stdout.count("trained already: 1 epochs") == 2
    assert again.stdout.count("outputs reused") == 2


def test_speed_configurations_and_flops():
    configs = speed_configs.parse_configs("all,bf16", "float32")
    names = [c["name"] for c in configs]
    assert len(names) == len(set(names)) == 4 * 3 + 3 + 7
    assert "luong-dot:luong-nofeed" in names and "bahdanau:bahdanau@bf16" in names
    assert speed_configs.parse_config("luong-general")["order"] == "luong"
    with pytest.raises(SystemExit):
        speed_configs.parse_config("luong-dot:sideways")
    sizes = speed_configs.REFERENCE
    bahdanau = speed_configs.parse_config("bahdanau:bahdanau")
    none = speed_configs.parse_config("none")
    # Per decoded token the output projection (2HV) dominates both.
    flops = speed_flops.forward_flops
    per_token = flops(none, sizes, 0, 1, 1, decoding=True)
    assert per_token == 2 * 3 * 512 * (256 + 512) + 2 * 512 * 8000
    assert flops(bahdanau, sizes, 20, 20, 64) > flops(none, sizes, 20, 20, 64)


def test_speed_ratios_pair_each_result_with_the_baseline_of_its_dtype():
    def result(name, scale):
        figures = dict.fromkeys(speed_report.FIGURES, 10.0 * scale)
        return {**speed_configs.parse_config(name), **figures}

    results = [
        result("none@bf16", 2.0),
        result("tutorial", 1.0),
        result("additive", 4.0),
        result("tutorial@bf16", 5.0),
        {"name": "luong-dot", "error": "exit status 1"},
    ]
    speed_report.add_ratios(results)
    ratios = results[0]["ratios"]
    # bf16 against the bf16 tutorial; no bf16 additive, so the float32 one.
    assert set(ratios) == {"tutorial@bf16", "additive"}
    assert ratios["tutorial@bf16"]["train_tokens_per_s"] == 0.4  # 20 / 50
    assert ratios["tutorial@bf16"]["latency_ms"] == 2.5  # time: 50 / 20
    assert ratios["additive"]["beam_s"] == 2.0
    assert "ratios" not in results[-1]


@tensorflow_only
def test_serve_load_smoke_answers_every_request(tmp_path):
    from tests.demos.conftest import TINY
    from tests.demos.conftest import train_commands
    from tests.demos.conftest import write_data

    write_data(tmp_path)
    models = tmp_path / "models"
    command = train_commands(tmp_path, models)["translation/tiny"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run(
        [*map(str, command), *TINY],
        check=True,
        capture_output=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )
    out = tmp_path / "results"
    run_script(
        "serve_load.py", "--models-dir", str(models), "--out", str(out),
        "--data", str(tmp_path / "missing.tsv"), "--timeout", "60",
        "--app-args", "--max-batch 4",  # 4 clients: fewer shapes to warm up
    )  # fmt: skip
    (path,) = (out / "smoke").glob("serve-load-*.json")
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["model"] == "tiny"
    assert (report["clients"], report["rounds"]) == (4, 1)
    assert report["requests"] == report["answered"] == 4
    assert report["errors"] == report["refused"] == 0
    for figure in ("p50_s", "p95_s", "p99_s", "max_s", "requests_per_s"):
        assert report[figure] > 0, figure
    assert report["p50_s"] <= report["p99_s"] <= report["max_s"]
    assert "| 4 | 4 | 0 | 0 |" in path.with_suffix(".md").read_text(encoding="utf-8")
