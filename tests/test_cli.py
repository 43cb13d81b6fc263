"""The console entry point, run as a user runs it."""

import subprocess
import sys

import keras

import keras_attn


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "keras_attn.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_info_names_the_version_and_backend():
    result = run("info")
    assert result.returncode == 0, result.stderr
    assert f"keras-attn {keras_attn.__version__}" in result.stdout
    assert f"backend: {keras.backend.backend()}" in result.stdout


def test_unknown_command_exits_2_with_a_message():
    result = run("translate-everything")
    assert result.returncode == 2
    assert "invalid choice: 'translate-everything'" in result.stderr
