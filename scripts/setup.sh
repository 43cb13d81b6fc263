#!/usr/bin/env bash
# Creates .venv (if missing) and installs keras-attn with everything the
# demos and the tests need, at the versions in requirements/constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build;
# with the CPU build in place, the ranges below are already satisfied.
.venv/bin/python -m pip install -q -c requirements/constraints.txt torch
.venv/bin/python -m pip install -q -c requirements/constraints.txt -e ".[jax,torch,test]"
