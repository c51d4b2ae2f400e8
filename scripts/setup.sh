#!/usr/bin/env bash
# Everything a fresh Debian/Ubuntu machine needs to build, run and test
# WhaleID: the engine and CLI, the desktop app (Tauri 2, WebKitGTK) and its
# frontend, and the end-to-end test tools. Idempotent and quick when already
# done: installs only what is missing, rebuilds the UI only when it changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# System packages (Debian names), each only when missing: tools by command,
# libraries by dpkg.
missing=()
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
# The tests' Python readers live in a virtual environment (setup-python.sh).
python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
[[ -e /etc/ssl/certs/ca-certificates.crt ]] || missing+=(ca-certificates)
command -v file >/dev/null 2>&1 || missing+=(file)
# libjpeg-turbo, cv2.imread's JPEG decoder, is built from the turbojpeg
# crate's vendored source.
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v nasm >/dev/null 2>&1 || missing+=(nasm)
# The desktop app (Tauri 2 on WebKitGTK 4.1), then its end-to-end tests
# (a virtual display and the WebKit WebDriver).
for pkg in libwebkit2gtk-4.1-dev libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev \
    xvfb xauth webkit2gtk-driver; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if ((${#missing[@]})); then
    sudo_cmd=""
    [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
    echo "Installing: ${missing[*]}"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is missing: install the Rust toolchain (rustup, stable >= 1.92) first" >&2
    exit 1
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt 2>/dev/null || true

"$root/scripts/setup-ort.sh"
"$root/scripts/setup-python.sh"

# tauri-driver: the WebDriver bridge the end-to-end test talks to (~1 min).
if ! command -v tauri-driver >/dev/null 2>&1 && [[ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver" ]]; then
    echo "Installing tauri-driver 2.1.0..."
    cargo install tauri-driver --version 2.1.0 --locked
fi

# The frontend (ui/), when it is in this checkout. Vite needs Node >= 20.19.
if [[ -f "$root/ui/package.json" ]]; then
    node_version="$(node --version 2>/dev/null || echo v0)"
    IFS=. read -r major minor _ <<<"${node_version#v}"
    if ((major < 20 || (major == 20 && minor < 19))); then
        echo "Node $node_version is too old for the frontend (Vite needs >= 20.19 or 22.12): install a newer nodejs (e.g. from NodeSource)" >&2
        exit 1
    fi
    cd "$root/ui"
    # node_modules is current when npm's own record of it is newer than the lock file.
    if [[ -f package-lock.json && ( ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ) ]]; then
        echo "Installing the frontend's packages (npm ci)..."
        npm ci --no-audit --no-fund
    fi
    # Rebuild when dist is missing, is the Rust build's placeholder, or is
    # older than any source.
    dist=dist/index.html
    if [[ ! -f $dist ]] || grep -q whaleid-placeholder "$dist" \
        || [[ -n "$(find src public index.html package.json package-lock.json vite.config.* tsconfig*.json \
            -newer "$dist" -print -quit 2>/dev/null)" ]]; then
        echo "Building the frontend (npm run build)..."
        npm run build
    fi
fi
