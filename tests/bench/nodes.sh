#!/usr/bin/env bash
# Benchmark: what several nodes cost a join (docs/benchmarks.md, "Several
# nodes"): the placement statement, and a join answered by the node that
# holds its session against one piped to it through the other node. Two
# `duet` processes on a throwaway PostgreSQL (tests/postgres.sh), in a
# network namespace with only loopback. Not part of tests/run.sh.
#
#   ./tests/bench/nodes.sh                 # as root
#   RUNS=500 DUET_BIN=target/release/duet NODES_BENCH_BIN=… ./tests/bench/nodes.sh
set -euo pipefail

cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
if [ -z "${DUET_BIN:-}" ]; then
    nice -n 19 cargo build --offline --release -p duet-server --bin duet
    export DUET_BIN="$CARGO_TARGET_DIR/release/duet"
fi
if [ -z "${NODES_BENCH_BIN:-}" ]; then
    nice -n 19 cargo build --offline --release -p duet-tests --bin duet_nodes_bench
    NODES_BENCH_BIN="$CARGO_TARGET_DIR/release/duet_nodes_bench"
fi
tests/postgres.sh install
export NODES_BENCH_BIN
unshare --net --mount -- sh -c 'ip link set lo up && tests/postgres.sh run "$NODES_BENCH_BIN"'
