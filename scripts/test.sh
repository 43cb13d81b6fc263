#!/usr/bin/env bash
# Sets up (scripts/setup.sh; Chromium for the browser test), lints, and runs
# the test suite once per Keras backend, in TEST_WORKERS pytest-xdist
# processes (default 2; a test file stays in one process, for its fixtures).
# KERAS_BACKENDS="jax" scripts/test.sh runs a subset; extra arguments go to
# pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-browser.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
export TF_CPP_MIN_LOG_LEVEL=2
export KERAS_ATTN_REQUIRE_BROWSER=1  # installed above: the browser test must run
status=0
for backend in ${KERAS_BACKENDS:-tensorflow jax torch}; do
    echo "=== KERAS_BACKEND=$backend"
    KERAS_BACKEND=$backend .venv/bin/python -m pytest -q -p no:cacheprovider \
        -n "${TEST_WORKERS:-2}" --dist loadfile "$@" || status=1
done
exit $status
