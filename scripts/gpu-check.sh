#!/usr/bin/env bash
# WhaleID on an NVIDIA GPU, checked end to end in one run (issue 17); CI
# never runs it. It prints ONE table and exits non-zero when a check fails.
#
#   scripts/gpu-check.sh [--dry-run] [--photos DIR]
#
# Steps (each one row of the table):
#   1. the GPU (nvidia-smi) and the disk;
#   2. ONNX Runtime's GPU build from PyPI, `onnxruntime-gpu` at the version
#      scripts/setup-ort.sh pins for the CPU build, with the CUDA and cuDNN
#      runtime wheels its metadata asks for (`[cuda,cudnn]` extras, plus
#      nvidia-cublas, which the CUDA provider loads but the extras omit),
#      into a folder of its own ($GPU_CHECK_DIR, default /var/tmp/whaleid-gpu;
#      a few GB), nothing from elsewhere; then which of the CUDA provider's
#      libraries do not resolve (`ldd`);
#   3. the CLI and the benches in release, and the training bench with
#      `train-cuda` when a CUDA toolkit (nvcc) is there, else "skipped";
#   4. `whaleid doctor --device cuda` on the GPU build: must say `ran on: CUDA`;
#   5. parity: `whaleid embed --whole --full` of the same photos on the CPU
#      and on CUDA, for the generic pack and a random-weight ensemble
#      (three timm families made by export_happywhale.py --random-init-demo
#      when a Python with torch, timm and onnx is there, else the tiny
#      test pack's two-backbone ensemble), with CUDA's TF32 on (ONNX
#      Runtime's default) and off (WHALEID_CUDA_TF32=0): max abs difference
#      and min cosine of the L2-normalised embeddings;
#   6. the ingest bench (benches/ingest.rs) on the photos with --device cuda:
#      photos/s end to end, the ORT-alone ceiling, peak GPU memory
#      (nvidia-smi, sampled), and decode versus inference per photo;
#   7. the training bench (benches/train.rs) at 10k and 50k cached vectors,
#      --gpu against the CPU, seconds per epoch.
#
# --dry-run (automatic when `nvidia-smi` finds no GPU) runs every step that
# needs no GPU, on the CPU: the real install, the build, doctor --device cpu
# on the GPU build (and --device cuda, which must then FAIL clearly), parity
# of the GPU build's CPU path against the CPU build, a short ingest bench
# and the 10k training bench on the CPU; GPU rows say "not run (no GPU)".
# Its figures are no performance claims.
#
# Where cargo is missing (a GPU machine without Rust), binaries built
# elsewhere are taken from $GPU_CHECK_DIR/bin (whaleid, bench-ingest,
# bench-train, bench-train-cuda; stripped, about 35 MB), as the build step
# leaves them. Where PyPI cannot be reached, GPU_CHECK_WHEELS=DIR installs
# the wheels in DIR as they are (pip --no-index --no-deps: at least
# onnxruntime-gpu for that machine's Python), and the CUDA libraries are
# also looked for in the system Python's nvidia-* packages; the ldd row
# says whether they are all there.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
ORT_VERSION="${ORT_VERSION:-$(sed -n 's/^ORT_VERSION="${ORT_VERSION:-\([0-9.]*\)}"$/\1/p' scripts/setup-ort.sh)}"
dir="${GPU_CHECK_DIR:-/var/tmp/whaleid-gpu}"
photos="${GPU_CHECK_PHOTOS:-$root/../shared/data/happywhale-sample/images}"
python="${PYTHON:-python3}"
tools_python="${GPU_CHECK_TOOLS_PYTHON:-python3}"
dry=0
while (($#)); do
    case "$1" in
        --dry-run) dry=1 ;;
        --photos) photos="$2"; shift ;;
        -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "gpu-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
gpu_name=""
if command -v nvidia-smi >/dev/null && gpu_name="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)" && [[ -n $gpu_name ]]; then
    :
