#!/usr/bin/env bash
# Set up (idempotent), build, and run WhaleID on photos: detect (when the pack
# has a detector) and embed each one, printing a JSON line per crop.
# Usage: scripts/run.sh [PHOTO_OR_FOLDER...]   (default: ../shared/data/happywhale-sample/images)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh >&2
# What an installed WhaleID finds beside its executable (src/install.rs),
# taken from the checkout: the ONNX Runtime set up by scripts/setup-ort.sh and
# the committed generic pack. Values already in the environment win.
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$root/.ort/lib/libonnxruntime.so}"
export WHALEID_GENERIC_PACK="${WHALEID_GENERIC_PACK:-$root/models/generic}"
cargo build --release --locked >&2
args=("$@")
((${#args[@]})) || args=("$root/../shared/data/happywhale-sample/images")
photos=()
for a in "${args[@]}"; do
    if [[ -d "$a" ]]; then
        while IFS= read -r -d '' f; do photos+=("$f"); done < <(find "$a" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' -o -iname '*.tif' -o -iname '*.tiff' -o -iname '*.webp' \) -print0 | sort -z)
    else
        photos+=("$a")
    fi
done
# Where cargo put the binary: CARGO_TARGET_DIR when set (relative to the
# repository root, as cargo reads it here), else target/.
exec "${CARGO_TARGET_DIR:-target}/release/whaleid" embed "${photos[@]}"
