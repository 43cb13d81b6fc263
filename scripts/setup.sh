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
# In-tree metadata left by an older setuptools would shadow the installed
# one (and its keras_attn.demo entry point) whenever the checkout is on
# sys.path; the editable install below keeps its metadata in .venv.
rm -rf keras_attn.egg-info
# demo: the Gradio app, installed as keras_attn_demo (demos/ in this checkout).
.venv/bin/python -m pip install -q -c requirements/constraints.txt -e ".[demo,jax,torch,test]"
