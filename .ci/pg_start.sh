#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the tests and print its SQLAlchemy URL on stdout.
#
#   export LATENTLAB_TEST_PG_URL=$(bash .ci/pg_start.sh)
#
# Needs Debian's `postgresql` package. Run as root (initdb is then run as the `postgres` user,
# which cannot enter /root, so everything lives in a fresh folder under /tmp) or as any other user.
# Listens on 127.0.0.1 only. Everything but the URL goes to stderr. If a server already answers
# on the port (a second call), it is reused. Stop it with:
#   runuser -u postgres -- $PGBIN/pg_ctl -D <data dir printed on stderr> -m fast -w stop
# Settings (env): PG_PORT (54329), PG_USER (ci), PG_PASSWORD (secret), PG_DB (test).
set -euo pipefail

PORT="${PG_PORT:-54329}"
USER_NAME="${PG_USER:-ci}"
PASSWORD="${PG_PASSWORD:-secret}"
DB="${PG_DB:-test}"
URL="postgresql+psycopg://${USER_NAME}:${PASSWORD}@127.0.0.1:${PORT}/${DB}"

log() { echo "pg_start: $*" >&2; }
die() { log "error: $*"; exit 1; }

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || die "PostgreSQL is not installed; run: apt-get install -y postgresql"

as_db_owner() {  # initdb/pg_ctl refuse to run as root
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

create_db() {
    if PGPASSWORD="$PASSWORD" "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U "$USER_NAME" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
        log "database $DB exists"
    else
        PGPASSWORD="$PASSWORD" "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U "$USER_NAME" "$DB"
        log "created database $DB"
    fi
}

if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
    log "a server already answers on 127.0.0.1:$PORT; reusing it"
    create_db >&2 || die "the server on port $PORT does not accept user $USER_NAME; set PG_PORT to a free port"
    echo "$URL"
    exit 0
fi

PGROOT=$(mktemp -d /tmp/latentlab-pg.XXXXXX)
chmod 755 "$PGROOT"
[ "$(id -u)" = 0 ] && chown postgres "$PGROOT"
printf '%s\n' "$PASSWORD" > "$PGROOT/pwfile"
[ "$(id -u)" = 0 ] && chown postgres "$PGROOT/pwfile"
chmod 600 "$PGROOT/pwfile"

log "initdb in $PGROOT/data"
as_db_owner "$PGBIN/initdb" -D "$PGROOT/data" -U "$USER_NAME" --auth-local=scram-sha-256 \
    --auth-host=scram-sha-256 --pwfile="$PGROOT/pwfile" -E UTF8 >"$PGROOT/initdb.log" 2>&1 \
    || { cat "$PGROOT/initdb.log" >&2; die "initdb failed"; }
rm -f "$PGROOT/pwfile"

# fsync stays on: the tests check that acknowledged labels survive a killed client/server.
as_db_owner "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $PGROOT -c max_connections=200" start >&2 \
    || { cat "$PGROOT/server.log" >&2; die "the server did not start (log above)"; }

for _ in $(seq 1 60); do
    "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
    sleep 0.5
done
"$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" || die "the server did not become ready on 127.0.0.1:$PORT"

create_db >&2
log "ready; data dir $PGROOT/data; stop with: runuser -u postgres -- $PGBIN/pg_ctl -D $PGROOT/data -m fast -w stop"
echo "$URL"
