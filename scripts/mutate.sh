#!/usr/bin/env bash
# mutate.sh runs the curated mutation test: each mutant in scripts/mutants/
# breaks one behaviour userd promises, and the tests it names must then
# fail. It prints each mutant's fate, the score and the survivors.
#
#   scripts/mutate.sh [NAME...]      (default: every mutant; make mutate)
#   scripts/mutate.sh --check [NAME...]   only say which mutants are stale
#                                    (seconds; make mutate-check)
#
# A mutant is scripts/mutants/NAME.mutant: header lines
#
#   # what the mutant breaks, in one line
#   # test: PACKAGE [go test flags]    e.g. ./service -run '^TestOutbox'
#   # survives: why it is equivalent or acceptable   (only for known survivors)
#
# then one or more edits, each a file, the code as it is and its
# replacement (scripts/mutant/main.go says the details):
#
#   --- service/outbox.go
#   	case int(j.Attempts) >= o.MaxAttempts:
#   +++
#   	case false:
#
# The code is found wherever it is in the file (white space aside), or in
# another file of the same directory when it moved, so edits elsewhere do
# not disturb a mutant.
#
# Fates: killed (the tests failed), SURVIVED (they passed), STALE (the code
# a mutant replaces is found nowhere, or more than once: rewrite the
# mutant), NOT VIABLE (the mutated code does not build). The score is
# killed / (killed + survived).
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
# MUTATE_JOBS     mutants run at the same time (default 1), each job in a
#                 scratch tree of its own. Most of a mutant's time is
#                 compiling its test binary: on a shared machine keep 1.
# TEST_DATABASE_URL is passed on to the tests, as for make test.
#
# Exit status: 0 when the score is at least MUTATE_MIN and no mutant is
# stale or not viable; 1 otherwise.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
min=${MUTATE_MIN:-90}
timeout=${MUTATE_TIMEOUT:-5m}
jobs=${MUTATE_JOBS:-1}

check=false
if [[ ${1:-} == --check ]]; then
	check=true
	shift
fi

