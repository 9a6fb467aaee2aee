#!/usr/bin/env bash
# Instructions the media engine runs per forwarded packet: the in-process
# engine benchmark (server/benches/engine.rs) under callgrind, counting only
# inside the engine's calls. Run for two virtual lengths and subtracted, so
# call set-up (SDP, DTLS) drops out and only the steady state is left.
#
# Why: CPU time on this machine moves by a quarter from run to run, and
# there are no hardware counters here. An instruction count of the same
# simulated calls moves by about 0.1 %, so a change of 1 % shows. It counts
# work, not time: a memory stall or a cache miss costs nothing in it, so a
# change that moves data rather than instructions still needs the timed
# benchmarks.
#
#   ./tests/bench-instructions.sh                 # 8 and 64 calls
#   ./tests/bench-instructions.sh 8 64 150
#   ENGINE_BIN=/tmp/engine-before ./tests/bench-instructions.sh 8
#
# Needs valgrind. ENGINE_BIN is a built engine benchmark (by default this
# tree's: cargo bench -p duet-server --bench engine --no-run).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
if [ -z "${ENGINE_BIN:-}" ]; then
    ENGINE_BIN="$(cargo bench --locked -p duet-server --bench engine --no-run 2>&1 |
        sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)"
fi
[ -x "$ENGINE_BIN" ] || { echo "no engine benchmark at '$ENGINE_BIN'" >&2; exit 2; }
SHORT="${SHORT:-2}"
LONG="${LONG:-6}"

# Instructions run inside the engine's calls, for N calls over S virtual seconds.
count() {
    CALLS="$1" SECONDS="$2" valgrind --tool=callgrind --toggle-collect='*InProcessEngine*' \
        --callgrind-out-file=/dev/null "$ENGINE_BIN" 2>&1 >/dev/null |
        awk '/Collected :/ {print $4}'
}

echo "| calls | forwarded pkt/s | engine instructions per forwarded packet |"
echo "|---:|---:|---:|"
for calls in "${@:-8 64}"; do
    for n in $calls; do
        rate="$(CALLS="$n" SECONDS=1 "$ENGINE_BIN" 2>/dev/null |
            awk -F'|' -v n="$n" '$2 + 0 == n {print $3 + 0; exit}')"
        short="$(count "$n" "$SHORT")"
        long="$(count "$n" "$LONG")"
        awk -v n="$n" -v r="$rate" -v a="$short" -v z="$long" -v s="$((LONG - SHORT))" \
            'BEGIN {printf "| %d | %d | %.0f |\n", n, r, (z - a) / (r * s)}'
    done
done
