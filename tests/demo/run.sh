#!/usr/bin/env bash
# make demo: licensed reconciling a simulated tenant.
#
# Starts the Graph simulator (tests/graphsim) with a generated tenant of
# 300 users, then runs `licensed plan`, `licensed once` twice and
# `licensed status`, and shows from the simulator's request log what each
# round sent: the second round must send no write at all.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
L=$PWD/$BUILD/licensed
D=$(mktemp -d /tmp/licensed-demo.XXXXXX)
SIM=
cleanup() { [ -n "$SIM" ] && kill "$SIM" 2>/dev/null && wait "$SIM" 2>/dev/null; [ -z "${KEEP:-}" ] && rm -rf "$D"; }
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
writes() { # inner writes in the request log since line $1
	tail -n +"$1" "$D/sim/requests.jsonl" | grep -c '"batch_item"' ; }
lines() { wc -l <"$D/sim/requests.jsonl"; }

python3 tests/demo/setup.py "$D" tenant >/dev/null || exit 1
mkdir -p "$D/sim"
python3 tests/graphsim/graphsim.py --tenant "$D/tenant.json" --dir "$D/sim" \
	>"$D/sim.out" 2>"$D/sim.err" &
SIM=$!
for _ in $(seq 100); do [ -s "$D/sim/ports.json" ] && break; sleep 0.1; done
[ -s "$D/sim/ports.json" ] || { echo "demo: the simulator did not start"; cat "$D/sim.err"; exit 1; }
python3 tests/demo/setup.py "$D" config || exit 1
cd "$D"

step "the policy ($D/policy.ini)"
grep -v '^;' policy.ini | sed '/^$/d'

step "licensed check --online"
"$L" -c licensed.conf check --online

step "licensed plan (first 20 lines and the totals)"
"$L" -c licensed.conf plan >plan.txt; rc=$?
head -21 plan.txt; echo "..."; tail -1 plan.txt
echo "(exit $rc; $(($(wc -l <plan.txt) - 2)) lines in $D/plan.txt)"

step "licensed once (first round)"
before=$(lines)
"$L" -c licensed.conf once 2>once1.log; rc1=$?
grep -v '^assign\|^update\|^remove' once1.log
echo "$(grep -c '^assign' once1.log) assign records, $(grep -c '^remove' once1.log) remove records; exit $rc1"
w1=$(writes $((before + 1)))
echo "requests sent: $(( $(lines) - before )) ($w1 writes)"

step "licensed once (second round: nothing changed in the tenant)"
before=$(lines)
"$L" -c licensed.conf once 2>once2.log; rc2=$?
cat once2.log; echo "exit $rc2"
w2=$(writes $((before + 1)))
echo "requests sent: $(( $(lines) - before )) ($w2 writes)"

step "licensed status"
"$L" -c licensed.conf status

echo
if [ "$w1" -gt 0 ] && [ "$w2" -eq 0 ]; then
	echo "demo: the first round made $w1 changes; the second changed nothing."
else
	echo "demo: FAILED: first round $w1 writes, second round $w2 writes"; exit 1
fi
