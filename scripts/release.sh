#!/usr/bin/env bash
# Cross-compiles static userd binaries (CGO_ENABLED=0) for every platform
# of PLATFORMS into DIST, stamped with the version, the commit and the
# build date, and writes their SHA-256 checksums to DIST/SHA256SUMS.
#
#   scripts/release.sh                      # make release
#   PLATFORMS=linux/amd64 DIST=/tmp/d scripts/release.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PLATFORMS=${PLATFORMS:-"linux/amd64 linux/arm64 darwin/amd64 darwin/arm64"}
DIST=${DIST:-dist}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then
	case $COMMIT in *-dirty) ;; *) COMMIT=$COMMIT-dirty ;; esac
fi
DATE=${DATE:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}

ldflags="-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.buildDate=$DATE"
rm -rf "$DIST"
mkdir -p "$DIST"
for p in $PLATFORMS; do
	os=${p%/*}
	arch=${p#*/}
	out="$DIST/userd_${VERSION}_${os}_${arch}"
	echo "building $out"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags "$ldflags" -o "$out" ./cmd/userd
done
(cd "$DIST" && sha256sum userd_* >SHA256SUMS)
echo "checksums in $DIST/SHA256SUMS:"
cat "$DIST/SHA256SUMS"
