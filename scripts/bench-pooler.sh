#!/usr/bin/env bash
# userd bench pooler against PgBouncer 1.18 in transaction mode
# (default_pool_size 20) in front of a PostgreSQL of its own, all on
# loopback ports in a temporary directory (scripts/scale-cluster.sh),
# removed at the end. Extra arguments go to the bench.
set -euo pipefail
cd "$(dirname "$0")/.."
# 2,000 client connections and their servers' ends: more descriptors than
# the usual 1,024.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

dir=$(mktemp -d "${TMPDIR:-/tmp}/userd-scale.XXXXXX")
cleanup() { if [ -x "$dir/ctl" ]; then "$dir/ctl" down; else rm -rf "$dir"; fi; }
trap cleanup EXIT
bash scripts/scale-cluster.sh up "$dir"
# shellcheck disable=SC1091
. "$dir/env"
go build -o "$dir/userd" ./cmd/userd
USERD_ENV=dev DATABASE_URL=$SCALE_PRIMARY_URL USERD_DATA_DIR="$dir/data" \
	"$dir/userd" bench pooler --via-pooler "$SCALE_POOLER_URL" "$@"
