#!/usr/bin/env bash
# What a transcription running on the server costs the calls: the 64-call
# benchmark (tests/bench.sh) twice, first alone, then while `duet transcribe`
# transcribes a two-speaker recording over and over, at the priority the
# server's own transcription threads use (SCHED_IDLE). Prints both tables;
# loss must stay 0 and Duet's CPU per packet should barely move.
#
#   ./tests/bench-transcription.sh        # 64 calls
#   ./tests/bench-transcription.sh 32
#
# Needs espeak-ng, ffmpeg and the test model (tests/fixtures/whisper/fetch-model.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS="${1:-64}"
export CARGO_TARGET_DIR="${BENCH_TARGET_DIR:-$HOME/.cache/duet-release}"
cargo build --release --locked -p duet-server -p duet-tests --bins
duet="$CARGO_TARGET_DIR/release/duet"
model="${DUET_TEST_WHISPER_MODEL:-$(tests/fixtures/whisper/fetch-model.sh)}"

# A finished recording to transcribe: a session made by the CLI, and a
# recording folder with each speaker's 16 kHz WAV (espeak-ng), as the
# recorder leaves it.
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT
session="$("$duet" --data "$data" session create --title Bench --mentor Ada --mentee Grace \
    --recording allowed | awk '/^Session/ {print $2; exit}')"
python3 - "$data" "$session" <<'PY'
import json, os, sqlite3, subprocess, sys, tempfile, uuid
data, session = sys.argv[1], sys.argv[2]
rid = str(uuid.uuid4())
folder = os.path.join(data, "recordings", rid)
os.makedirs(folder)
lines = {
    "mentor": "Good morning. What did you find when you measured the deployment scripts? "
              "Please write it down for the whole team, and tell me what you would try next. ",
    "mentee": "Most of the time went into building the containers again. I cached the "
              "dependencies and now it takes four minutes instead of twenty. ",
}
for role, text in lines.items():
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "s.wav")
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", raw, text * 6], check=True)
        subprocess.run(["ffmpeg", "-v", "error", "-i", raw, "-ar", "16000", "-ac", "1",
                        "-c:a", "pcm_s16le", "-fflags", "+bitexact", "-flags:a", "+bitexact",
                        "-map_metadata", "-1", os.path.join(folder, f"{role}.wav")], check=True)
manifest = {
    "id": rid, "session": {"id": session, "title": "Bench"},
    "participants": [{"role": r, "name": n, "participant_id": str(uuid.uuid4())}
                     for r, n in (("mentor", "Ada"), ("mentee", "Grace"))],
    "notice_hash": "bench", "status": "complete", "started_at": "2026-12-05T00:00:00Z",
    "stopped_at": "2026-12-05T00:02:00Z", "tracks": [],
    "transcripts": [{"role": r, "file": f"{r}.wav", "talk_seconds": 0} for r in lines],
}
json.dump(manifest, open(os.path.join(folder, "manifest.json"), "w"))
db = sqlite3.connect(os.path.join(data, "duet.sqlite3"))
db.execute("INSERT INTO recordings (id, session_id, status, started_at_ms, stopped_at_ms) "
           "VALUES (?, ?, 'complete', 0, 120000)", (rid, session))
db.commit()
open(os.path.join(data, "recording-id"), "w").write(rid)
PY
rid="$(cat "$data/recording-id")"
# Once, to see it works (and how fast it is alone).
"$duet" --data "$data" --transcription-model "$model" transcribe "$rid"

echo "==> $CALLS calls, alone" >&2
OUT="${OUT:-$(mktemp -d /tmp/duet-bench-transcription.XXXXXX)}"
OUT="$OUT/alone" ./tests/bench.sh "$CALLS"
echo "==> $CALLS calls, while transcribing" >&2
BACKGROUND="while :; do '$duet' --data '$data' --transcription-model '$model' transcribe '$rid' || exit 1; done" \
    OUT="$OUT/transcribing" ./tests/bench.sh "$CALLS"
