#!/usr/bin/env bash
# queries-used.sh fails when a query of queries/*.sql (a "-- name:" line)
# is not called from hand-written Go code: the .go files outside dbgen/,
# tests excluded. A query nobody calls is deleted, not kept "just in case".
set -euo pipefail

cd "$(dirname "$0")/.."

# Every ".Name" selector in the hand-written code, once.
used=$(find . -name '*.go' -not -path './dbgen/*' -not -name '*_test.go' -print0 |
	xargs -0 grep -ohE '\.[A-Z][A-Za-z0-9_]*' | sort -u)

status=0
while read -r file name; do
	if ! grep -qxF ".$name" <<<"$used"; then
		echo "queries-used: $name ($file) is not called from hand-written Go code: delete it or call it" >&2
		status=1
	fi
done < <(grep -oE -- '^-- name: [A-Za-z0-9_]+' queries/*.sql | sed -E 's/:-- name: / /')

if ((status == 0)); then
	echo "queries-used: every query is called"
fi
exit $status
