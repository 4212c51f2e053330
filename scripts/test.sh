#!/usr/bin/env bash
# Runs every test of the project: formatting and lints (when the toolchain has
# them), the Rust unit, doc and contract tests, a smoke run of the main job,
# then the Python package: builds it into .venv (maturin) and runs pytest.
# Needs a Rust toolchain and CPython 3 with venv; fetches crates from crates.io
# and maturin/pytest from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "test.sh: cargo not found; install a Rust toolchain (rustup) first" >&2
    exit 1
fi

if cargo fmt --version >/dev/null 2>&1; then
    cargo fmt --all -- --check
fi
if cargo clippy --version >/dev/null 2>&1; then
    cargo clippy --workspace --all-targets -- -D warnings
fi

cargo test --workspace

# The main job, small: every record on disk, stats as the last line.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo run -q -p kakashi --example trading -- --records 5000 --threads 2 --workers 2 \
    --queue 1000 --batch 100 --strategy block --out "$tmp/trades.log" > "$tmp/out.txt"
lines=$(wc -l < "$tmp/trades.log")
last=$(tail -n 1 "$tmp/out.txt")
if [ "$lines" -ne 10000 ] || [[ "$last" != *'"messages_written":10000,'* ]]; then
    echo "main job smoke run failed: $lines lines; last line: $last" >&2
    exit 1
fi
echo "main job smoke run: 10000 records written, stats line ok"

# The Python package on the engine: build into .venv, then pytest.
bash scripts/python-env.sh
(cd crates/kakashi-py && ../../.venv/bin/python -m pytest -q -p no:cacheprovider tests)
# Again under CPython's debug allocator, which catches misuse of Python memory.
(cd crates/kakashi-py && PYTHONMALLOC=debug ../../.venv/bin/python -m pytest -q -p no:cacheprovider tests)
# The type stubs match the extension (names, signatures, classes).
.venv/bin/python -m mypy.stubtest kakashi._kakashi

# The same abi3 wheel on other CPythons, where this machine has them: 3.9
# runs the level methods' pre-3.10 path, 3.13 the newest interpreter.
wheels=$(mktemp -d)
trap 'rm -rf "$tmp" "$wheels"' EXIT
(cd crates/kakashi-py && ../../.venv/bin/maturin build -q -o "$wheels")
find_python() { # a working CPython $1 (3.9, ...), from pyenv or the system
    local p
    for p in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/python3 /usr/bin/python"$1" /usr/local/bin/python"$1"; do
        if [ -x "$p" ] && "$p" -c 'import venv, ensurepip' >/dev/null 2>&1; then
            echo "$p"
            return 0
        fi
    done
    return 1
}
for version in 3.9 3.13; do
    if py=$(find_python "$version"); then
        "$py" -m venv "$wheels/venv-$version"
        "$wheels/venv-$version/bin/python" -m pip install -q --disable-pip-version-check \
            "$wheels"/kakashi_rs-*.whl "pytest>=7" "pytest-timeout>=2"
        echo "pytest on $("$wheels/venv-$version/bin/python" --version)"
        (cd crates/kakashi-py && "$wheels/venv-$version/bin/python" -m pytest -q -p no:cacheprovider tests)
    else
        echo "(CPython $version not on this machine: skipped)"
    fi
done
