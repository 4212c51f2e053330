#!/usr/bin/env bash
# Makes .venv (CPython 3 with venv) with maturin and pytest, and builds the
# extension into it (`maturin develop`; PROFILE=release for an optimised build).
# Sourced by test.sh and the benchmark; safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    if ! "$PYTHON" -m venv .venv; then
        echo "python-env.sh: '$PYTHON -m venv' failed; install CPython 3 with venv (Debian: python3-venv)" >&2
        exit 1
    fi
fi
.venv/bin/python -m pip install -q --disable-pip-version-check \
    "maturin>=1.9.2,<2" "pytest>=8" "pytest-timeout>=2" "mypy>=1.18" \
    -r scripts/test-requirements.txt
export VIRTUAL_ENV="$PWD/.venv"
if [ "${PROFILE:-dev}" = release ]; then
    (cd crates/kakashi-py && ../../.venv/bin/maturin develop -q --release)
else
    (cd crates/kakashi-py && ../../.venv/bin/maturin develop -q)
fi