else
    gpu_name=""
    dry=1
fi
logs="$dir/logs"
bin="$dir/bin"
mkdir -p "$logs" "$bin"
started=$SECONDS
rows=()
failed=0
# row CHECK RESULT STATUS: STATUS is ok, FAIL..., skipped... or "not run (no GPU)".
row() {
    rows+=("| $1 | $2 | $3 |")
    [[ $3 == FAIL* ]] && failed=1
    echo "gpu-check: $1: $3 ($2)" >&2
}
no_gpu() { row "$1" "–" "not run (no GPU)"; }
# The last line of a log matching a pattern, for the table.
pick() { grep -E "$1" "$2" 2>/dev/null | tail -n 1; }
# The last line of a log that says something.
last() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1; }

# 1. GPU and disk ------------------------------------------------------------
if ((dry)) && [[ -z $gpu_name ]]; then
    row "GPU" "nvidia-smi: none found" "not run (no GPU): dry run on the CPU"
elif ((dry)); then
    row "GPU" "$gpu_name" "skipped: --dry-run"
else
    row "GPU" "$gpu_name" "ok"
fi
free_gb=$(df -Pk "$(dirname "$dir")" | awk 'NR==2 {printf "%.0f", $4 / 1048576}')
if [[ -x $dir/venv/bin/python || $free_gb -ge 6 ]]; then
    row "disk for $dir" "${free_gb} GB free" "ok"
else
    row "disk for $dir" "${free_gb} GB free, the wheels need ~6 GB" "FAIL: set GPU_CHECK_DIR to a larger disk"
fi

n_photos=$(find "$photos" -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) 2>/dev/null | wc -l)
if ((n_photos > 0)); then
    row "photos" "$n_photos in $photos" "ok"
else
    row "photos" "none in $photos (give --photos DIR)" "FAIL"
fi

# 2. onnxruntime-gpu and the CUDA/cuDNN wheels ---------------------------------
venv="$dir/venv"
py="$venv/bin/python"
installed() {
    "$py" -c 'import sys, importlib.metadata as md; assert md.version("onnxruntime-gpu") == sys.argv[1]' "$ORT_VERSION" 2>/dev/null
}
if ! installed; then
    [[ -x $py ]] || "$python" -m venv --system-site-packages "$venv" >"$logs/install.log" 2>&1
    if [[ -n ${GPU_CHECK_WHEELS:-} ]]; then
        # Offline: the wheels given, as they are (the CUDA libraries may
        # come from the system Python instead, found below).
        "$py" -m pip install --disable-pip-version-check --no-index --no-deps "$GPU_CHECK_WHEELS"/*.whl >>"$logs/install.log" 2>&1
    else
        "$py" -m pip install --disable-pip-version-check --only-binary=:all: \
            "onnxruntime-gpu[cuda,cudnn]==$ORT_VERSION" "nvidia-cublas~=13.0" >>"$logs/install.log" 2>&1
    fi
fi
site="$("$py" -c 'import onnxruntime, os; print(os.path.dirname(os.path.dirname(onnxruntime.__file__)))' 2>/dev/null)"
gpu_ort="$site/onnxruntime/capi/libonnxruntime.so.$ORT_VERSION"
if installed && [[ -f $gpu_ort ]]; then
    wants="$("$py" -c 'import importlib.metadata as md; print(", ".join(sorted(r.split(";")[0].replace(" ", "") for r in md.requires("onnxruntime-gpu") if "extra ==" in r and "nvidia" in r)))')"
    [[ -n ${GPU_CHECK_WHEELS:-} ]] && wants="$wants (offline: from $GPU_CHECK_WHEELS and the system Python)"
    row "onnxruntime-gpu $ORT_VERSION from PyPI" "$(du -sh "$venv" | cut -f1) in $venv; its CUDA wheels: $wants, + nvidia-cublas" "ok"
else
    row "onnxruntime-gpu $ORT_VERSION from PyPI" "see $logs/install.log" "FAIL: not installed"
fi
# The CUDA libraries, wherever pip put them: nvidia/*/lib in the venv, else
# in the system Python's packages (a GPU machine's PyTorch brings them);
# then ONNX Runtime's own folder.
nvidia_libs() {
    "$1" - <<'PY' 2>/dev/null
import glob, os, sys
for p in sys.path:
    for d in sorted(glob.glob(os.path.join(p, "nvidia", "*", "lib"))):
        print(d)
PY
}
cuda_libs="$({ nvidia_libs "$py"; nvidia_libs "$python"; } | awk '!seen[$0]++' | paste -sd: -)"
export LD_LIBRARY_PATH="${cuda_libs}:$site/onnxruntime/capi${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [[ -f $site/onnxruntime/capi/libonnxruntime_providers_cuda.so ]]; then
    missing="$(ldd "$site/onnxruntime/capi/libonnxruntime_providers_cuda.so" | awk '/not found/ {print $1}' | sort -u | tr '\n' ' ')"
    if [[ -z $missing ]]; then
        row "CUDA provider's libraries resolve" "ldd: all found" "ok"
    elif ((dry)) && [[ $missing == "libcuda.so.1 " ]]; then
        # libcuda.so.1 is the driver's, installed with the GPU, never a wheel.
        row "CUDA provider's libraries resolve" "all but libcuda.so.1 (the driver's)" "ok (no driver here)"
    else
        row "CUDA provider's libraries resolve" "missing: $missing" "FAIL"
    fi
