#!/usr/bin/env bash
# The Python tools the tests read WhaleID's exports back with, in a virtual
# environment at .venv/ (tests/dwca.rs runs .venv/bin/python): the
# Darwin Core Archive reader GBIF's and OBIS's users read archives with
# (python-dwca-reader, pinned). Idempotent: does nothing when it is there.
set -euo pipefail
DWCA_READER_VERSION="${DWCA_READER_VERSION:-0.17.1}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"

if "$venv/bin/python" -c 'import dwca' >/dev/null 2>&1; then
    echo "python-dwca-reader already in $venv"
    exit 0
fi
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "python-dwca-reader==$DWCA_READER_VERSION"
echo "python-dwca-reader $DWCA_READER_VERSION installed in $venv"
