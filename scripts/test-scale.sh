#!/usr/bin/env bash
# make test-scale: the service and HTTP suites through PgBouncer in
# transaction mode with a streaming replica configured, then the faults
# (replica stopped, replica lagging, PgBouncer restarted). Everything runs
# on loopback ports in a temporary directory (scripts/scale-cluster.sh) and
# is removed at the end.
#
# The suites run with synchronous_commit = remote_apply on their databases:
# they assert what another caller reads right after a write, which an
# asynchronous replica does not promise (userd promises it to the writer
# only). The faults run with asynchronous commits: that is where the lag
# bound and read-your-writes are tested.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=$(mktemp -d "${TMPDIR:-/tmp}/userd-scale.XXXXXX")
cleanup() { if [ -x "$dir/ctl" ]; then "$dir/ctl" down; else rm -rf "$dir"; fi; }
trap cleanup EXIT
bash scripts/scale-cluster.sh up "$dir"
# shellcheck disable=SC1091
. "$dir/env"

export TEST_DATABASE_URL=$SCALE_PRIMARY_URL
export TEST_DATABASE_POOLER_URL=$SCALE_POOLER_URL
export TEST_DATABASE_REPLICA_URL=$SCALE_REPLICA_URL

# TestStalledDatabase measures a server-side statement_timeout set as a
# startup parameter, which a transaction-mode pooler refuses by design
# (userd sets it per transaction there). Everything else runs.
start=$(date +%s)
TEST_DATABASE_SYNCHRONOUS_COMMIT=remote_apply \
	go test -count=1 -timeout 25m -skip '^TestStalledDatabase$' ./service ./httpapi
echo "suites through the pooler with the replica: $(( $(date +%s) - start )) s"

start=$(date +%s)
TEST_SCALE_CTL=$SCALE_CTL go test -count=1 -tags scale -timeout 5m -run '^TestScale' -v ./httpapi
echo "faults: $(( $(date +%s) - start )) s"