else
    row "CUDA provider's libraries resolve" "no libonnxruntime_providers_cuda.so" "FAIL"
fi

# 3. Build -----------------------------------------------------------------------
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/whaleid-ci-target}"
# The bench executables cargo built, by name, copied into $bin.
bench_exes() {
    "$py" -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "bench" in m["target"]["kind"]:
        print(m["target"]["name"], m["executable"])'
}
if command -v cargo >/dev/null; then
    t=$SECONDS
    if cargo build --release --locked --bin whaleid >"$logs/build.log" 2>&1 &&
        cp "$CARGO_TARGET_DIR/release/whaleid" "$bin/whaleid" &&
        cargo bench --locked --no-run --bench ingest --bench train --message-format=json 2>>"$logs/build.log" |
        bench_exes | while read -r name exe; do cp "$exe" "$bin/bench-$name"; done &&
        [[ -x $bin/bench-ingest && -x $bin/bench-train ]]; then
        # Stripped, the three travel light to a GPU machine without cargo.
        command -v strip >/dev/null && strip "$bin/whaleid" "$bin/bench-ingest" "$bin/bench-train"
        row "build: whaleid + benches (release)" "$((SECONDS - t)) s; $(du -h "$bin/whaleid" | cut -f1) whaleid" "ok"
    else
        row "build: whaleid + benches (release)" "see $logs/build.log" "FAIL"
    fi
    nvcc="$(command -v nvcc || ls "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" 2>/dev/null || true)"
    if [[ -n $nvcc ]]; then
        t=$SECONDS
        if cargo bench --locked --no-run --features train-cuda --bench train --message-format=json 2>"$logs/build-train-cuda.log" |
            bench_exes | while read -r name exe; do cp "$exe" "$bin/bench-$name-cuda"; done &&
            [[ -x $bin/bench-train-cuda ]]; then
            row "build: trainer with train-cuda" "$($nvcc --version | tail -n 2 | head -n 1); $((SECONDS - t)) s" "ok"
        else
            row "build: trainer with train-cuda" "see $logs/build-train-cuda.log" "FAIL"
        fi
    else
        row "build: trainer with train-cuda" "no nvcc on PATH or in \$CUDA_HOME" "skipped: no CUDA toolkit"
    fi
elif [[ -x $bin/whaleid ]]; then
    row "build" "no cargo: binaries from $bin" "skipped: prebuilt"
