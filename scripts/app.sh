#!/usr/bin/env bash
# Set up (idempotent; builds the frontend when it changed), build and run
# WhaleID's desktop app. `scripts/app.sh --release` for an optimised build.
# Built with the same package selection (--workspace) as scripts/test.sh, so
# the two share one compiled Tauri.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh >&2
# What an installed WhaleID finds beside its executable (src/install.rs),
# taken from the checkout: the ONNX Runtime set up by scripts/setup-ort.sh and
# the committed generic pack. Values already in the environment win.
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$root/.ort/lib/libonnxruntime.so}"
export WHALEID_GENERIC_PACK="${WHALEID_GENERIC_PACK:-$root/models/generic}"
profile=debug
for arg in "$@"; do [[ $arg == --release ]] && profile=release; done
cargo build --workspace --locked "$@" >&2
exec "${CARGO_TARGET_DIR:-$root/target}/$profile/whaleid-app"
