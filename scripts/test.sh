#!/usr/bin/env bash
# Set up (idempotent) and run every check CI runs: formatting, lints, tests
# (engine, CLI, app commands, the sync server on SQLite and PostgreSQL), the
# frontend's unit tests, the generated
# TypeScript bindings, and the app end to end in its real window under Xvfb.
# Every cargo step uses the same package selection (--workspace), so Tauri
# is compiled once, not once per selection.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
# The sync server's tests run against PostgreSQL too when one is available
# (started here as root; see scripts/setup-postgres.sh).
if [[ -z "${WHALEID_TEST_POSTGRES:-}" ]]; then
    pg_url="$(scripts/setup-postgres.sh)"
    if [[ -n "$pg_url" ]]; then
        export WHALEID_TEST_POSTGRES="$pg_url"
    fi
fi
# The fuzz_* and prop_* tests (proptest) run 1,500 cases each here, about a
# minute in all on 2 cores; set PROPTEST_CASES for a longer run.
export PROPTEST_CASES="${PROPTEST_CASES:-1500}"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Also writes ui/src/bindings/ (the export_bindings tests of whaleid-app).
cargo test --workspace --all-targets --locked

if [[ -f ui/package.json ]]; then
    (cd ui && npm test)
fi

# The committed bindings must be what the Rust types generate: a DTO changed
# without regenerating them fails here.
if ! git diff --exit-code -- ui/src/bindings; then
    echo "ui/src/bindings is stale: run cargo test --workspace and commit ui/src/bindings" >&2
    exit 1
fi
untracked="$(git ls-files --others --exclude-standard -- ui/src/bindings)"
if [[ -n "$untracked" ]]; then
    echo "new generated bindings are not committed:" >&2
    echo "$untracked" >&2
    exit 1
fi

# End to end, in a virtual display. `cargo test` builds the app binary for
# the test (CARGO_BIN_EXE_whaleid-app) with the features the tests above
# used; a separate `cargo build` would compile Tauri again without its
# dev-only `test` feature (5 min on 2 cores) for nothing.
xvfb-run -a -s "-screen 0 1280x800x24" \
    cargo test --workspace --locked --test e2e --test e2e_survey --test e2e_review --test e2e_publish \
        -- --ignored --skip manual --nocapture --test-threads=1
