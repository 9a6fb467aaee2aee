#!/usr/bin/env bash
# Runs Duet from source on a fresh Debian machine: installs the few build
# tools it needs when they are missing (cmake and a C++ compiler build the
# bundled libopus and whisper.cpp, for transcripts), then builds and starts
# the server. Arguments go to
# `duet serve`, e.g. ./run.sh --listen 0.0.0.0:8080 --public-ip 203.0.113.7
set -euo pipefail
cd "$(dirname "$0")"

missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v cc >/dev/null || missing+=(build-essential)
command -v c++ >/dev/null || missing+=(g++)
command -v pkg-config >/dev/null || missing+=(pkg-config)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> installing ${missing[*]}"
    if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}"
fi

exec cargo run --release --locked -- serve "$@"
