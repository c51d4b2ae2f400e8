#!/usr/bin/env bash
# A local PostgreSQL for the sync server's tests (the institutional store):
# install Debian's package if missing, start its cluster, and make a login
# role. Prints the admin URL the tests create their databases through
# (WHALEID_TEST_POSTGRES). Idempotent. Needs root (CI and this project's
# machines run as root); elsewhere, set WHALEID_TEST_POSTGRES yourself or
# leave it unset, and the tests use the SQLite store only.
set -euo pipefail
# Only the URL goes to stdout: the caller captures it. Anything the tools
# print (pg_ctlcluster says "Removed stale pid file." after an unclean
# shutdown) goes to stderr.
exec 3>&1 1>&2
if [[ $(id -u) -ne 0 ]]; then
    echo "setup-postgres: not root; skipping (the PostgreSQL store is not tested)" >&2
    exit 0
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
version="$(ls /usr/lib/postgresql | sort -V | tail -1)"
if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -q "^$version main$"; then
    pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | grep -q "^$version *main .*online"; then
    pg_ctlcluster "$version" main start 3>&-
fi
for _ in $(seq 1 30); do
    su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
    sleep 1
done
su postgres -c "psql -qtAc \"DO \\\$\\\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'whaleid') THEN
        CREATE ROLE whaleid LOGIN CREATEDB PASSWORD 'whaleid';
    END IF; END \\\$\\\$;\"" >/dev/null
echo "postgres://whaleid:whaleid@127.0.0.1/postgres" >&3
