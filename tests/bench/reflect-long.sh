#!/usr/bin/env bash
# Benchmark: the reflection page opening and playing a 60-minute recording,
# and its ~900-segment transcript (tests/browser/bench/reflect-long.mjs).
# Not part of tests/run.sh: it writes ~150 MB (in a temp data folder, removed
# after) and takes a few minutes.
#
#   ./tests/bench/reflect-long.sh            # as root (network namespace)
#   RUNS=3 MINUTES=30 BENCH_JSON=/tmp/r.json DUET_BIN=path ./tests/bench/reflect-long.sh
#   RATE=20mbit ./tests/bench/reflect-long.sh   # over a 20 Mbit/s link
#
# Builds `duet` and `long_recording` (debug, offline) unless DUET_BIN and
# LONG_RECORDING_BIN are given; the input media is made once with ffmpeg
# and kept in ~/.cache/duet-bench. The browser and the server only ever
# talk over loopback, in a namespace that has nothing else.
set -euo pipefail

cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

if [ -z "${DUET_BIN:-}" ]; then
    nice -n 19 cargo build --offline -p duet-server --bin duet
    export DUET_BIN="$CARGO_TARGET_DIR/debug/duet"
fi
if [ -z "${LONG_RECORDING_BIN:-}" ]; then
    nice -n 19 cargo build --offline -p duet-tests --bin long_recording
    export LONG_RECORDING_BIN="$CARGO_TARGET_DIR/debug/long_recording"
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
    (cd tests/browser && npm ci --no-audit --no-fund)
fi

# RATE (e.g. 20mbit) shapes loopback inside the namespace (a token bucket,
# queueing at most 100 ms), to see what a real link between server and
# browser costs. (No added delay: this kernel has no netem.)
shape='true'
if [ -n "${RATE:-}" ]; then
    shape="ip link set lo mtu 1500 && tc qdisc add dev lo root tbf rate $RATE burst 32kb latency 100ms"
fi
run="ip link set lo up && $shape && exec node tests/browser/bench/reflect-long.mjs"
if [ "$(id -u)" -eq 0 ]; then
    unshare --net --mount -- sh -c "$run"
else
    unshare --user --map-root-user --net --mount -- sh -c "$run"
fi
