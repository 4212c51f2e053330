#!/usr/bin/env bash
# The Python benchmark, one command: builds kakashi (release) into a bench
# virtual environment with the other loggers, puts the original kakashi 0.2.2
# in a second one (both import as `kakashi`), then runs run.py with any
# arguments given (--records N --reps R --threads 1,4 --only a,b).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
[ -x .venv-bench/bin/python ] || "$PYTHON" -m venv .venv-bench
[ -x .venv-kakashi022/bin/python ] || "$PYTHON" -m venv .venv-kakashi022
.venv-bench/bin/python -m pip install -q --disable-pip-version-check \
    "maturin>=1.9.2,<2" structlog orjson loguru picologging
.venv-kakashi022/bin/python -m pip install -q --disable-pip-version-check "kakashi==0.2.2"
rm -rf target/wheels-bench
(cd crates/kakashi-py && ../../.venv-bench/bin/maturin build --release -q -o ../../target/wheels-bench)
.venv-bench/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps target/wheels-bench/kakashi_rs-*.whl
exec .venv-bench/bin/python bench/python/run.py \
    --python "$PWD/.venv-bench/bin/python" --python-022 "$PWD/.venv-kakashi022/bin/python" "$@"
