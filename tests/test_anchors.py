"""benchmarks/anchors.py: the same-run ratios against the speed anchors are
the medians of per-round ratios, in the anchors' units."""

import doctest
import json

from benchmarks import anchors


def test_the_module_examples_run():
    result = doctest.testmod(anchors)
    assert result.attempted and not result.failed


def speed_row(name, train, greedy, latency, beam, train_peak, decode_peak):
    return {
        "name": name,
        "train_tokens_per_s": train,
        "greedy_tokens_per_s": greedy,
        "latency_ms": latency,
        "beam_s": beam,
        "train_peak_mib": train_peak,
        "decode_peak_mib": decode_peak,
    }


def anchor_line(name, train, greedy, latency, beam, peak):
    return json.dumps(
        {
            "name": name,
            "train_target_tokens_per_s": 9999,  # padded positions: not used
            "train_nonpad_target_tokens_per_s": train,
            "greedy_tokens_per_s": greedy,
            "greedy_b1_latency_ms": latency,
            "beam_seconds": beam,
            "peak_rss_mb": peak,
        }
    )


def test_medians_of_per_round_ratios_in_the_anchors_units():
    # Three rounds on a drifting machine: both sides slow down together in
    # round 2, so the per-round ratio stays 1.2 while the absolutes move.
    rounds = []
    for scale in (1.0, 0.6, 1.0):
        ours = anchors.ours_by_name(
            {
                "results": [
                    speed_row(
                        "bahdanau:bahdanau",
                        2400 * scale,
                        12000 * scale,
                        20 / scale,
                        0.15 / scale,
                        1000,
                        1100,
                    )
                ]
            }
        )
        lines = [
            anchor_line(
                "tfa_seq2seq",
                2000 * scale,
                10000 * scale,
                24 / scale,
                0.18 / scale,
                1210,
            ),
            '{"name": "tfa_seq2seq_luong", "error": "venv failed"}',
            "",
        ]
        rounds.append((ours, anchors.anchors_by_name(lines)))
    summary = anchors.summarise(rounds)
    assert list(summary) == ["bahdanau:bahdanau vs tfa_seq2seq"]  # failed: left out
    entry = summary["bahdanau:bahdanau vs tfa_seq2seq"]
    # Training counts real target tokens on both sides (not the padded 9999).
    assert entry["ratios"]["train"] == [1.2, 1.2, 1.2]
    assert abs(entry["median"]["greedy"] - 1.2) < 1e-12
    assert abs(entry["median"]["latency"] - 1.2) < 1e-12  # 24 ms / 20 ms
    assert abs(entry["median"]["beam"] - 1.2) < 1e-12
    # Memory: the anchor's whole-process peak against our higher peak.
    assert abs(entry["median"]["memory"] - 1210 / 1100) < 1e-12
    assert entry["ours"]["train"] == 2400  # the median of 2400, 1440, 2400
    table = anchors.markdown(
        {
            "backend": "tensorflow",
            "rounds": 3,
            "date": "2026-12-04",
            "cpu": "Test CPU",
            "cpu_flags": ["avx2"],
            "wall_s": 1.0,
            "command": "python benchmarks/anchors.py",
            "summary": summary,
        }
    )
    assert "| `bahdanau:bahdanau vs tfa_seq2seq` | like for like | 1.20× |" in table
