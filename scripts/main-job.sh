#!/usr/bin/env bash
# The main job: 4 producer threads log 250,000 trades each through
# get_high_performance_logger (lossless `block`), then print the final stats
# as one JSON object on the last line. Extra arguments go to the program
# (--records --threads --workers --queue --batch --strategy --out).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release -q -p kakashi --example trading -- "$@"
