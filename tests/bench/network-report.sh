#!/usr/bin/env bash
# The full bad-network matrix (tests/browser/bench/network-report.mjs):
# every scenario of tests/src/impair/scenario.rs, through Duet and as a
# direct call between the same two Chromium pages relayed by coturn behind
# the same impairment, judged against the goal and written to
# docs/network.md (the report section) with a plot per scenario in
# docs/network/. Not part of tests/run.sh (about 11 minutes); the normal
# run has the short subset (tests/browser/network.test.mjs).
#
#   ./tests/bench/network-report.sh                 # as root (network namespace, nft)
#   SCENARIOS=loss-5,rtt-300 ./tests/bench/network-report.sh
#   WRITE_DOCS=0 BENCH_JSON=/tmp/n.json ./tests/bench/network-report.sh
#
# Builds `duet` and `impair_relay` (debug, offline) unless DUET_BIN and
# IMPAIR_RELAY_BIN are given. Needs chromium, coturn and nftables (tests/run.sh
# installs them).
set -euo pipefail

cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export WRITE_DOCS="${WRITE_DOCS:-1}"

if [ -z "${DUET_BIN:-}" ]; then
    nice -n 19 cargo build --offline -p duet-server --bin duet
    export DUET_BIN="$CARGO_TARGET_DIR/debug/duet"
fi
if [ -z "${IMPAIR_RELAY_BIN:-}" ]; then
    nice -n 19 cargo build --offline -p duet-tests --bin impair_relay
    export IMPAIR_RELAY_BIN="$CARGO_TARGET_DIR/debug/impair_relay"
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
    (cd tests/browser && npm ci --no-audit --no-fund)
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "network-report.sh: run as root: it makes a network namespace and adds nft rules inside it" >&2
    exit 1
fi
unshare --net --mount -- sh -c 'ip link set lo up && exec node tests/browser/bench/network-report.mjs'
