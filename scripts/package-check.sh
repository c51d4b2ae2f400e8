#!/usr/bin/env bash
# CI's check of the Linux package (after scripts/test.sh): build the .deb
# and the .rpm (scripts/package.sh), check that the .rpm holds the same
# files, install the .deb on this machine, then, from a temporary
# working directory with a temporary HOME and an environment that names
# nothing in this checkout, run what was installed:
#   - `whaleid doctor`, which must find the bundled ONNX Runtime library and
#     generic pack under /usr/lib/WhaleID;
#   - `whaleid embed` on photos drawn here (two of one animal, one of
#     another: the first two must embed closer to each other than to the third);
#   - the installed app under Xvfb, through the WebDriver harness
#     (src-tauri/tests/e2e_installed.rs, run as its compiled executable):
#     create a catalogue, import two photos, see suggestions in Review;
#   - a reinstall over itself (what an upgrade does to the user's files):
#     a catalogue the installed CLI filled and everything under HOME stay
#     byte for byte the same.
# The package is removed afterwards, also when a step fails. Needs root (or
# sudo) for apt-get. Prints how long each step took.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

sudo_cmd=""
[[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive

timings=()
step() {
    local name="$1" t0=$SECONDS
    shift
    echo "== package-check: $name" >&2
    "$@"
    timings+=("$(printf '%-40s %5d s' "$name" $((SECONDS - t0)))")
}
report() {
    echo "== package-check timings:" >&2
    local t
    for t in "${timings[@]}"; do echo "   $t" >&2; done
}

tmp="$(mktemp -d "${TMPDIR:-/tmp}/whaleid-package-check.XXXXXX")"
case "$tmp/" in
"$root"/*)
    echo "the temporary folder $tmp is inside the checkout $root: set TMPDIR elsewhere" >&2
    exit 1
    ;;
esac
pkg=""
installed=0
cleanup() {
    local rc=$?
    if ((installed)); then
        local t0=$SECONDS
        echo "== package-check: removing the package $pkg" >&2
        if $sudo_cmd apt-get remove -y -qq "$pkg" >&2; then
            timings+=("$(printf '%-40s %5d s' "remove $pkg" $((SECONDS - t0)))")
        else
            echo "could not remove $pkg: remove it by hand (apt-get remove $pkg)" >&2
            rc=1
        fi
    fi
    rm -rf "$tmp"
    report
    exit $rc
}
trap cleanup EXIT

build_package() {
    scripts/package.sh | tee "$tmp/package.out"
    deb="$(tail -n 1 "$tmp/package.out")"
    [[ -f $deb ]] || { echo "scripts/package.sh did not name a package (last line: $deb)" >&2; return 1; }
    pkg="$(dpkg-deb --field "$deb" Package)"
}

# The smoke test's executable, built in the checkout with the same package
# selection as scripts/test.sh (so nothing is compiled again for it).
build_smoke_test() {
    smoke="$(cargo test --workspace --locked --test e2e_installed --no-run --message-format=json \
        | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "e2e_installed" and m.get("executable"):
        print(m["executable"])')"
    [[ -x $smoke ]] || { echo "no e2e_installed test executable from cargo (got: $smoke)" >&2; return 1; }
    cp "$smoke" "$tmp/bin/e2e_installed"
}

install_package() {
    if dpkg -s "$pkg" >/dev/null 2>&1; then
        echo "$pkg is already installed (a run that did not finish?): removing it first" >&2
        $sudo_cmd apt-get remove -y -qq "$pkg" >&2
    fi
    installed=1
    $sudo_cmd apt-get install -y -qq "$deb"
    dpkg -L "$pkg" | grep -E '^/usr/(bin|lib/WhaleID/)' >&2
}

mkdir -p "$tmp/home" "$tmp/work" "$tmp/bin"
# tauri-driver (for the smoke test) comes along in a folder of its own; the
# clean PATH has the system's folders and that one only.
driver="$(command -v tauri-driver || echo "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver")"
[[ -x $driver ]] || { echo "tauri-driver is missing (scripts/setup.sh installs it)" >&2; exit 1; }
cp "$driver" "$tmp/bin/"
clean=(env -i "PATH=$tmp/bin:/usr/local/bin:/usr/bin:/bin" "HOME=$tmp/home" "LANG=C.UTF-8")

# Run a command from the temporary working directory in the clean
# environment.
outside() {
    (cd "$tmp/work" && "${clean[@]}" "$@")
}

check_clean_environment() {
    local leaks
    leaks="$(outside env | grep -F "$root" || true)"
    if [[ -n $leaks ]]; then
        echo "the clean environment still names the checkout:" >&2
        echo "$leaks" >&2
        return 1
    fi
    local cli
    cli="$(outside sh -c 'command -v whaleid')"
    [[ $cli == /usr/bin/whaleid ]] || { echo "whaleid on the clean PATH is $cli, not /usr/bin/whaleid" >&2; return 1; }
}

check_doctor() {
    outside whaleid doctor | tee "$tmp/doctor.out"
    local want
    for want in "at /usr/lib/WhaleID/lib/libonnxruntime.so" "at /usr/lib/WhaleID/models/generic"; do
        if ! grep -qF "$want" "$tmp/doctor.out"; then
            echo "whaleid doctor did not report the bundled file ($want...)" >&2
            return 1
        fi
    done
}

check_embed() {
    # Three drawn photos (PNG by hand: only python3's standard library):
    # fin-a and fin-a2 differ in one pixel, fin-b is another animal.
    (cd "$tmp/work" && python3 - <<'PY'
import struct, zlib

def png(path, k, variant):
    w, h = 320, 240
    period = 7 + 9 * k
    rows = []
    for y in range(h):
        row = bytearray(b"\x00")
        for x in range(w):
            cx, cy = x - 160, y - 120
            if cx * cx // 4 + cy * cy < 75 * 75:
                along = x if k == 0 else y + x // 2
                lift = 0 if (along // period) % 2 == 0 else 60
                base = ((k * 97) % 200, (k * 53 + 40) % 200, (k * 151 + 20) % 200)
                row += bytes(c + lift for c in base)
            else:
                row += bytes((180, 196, 204))
        rows.append(bytes(row))
    rows[0] = b"\x00" + bytes((variant,) * 3) + rows[0][4:]
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(b"".join(rows))))
        f.write(chunk(b"IEND", b""))

png("fin-a.png", 0, 1)
png("fin-a2.png", 0, 2)
png("fin-b.png", 1, 1)
PY
    )
    outside whaleid embed --full fin-a.png fin-a2.png fin-b.png >"$tmp/embed.out"
    python3 - "$tmp/embed.out" <<'PY'
import json, math, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by_file = {l["file"]: l for l in lines}
for name in ("fin-a.png", "fin-a2.png", "fin-b.png"):
    l = by_file.get(name)
    if l is None or "embedding" not in l:
        sys.exit(f"whaleid embed printed no embedding for {name}: {lines}")
    v = l["embedding"]
    if len(v) != l["dim"] or not all(math.isfinite(x) for x in v):
        sys.exit(f"{name}: {len(v)} values for dim {l['dim']}, or some not finite")
    if abs(math.sqrt(sum(x * x for x in v)) - 1) > 1e-3:
        sys.exit(f"{name}: the embedding is not unit length")
    print(f"{name}: dim {l['dim']}, providers {l['providers']}, digest {l['digest']}")
cos = lambda a, b: sum(x * y for x, y in zip(by_file[a]["embedding"], by_file[b]["embedding"]))
same, other = cos("fin-a.png", "fin-a2.png"), cos("fin-a.png", "fin-b.png")
print(f"cosine, same animal: {same:.4f}; other animal: {other:.4f}")
if not same > other:
    sys.exit("the same animal's two photos are not closer than two animals': the installed model did not run as it should")
PY
}

check_app() {
    # xvfb-run sets DISPLAY and XAUTHORITY (its own temporary files); the
    # test then runs with those and the clean environment only.
    (cd "$tmp/work" && xvfb-run -a -s "-screen 0 1280x800x24" \
        bash -c 'exec env -i "DISPLAY=$DISPLAY" "XAUTHORITY=$XAUTHORITY" "$@"' _ \
        "PATH=$tmp/bin:/usr/local/bin:/usr/bin:/bin" "HOME=$tmp/home" "LANG=C.UTF-8" \
        "$tmp/bin/e2e_installed" --ignored --nocapture --test-threads=1)
}

# Reinstalling the package, as an upgrade does, leaves the user's files
# alone: a catalogue the installed CLI filled, and everything under HOME
# (the app's preferences and log), are byte for byte the same after.
user_files_digest() {
    (cd "$tmp" && find work/cat home -type f -print0 | sort -z | xargs -0 sha256sum)
}
check_reinstall() {
    outside whaleid ingest --catalogue cat fin-a.png fin-a2.png fin-b.png >/dev/null
    outside whaleid catalogue stats cat | tee "$tmp/stats.before" >&2
    user_files_digest >"$tmp/files.before"
    $sudo_cmd apt-get install -y -qq --reinstall "$deb" >&2
    user_files_digest >"$tmp/files.after"
    if ! diff "$tmp/files.before" "$tmp/files.after" >&2; then
        echo "reinstalling the package changed the user's files" >&2
        return 1
    fi
    outside whaleid catalogue stats cat >"$tmp/stats.after"
    diff "$tmp/stats.before" "$tmp/stats.after" >&2 || { echo "the catalogue reads differently after a reinstall" >&2; return 1; }
    echo "reinstalled: $(wc -l <"$tmp/files.after") user file(s) unchanged" >&2
}

# The .rpm is built by the same bundler but cannot be installed on this
# Debian machine: check that it holds what the .deb holds (rpm's own query
# tool, from Debian's rpm package).
check_rpm() {
    local rpm_file
    rpm_file="$(ls "$(dirname "$deb")"/../rpm/*.rpm)"
    command -v rpm >/dev/null || $sudo_cmd apt-get install -y -qq rpm >&2
    rpm -qpl "$rpm_file" >"$tmp/rpm.files"
    local want
    for want in /usr/bin/whaleid /usr/bin/whaleid-app /usr/lib/WhaleID/lib/libonnxruntime.so.1.31.1 \
        /usr/lib/WhaleID/models/generic/pack.toml /usr/share/applications/WhaleID.desktop; do
        grep -qxF "$want" "$tmp/rpm.files" || { echo "$rpm_file lacks $want" >&2; return 1; }
    done
    echo "$(basename "$rpm_file"): $(wc -l <"$tmp/rpm.files") paths, the CLI, app, runtime, pack and desktop entry among them" >&2
}

step "build the package (scripts/package.sh)" build_package
step "the .rpm's contents" check_rpm
step "build the smoke test" build_smoke_test
step "install $pkg" install_package
step "check the clean environment" check_clean_environment
step "whaleid doctor (installed)" check_doctor
step "whaleid embed (installed)" check_embed
step "the installed app under Xvfb" check_app
step "reinstall keeps the user's files" check_reinstall
echo "package-check: $deb installed and checked from outside the checkout" >&2
