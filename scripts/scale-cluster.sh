#!/usr/bin/env bash
# Starts, on loopback ports in a temporary directory, what make test-scale
# and `userd bench --via-pooler` run against:
#   - a primary PostgreSQL (wal_level replica, synchronous_standby_names '*'
#     with synchronous_commit local by default: only a session or database
#     that asks for remote_apply waits for the replica);
#   - a streaming replica made with pg_basebackup -R;
#   - PgBouncer (Debian's 1.18; installed with apt-get when missing) in
#     transaction mode in front of the primary, every database reachable
#     through its "*" fallback entry.
# It writes $DIR/env (the URLs, to be sourced) and $DIR/ctl, which stops and
# starts the parts (start does nothing to a running part): `ctl replica
# stop|start`, `ctl pooler stop|start`,
# `ctl down` (everything, and removes $DIR).
#
# Usage: scripts/scale-cluster.sh up DIR
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [ "$cmd" != up ] || [ -z "$dir" ]; then
	echo "usage: $0 up DIR" >&2
	exit 2
fi

if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
	if [ "$(id -u)" = 0 ]; then
		echo "pgbouncer is missing: installing it with apt-get"
		apt-get update -q
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer
	else
		echo "pgbouncer is missing: install it (apt-get install pgbouncer) or run as root" >&2
		exit 1
	fi
fi
pgbouncer_bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)

# The server binaries: the newest /usr/lib/postgresql/*/bin that has
# initdb (a newer client-only version has a bin directory without it),
# else initdb on the PATH.
bin=
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
	if [ -x "$d/initdb" ] && [ -x "$d/pg_basebackup" ]; then bin=$d; fi
done
if [ -z "$bin" ]; then
	if command -v initdb >/dev/null 2>&1; then
		bin=$(dirname "$(command -v initdb)")
	else
		echo "no PostgreSQL server binaries (initdb) under /usr/lib/postgresql/*/bin or on the PATH: install the PostgreSQL server" >&2
		exit 1
	fi
fi

# A free loopback port: the kernel's choice through python3 when there is
# one, else a random port in 20000-59999 that nothing answers on.
free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
		return
	fi
	local port
	for _ in $(seq 100); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	echo "no free loopback port found" >&2
	return 1
}

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# PostgreSQL and PgBouncer refuse to run as root: as root they run as
# postgres, who owns the directory.
as_pg=()
if [ "$(id -u)" = 0 ]; then
	chown postgres: "$dir"
	chmod 755 "$dir"
	as_pg=(runuser -u postgres --)
fi

primary_port=$(free_port)
replica_port=$(free_port)
pooler_port=$(free_port)

# ctl first: should a step below fail, the caller's `ctl down` still stops
# whatever had started.
cat >"$dir/ctl" <<EOF
#!/usr/bin/env bash
# Stops and starts the parts of the cluster in $dir.
set -euo pipefail
as_pg=(${as_pg[*]})
case "\${1:-} \${2:-}" in
"replica stop") "\${as_pg[@]}" $bin/pg_ctl -D $dir/replica -m fast -w stop >/dev/null ;;
"replica start")
	"\${as_pg[@]}" $bin/pg_ctl -D $dir/replica status >/dev/null 2>&1 && exit 0
	"\${as_pg[@]}" $bin/pg_ctl -D $dir/replica -l $dir/replica.log -w start >/dev/null ;;
"pooler stop")
	if [ -f $dir/pgbouncer.pid ]; then
		pid=\$(cat $dir/pgbouncer.pid)
		kill -INT "\$pid" 2>/dev/null || true
		for _ in \$(seq 100); do kill -0 "\$pid" 2>/dev/null || break; sleep 0.05; done
	fi ;;
"pooler start")
	if [ -f $dir/pgbouncer.pid ] && kill -0 "\$(cat $dir/pgbouncer.pid)" 2>/dev/null; then exit 0; fi
	ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true
	"\${as_pg[@]}" $pgbouncer_bin -d $dir/pgbouncer.ini
	for _ in \$(seq 100); do
		(exec 3<>/dev/tcp/127.0.0.1/$pooler_port) 2>/dev/null && exit 0
		sleep 0.05
	done
	echo "pgbouncer does not answer on $pooler_port (log: $dir/pgbouncer.log)" >&2; exit 1 ;;
"down ")
	\$0 pooler stop || true
	"\${as_pg[@]}" $bin/pg_ctl -D $dir/replica -m immediate -w stop >/dev/null 2>&1 || true
	"\${as_pg[@]}" $bin/pg_ctl -D $dir/primary -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf $dir ;;
*) echo "usage: \$0 replica stop|start, pooler stop|start, down" >&2; exit 2 ;;
esac
EOF
chmod 755 "$dir/ctl"

"${as_pg[@]}" "$bin/initdb" -D "$dir/primary" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log"
cat >>"$dir/primary/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $primary_port
unix_socket_directories = '$dir'
fsync = off
max_connections = 500
wal_level = replica
max_wal_senders = 5
wal_keep_size = 512MB
synchronous_standby_names = '*'
synchronous_commit = local
EOF
"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/primary" -l "$dir/primary.log" -w start >/dev/null

"${as_pg[@]}" "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$dir/replica" -R -X stream --no-sync
cat >>"$dir/replica/postgresql.conf" <<EOF
port = $replica_port
hot_standby = on
hot_standby_feedback = on
EOF
"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/replica" -l "$dir/replica.log" -w start >/dev/null

cat >"$dir/userlist.txt" <<EOF
"postgres" ""
EOF
cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$primary_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $pooler_port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = 20
max_client_conn = 4000
max_db_connections = 0
server_idle_timeout = 10
server_login_retry = 1
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
if [ "$(id -u)" = 0 ]; then
	chown postgres: "$dir/userlist.txt" "$dir/pgbouncer.ini"
fi

"$dir/ctl" pooler start

cat >"$dir/env" <<EOF
export SCALE_PRIMARY_URL='postgres://postgres@127.0.0.1:$primary_port/postgres?sslmode=disable'
export SCALE_REPLICA_URL='postgres://postgres@127.0.0.1:$replica_port/postgres?sslmode=disable'
export SCALE_POOLER_URL='postgres://postgres@127.0.0.1:$pooler_port/postgres?sslmode=disable'
export SCALE_CTL='$dir/ctl'
EOF
echo "primary 127.0.0.1:$primary_port, replica 127.0.0.1:$replica_port, pgbouncer 127.0.0.1:$pooler_port (in $dir)"
