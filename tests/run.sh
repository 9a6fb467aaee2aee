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

# Debian packages: cmake builds the bundled libopus used by the test peers;
# iproute2 and util-linux give `ip` and `unshare` for the namespace.
missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v ip >/dev/null || missing+=(iproute2)
command -v unshare >/dev/null || missing+=(util-linux)
command -v cc >/dev/null || missing+=(build-essential)
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

echo "==> cargo test (in a loopback-only network namespace)"
test_cmd='ip link set lo up && exec cargo test --workspace --offline --locked "$@"'
if [ "$(id -u)" -eq 0 ]; then
    unshare --net -- sh -c "$test_cmd" sh "$@"
else
    unshare --user --map-root-user --net -- sh -c "$test_cmd" sh "$@"
fi
