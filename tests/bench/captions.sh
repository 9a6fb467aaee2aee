#!/usr/bin/env bash
# Benchmark: live captions (docs/benchmarks.md, "Live captions"): the
# latency from the end of a sentence to its final caption, and the CPU a
# captioned speaker costs while talking and while silent, with tiny.en and
# base. One `duet` (release) and two Rust peers in a network namespace with
# only loopback. Not part of tests/run.sh.
#
#   ./tests/bench/captions.sh                  # as root
#   SENTENCES=20 MODELS="tiny.en" ./tests/bench/captions.sh
set -euo pipefail

cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
if [ -z "${DUET_BIN:-}" ]; then
    nice -n 19 cargo build --offline --release -p duet-server --bin duet
    export DUET_BIN="$CARGO_TARGET_DIR/release/duet"
fi
if [ -z "${CAPTIONS_BENCH_BIN:-}" ]; then
    nice -n 19 cargo build --offline --release -p duet-tests --bin duet_captions_bench
    CAPTIONS_BENCH_BIN="$CARGO_TARGET_DIR/release/duet_captions_bench"
fi
export CAPTIONS_BENCH_BIN
for model in ${MODELS:-tiny.en base}; do
    CAPTIONS_MODEL="$(tests/fixtures/whisper/fetch-model.sh --model "$model")"
    export CAPTIONS_MODEL
    unshare --net -- sh -c 'ip link set lo up && "$CAPTIONS_BENCH_BIN"'
done