mutants=()
if [[ $# -gt 0 ]]; then
	for name in "$@"; do
		f=scripts/mutants/${name%.mutant}.mutant
		[[ -f $f ]] || { echo "mutate: no mutant $f" >&2; exit 1; }
		mutants+=("$f")
	done
else
	mutants=(scripts/mutants/*.mutant)
fi

# header FILE KEY prints the value of the "# KEY: value" line.
header() {
	sed -n "s/^# $2: //p" "$1" | head -1
}

# describe FILE prints the first header line (what the mutant breaks).
describe() {
	sed -n '1s/^# //p' "$1"
}

began=$SECONDS
# The scratch trees live in one fixed place when no other run holds it:
# the Go build cache keys a package by its directory, so a run where the
# last one ran recompiles only what its mutants change. A concurrent run
# works in a directory of its own.
base=${TMPDIR:-/tmp}/userd-mutate
if mkdir "$base.lock" 2>/dev/null; then
	scratch=$base
	rm -rf "$scratch"
	mkdir "$scratch"
else
	scratch=$(mktemp -d "$base.XXXXXX")
fi
work=$scratch/0 # the first scratch tree; each further job gets a copy
mkdir "$work"
bin=$(mktemp -d "${TMPDIR:-/tmp}/userd-mutant.XXXXXX")
cleanup() {
	rm -rf "$scratch" "$bin"
	[[ $scratch != "$base" ]] || rmdir "$base.lock"
}
trap cleanup EXIT

# The tool that applies and reverts mutants, built once from the tree.
go build -o "$bin/mutant" ./scripts/mutant

if $check; then
	"$bin/mutant" check -C "$root" "${mutants[@]}"
	exit
fi

# Copy the work tree as git sees it (tracked and untracked, not ignored;
# a tracked file deleted in the tree is left out).
git ls-files -z --cached --others --exclude-standard |
	tar --ignore-failed-read --null -T - -cf - 2>/dev/null | tar -xf - -C "$work"

# template_name DIR prints the template database the test harness builds
# for the migrations in the scratch tree DIR (pgtest's migrationsHash).
template_name() {
	local f dir=$1
	{
		for f in $(cd "$dir/sql" && LC_ALL=C ls migrations/*.sql); do
			printf '%s\0%d\0' "$f" "$(wc -c <"$dir/sql/$f")"
			cat "$dir/sql/$f"
		done
	} | sha256sum | cut -c1-16 | sed 's/^/userd_tmpl_/'
}

psql_admin() {
	local url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
	psql "$url" -X -Atqc "$1" 2>/dev/null
}

# run_tests DIR SPEC LOG runs "go test -count=1 -vet=off -timeout T SPEC" in
# the scratch tree DIR (make verify vets; here vet would only cost time); its
# status is go test's.
run_tests() {
	local dir=$1 spec=$2 log=$3
	(cd "$dir" && eval "go test -count=1 -vet=off -timeout $timeout $spec") >"$log" 2>&1
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
	if ! run_tests "$work" "$spec" "$bin/baseline.log"; then
		cat "$bin/baseline.log" >&2
		echo "mutate: the tests fail without any mutant: go test $spec" >&2
		exit 1
	fi
	if grep -q 'no tests to run' "$bin/baseline.log"; then
		echo "mutate: go test $spec runs no test: a '# test:' line names a test that is gone" >&2
		exit 1
	fi
	echo "   ok   go test $spec"
done

# Each job works in a scratch tree of its own.
for ((j = 1; j < jobs; j++)); do
	cp -a "$scratch/0" "$scratch/$j"
done

# run_mutant FILE DIR applies the mutant to the scratch tree DIR, runs its
# tests there, reverts it, prints its fate and appends "FATE<tab>NAME" to
# $bin/fates.
run_mutant() {
	local f=$1 dir=$2 name spec note st tmpl="" schema=false start log fate
	name=$(basename "$f" .mutant)
	spec=$(header "$f" test)
	st=0
	note=$("$bin/mutant" apply -C "$dir" "$root/$f") || st=$?
	if ((st != 0)); then
		fate=ERROR
		((st == 2)) && fate=STALE
		printf '%-10s %-40s %s\n' "$fate" "$name" "$note"
		printf '%s\t%s\n' "$fate" "$name" >>"$bin/fates"
		return
	fi
	[[ -z $note ]] || printf '%-10s %-40s %s\n' "" "$name" "$note"
	if grep -q '^--- sql/migrations/' "$f"; then
		schema=true
		tmpl=$(template_name "$dir")
		if [[ -n $(psql_admin "SELECT 1 FROM pg_database WHERE datname = '$tmpl'") ]]; then
			tmpl="" # it existed before this run: not ours to drop
		fi
	fi
	start=$SECONDS
	log=$bin/$name.log
	if run_tests "$dir" "$spec" "$log"; then
		if grep -q 'no tests to run' "$log"; then
			fate=STALE
			note="go test $spec runs no test: the test it names is gone"
		else
			fate=SURVIVED
		fi
	elif grep -q -e '\[build failed\]' -e '\[setup failed\]' "$log"; then
		fate="NOT VIABLE"
		note=$(grep -m 3 -e '\.go:[0-9]' "$log" | tr '\n' ' ')
	elif grep -q '^panic: test timed out' "$log"; then
		fate=killed
		note="(timeout)"
	else
		fate=killed
	fi
	"$bin/mutant" revert -C "$dir"
	if $schema && [[ -n $tmpl ]]; then
		psql_admin "DROP DATABASE IF EXISTS \"$tmpl\" WITH (FORCE)" >/dev/null || true
	fi
	[[ $fate == killed || $fate == SURVIVED ]] && note="$(describe "$f")${note:+ $note}"
	printf '%-10s %-40s %3ds  %s\n' "$fate" "$name" $((SECONDS - start)) "$note"
	printf '%s\t%s\n' "$fate" "$name" >>"$bin/fates"
}

echo "== mutants ($jobs at a time)"
: >"$bin/fates"
pids=()
for ((j = 0; j < jobs; j++)); do
	(
		for ((i = j; i < ${#mutants[@]}; i += jobs)); do
			run_mutant "${mutants[i]}" "$scratch/$j"
		done
	) &
	pids+=($!)
done
for pid in "${pids[@]}"; do
	wait "$pid" || { echo "mutate: a job failed" >&2; exit 1; }
done

# names FATE lists the mutants of that fate.
names() {
	awk -F '\t' -v f="$1" '$1 == f { print $2 }' "$bin/fates" | sort | tr '\n' ' '
}
count() {
	awk -F '\t' -v f="$1" '$1 == f { n++ } END { print n + 0 }' "$bin/fates"
}
killed=$(count killed) survived=$(count SURVIVED) stale=$(count STALE)
broken=$(count "NOT VIABLE") errors=$(count ERROR)
total=$((killed + survived))
echo "== result"
if ((total == 0)); then
	echo "no mutant ran"
	exit 1
fi
score=$((killed * 1000 / total))
elapsed=$((SECONDS - began))
printf 'mutation score: %d of %d killed (%d.%d %%); %d survived, %d stale, %d not viable; %dm%02ds\n' \
	"$killed" "$total" $((score / 10)) $((score % 10)) "$survived" "$stale" "$broken" $((elapsed / 60)) $((elapsed % 60))
if ((survived > 0)); then
	echo "survivors:"
	for name in $(names SURVIVED); do
		f=scripts/mutants/$name.mutant
		echo "  $name: $(describe "$f")"
		why=$(header "$f" survives)
		echo "      why: ${why:-UNEXPLAINED: add a test, or a '# survives:' line and a docs/contributing.md entry}"
	done
fi
((stale == 0)) || echo "stale (rewrite against the current code): $(names STALE)"
((broken == 0)) || echo "not viable (the mutated code does not build): $(names "NOT VIABLE")"
((errors == 0)) || echo "errors (the mutant file is malformed): $(names ERROR)"
if ((score < min * 10 || stale > 0 || broken > 0 || errors > 0)); then
	exit 1
fi
