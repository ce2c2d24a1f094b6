#!/usr/bin/env bash
# schema-dump.sh writes the schema that sql/migrations builds, as dbmate
# dumps it, to OUTPUT (default sql/schema.sql).
#
#   scripts/schema-dump.sh [--temp-server] [OUTPUT]
#
# It migrates a scratch database with dbmate, dumps it with `dbmate dump`
# (pg_dump --schema-only --no-owner --no-privileges plus the
# schema_migrations rows) and drops the scratch database again.
#
# The server is the first that answers of: TEST_DATABASE_URL,
# postgres://postgres@127.0.0.1:5432/postgres, the server userd and the tests
# start on 127.0.0.1:54329. DATABASE_URL is not used: make verify (and so
# make test) never touches a developer's real database. If none answers (or with --temp-server) a
# throwaway server is started from the installed PostgreSQL binaries and
# stopped at exit.
#
# The dump is made deterministic: the \restrict/\unrestrict lines (random
# keys, pg_dump 15.14+), the "Dumped from/by" version comments and
# "SET transaction_timeout" (pg_dump 17+) are removed.
set -euo pipefail

cd "$(dirname "$0")/.."

temp_server=false
if [[ ${1:-} == --temp-server ]]; then
	temp_server=true
	shift
fi
out=${1:-sql/schema.sql}

dbmate() {
	go tool -modfile=tools/go.mod dbmate --migrations-dir sql/migrations "$@"
}

# pgbin NAME prints the path of a PostgreSQL binary: from PATH, else from
# the newest /usr/lib/postgresql/*/bin.
pgbin() {
	if command -v "$1" >/dev/null 2>&1; then
		command -v "$1"
		return
	fi
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -rn); do
		if [[ -x $d/$1 ]]; then
			echo "$d/$1"
			return
		fi
	done
	echo "schema-dump: no $1 found; install the PostgreSQL client and server binaries" >&2
	return 1
}

psql_bin=$(pgbin psql)

# server_version URL prints server_version_num, or fails when nothing answers.
server_version() {
	PGCONNECT_TIMEOUT=3 "$psql_bin" "$1" -X -Atqc 'SHOW server_version_num' 2>/dev/null
}

# with_db URL NAME prints URL with its database name replaced by NAME.
with_db() {
	local url=$1 name=$2 base query=""
	base=${url%%\?*}
	if [[ $url == *\?* ]]; then
		query="?${url#*\?}"
	fi
	local scheme=${base%%://*} rest=${base#*://}
	rest=${rest%%/*}
	echo "${scheme}://${rest}/${name}${query}"
}

tmp=$(mktemp -d)
chmod 0755 "$tmp"
scratch=""
admin_url=""
started_server=false

cleanup() {
	if [[ -n $scratch && -n $admin_url ]]; then
		"$psql_bin" "$admin_url" -X -qc "DROP DATABASE IF EXISTS \"$scratch\" WITH (FORCE)" >/dev/null 2>&1 || true
	fi
	if $started_server; then
		as_server_user "$pg_ctl" -D "$tmp/pgdata" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# as_server_user runs a server binary; PostgreSQL refuses to run as root,
# so as root it runs as the "postgres" user.
as_server_user() {
	if [[ $EUID -ne 0 ]]; then
		"$@"
	elif command -v runuser >/dev/null 2>&1; then
		runuser -u postgres -- "$@"
	else
		su -s /bin/sh postgres -c "$(printf '%q ' "$@")"
	fi
}

start_temp_server() {
	initdb=$(pgbin initdb)
	pg_ctl=$(dirname "$initdb")/pg_ctl
	[[ -x $pg_ctl ]] || pg_ctl=$(pgbin pg_ctl)
	if [[ $EUID -eq 0 ]]; then
		id postgres >/dev/null 2>&1 || {
			echo 'schema-dump: running as root needs a "postgres" user to own the server' >&2
			exit 1
		}
		chown postgres "$tmp"
	fi
	local port
	for port in $(seq 54340 54359); do
		server_version "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable" >/dev/null && continue
		break
	done
	echo "schema-dump: starting a throwaway PostgreSQL on 127.0.0.1:$port" >&2
	as_server_user "$initdb" -D "$tmp/pgdata" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >"$tmp/initdb.log" 2>&1 || {
		cat "$tmp/initdb.log" >&2
		exit 1
	}
	started_server=true
	as_server_user "$pg_ctl" -D "$tmp/pgdata" -l "$tmp/postgres.log" -w \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $tmp -c fsync=off" start >/dev/null || {
		cat "$tmp/postgres.log" >&2
		exit 1
	}
	admin_url="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
}

version=""
if ! $temp_server; then
	for candidate in "${TEST_DATABASE_URL:-}" \
		"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" \
		"postgres://postgres@127.0.0.1:54329/postgres?sslmode=disable"; do
		[[ -n $candidate ]] || continue
		if version=$(server_version "$candidate"); then
			admin_url=$candidate
			break
		fi
	done
fi
if [[ -z $admin_url ]]; then
	start_temp_server
	version=$(server_version "$admin_url")
fi

# pg_dump must be at least as new as the server: prefer the one of the
# server's major version.
major=$((version / 10000))
if [[ -x /usr/lib/postgresql/$major/bin/pg_dump ]]; then
	export PATH="/usr/lib/postgresql/$major/bin:$PATH"
fi
pg_dump_bin=$(pgbin pg_dump)
dump_major=$("$pg_dump_bin" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)?.*/\1/')
if ((dump_major < major)); then
	echo "schema-dump: pg_dump $dump_major is older than the server ($major); install pg_dump $major" >&2
	exit 1
fi
export PATH="$(dirname "$pg_dump_bin"):$PATH"

scratch="userd_schema_dump_$$_${RANDOM}"
scratch_url=$(with_db "$admin_url" "$scratch")
dbmate --url "$scratch_url" --schema-file "$tmp/raw.sql" --no-dump-schema up >"$tmp/dbmate.log" 2>&1 || {
	cat "$tmp/dbmate.log" >&2
	exit 1
}
dbmate --url "$scratch_url" --schema-file "$tmp/raw.sql" dump >>"$tmp/dbmate.log" 2>&1 || {
	cat "$tmp/dbmate.log" >&2
	exit 1
}

# Drop the version-dependent and random lines (and the blank line that
# follows a \restrict line), then any leading blank lines.
awk '
	/^\\(un)?restrict / { skip_blank = 1; next }
	skip_blank && /^$/ { skip_blank = 0; next }
	{ skip_blank = 0 }
	/^-- Dumped (from|by) / { next }
	/^SET transaction_timeout = / { next }
	!started && /^$/ { next }
	{ started = 1; print }
' "$tmp/raw.sql" >"$tmp/schema.sql"

mkdir -p "$(dirname "$out")"
mv "$tmp/schema.sql" "$out"
