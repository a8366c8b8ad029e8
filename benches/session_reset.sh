#!/usr/bin/env bash
# What the end-of-call session reset (src/exec/pristine.rs) costs PostgreSQL: pgbench, one client, simple protocol,
# on a private throwaway cluster, alternating bare transaction ends with the ends the server sends now.
# Usage: bash benches/session_reset.sh [transactions per run, default 20000] [rounds, default 3]
# Prints the mean latency per transaction (ms) of each script in each round. Needs PostgreSQL's server programs
# (initdb, pg_ctl, pgbench); run as root it runs them as the postgres user.
set -euo pipefail
N=${1:-20000}; ROUNDS=${2:-3}
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
DIR=$(mktemp -d /tmp/session-reset.XXXXXX); chmod 755 "$DIR"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$DIR"
as_pg "$BIN/initdb" -D "$DIR/data" -U bench >/dev/null
as_pg "$BIN/pg_ctl" -D "$DIR/data" -o "-k $DIR -c listen_addresses=''" -l "$DIR/log" -w start >/dev/null
trap 'as_pg "$BIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null; rm -rf "$DIR"' EXIT
CHECK="SELECT pg_catalog.pg_advisory_unlock_all(), EXISTS (SELECT FROM pg_catalog.pg_prepared_statement() p WHERE p.from_sql) AS dirty;"
RESET="SET SESSION AUTHORIZATION DEFAULT; RESET ALL; RESET ROLE; CLOSE ALL; UNLISTEN *; DISCARD TEMP; DISCARD SEQUENCES;"
printf 'BEGIN READ ONLY;\nSELECT 1;\nROLLBACK;\n' > "$DIR/read_bare.sql"
printf 'BEGIN READ ONLY;\nSELECT 1;\nROLLBACK; %s\n' "$CHECK" > "$DIR/read_reset.sql"
printf 'BEGIN;\nSELECT 1;\nCOMMIT;\n' > "$DIR/write_bare.sql"
printf 'BEGIN;\nSELECT 1;\nCOMMIT; %s %s\n' "$RESET" "$CHECK" > "$DIR/write_reset.sql"
chmod 644 "$DIR"/*.sql
for round in $(seq "$ROUNDS"); do
  for s in read_bare read_reset write_bare write_reset; do
    lat=$(as_pg "$BIN/pgbench" -h "$DIR" -U bench -n -c 1 -t "$N" -f "$DIR/$s.sql" postgres 2>/dev/null \
          | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
    echo "round $round  $s  $lat ms"
  done
done
