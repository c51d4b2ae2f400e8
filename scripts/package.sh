#!/usr/bin/env bash
# Build WhaleID's Linux packages: a .deb (Debian, Ubuntu) and an .rpm
# (Fedora, openSUSE; built by the same bundler, offline, but not installed or
# tested here), each holding the desktop app
# (/usr/bin/whaleid-app), the `whaleid` CLI (/usr/bin/whaleid), and, as the
# app's resources in /usr/lib/WhaleID/, the ONNX Runtime library
# (lib/libonnxruntime.so.1.31.1) and the generic pack (models/generic/). Both
# binaries find those two beside their own install (src/install.rs), so the
# package runs without this checkout.
#
# Sets up what it needs first (scripts/setup.sh: the ORT library, the
# frontend and its packages, the Tauri CLI from ui/package-lock.json), then
# builds the release CLI and the release app through the Tauri bundler.
# Prints each package's path, size and contents; the last line on stdout is
# the .deb's path alone (scripts/package-check.sh reads it).
#
# The packaging-only configuration (resources, the CLI's place) lives in
# src-tauri/tauri.package.conf.json, merged by `tauri build --config`: in
# tauri.conf.json, tauri-build would copy the resources on every `cargo
# build` of the app and a fresh clone could not build before this script ran.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh >&2

# The Tauri CLI runs cargo from src-tauri/: a relative target folder must
# mean the same folder there as here.
target="${CARGO_TARGET_DIR:-target}"
[[ $target == /* ]] || target="$root/$target"
export CARGO_TARGET_DIR="$target"
# The package's binaries carry symbols but no debug info (the release
# profile's line tables are for developers' own builds). Cargo leaves
# `strip` out of its fingerprints, so this recompiles nothing; a binary that
# another release build already linked is packaged as it is.
export CARGO_PROFILE_RELEASE_STRIP="${CARGO_PROFILE_RELEASE_STRIP:-debuginfo}"

lib=.ort/lib/libonnxruntime.so.1.31.1
if [[ ! -f $lib ]]; then
    echo "$lib is missing: the package bundles ONNX Runtime 1.31.1 (scripts/setup-ort.sh with ORT_VERSION unset)" >&2
    exit 1
fi
for f in models/generic/pack.toml ui/dist/index.html ui/node_modules/.bin/tauri; do
    if [[ ! -e $f ]]; then
        echo "$f is missing after scripts/setup.sh" >&2
        exit 1
    fi
done
if grep -q whaleid-placeholder ui/dist/index.html; then
    echo "ui/dist holds the placeholder page, not the built frontend (npm run build in ui/)" >&2
    exit 1
fi

echo "Building the release CLI..." >&2
cargo build -p whaleid --release --locked --bin whaleid >&2
# The bundler takes the CLI from here (tauri.package.conf.json's deb files).
mkdir -p src-tauri/binaries
cp -f "$target/release/whaleid" src-tauri/binaries/whaleid

echo "Building the release app and the .deb (Tauri bundler)..." >&2
bundle_dir="$target/release/bundle/deb"
rpm_dir="$target/release/bundle/rpm"
rm -f "$bundle_dir"/*.deb "$rpm_dir"/*.rpm
(
    cd src-tauri
    ../ui/node_modules/.bin/tauri build --ci --bundles deb,rpm \
        --config tauri.package.conf.json -- --locked
) >&2

debs=("$bundle_dir"/*.deb)
if [[ ${#debs[@]} -ne 1 || ! -f ${debs[0]} ]]; then
    echo "expected one .deb in $bundle_dir, found: ${debs[*]}" >&2
    exit 1
fi
deb="${debs[0]}"
echo
echo "Package: $deb"
echo "Size: $(du -h "$deb" | cut -f1) ($(stat -c %s "$deb") bytes)"
dpkg-deb --field "$deb" Package Version Installed-Size Depends
echo "Contents (dpkg -c):"
dpkg -c "$deb"
rpms=("$rpm_dir"/*.rpm)
if [[ -f ${rpms[0]} ]]; then
    echo
    echo "Package: ${rpms[0]}"
    echo "Size: $(du -h "${rpms[0]}" | cut -f1) ($(stat -c %s "${rpms[0]}") bytes)"
    if command -v rpm >/dev/null; then
        echo "Requires (rpm -qpR):"
        rpm -qpR "${rpms[0]}" | grep -v '^rpmlib('
        echo "Contents (rpm -qpl):"
        rpm -qpl "${rpms[0]}"
    fi
fi
echo "$deb"
