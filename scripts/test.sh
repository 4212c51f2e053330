#!/usr/bin/env bash
# Runs every test of the project: formatting and lints (when the toolchain has
# them), the Rust unit, doc and contract tests, a smoke run of the main job,
# then the Python package: builds it into .venv (maturin) and runs pytest.
# Needs a Rust toolchain and CPython 3 with venv; fetches crates from crates.io
# and maturin/pytest from PyPI. Ends by checking that the tests wrote nothing
# into the repository (but .venv, target and the built extension) and left
# /var/log/app.log alone. KAKASHI_FULL=1 runs the contract tests at full size.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
wheels=$(mktemp -d)
trap 'rm -rf "$tmp" "$wheels"' EXIT

# What the tests must not touch, as it is before they run: a stamp to find
# files created or modified after it, the tracked files' status, and
# production's default log file.
touch "$tmp/stamp"
git_status() { git status --porcelain --untracked-files=no 2>/dev/null || true; }
git_status > "$tmp/status-before"
var_log_app() { stat -c '%s %Y %Z %i' /var/log/app.log 2>/dev/null || echo absent; }
var_log_app > "$tmp/var-log-before"

if ! command -v cargo >/dev/null 2>&1; then
    echo "test.sh: cargo not found; install a Rust toolchain (rustup) first" >&2
    exit 1
fi

if cargo fmt --version >/dev/null 2>&1; then
    cargo fmt --all -- --check
fi
if cargo clippy --version >/dev/null 2>&1; then
    # The default features, then every optional one (`config`, `log`,
    # `tracing`): code behind a feature must be clean both ways.
    cargo clippy --workspace --all-targets -- -D warnings
    cargo clippy --workspace --all-targets --all-features -- -D warnings
fi
# The docs: the public API as users read it, then every item as a
# maintainer does; a broken link fails either.
RUSTDOCFLAGS="-D warnings" cargo doc -q --workspace --no-deps --all-features
RUSTDOCFLAGS="-D warnings" cargo doc -q --workspace --no-deps --all-features --document-private-items

# Every feature on (configuration from data, the `log` and `tracing`
# bridges and their doc examples), in one build.
cargo test --workspace --all-features
# The extension's own unit tests (its crate is tested from Python, so
# `--workspace` leaves it out).
cargo test -p kakashi-py --lib

# Miri checks the crate's unsafe code (the queue's ring, the workers'
# fork cells, the JSON writer's spare-capacity writes, `Text`'s parts, the
# fields moved into a record's inline room) for undefined behaviour and
# data races, where the toolchain has it (it needs nightly).
if cargo +nightly miri --version >/dev/null 2>&1; then
    cargo +nightly miri test -p kakashi --lib --features log -- backend::ring fork_cell pipeline::format record::text record::fields record::thread
else
    echo "test.sh: Miri is not installed (rustup +nightly component add miri): the unsafe code's Miri checks are skipped"
fi

# The main job, small: every record on disk, stats as the last line.
cargo run -q -p kakashi --all-features --example trading -- --records 5000 --threads 2 --workers 2 \
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
# The contract tests again under CPython's debug allocator, which catches
# misuse of Python memory.
(cd crates/kakashi-py && PYTHONMALLOC=debug ../../.venv/bin/python -m pytest -q -p no:cacheprovider tests/test_contract.py)
# The type stubs match the extension (names, signatures, classes); run from
# the temporary directory, where mypy puts its cache.
repo=$PWD
(cd "$tmp" && "$repo/.venv/bin/python" -m mypy.stubtest kakashi._kakashi)

# The same abi3 wheel on other CPythons, where this machine has them: 3.9
# runs the level methods' pre-3.10 path, 3.13 the newest interpreter.
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
            "$wheels"/kakashi_rs-*.whl "pytest>=7" "pytest-timeout>=2" \
            -r scripts/test-requirements.txt
        echo "pytest on $("$wheels/venv-$version/bin/python" --version)"
        # Every file but those whose behaviour is the engine's alone (file
        # rotation and compression, memory bounds), which 3.11 has run.
        (cd crates/kakashi-py && "$wheels/venv-$version/bin/python" -m pytest -q -p no:cacheprovider tests \
            --ignore=tests/test_managed_files.py --ignore=tests/test_resources.py)
    else
        echo "(CPython $version not on this machine: skipped)"
    fi
done

# The tests wrote only into temporary directories: nothing in the repository
# is new or changed but the build's own output (.venv, the Cargo target
# directory, the extension maturin puts in the package, bytecode caches), and
# /var/log/app.log is as it was.
target_dir=${CARGO_TARGET_DIR:-target}
target_dir=${target_dir#"$PWD"/}
written=$(find . \( -path ./.git -o -path ./.venv -o -path ./target -o -path "./${target_dir#./}" \
        -o -name __pycache__ \) -prune -o -newer "$tmp/stamp" \( -type f -o -type l \) \
        ! -path './crates/kakashi-py/python/kakashi/_kakashi.*' -print | sort)
git_status > "$tmp/status-after"
var_log_app > "$tmp/var-log-after"
clean=1
if [ -n "$written" ]; then
    echo "test.sh: the test run created or modified files in the repository:" >&2
    echo "$written" >&2
    clean=0
fi
if ! diff -u "$tmp/status-before" "$tmp/status-after" >&2; then
    echo "test.sh: the test run changed tracked files (git status above)" >&2
    clean=0
fi
if ! cmp -s "$tmp/var-log-before" "$tmp/var-log-after"; then
    echo "test.sh: /var/log/app.log changed during the test run (size mtime ctime inode: $(cat "$tmp/var-log-before") -> $(cat "$tmp/var-log-after")); its last lines:" >&2
    tail -n 3 /var/log/app.log >&2 || true
    clean=0
fi
[ "$clean" = 1 ] || exit 1
echo "nothing written outside temporary directories"
