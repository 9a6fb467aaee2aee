#!/usr/bin/env bash
# The benchmark: builds Duet and the load tool in release mode, then for each
# number of calls starts a fresh Duet, runs `duet-load` against it inside a
# loopback-only network namespace, and prints a Markdown table of the
# results (JSON per run under $OUT).
#
#   ./tests/bench.sh              # N = 1 8 32
#   ./tests/bench.sh 1 8 32 64    # choose N
#   DURATION=20 RAMP=10 ./tests/bench.sh 64
#   SHAPE=640x480 ./tests/bench.sh 1 8 32 64   # 640x480 30 fps instead of 320x240 15 fps
#   PEERS=light ./tests/bench.sh 64 128         # the load tool's cheap sans-IO peers (default webrtc)
#   IDLE=0 ./tests/bench.sh 64                  # skip the idle window (default 5 s, after the media)
#   PERF=1 ./tests/bench.sh 64                  # also a perf profile of Duet (calls-64.perf.data)
#   PERF=tool ./tests/bench.sh 64               # ... and of the load tool (calls-64.tool.perf.data)
#   PERF=stat ./tests/bench.sh 64               # system calls and wake-ups per packet instead
#                                               # (PERF_EVENTS=list, PERF_STAT_FLAGS=--per-thread)
#   DUET_BIN=a LOAD_BIN=b ./tests/bench.sh 64   # measure prebuilt binaries, build nothing
#   BACKGROUND='cmd' ./tests/bench.sh 64        # run cmd (outside the namespace) during each run
#                                               # (tests/bench-transcription.sh uses it)
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${BENCH_TARGET_DIR:-$HOME/.cache/duet-release}"
DURATION="${DURATION:-10}"
RAMP="${RAMP:-5}"
SHAPE="${SHAPE:-320x240}"
IDLE="${IDLE:-5}"
PEERS="${PEERS:-}"
OUT="${OUT:-$(mktemp -d /tmp/duet-bench.XXXXXX)}"
mkdir -p "$OUT"
[ "$#" -gt 0 ] || set -- 1 8 32

# DUET_BIN: another build of the server to measure (e.g. an older commit), same tool.
# LOAD_BIN too: both prebuilt, nothing is built (A/B runs while the tree changes).
if [ -z "${DUET_BIN:-}" ] || [ -z "${LOAD_BIN:-}" ]; then
    cargo build --release --locked -p duet-server -p duet-tests --bins
fi
duet="${DUET_BIN:-$CARGO_TARGET_DIR/release/duet}"
load="${LOAD_BIN:-$CARGO_TARGET_DIR/release/duet-load}"
# The help is read whole first: `grep -q` leaving early would fail the tool's second
# write (EPIPE), and with pipefail the check with it, at random.
help="$("$load" --help 2>/dev/null || true)"
# A load tool from before the idle window would refuse --idle: leave it out.
grep -q -- --idle <<<"$help" || IDLE=""
# Nor would one from before --peers: asking for light peers of it is an error.
if [ -n "$PEERS" ] && ! grep -q -- --peers <<<"$help"; then
    echo "bench.sh: $load has no --peers (PEERS=$PEERS)" >&2
    exit 2
fi

run_one() {
    local calls="$1" data key rc
    data="$(mktemp -d)"
    local background=""
    if [ -n "${BACKGROUND:-}" ]; then
        bash -c "$BACKGROUND" >"$OUT/background-$calls.log" 2>&1 &
        background=$!
    fi
    key="bench-key-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    # Server and peers share one namespace that has only loopback.
    unshare --net -- bash -c '
        ip link set lo up
        # Every peer connects from 127.0.0.1: lift the per-address WebSocket cap.
        DUET_API_KEY="$4" DUET_HTTP_MAX_WEBSOCKETS_PER_ADDRESS=100000 DUET_HTTP_MAX_CONNECTIONS=100000 \
            "$1" --data "$5" serve --listen 127.0.0.1:18088 --media-port 0 \
            --public-ip 127.0.0.1 --log-level warn >"$5/server.log" 2>&1 &
        pid=$!
        for _ in $(seq 100); do
            (exec 3<>/dev/tcp/127.0.0.1/18088) 2>/dev/null && break
            sleep 0.1
        done
        # UDP counters of the namespace (RcvbufErrors: datagrams dropped on a full
        # socket buffer), and per-socket drops (skmem d) late in the window, which tell
        # whether Duet (one socket) or the load tool (one socket per peer) dropped them.
        # Every delay below counts from the server'"'"'s start: the empty-server window
        # (as long as IDLE, $10) and the ramp-up ($7) come before the measured window.
        grep "^Udp:" /proc/net/snmp >"${8%.json}.udp-before.txt"
        (sleep "$(awk "BEGIN{print ${10:-0} + $7 + $6 * 0.8 + 3}")"; ss -uanmp >"${8%.json}.ss.txt" 2>&1) &
        # PERF=1: a CPU profile of Duet over the measurement window.
        if [ "${PERF:-}" = stat ]; then
            # PERF=stat: system calls and context switches (wake-ups) over the
            # middle half of the window, well inside it.
            (sleep "$(awk "BEGIN{print ${10:-0} + $7 + 4}")"
             perf stat -x, ${PERF_STAT_FLAGS:-} -e "${PERF_EVENTS:-raw_syscalls:sys_enter,context-switches,task-clock}" -p "$pid" \
                 -o "${8%.json}.perfstat.txt" -- sleep "$(awk "BEGIN{print $6 / 2}")" >/dev/null 2>&1) &
        elif [ -n "${PERF:-}" ]; then
            (sleep "$(awk "BEGIN{print ${10:-0} + $7 + 4}")"
             perf record -q -F 499 -e cpu-clock --call-graph dwarf,16384 -p "$pid" \
                 -o "${8%.json}.perf.data" -- sleep "$6" >/dev/null 2>&1) &
        fi
        "$2" --url http://127.0.0.1:18088 --api-key "$4" --calls "$3" \
            --duration "$6" --ramp-up "$7" --shape "$9" --server-pid "$pid" --json "$8" ${10:+--idle "${10}"} \
            ${11:+--peers "${11}"} &
        tool=$!
        # PERF=tool: the load tool'"'"'s profile too.
        if [ "${PERF:-}" = tool ]; then
            (sleep "$(awk "BEGIN{print ${10:-0} + $7 + 4}")"
             perf record -q -F 499 -e cpu-clock --call-graph dwarf,16384 -p "$tool" \
                 -o "${8%.json}.tool.perf.data" -- sleep "$6" >/dev/null 2>&1) &
        fi
        wait "$tool" || rc=$?
        grep "^Udp:" /proc/net/snmp >"${8%.json}.udp-after.txt"
        kill -TERM "$pid"; wait "$pid" || true
        exit "${rc:-0}"
    ' bash "$duet" "$load" "$calls" "$key" "$data" "$DURATION" "$RAMP" "$OUT/calls-$calls.json" "$SHAPE" \
        "$IDLE" "$PEERS" || rc=$?
    if [ -n "$background" ]; then
        pkill -TERM -P "$background" 2>/dev/null || true
        kill -TERM "$background" 2>/dev/null || true
        wait "$background" 2>/dev/null || true
    fi
    cp "$data/server.log" "$OUT/server-$calls.log" 2>/dev/null || true
    rm -rf "$data"
    return "${rc:-0}"
}

