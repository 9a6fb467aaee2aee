#!/usr/bin/env bash
# The soak (not in CI): starts a fresh Duet and holds N calls against it for
# a given time inside a loopback-only network namespace, each call running
# recording cycles (request, both consent, record, one revokes) one after
# another, and reports Duet's RSS, open descriptors, threads (runtime
# workers and blocking pool), media-loop lag, the consent path's p99 times,
# revoke -> writer stopped, and whether every live-state gauge returned to
# its baseline afterwards. See duet_tests::soak.
#
#   ./tests/soak.sh                    # 4 calls for 60 s
#   ./tests/soak.sh 32 1800            # 32 calls for 30 minutes
#   RELEASE=1 ./tests/soak.sh 32 1800  # release build (for docs/benchmarks.md)
#   RECORD_FOR=10 PAUSE=5 SAMPLE_EVERY=10 RAMP=10 ./tests/soak.sh 8 600
#   NO_BUILD=1 RELEASE=1 ./tests/soak.sh 32 1800  # the binaries as last built
#
# Output: a summary on stdout; the JSON report (with the sample timeline) and
# Duet's log under $OUT. Exits non-zero when a cycle failed or something did
# not return to its baseline.
set -euo pipefail
cd "$(dirname "$0")/.."

CALLS="${1:-${CALLS:-4}}"
DURATION="${2:-${DURATION:-60}}"
RAMP="${RAMP:-5}"
RECORD_FOR="${RECORD_FOR:-5}"
PAUSE="${PAUSE:-2}"
SAMPLE_EVERY="${SAMPLE_EVERY:-5}"
SHAPE="${SHAPE:-320x240}"
OUT="${OUT:-$(mktemp -d /tmp/duet-soak.XXXXXX)}"
mkdir -p "$OUT"

if [ -n "${RELEASE:-}" ]; then
    export CARGO_TARGET_DIR="${SOAK_TARGET_DIR:-$HOME/.cache/duet-release}"
    [ -n "${NO_BUILD:-}" ] || cargo build --release --locked -p duet-server -p duet-tests --bins
    bin="$CARGO_TARGET_DIR/release"
else
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
    [ -n "${NO_BUILD:-}" ] || cargo build --locked -p duet-server -p duet-tests --bins
    bin="$CARGO_TARGET_DIR/debug"
fi
duet="${DUET_BIN:-$bin/duet}"
load="$bin/duet-load"

data="$(mktemp -d)"
key="soak-key-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "==> soak: $CALLS calls for $DURATION s ($SHAPE), recordings of $RECORD_FOR s every $PAUSE s; output in $OUT" >&2
rc=0
# Server and peers share one namespace that has only loopback.
unshare --net -- bash -c '
    ip link set lo up
    DUET_API_KEY="$4" "$1" --data "$5" serve --listen 127.0.0.1:18089 --media-port 0 \
        --public-ip 127.0.0.1 --log-level warn >"$5/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        (exec 3<>/dev/tcp/127.0.0.1/18089) 2>/dev/null && break
        sleep 0.1
    done
    "$2" --soak --url http://127.0.0.1:18089 --api-key "$4" --calls "$3" \
        --duration "$6" --ramp-up "$7" --shape "$8" --server-pid "$pid" --data-dir "$5" \
        --record-for "$9" --pause "${10}" --sample-every "${11}" --json "${12}/soak.json" || rc=$?
    kill -TERM "$pid"; wait "$pid" || true
    exit "${rc:-0}"
' bash "$duet" "$load" "$CALLS" "$key" "$data" "$DURATION" "$RAMP" "$SHAPE" \
    "$RECORD_FOR" "$PAUSE" "$SAMPLE_EVERY" "$OUT" || rc=$?
cp "$data/server.log" "$OUT/server.log" 2>/dev/null || true
rm -rf "$data"
echo "(JSON report and server log in $OUT)" >&2
exit "$rc"
