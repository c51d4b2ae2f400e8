#!/usr/bin/env bash
# Put the ONNX Runtime shared library into .ort/lib/, taken from the
# `onnxruntime` wheel on PyPI (pinned). Idempotent: does nothing when the
# library is already there. WhaleID loads it at run time (ort `load-dynamic`);
# nothing else is downloaded, at build or at run time.
set -euo pipefail
ORT_VERSION="${ORT_VERSION:-1.31.1}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lib_dir="$root/.ort/lib"
lib="$lib_dir/libonnxruntime.so.$ORT_VERSION"

if [[ -f "$lib" && -L "$lib_dir/libonnxruntime.so" ]]; then
    echo "ONNX Runtime $ORT_VERSION already in $lib_dir"
    exit 0
fi

python="${PYTHON:-python3}"
wheel_dir="$root/.ort/wheels"
mkdir -p "$wheel_dir" "$lib_dir"
if ! ls "$wheel_dir"/onnxruntime-"$ORT_VERSION"-*.whl >/dev/null 2>&1; then
    echo "Downloading the onnxruntime $ORT_VERSION wheel from PyPI..."
    "$python" -m pip download --quiet --no-deps --only-binary=:all: \
        --dest "$wheel_dir" "onnxruntime==$ORT_VERSION"
fi
wheel="$(ls "$wheel_dir"/onnxruntime-"$ORT_VERSION"-*.whl | head -n 1)"
"$python" - "$wheel" "$lib" <<'PY'
import shutil, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
name = "onnxruntime/capi/" + dest.rsplit("/", 1)[1]
with zipfile.ZipFile(wheel) as z, z.open(name) as src, open(dest + ".part", "wb") as out:
    shutil.copyfileobj(src, out)
PY
mv "$lib.part" "$lib"
ln -sfn "$(basename "$lib")" "$lib_dir/libonnxruntime.so"
echo "ONNX Runtime $ORT_VERSION installed in $lib_dir"
