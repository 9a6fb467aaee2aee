#!/usr/bin/env bash
# The benchmark: builds Duet and the load tool in release mode, then for each
# number of calls starts a fresh Duet, runs `duet-load` against it inside a
# loopback-only network namespace, and prints a Markdown table of the
# results (JSON per run under $OUT).
#
#   ./tests/bench.sh              # N = 1 8 32
#   ./tests/bench.sh 1 8 32 64    # choose N
#   DURATION=20 RAMP=10 ./tests/bench.sh 64
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${BENCH_TARGET_DIR:-$HOME/.cache/duet-release}"
DURATION="${DURATION:-10}"
RAMP="${RAMP:-5}"
OUT="${OUT:-$(mktemp -d /tmp/duet-bench.XXXXXX)}"
mkdir -p "$OUT"
[ "$#" -gt 0 ] || set -- 1 8 32

cargo build --release --locked -p duet-server -p duet-tests --bins
duet="$CARGO_TARGET_DIR/release/duet"
load="$CARGO_TARGET_DIR/release/duet-load"

run_one() {
    local calls="$1" data key
    data="$(mktemp -d)"
    key="bench-key-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    # Server and peers share one namespace that has only loopback.
    unshare --net -- bash -c '
        ip link set lo up
        DUET_API_KEY="$4" "$1" --data "$5" serve --listen 127.0.0.1:18088 --media-port 0 \
            --public-ip 127.0.0.1 --log-level warn >"$5/server.log" 2>&1 &
        pid=$!
        for _ in $(seq 100); do
            (exec 3<>/dev/tcp/127.0.0.1/18088) 2>/dev/null && break
            sleep 0.1
        done
        "$2" --url http://127.0.0.1:18088 --api-key "$4" --calls "$3" \
            --duration "$6" --ramp-up "$7" --server-pid "$pid" --json "$8"
        kill -TERM "$pid"; wait "$pid" || true
    ' bash "$duet" "$load" "$calls" "$key" "$data" "$DURATION" "$RAMP" "$OUT/calls-$calls.json"
    rm -rf "$data"
}

for n in "$@"; do
    echo "==> $n calls" >&2
    run_one "$n" >&2
done

python3 - "$OUT" "$@" <<'PY'
import json, sys
out, ns = sys.argv[1], sys.argv[2:]
print("| calls | forwarded pkt/s | loss | Duet CPU µs/pkt | Duet CPU % | RSS MiB/call | join→video p50/p99 ms | tool CPU % |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for n in ns:
    r = json.load(open(f"{out}/calls-{n}.json"))
    s = r.get("server") or {}
    j = r.get("join_to_first_video_ms") or {}
    t = r.get("tool") or {}
    rss = s.get("rss_per_call_kib")
    print(f"| {n} | {r['forwarded_packets_per_s']:.0f} | {r['loss_ratio']*100:.3f} % "
          f"| {s.get('cpu_us_per_packet', float('nan')):.1f} | {s.get('cpu_percent', float('nan')):.0f} "
          f"| {(rss or 0)/1024:.2f} | {j.get('p50', 0):.0f} / {j.get('p99', 0):.0f} "
          f"| {t.get('cpu_percent', float('nan')):.0f} |")
PY
echo "(JSON in $OUT)" >&2
