#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the main job: for now the attention
# example, which trains a small model to reverse sequences and shows where
# it looks (examples/reverse_with_attention.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=2
exec .venv/bin/python examples/reverse_with_attention.py "$@"
