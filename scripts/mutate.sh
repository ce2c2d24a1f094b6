#!/usr/bin/env bash
# mutate.sh runs the curated mutation test: each patch in scripts/mutants/
# breaks one behaviour userd promises, and the tests it names must then
# fail. It prints each mutant's fate, the score and the survivors.
#
#   scripts/mutate.sh [NAME...]      (default: every mutant; make mutate)
#
# A mutant is scripts/mutants/NAME.patch: a unified diff (git diff) after
# header lines
#
#   # what the mutant breaks, in one line
#   # test: PACKAGE [go test flags]    e.g. ./service -run '^TestOutbox'
#   # survives: why it is equivalent or acceptable   (only for known survivors)
#
# Fates: killed (the tests failed), SURVIVED (they passed), STALE (the patch
# no longer applies: the code moved; rewrite the patch), NOT VIABLE (the
# mutated code does not build). The score is killed / (killed + survived).
#
# Everything runs in a scratch copy of the work tree (uncommitted changes
# included), never in the tree itself. Before the mutants, each distinct
# test command runs once unmutated and must pass. Schema mutants (under
# sql/migrations/) make the test harness build a template database for
# their migrations hash; it is dropped again afterwards.
#
# MUTATE_MIN      least score in percent (default 90): below it, exit 1.
# MUTATE_TIMEOUT  go test -timeout of one run (default 5m); a run that hits
#                 it counts as killed (a hang is noticed), marked "timeout".
# TEST_DATABASE_URL is passed on to the tests, as for make test.
#
# Exit status: 0 when the score is at least MUTATE_MIN and no mutant is
# stale or not viable; 1 otherwise.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
min=${MUTATE_MIN:-90}
timeout=${MUTATE_TIMEOUT:-5m}

