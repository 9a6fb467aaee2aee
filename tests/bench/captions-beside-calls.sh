#!/usr/bin/env bash
# What live captions cost the calls (docs/benchmarks.md, "Live captions"):
# the 64-call benchmark (tests/bench.sh) twice, first alone, then while a
# captioned speaker talks on the same machine (tests/bench/captions.sh's
# call, in a loop: espeak-ng sentences, the caption thread at nice 10 as
# the server runs it). Prints both tables; loss must stay 0. Not part of
# tests/run.sh.
#
#   ./tests/bench/captions-beside-calls.sh        # 64 calls, tiny.en
#   MODEL=base ./tests/bench/captions-beside-calls.sh 32
set -euo pipefail
cd "$(dirname "$0")/../.."
CALLS="${1:-64}"
export CARGO_TARGET_DIR="${BENCH_TARGET_DIR:-$HOME/.cache/duet-release}"
cargo build --release --locked -p duet-server -p duet-tests --bins
export DUET_BIN="$CARGO_TARGET_DIR/release/duet"
CAPTIONS_MODEL="$(tests/fixtures/whisper/fetch-model.sh --model "${MODEL:-tiny.en}")"
export CAPTIONS_MODEL
bench="$CARGO_TARGET_DIR/release/duet_captions_bench"
OUT="${OUT:-$(mktemp -d /tmp/duet-bench-captions.XXXXXX)}"
# A window long enough that the speaker, whose first line needs the model
# loaded and a warm-up sentence, talks through most of it.
export DURATION="${DURATION:-30}" RAMP="${RAMP:-10}"

echo "==> $CALLS calls, alone" >&2
OUT="$OUT/alone" ./tests/bench.sh "$CALLS"
echo "==> $CALLS calls, beside a captioned speaker" >&2
# Its own Duet and peers in their own namespace; the loop keeps someone
# talking through the whole measured window.
# `exec`, so that stopping the background stops the talking peer itself.
BACKGROUND="while :; do SENTENCES=12 unshare --net -- sh -c 'ip link set lo up && exec \"$bench\"' >> '$OUT/captions.log' 2>&1 || exit 1; done" \
    OUT="$OUT/captioning" ./tests/bench.sh "$CALLS"
# Stopping the talking peer leaves its Duet behind (a child it could not
# stop); it is the only one started with a model.
pkill -f -- "$DUET_BIN .*--transcription-model" 2>/dev/null || true
echo "==> caption latency while the calls ran (ms, line):" >&2
cat "$OUT/captions.log" >&2