done_ns=()
for n in "$@"; do
    echo "==> $n calls ($SHAPE${PEERS:+, $PEERS peers})" >&2
    if ! run_one "$n" >&2; then
        echo "==> $n calls failed; stopping here (server log: $OUT/server-$n.log)" >&2
        break
    fi
    done_ns+=("$n")
done
[ "${#done_ns[@]}" -gt 0 ] || exit 1
set -- "${done_ns[@]}"

python3 - "$OUT" "$@" <<'PY'
import json, sys
out, ns = sys.argv[1], sys.argv[2:]
print("| calls | shape | peers | forwarded pkt/s | loss | Duet CPU µs/pkt | user µs/pkt | kernel µs/pkt | Duet CPU % | RSS MiB/call (anonymous) | idle % core/call (above empty) | added latency p50/p99 ms | join→video p50/p99 ms | tool CPU % |")
print("|---:|:---|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for n in ns:
    r = json.load(open(f"{out}/calls-{n}.json"))
    s = r.get("server") or {}
    j = r.get("join_to_first_video_ms") or {}
    t = r.get("tool") or {}
    l = r.get("added_latency_ms") or {}
    rss = s.get("rss_per_call_kib")
    # Absent from JSON before the split: nan.
    anon = s.get("anon_per_call_kib", float("nan"))
    # Absent from older JSON and from runs with IDLE=0: nan, not a misleading 0.
    idle = s.get("idle_percent_per_call")
    idle = float("nan") if idle is None else idle
    above = s.get("idle_percent_per_call_above_empty")
    above = float("nan") if above is None else above
    # JSON from before --peers: those runs were webrtc peers.
    print(f"| {n} | {r.get('shape', '?')} | {r.get('peers', 'webrtc')} | {r['forwarded_packets_per_s']:.0f} | {r['loss_ratio']*100:.3f} % "
          f"| {s.get('cpu_us_per_packet', float('nan')):.1f} "
          f"| {s.get('duet_user_us_per_packet', float('nan')):.1f} "
          f"| {s.get('duet_system_us_per_packet', float('nan')):.1f} "
          f"| {s.get('cpu_percent', float('nan')):.0f} "
          f"| {(rss or 0)/1024:.2f} ({anon/1024:.2f}) | {idle:.4f} ({above:.4f}) | {l.get('p50', 0):.2f} / {l.get('p99', 0):.2f} "
          f"| {j.get('p50', 0):.0f} / {j.get('p99', 0):.0f} "
          f"| {t.get('cpu_percent', float('nan')):.0f} |")
# PERF=stat: per forwarded packet, over the perf window (the same length as the
# measured one, started 4 s into it).
for n in ns:
    try:
        lines = open(f"{out}/calls-{n}.perfstat.txt").read().splitlines()
    except OSError:
        continue
    counts = {}
    for line in lines:
        f = line.split(",")
        if len(f) > 2 and f[0].replace(".", "").isdigit():
            counts[f[2]] = float(f[0])
    r = json.load(open(f"{out}/calls-{n}.json"))
    pkts = r["forwarded_packets_per_s"] * r["window_s"] / 2
    if pkts and counts:
        print(f"{n} calls: {counts.get('raw_syscalls:sys_enter', 0) / pkts:.3f} system calls and "
              f"{counts.get('context-switches', 0) / pkts:.3f} context switches per forwarded packet")
PY
echo "(JSON in $OUT)" >&2
