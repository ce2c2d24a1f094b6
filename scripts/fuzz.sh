#!/usr/bin/env bash
# fuzz.sh runs every Fuzz target of the given packages (default ./...) for a
# bounded time each.
#
#   FUZZTIME=20s FUZZ_KEEP=0 scripts/fuzz.sh [PACKAGES...]
#
# FUZZTIME   how long each target runs (go test -fuzztime); default 20s.
# FUZZ_KEEP  when > 0, copy up to that many new entries of each target's
#            generated corpus (smallest first) from the Go build cache into
#            the package's testdata/fuzz/<Target>/, so they run with every
#            `go test` from then on; default 0 (keep nothing).
#
# A failing input is written to testdata/fuzz/<Target>/ by go test itself;
# the script exits non-zero after trying every target.
set -euo pipefail

cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-20s}
keep=${FUZZ_KEEP:-0}
if [[ $# -eq 0 ]]; then
	set -- ./...
fi

if ! list=$(go test -list '^Fuzz' "$@" 2>&1); then
	echo "$list" >&2
	echo "fuzz: listing the fuzz targets failed" >&2
	exit 1
fi

# Pair each target with its package: go test prints a package's matching
# names, then its "ok <package>" line.
targets=()
pending=()
while IFS= read -r line; do
	case $line in
	Fuzz*) pending+=("$line") ;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for name in "${pending[@]}"; do
			targets+=("$pkg $name")
		done
		pending=()
		;;
	esac
done <<<"$list"

if [[ ${#targets[@]} -eq 0 ]]; then
	echo "fuzz: no Fuzz targets found"
	exit 0
fi

cache=$(go env GOCACHE)/fuzz
failed=0
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	echo "== $pkg $name ($fuzztime)"
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"; then
		failed=1
	fi
	if ((keep > 0)); then
		src=$cache/$pkg/$name
		dst=$(go list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$name
		[[ -d $src ]] || continue
		mkdir -p "$dst"
		copied=0
		while IFS= read -r f; do
			((copied < keep)) || break
			[[ -e $dst/$f ]] && continue
			cp "$src/$f" "$dst/$f"
			copied=$((copied + 1))
		done < <(ls -Sr "$src")
		echo "   kept $copied new corpus entries in ${dst#"$PWD"/}"
	fi
done
exit $failed
