#!/usr/bin/env bash
# The whole test suite: unit tests (cmocka), the corpus of bad files, the
# golden summaries of `licensed check`, and the command-line cases.
# Prints one line per case and ends with "N passed, M failed"; exits
# non-zero when anything failed.
#
#   BUILD=build tests/run.sh                  run everything
#   BUILD=build tests/run.sh --update-golden  rewrite expected outputs
set -u
shopt -s nullglob
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LICENSED=$PWD/$BUILD/licensed
UPDATE=no
[ "${1:-}" = --update-golden ] && UPDATE=yes

passed=0
failed=0
TMP=$(mktemp -d /tmp/licensed-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/     /'; }

# A fresh work directory holding a valid config, secret and policy.
workdir() {
	local d=$TMP/$1
	rm -rf "$d"; mkdir -p "$d"
	printf 'test-secret\n' >"$d/client-secret"; chmod 600 "$d/client-secret"
	cp tests/bad/good.conf "$d/licensed.conf"
	cp tests/bad/good.ini "$d/policy.ini"
	echo "$d"
}

# Compare actual output with the expected file (or rewrite it).
expect() { # name expected-file actual-file
	if [ "$UPDATE" = yes ]; then cp "$3" "$2"; pass "$1 (updated)"; return; fi
	if diff -u "$2" "$3" >"$TMP/diff"; then pass "$1"; else fail "$1" "$(cat "$TMP/diff")"; fi
}

run_unit() {
	local bin out n_pass n_fail
	for bin in "$BUILD"/tests/test_*; do
		[ -x "$bin" ] || continue
		out=$("$bin" 2>&1); rc=$?
		n_pass=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p')
		n_fail=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p')
		passed=$((passed + ${n_pass:-0}))
		if [ $rc -ne 0 ] || [ -n "$n_fail" ] || [ -z "$n_pass" ]; then
			# fail() counts one; the binary's own count says how many.
			[ -n "$n_fail" ] && failed=$((failed + n_fail - 1))
			fail "unit $(basename "$bin")" "$(printf '%s\n' "$out" | grep -v '^\[ *\(RUN\|OK\) ')"
		else
			echo "ok   unit $(basename "$bin") ($n_pass tests)"
		fi
	done
}

# tests/bad/config/NAME.conf, tests/bad/policy/NAME.ini and the policy
# directories tests/bad/policy-dir/NAME/: licensed check must exit 2 and
# print exactly NAME.err (beside it) on stderr, and nothing on stdout.
run_bad() {
	local f name d rc
	for f in tests/bad/config/*.conf tests/bad/policy/*.ini tests/bad/policy-dir/*/; do
		f=${f%/}; name=$(basename "$f"); d=$(workdir "bad-$name")
		cp -r "$f" "$d/$name"; conf=licensed.conf
		case $f in
		*.conf) conf=$name ;;
		*) sed -i "s|^policy = .*|policy = $name|" "$d/licensed.conf" ;;
		esac
		(cd "$d" && "$LICENSED" -c "$conf" check >stdout 2>stderr); rc=$?
		if [ $rc -ne 2 ] || [ -s "$d/stdout" ]; then
			fail "bad $name" "exit $rc (want 2); stdout: $(cat "$d/stdout")"
			continue
		fi
		case $f in
		*.conf|*.ini) expect "bad $name" "${f%.*}.err" "$d/stderr" ;;
		*) expect "bad $name" "$f.err" "$d/stderr" ;;
		esac
	done
}

# tests/golden/check/NAME/: a config and policy; `check` must print
# expected.out and exit 0.
run_golden() {
	local g name d rc
	for g in tests/golden/check/*/; do
		name=$(basename "$g"); d=$TMP/golden-$name
		rm -rf "$d"; cp -r "$g" "$d"; rm -f "$d/expected.out"
		printf 'test-secret\n' >"$d/client-secret"
		chmod 600 "$d/client-secret" "$d"/*.pem
		(cd "$d" && "$LICENSED" -c licensed.conf check >stdout 2>stderr); rc=$?
		if [ $rc -ne 0 ]; then
			fail "golden $name" "exit $rc: $(cat "$d/stderr")"
			continue
		fi
		expect "golden $name" "$g/expected.out" "$d/stdout"
	done
}

# tests/cli/cases: "want-exit | args | text expected in the output".
run_cli() {
	local want args text d rc out
	d=$(workdir cli)
	while IFS='|' read -r want args text; do
		case $want in ''|'#'*) continue ;; esac
		want=${want// /}; args=$(echo $args); text=${text# }
		out=$(cd "$d" && eval "\"$LICENSED\" $args" 2>&1); rc=$?
		if [ "$rc" != "$want" ]; then
			fail "cli '$args'" "exit $rc, want $want: $out"
		elif ! printf '%s\n' "$out" | grep -qF -- "$text"; then
			fail "cli '$args'" "no '$text' in: $out"
		else
			pass "cli '$args'"
		fi
	done <tests/cli/cases
}

# The shipped examples must pass `check` once the secret exists.
run_examples() {
	local d=$TMP/examples rc
	mkdir -p "$d"; cp config/licensed.conf config/policy.ini "$d/"
	printf 'example-secret\n' >"$d/client-secret"; chmod 600 "$d/client-secret"
	(cd "$d" && "$LICENSED" -c licensed.conf check >stdout 2>stderr); rc=$?
	if [ $rc -ne 0 ]; then fail "examples" "exit $rc: $(cat "$d/stderr")"; return; fi
	expect "examples" tests/golden/examples.out "$d/stdout"
}

# Python unittest suites: the integration tests (the real binaries against
# the Graph simulator) and the simulator's own self-test.
run_python() { # name start-dir
	local out line before=$failed
	out=$(cd "$2" && BUILD=$BUILD python3 -m unittest discover -v -p 'test_*.py' 2>&1)
	while IFS= read -r line; do
		case $line in
		*' ... ok') pass "$1 ${line%% (*}" ;;
		*' ... skipped'*) echo "skip $1 ${line%% (*}" ;;
		*' ... FAIL'|*' ... ERROR') fail "$1 ${line%% (*}" ;;
		esac
	done <<<"$out"
	if [ "$failed" -ne "$before" ]; then
		printf '%s\n' "$out" | sed -n '/^=====/,$p' | head -150 | sed 's/^/     /'
	elif ! printf '%s\n' "$out" | grep -q '^OK'; then
		fail "$1 (did not finish)" "$(printf '%s\n' "$out" | tail -40)"
	fi
}

[ -x "$LICENSED" ] || { echo "no $LICENSED: run make first"; exit 2; }
run_unit
run_bad
run_golden
run_cli
run_examples
run_python integration tests/integration
run_python graphsim tests/graphsim
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
