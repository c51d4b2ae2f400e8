#!/usr/bin/env bash
# Set up (idempotent), build, and run WhaleID on photos: detect (when the pack
# has a detector) and embed each one, printing a JSON line per crop.
# Usage: scripts/run.sh [PHOTO_OR_FOLDER...]   (default: ../shared/data/happywhale-sample/images)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh >&2
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
