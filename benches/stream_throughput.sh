#!/usr/bin/env bash
# Runs the streaming benchmark (benches/stream/, release build) and prints its table.
# 10,000 idle streams need as many open files in the bench process (and in its server child): the
# soft limit is raised to the hard one. Python: HFKIT_TEST_PYTHON, else .venv/bin/python (made by
# `bash .ci/run`). Knobs: BENCH_ROUNDS (15), BENCH_IDLE_STREAMS (10000), BENCH_TTFT_SAMPLES (300),
# BENCH_ONLY=hfkit (hfkit's throughput row alone, for profiling).
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 10100 ]; then
    echo "note: open-file limit $(ulimit -n); 10,000 idle streams need about 10,050" >&2
fi
export HFKIT_TEST_PYTHON="${HFKIT_TEST_PYTHON:-$PWD/.venv/bin/python}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
exec cargo run --release --manifest-path benches/stream/Cargo.toml -- "$@"
