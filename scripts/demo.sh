#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the main job: the Gradio demo app,
# serving the shipped models in saved_models/ at http://127.0.0.1:7860
# (options: --host, --port, --share, --models-dir; see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=2
exec .venv/bin/python -m demos.app "$@"