else
    row "build" "no cargo and nothing in $bin" "FAIL"
fi
whaleid="$bin/whaleid"
gpu() { ORT_DYLIB_PATH="$gpu_ort" "$@"; }

# 4. doctor --------------------------------------------------------------------------
generic="$root/models/generic"
if ((dry)); then
    gpu "$whaleid" doctor --pack "$generic" --device cpu >"$logs/doctor-cpu.log" 2>&1
    if grep -q "^providers in the library: .*cuda" "$logs/doctor-cpu.log" && grep -qx "ran on: CPU" "$logs/doctor-cpu.log"; then
        row "doctor --device cpu, GPU build" "$(pick '^providers in the library' "$logs/doctor-cpu.log"); ran on: CPU" "ok"
    else
        row "doctor --device cpu, GPU build" "see $logs/doctor-cpu.log" "FAIL"
    fi
    # No GPU: a CUDA request must fail, saying why, never run on the CPU.
    if gpu "$whaleid" doctor --pack "$generic" --device cuda >"$logs/doctor-cuda.log" 2>&1; then
        row "doctor --device cuda without a GPU" "it ran: $(pick '^ran on' "$logs/doctor-cuda.log")" "FAIL: must refuse"
    else
        row "doctor --device cuda without a GPU" "refused: $(pick 'requested' "$logs/doctor-cuda.log" | grep -o 'with error: [^:]*' | head -n 1)" "ok"
    fi
    gpu "$whaleid" doctor --pack "$generic" --device auto >"$logs/doctor-auto.log" 2>&1
    if grep -q "^ran on: CPU (CUDA not available: " "$logs/doctor-auto.log"; then
        row "doctor --device auto without a GPU" "ran on: CPU (CUDA not available: …)" "ok"
    else
        row "doctor --device auto without a GPU" "see $logs/doctor-auto.log" "FAIL"
    fi
else
    if gpu "$whaleid" doctor --pack "$generic" --device cuda >"$logs/doctor-cuda.log" 2>&1 &&
        grep -q "^ran on: CUDA" "$logs/doctor-cuda.log"; then
        row "doctor --device cuda" "$(pick '^ran on' "$logs/doctor-cuda.log")" "ok"
    else
        row "doctor --device cuda" "$(last "$logs/doctor-cuda.log")" "FAIL"
    fi
fi

# 5. Parity ---------------------------------------------------------------------------
sample="$dir/sample"
rm -rf "$sample" && mkdir -p "$sample"
n_parity=$((dry ? 8 : 32))
find "$photos" -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) | sort | head -n "$n_parity" |
    while read -r f; do ln -s "$f" "$sample/"; done
ensemble="$root/tests/packs/tiny"
ensemble_name="tiny test ensemble (2 backbones)"
if "$tools_python" -c 'import torch, timm, onnx, safetensors' 2>/dev/null; then
    if [[ ! -f $dir/random-init/ensemble/pack.toml ]]; then
        (cd "$root/models/tools" && "$tools_python" export_happywhale.py --random-init-demo "$dir/random-init") >"$logs/random-init.log" 2>&1
    fi
    if [[ -f $dir/random-init/ensemble/pack.toml ]]; then
        ensemble="$dir/random-init/ensemble"
        ensemble_name="random-weight ensemble (effnet-b0, effnetv2-b0, nfnet-l0)"
    else
        row "random-weight ensemble" "see $logs/random-init.log" "FAIL: export failed"
    fi
else
    row "random-weight timm ensemble" "no torch/timm/onnx in $tools_python: the tiny test ensemble instead" "skipped"