mutants=()
if [[ $# -gt 0 ]]; then
	for name in "$@"; do
		f=scripts/mutants/${name%.patch}.patch
		[[ -f $f ]] || { echo "mutate: no mutant $f" >&2; exit 1; }
		mutants+=("$f")
	done
else
	mutants=(scripts/mutants/*.patch)
fi

# header FILE KEY prints the value of the "# KEY: value" line.
header() {
	sed -n "s/^# $2: //p" "$1" | head -1
}

# describe FILE prints the first header line (what the mutant breaks).
describe() {
	sed -n '1s/^# //p' "$1"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/userd-mutate.XXXXXX")
cleanup() {
	rm -rf "$work"
}
trap cleanup EXIT

# Copy the work tree as git sees it (tracked and untracked, not ignored).
git ls-files -z --cached --others --exclude-standard |
	tar --null -T - -cf - 2>/dev/null | tar -xf - -C "$work"

# template_name prints the template database the test harness builds for
# the migrations in the scratch tree (pgtest's migrationsHash).
template_name() {
	local f
	{
		for f in $(cd "$work/sql" && LC_ALL=C ls migrations/*.sql); do
			printf '%s\0%d\0' "$f" "$(wc -c <"$work/sql/$f")"
			cat "$work/sql/$f"
		done
	} | sha256sum | cut -c1-16 | sed 's/^/userd_tmpl_/'
}

psql_admin() {
	local url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
	psql "$url" -X -Atqc "$1" 2>/dev/null
}

# run_tests SPEC LOG runs "go test -count=1 -timeout T SPEC" in the scratch
# tree; its status is go test's.
run_tests() {
	local spec=$1 log=$2
	(cd "$work" && eval "go test -count=1 -timeout $timeout $spec") >"$log" 2>&1
}

# Baseline: the tests the mutants name pass on the unmutated tree. Specs
# of the form "PACKAGE -run 'RE'" are run once per package, their patterns
# joined; any other spec runs as it is.
declare -A runs=() plain=()
for f in "${mutants[@]}"; do
	spec=$(header "$f" test)
	if [[ -z $spec ]]; then
		echo "mutate: $f has no '# test:' line" >&2
		exit 1
	fi
	if [[ $spec =~ ^([^ ]+)\ -run\ \'([^\']+)\'$ ]]; then
		pkg=${BASH_REMATCH[1]} re=${BASH_REMATCH[2]}
		case "|${runs[$pkg]:-}|" in
		*"|($re)|"*) ;;
		*) runs[$pkg]="${runs[$pkg]:+${runs[$pkg]}|}($re)" ;;
		esac
	else
		plain[$spec]=1
	fi
done
echo "== baseline: the named tests on the unmutated tree"
baseline=()
for pkg in "${!runs[@]}"; do
	baseline+=("$pkg -run '${runs[$pkg]}'")
done
for spec in "${!plain[@]}"; do
	baseline+=("$spec")
done
for spec in "${baseline[@]}"; do
	if ! run_tests "$spec" "$work/baseline.log"; then
		cat "$work/baseline.log" >&2
		echo "mutate: the tests fail without any mutant: go test $spec" >&2
		exit 1
	fi
	if grep -q 'no tests to run' "$work/baseline.log"; then
		echo "mutate: go test $spec runs no test: a '# test:' line names a test that is gone" >&2
		exit 1
	fi
	echo "   ok   go test $spec"
done

killed=0 survived=0 stale=0 broken=0
survivors=() stales=() brokens=()
echo "== mutants"
for f in "${mutants[@]}"; do
	name=$(basename "$f" .patch)
	spec=$(header "$f" test)
	patch=$root/$f
	if ! (cd "$work" && git apply --check "$patch") >/dev/null 2>&1; then
		stale=$((stale + 1))
		stales+=("$name")
		printf '%-10s %-40s %s\n' "STALE" "$name" "patch no longer applies: rewrite it"
		continue
	fi
	(cd "$work" && git apply "$patch")
	schema=false
	tmpl=""
	if grep -q '^+++ b/sql/migrations/' "$f"; then
		schema=true
		tmpl=$(template_name)
		if [[ -n $(psql_admin "SELECT 1 FROM pg_database WHERE datname = '$tmpl'") ]]; then
			tmpl="" # it existed before this run: not ours to drop
		fi
	fi
	start=$SECONDS
	log=$work/$name.log
	if run_tests "$spec" "$log"; then
		fate=SURVIVED
	elif grep -q -e '\[build failed\]' -e '\[setup failed\]' "$log"; then
		fate="NOT VIABLE"
	elif grep -q '^panic: test timed out' "$log"; then
		fate="killed"
		name="$name (timeout)"
	else
		fate=killed
	fi
	(cd "$work" && git apply -R "$patch")
	if $schema && [[ -n $tmpl ]]; then
		psql_admin "DROP DATABASE IF EXISTS \"$tmpl\" WITH (FORCE)" >/dev/null || true
	fi
	case $fate in
	killed) killed=$((killed + 1)) ;;
	SURVIVED)
		survived=$((survived + 1))
		survivors+=("$(basename "$f" .patch): $(describe "$f")")
		;;
	"NOT VIABLE")
		broken=$((broken + 1))
		brokens+=("$name")
		sed -n '1,20p' "$log" >&2
		;;
	esac
	printf '%-10s %-40s %3ds  %s\n' "$fate" "$name" $((SECONDS - start)) "$(describe "$f")"
done

total=$((killed + survived))
echo "== result"
if ((total == 0)); then
	echo "no mutant ran"
	exit 1
fi
score=$((killed * 1000 / total))
printf 'mutation score: %d of %d killed (%d.%d %%); %d survived, %d stale, %d not viable\n' \
	"$killed" "$total" $((score / 10)) $((score % 10)) "$survived" "$stale" "$broken"
if ((survived > 0)); then
	echo "survivors:"
	for f in "${mutants[@]}"; do
		name=$(basename "$f" .patch)
		for s in "${survivors[@]}"; do
			[[ $s == "$name: "* ]] || continue
			echo "  $s"
			why=$(header "$f" survives)
			echo "      why: ${why:-UNEXPLAINED: add a test, or a '# survives:' line and a README entry}"
		done
	done
fi
((stale == 0)) || echo "stale (rewrite against the current code): ${stales[*]}"
((broken == 0)) || echo "not viable (the patch does not build): ${brokens[*]}"
if ((score < min * 10 || stale > 0 || broken > 0)); then
	exit 1
fi
