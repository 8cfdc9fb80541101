#!/usr/bin/env bash
# The test command: starts a throw-away PostgreSQL on 127.0.0.1 when one is installed and none is
# configured (LATENTLAB_TEST_PG_URL), runs the whole pytest suite, stops the server.
# Extra arguments go to pytest. pytest's "no tests collected" (exit 5) fails like any other error.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}

pg_data=""
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "${LATENTLAB_TEST_PG_URL:-}" ] && [ -n "$PGBIN" ]; then
    errlog=$(mktemp)
    if url=$(PG_PORT="${PG_PORT:-54331}" bash .ci/pg_start.sh 2>"$errlog"); then
        export LATENTLAB_TEST_PG_URL="$url"
        pg_data=$(sed -n 's/.*data dir \([^;]*\);.*/\1/p' "$errlog" | head -n 1)
        echo "test.sh: PostgreSQL at $url"
    else
        cat "$errlog" >&2
        echo "test.sh: could not start PostgreSQL; its tests will fail in CI and skip locally" >&2
    fi
fi

stop_pg() {
    [ -n "$pg_data" ] || return 0
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$PGBIN/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null 2>&1
    else
        "$PGBIN/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null 2>&1
    fi
    case "$pg_data" in /tmp/latentlab-pg.*/data) rm -rf "$(dirname "$pg_data")" ;; esac  # pg_start.sh's folder
}
trap stop_pg EXIT

"$PY" -m pytest "$@"
