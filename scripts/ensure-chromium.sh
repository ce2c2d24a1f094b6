#!/usr/bin/env bash
# The browser tests (package web) drive Debian's chromium and fail without
# it. Install it when it is missing and this user may (root with apt-get,
# as on CI and fresh machines); otherwise say how.
set -euo pipefail
[ -n "${CHROMIUM:-}" ] && exit 0
for name in chromium chromium-browser google-chrome; do
	command -v "$name" >/dev/null 2>&1 && exit 0
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
	exit 0
fi
echo "the browser tests need chromium: apt-get install -y chromium (or set CHROMIUM)" >&2
exit 1