fi
# embed LIB DEVICE PACK OUT [ENV...]: the embeddings as JSON lines.
embed() {
    local lib=$1 device=$2 pack=$3 out=$4
    shift 4
    env "$@" ORT_DYLIB_PATH="$lib" "$whaleid" embed "$sample"/* --pack "$pack" --whole --full --device "$device" >"$out" 2>"$out.err"
}
# compare A B TOLERANCE: "max abs D, min cosine C, N vectors"; fails above TOLERANCE.
compare() {
    "$py" - "$@" <<'PY'
import json, sys
import numpy as np
def load(path):
    rows = {}
    for line in open(path):
        v = json.loads(line)
        if "embedding" in v:
            rows[v["file"]] = np.asarray(v["embedding"], dtype=np.float64)
    return rows
a, b = load(sys.argv[1]), load(sys.argv[2])
tol = float(sys.argv[3])
if not a or a.keys() != b.keys():
    print(f"different photos embedded: {len(a)} vs {len(b)}")
    sys.exit(1)
diff = max(float(np.max(np.abs(a[k] - b[k]))) for k in a)
cos = min(float(a[k] @ b[k] / (np.linalg.norm(a[k]) * np.linalg.norm(b[k]))) for k in a)
print(f"max abs {diff:.2e}, min cosine {cos:.6f}, {len(a)} vectors (limit {tol:g})")
sys.exit(0 if diff <= tol else 1)
PY
}
cpu_ort="$root/.ort/lib/libonnxruntime.so"
[[ -f $cpu_ort ]] || cpu_ort="$gpu_ort"
for spec in "generic pack|$generic" "$ensemble_name|$ensemble"; do
    name="${spec%%|*}" pack="${spec#*|}" tag="$(basename "$pack")"
    ref="$logs/embed-$tag-cpu.jsonl"
    if ! embed "$cpu_ort" cpu "$pack" "$ref"; then
        row "parity $name" "CPU embed failed: $(last "$ref.err")" "FAIL"
        continue
    fi
    if ((dry)); then
        # The GPU build's CPU path against the CPU build: same maths.
        out="$logs/embed-$tag-gpubuild-cpu.jsonl"
        if embed "$gpu_ort" cpu "$pack" "$out"; then
            figure="$(compare "$ref" "$out" 1e-5)" && status=ok || status=FAIL
            row "parity $name: CPU build vs GPU build on the CPU" "$figure" "$status"
        else
            row "parity $name: CPU build vs GPU build on the CPU" "$(last "$out.err")" "FAIL"
        fi
        no_gpu "parity $name: CPU vs CUDA (TF32 on, off)"
        continue
    fi
    for tf32 in 1 0; do
        out="$logs/embed-$tag-cuda-tf32-$tf32.jsonl"
        tol=$([[ $tf32 == 1 ]] && echo 2e-3 || echo 1e-4)
        if embed "$gpu_ort" cuda "$pack" "$out" WHALEID_CUDA_TF32="$tf32"; then
            figure="$(compare "$ref" "$out" "$tol")" && status=ok || status=FAIL
            row "parity $name: CPU vs CUDA, TF32 $([[ $tf32 == 1 ]] && echo on || echo off)" "$figure" "$status"
        else
            row "parity $name: CPU vs CUDA, TF32 $([[ $tf32 == 1 ]] && echo on || echo off)" "$(last "$out.err")" "FAIL"
        fi
    done
done

# 6. Ingest bench -------------------------------------------------------------------
# bench_row LABEL LOG: photos/s, ceiling, decode vs inference per photo.
bench_row() {
    local e2e ceiling decode ran
    e2e="$(pick '^\| WhaleID ingest end to end' "$2" | awk -F'|' '{gsub(/ /, "", $3); print $3}')"
    ceiling="$(pick '^\| ORT inference alone' "$2" | awk -F'|' '{gsub(/ /, "", $3); print $3}')"
    decode="$(pick '^\| decode' "$2" | awk -F'|' '{gsub(/ /, "", $3); print $3}')"
    ran="$(pick '^ran on:' "$2")"
    if awk -v e="$e2e" -v c="$ceiling" -v d="$decode" 'BEGIN {exit !(e > 0 && c > 0 && d > 0)}'; then
        local share
        share="$(awk -v d="$decode" -v c="$ceiling" 'BEGIN {i = 1000 / c; printf "decode %.1f ms/photo (one thread) vs inference %.1f ms/photo (%.0f%% / %.0f%%)", d, i, 100 * d / (d + i), 100 * i / (d + i)}')"
        row "$1" "$e2e photos/s end to end; ORT alone $ceiling photos/s; $share; ${3:-}$ran" "ok"
    else
        row "$1" "see $2" "FAIL"
    fi
}
if ((dry)); then
    bench_photos="$dir/bench-photos"
    rm -rf "$bench_photos" && mkdir -p "$bench_photos"
    find "$photos" -maxdepth 1 -type f -iname '*.jpg' | sort | head -n 24 | while read -r f; do ln -s "$f" "$bench_photos/"; done
    ORT_DYLIB_PATH="$cpu_ort" "$bin/bench-ingest" "$bench_photos" --pack "$generic" --device cpu --bench >"$logs/bench-ingest-cpu.log" 2>&1
    bench_row "ingest bench, CPU, $(ls "$bench_photos" | wc -l) photos" "$logs/bench-ingest-cpu.log"
    no_gpu "ingest bench, CUDA, $n_photos photos"
else
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$logs/gpu-memory.log" 2>/dev/null &
    sampler=$!
    gpu "$bin/bench-ingest" "$photos" --pack "$generic" --device cuda --bench >"$logs/bench-ingest-cuda.log" 2>&1
    kill "$sampler" 2>/dev/null
    peak="$(sort -n "$logs/gpu-memory.log" | tail -n 1)"
    bench_row "ingest bench, CUDA, $n_photos photos" "$logs/bench-ingest-cuda.log" "peak GPU memory ${peak:-?} MiB; "
fi

# 7. Training bench --------------------------------------------------------------------
# train_row LABEL LOG: seconds per epoch per size.
train_row() {
    local figures
    figures="$(grep -E '^\| [0-9]+ \|' "$2" | awk -F'|' '{gsub(/ /, "", $2); gsub(/ /, "", $8); printf "%s%s rows: %s s/epoch", sep, $2, $8; sep = "; "}')"
    if [[ -n $figures ]]; then row "$1" "$figures" "ok"; else row "$1" "$(last "$2")" "FAIL"; fi
}
if ((dry)); then
    "$bin/bench-train" --bench --sizes 10k --epochs 1 --label-only >"$logs/bench-train-cpu.log" 2>&1
    train_row "training bench, CPU, 1 epoch" "$logs/bench-train-cpu.log"
    no_gpu "training bench, --gpu, 10k and 50k"
else
    "$bin/bench-train" --bench --sizes 10k,50k --epochs 1 --label-only >"$logs/bench-train-cpu.log" 2>&1
    train_row "training bench, CPU, 1 epoch" "$logs/bench-train-cpu.log"
    if [[ -x $bin/bench-train-cuda ]]; then
        "$bin/bench-train-cuda" --bench --sizes 10k,50k --epochs 2 --label-only --gpu >"$logs/bench-train-cuda.log" 2>&1
        train_row "training bench, --gpu, 2 epochs" "$logs/bench-train-cuda.log"
    else
        row "training bench, --gpu" "no train-cuda build" "skipped: no CUDA toolkit"
    fi
fi

# The table --------------------------------------------------------------------------------
echo
echo "WhaleID GPU check ($([[ $dry == 1 ]] && echo "dry run on the CPU" || echo "on ${gpu_name%%,*}")), $(date -u +%Y-%m-%dT%H:%MZ), $((SECONDS - started)) s; ONNX Runtime $ORT_VERSION; logs in $logs"
echo
echo "| check | result | status |"
echo "|---|---|---|"
printf '%s\n' "${rows[@]}"
exit "$failed"
