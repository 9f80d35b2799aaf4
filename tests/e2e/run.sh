#!/usr/bin/env bash
# make e2e: licensed under a real systemd 252, in a Debian 12 container.
#
# A minimal bookworm (debootstrap --variant=minbase, cached in
# /var/tmp/licensed-e2e-rootfs, rebuilt when the package list below
# changes) boots with systemd-nspawn --volatile=overlay, so every run
# starts from the same clean tree and leaves the cache untouched.  The
# container shares the host's network namespace (no --private-network),
# so the daemon inside reaches the Graph simulator on the host's
# 127.0.0.1.  The host here has no systemd as PID 1, hence --register=no
# --keep-unit, and the container is driven with nsenter (PITFALLS.md).
#
# `make DESTDIR=STAGE install` fills a staging tree, which is unpacked into
# the running container; the checks then go through systemctl and
# journalctl as an admin would.  Each check prints "ok ..." or
# "FAIL ..."; the last line is "N passed, M failed"; exit 1 on failure.
# Artifacts (systemctl status, journal records, console) are kept in
# $BUILD/e2e/.  E2E_VERBOSE=1 shows what each check saw, E2E_KEEP=1
# leaves the container and the simulator running for debugging.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
MAKE=${MAKE:-make}
ROOTFS=${E2E_ROOTFS:-/var/tmp/licensed-e2e-rootfs}
MIRROR=${E2E_MIRROR:-http://deb.debian.org/debian}
# What the binary links against, systemd itself, and /bin/kill (procps).
PACKAGES=systemd,systemd-sysv,dbus,procps,ca-certificates,libcurl4,libcjson1,libinih1,libssl3
STAMP="bookworm minbase $PACKAGES e2e-rootfs-v1"

UPN=ada@contoso.onmicrosoft.com   # the demo tenant assigns her ENTERPRISEPACK
ADA=00000000-0000-4000-8000-000000000001
SECRET='e2e~secret.value-from-LoadCredential' # tests/e2e/tenant.json
ID_ROUND=7e6dbb15b22547889e22ada4c71d0748    # daemon/journal.h
ID_CHANGE=a7e2e52d80bb43aabf4bd2d344c39353
ID_REJECTED=7c0d4934d5a14f64b3f82fb7bc7ec307
ID_RELOADED=13b2e310b012410f88fd5758c3c7807c

passed=0
failed=0
start_time=$(date +%s)
work=
sim_pid=
nspawn_pid=
cpid=

ok() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
detail() { sed 's/^/     | /' | head -n "${1:-15}"; }
# check NAME COMMAND...: ok when COMMAND succeeds; its output goes to
# $work/last, shown on failure.
check() {
	local name=$1
	shift
	if "$@" >"$work/last" 2>&1; then
		ok "$name"
		[ -n "${E2E_VERBOSE:-}" ] && detail 40 <"$work/last"
	else
		fail "$name"
		detail 20 <"$work/last"
	fi
}
die() {
	echo "e2e: $*" >&2
	exit 1
}

# A command inside the container, with a clean environment.
c() {
	nsenter -t "$cpid" -m -u -i -n -p -- env -i \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 SYSTEMD_COLORS=0 SYSTEMD_PAGER= SYSTEMD_LESS= "$@"
}
# Write stdin to a file in the container: cput PATH MODE.
cput() { c sh -c "umask 077 && cat >'$1' && chmod $2 '$1'"; }
# wait_for SECONDS COMMAND...: poll until COMMAND succeeds.
wait_for() {
	local deadline=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}
prop() { c systemctl show -p "$2" --value "$1"; }
nspawn_gone() { ! kill -0 "$nspawn_pid" 2>/dev/null; }

cleanup() {
	local rc=$?
	if [ -n "${E2E_KEEP:-}" ] && [ -n "$cpid" ]; then
		echo "e2e: kept: nsenter -t $cpid -m -u -i -n -p; simulator pid $sim_pid, dir $work"
		return $rc
	fi
	if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
		if [ -n "$cpid" ] && c systemctl poweroff --no-block >/dev/null 2>&1; then
			wait_for 30 nspawn_gone
		fi
		if ! nspawn_gone; then
			# Killing the container's PID 1 ends its PID namespace;
			# killing only nspawn would leave the container orphaned.
			echo "e2e: the container did not power off; killing it" >&2
			[ -n "$cpid" ] && kill -KILL "$cpid" 2>/dev/null
			wait_for 10 nspawn_gone || kill -KILL "$nspawn_pid" 2>/dev/null
		fi
		wait "$nspawn_pid" 2>/dev/null
	fi
	if [ -n "$sim_pid" ]; then
		kill -TERM "$sim_pid" 2>/dev/null
		wait "$sim_pid" 2>/dev/null
	fi
	[ -n "$work" ] && rm -rf "$work"
	return $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- setup

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, systemd-nspawn, nsenter)"
for cmd in debootstrap systemd-nspawn nsenter python3 openssl tar; do
	command -v "$cmd" >/dev/null || die "'$cmd' missing: run 'make deps'"
done
[ -x "$BUILD/licensed" ] || die "$BUILD/licensed missing: run 'make'"

# The cached root file system; rebuilt when missing or when STAMP changed.
if [ "$(cat "$ROOTFS/.licensed-e2e" 2>/dev/null)" != "$STAMP" ]; then
	echo "e2e: debootstrap bookworm into $ROOTFS (a minute or two, once)"
	rm -rf "$ROOTFS.new"
	if ! debootstrap --variant=minbase --include="$PACKAGES" bookworm \
		"$ROOTFS.new" "$MIRROR" >"/var/tmp/licensed-e2e-debootstrap.log" 2>&1; then
		tail -20 /var/tmp/licensed-e2e-debootstrap.log >&2
		die "debootstrap failed (log: /var/tmp/licensed-e2e-debootstrap.log)"
	fi
	echo licensed-e2e >"$ROOTFS.new/etc/hostname"
	# Nothing of these is wanted in a test boot.
	for u in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
		e2scrub_all.timer fstrim.timer console-getty.service; do
		ln -sf /dev/null "$ROOTFS.new/etc/systemd/system/$u"
	done
	echo "$STAMP" >"$ROOTFS.new/.licensed-e2e"
	rm -rf "$ROOTFS"
	mv "$ROOTFS.new" "$ROOTFS"
fi

work=$(mktemp -d /tmp/licensed-e2e.XXXXXX)
art=$BUILD/e2e
rm -rf "$art"
mkdir -p "$art" "$work/sim"

# make install into a staging tree (PREFIX /usr/local, the units' ExecStart).
$MAKE -s --no-print-directory DESTDIR="$work/stage" install >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log" >&2; die "make install failed"; }

# The Graph simulator on the host's loopback.
python3 tests/graphsim/graphsim.py --tenant tests/e2e/tenant.json \
	--dir "$work/sim" >"$work/sim/stdout" 2>"$work/sim/stderr" &
sim_pid=$!
wait_for 30 test -s "$work/sim/ports.json" || {
	cat "$work/sim/stderr" >&2
	die "the simulator did not start"
}
port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["https"])' \
	"$work/sim/ports.json")
sim_url=https://127.0.0.1:$port

# Boot.  The console goes to a file (the boot log, for a failed boot).
boot_start=$(date +%s)
systemd-nspawn --quiet --register=no --keep-unit --boot --volatile=overlay \
	--console=read-only -D "$ROOTFS" --machine=licensed-e2e \
	>"$work/console.log" 2>&1 </dev/null &
nspawn_pid=$!
find_systemd() { cpid=$(pgrep -P "$nspawn_pid" -x systemd | head -1) && [ -n "$cpid" ]; }
wait_for 30 find_systemd || { cat "$work/console.log" >&2; die "the container did not start"; }
find_systemd
# systemctl needs the manager's socket before it can wait for the boot.
wait_for 30 c test -S /run/systemd/private
state=$(c timeout 60 systemctl is-system-running --wait 2>&1)
boot_time=$(($(date +%s) - boot_start))
case $state in
running | degraded) ;;
*) cp "$work/console.log" "$art/"; die "the container did not boot: '$state'" ;;
esac

# Install: the staging tree, unpacked over the container's root (which
# keeps its /lib -> usr/lib symlink), then the catalog index.
tar -C "$work/stage" -c . | c tar -C / -x --keep-directory-symlink --no-same-owner ||
	die "cannot unpack the staging tree in the container"
c journalctl --update-catalog || die "journalctl --update-catalog failed"
c systemctl daemon-reload

# The e2e tenant: a config pointing at the simulator, the policy, its CA,
# and the secret as an admin stores it (root, 0600).
conf() { # state_dir
	cat <<EOF
[tenant]
tenant_id = contoso.onmicrosoft.com
client_id = 3f2c1b8e-5d4a-4e6f-9a7b-2c1d0e9f8a7b
client_secret_file = client-secret
authority = $sim_url
graph = $sim_url
ca_file = ca.pem

[daemon]
policy = policy.ini
state_dir = $1
interval = 1h
EOF
}
conf /var/lib/licensed | cput /etc/licensed/licensed.conf 644
cput /etc/licensed/policy.ini 644 <tests/e2e/policy.ini
cput /etc/licensed/ca.pem 644 <"$work/sim/ca.pem"
printf '%s\n' "$SECRET" | cput /etc/licensed/client-secret 600
for i in alpha beta; do
	conf /var/lib/licensed-$i | cput /etc/licensed/$i.conf 644
	printf '%s\n' "$SECRET" | cput /etc/licensed/$i.secret 600
done
echo "e2e: container booted in ${boot_time}s (systemd $(c systemctl --version | awk 'NR == 1 {print $2}')), simulator on $sim_url"

# ---------------------------------------------------------------- checks

# Installed as `make install` put it.
check "make install: binary, units, catalog, man pages in the container" \
	c sh -c 'test -x /usr/local/bin/licensed &&
		test -f /lib/systemd/system/licensed.service &&
		test -f /lib/systemd/system/licensed@.service &&
		test -f /usr/lib/systemd/catalog/licensed.catalog &&
		test -f /usr/local/share/man/man8/licensed.8 &&
		test -f /usr/local/share/man/man5/licensed.conf.5 &&
		test -f /usr/local/share/man/man5/licensed-policy.5 &&
		grep -q "^ExecStart=/usr/local/bin/licensed run$" /lib/systemd/system/licensed.service'

verify() {
	c systemd-analyze verify --man=no licensed.service licensed@alpha.service \
		>"$work/verify" 2>&1
	cat "$work/verify"
	[ ! -s "$work/verify" ]
}
check "systemd-analyze verify: both units clean under the container's systemd" verify

check "the simulator answers the container (licensed check --online as root)" \
	c licensed -c /etc/licensed/licensed.conf check --online

if ! "$BUILD/licensed" --help 2>&1 | grep -q ' run'; then
	fail "$BUILD/licensed has no 'run' command yet: the daemon checks below cannot pass"
fi

# As the install steps say: plan as root before the first start.
first_plan() {
	c licensed plan && c licensed plan | grep -q "^$UPN .*add"
}
check "licensed plan as root before the first start lists the adds" first_plan

# Start, and the first round.
started() { [ "$(prop licensed ActiveState)" = active ]; }
c timeout 60 systemctl start licensed >"$work/start" 2>&1
check "systemctl start licensed: active" started
round_done() { prop licensed StatusText | grep -q '^last round'; }
wait_for 30 round_done
c systemctl status --no-pager --lines=20 licensed >"$art/systemctl-status.txt" 2>&1
check "systemctl status licensed shows the STATUS= line of the first round" \
	grep -E '^ +Status: "last round' "$art/systemctl-status.txt"

mainpid=$(prop licensed MainPID)
dyn_user() {
	local uid pid_uid
	c ls -ln /var/lib/private/
	c ls -l /var/lib/licensed
	uid=$(c stat -c %u /var/lib/private/licensed) || return 1
	pid_uid=$(c awk '/^Uid:/ {print $2}' "/proc/$mainpid/status") || return 1
	echo "state dir uid $uid, main process uid $pid_uid"
	[ "$(c readlink /var/lib/licensed)" = private/licensed ] &&
		[ "$uid" -ge 61184 ] && [ "$uid" -le 65519 ] && [ "$uid" = "$pid_uid" ]
}
check "the dynamic user (uid 61184-65519) runs the daemon and owns /var/lib/licensed" dyn_user

credential() {
	local prop
	prop=$(c busctl get-property org.freedesktop.systemd1 \
		/org/freedesktop/systemd1/unit/licensed_2eservice \
		org.freedesktop.systemd1.Service LoadCredential) || return 1
	echo "LoadCredential: $prop"
	c sh -c "tr '\\0' '\\n' </proc/$mainpid/environ" | grep CREDENTIALS_DIRECTORY
	c ls -l /run/credentials/licensed.service/
	[ "$prop" = 'a(ss) 1 "client-secret" "/etc/licensed/client-secret"' ] &&
		c sh -c "tr '\\0' '\\n' </proc/$mainpid/environ" |
		grep -qx 'CREDENTIALS_DIRECTORY=/run/credentials/licensed.service' &&
		c test -f /run/credentials/licensed.service/client-secret
}
check "LoadCredential=client-secret:/etc/licensed/client-secret; the daemon has \$CREDENTIALS_DIRECTORY" credential
cred_logged() {
	c journalctl -b -u licensed -o cat --no-pager | grep -F /run/credentials/licensed.service/client-secret
}
check "the journal says the secret was read from \$CREDENTIALS_DIRECTORY" cred_logged

change_record() {
	c journalctl -b -u licensed --no-pager -o json "LICENSED_UPN=$UPN" \
		"MESSAGE_ID=$ID_CHANGE" >"$art/journal-change-record.json"
	head -c 3000 "$art/journal-change-record.json"
	python3 - "$art/journal-change-record.json" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert recs, "no record"
r = recs[0]
assert r.get("LICENSED_ACTION") == "assign", r.get("LICENSED_ACTION")
assert r.get("LICENSED_SKU") == "ENTERPRISEPACK", r.get("LICENSED_SKU")
assert r.get("LICENSED_USER") == "00000000-0000-4000-8000-000000000001"
assert r.get("LICENSED_RULE") == "sales-e3", r.get("LICENSED_RULE")
EOF
}
check "journalctl -u licensed LICENSED_UPN=$UPN: the assign record with its fields" change_record

tenant_changed() {
	python3 - "$work/sim/ca.pem" "$sim_url" "$ADA" <<'EOF'
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[1])
with urllib.request.urlopen(sys.argv[2] + "/_sim/state", context=ctx, timeout=10) as f:
    t = json.load(f)
u = [u for u in t["users"] if u["id"] == sys.argv[3]][0]
print(json.dumps(u.get("licenses")))
lic = [l for l in u.get("licenses", []) if l["sku"] == "ENTERPRISEPACK"]
assert lic and lic[0].get("disabledPlans") == ["SWAY"], lic
EOF
}
check "the simulated tenant holds the assignment (ENTERPRISEPACK without SWAY)" tenant_changed

catalog() {
	c journalctl -b -x -u licensed --no-pager >"$art/journalctl-x.txt"
	grep -E 'Subject: Reconcile round finished|Defined-By: licensed' "$art/journalctl-x.txt"
	grep -q 'Defined-By: licensed' "$art/journalctl-x.txt"
}
check "journalctl -x -u licensed shows the catalog text" catalog

# Reload: a good one, then a broken policy, which must leave the old one.
reloaded() { c journalctl -b -u licensed -o cat --no-pager "MESSAGE_ID=$1" | grep -q .; }
reload_good() {
	c systemctl reload licensed && wait_for 10 reloaded "$ID_RELOADED" || return 1
	c journalctl -b -u licensed -o cat --no-pager "MESSAGE_ID=$ID_RELOADED"
	[ "$(prop licensed MainPID)" = "$mainpid" ] &&
		[ "$(prop licensed ActiveState)" = active ]
}
check "systemctl reload licensed: RELOADED record, same MainPID, active" reload_good
reload_bad() {
	printf '[broken\n' | cput /etc/licensed/policy.ini 644
	c systemctl reload licensed
	wait_for 10 reloaded "$ID_REJECTED" || return 1
	c journalctl -b -u licensed -o cat --no-pager "MESSAGE_ID=$ID_REJECTED"
	cput /etc/licensed/policy.ini 644 <tests/e2e/policy.ini
	[ "$(prop licensed MainPID)" = "$mainpid" ] && [ "$(prop licensed ActiveState)" = active ]
}
check "a broken policy on reload is rejected (CONFIG_REJECTED record), daemon keeps running" reload_bad

status_cmd() { c licensed status && c licensed status --json | python3 -m json.tool >/dev/null; }
check "licensed status (and --json) reads the state directory" status_cmd

stop_clean() {
	local t0
	t0=$(date +%s%N)
	c systemctl stop licensed || return 1
	echo "stopped in $((($(date +%s%N) - t0) / 1000000)) ms"
	echo "Result=$(prop licensed Result) ExecMainStatus=$(prop licensed ExecMainStatus)"
	[ $((($(date +%s%N) - t0) / 1000000)) -lt 5000 ] &&
		[ "$(prop licensed Result)" = success ] &&
		[ "$(prop licensed ExecMainStatus)" = 0 ] &&
		c test -s /var/lib/private/licensed/state
}
check "systemctl stop licensed: exit 0 within 5 s, state saved" stop_clean

# The exposure as the running manager sees it (lint checks the files).
exposure() {
	local u score bad=0
	for u in licensed.service licensed@alpha.service; do
		score=$(c systemd-analyze security --no-pager "$u" 2>&1 |
			sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		echo "$u: exposure ${score:-?}"
		[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }' || bad=1
	done
	[ "$bad" = 0 ]
}
check "systemd-analyze security on the loaded units: exposure at most 1.5" exposure

# An admin runs `licensed once` and `licensed approve N` as root against
# the same state directory; the daemon (a dynamic user) must still read
# and write everything there afterwards.
root_commands() {
	local uid inv
	c licensed once >/dev/null
	echo "licensed once (as root): exit $?"
	c licensed approve 2 || return 1
	c timeout 60 systemctl start licensed || return 1
	wait_for 30 round_done
	uid=$(c stat -c %u /var/lib/private/licensed)
	inv=$(prop licensed InvocationID)
	c ls -ln /var/lib/private/licensed
	c journalctl -b -o cat --no-pager "_SYSTEMD_INVOCATION_ID=$inv" -p warning
	c systemctl stop licensed
	[ -z "$(c find /var/lib/private/licensed ! -uid "$uid")" ] &&
		[ -z "$(c journalctl -b -o cat --no-pager "_SYSTEMD_INVOCATION_ID=$inv" -p warning)" ]
}
check "state written by root's 'licensed once' and 'approve' stays usable by the daemon" root_commands

# Watchdog: with WatchdogSec=5s, a stopped daemon misses its pings and
# systemd restarts it.
c mkdir -p /run/systemd/system/licensed.service.d
printf '[Service]\nWatchdogSec=5s\nRestartSec=1s\n' |
	cput /run/systemd/system/licensed.service.d/50-e2e-watchdog.conf 644
c systemctl daemon-reload
restarted_since() { [ "$(prop licensed NRestarts)" -gt "$1" ]; }
watchdog() {
	local restarts pid
	c timeout 60 systemctl restart licensed || return 1
	restarts=$(prop licensed NRestarts)
	pid=$(prop licensed MainPID)
	echo "before: MainPID=$pid NRestarts=$restarts WatchdogUSec=$(prop licensed WatchdogUSec)"
	c kill -STOP "$pid" || return 1
	wait_for 30 restarted_since "$restarts"
	wait_for 30 started
	echo "after: MainPID=$(prop licensed MainPID) NRestarts=$(prop licensed NRestarts)"
	c journalctl -b -u licensed -o cat --no-pager | grep -i 'watchdog'
	restarted_since "$restarts" && [ "$(prop licensed MainPID)" != "$pid" ] && started
}
check "a daemon that stops pinging (SIGSTOP, WatchdogSec=5s) is restarted" watchdog
c rm -f /run/systemd/system/licensed.service.d/50-e2e-watchdog.conf
c systemctl daemon-reload

# An invalid config at start: exit 2, and no restart loop
# (RestartPreventExitStatus=2).
bad_config() {
	c cp /etc/licensed/licensed.conf /run/licensed.conf.good
	echo 'bogus = 1' | c sh -c 'cat >>/etc/licensed/licensed.conf'
	c systemctl stop licensed
	c timeout 60 systemctl start licensed
	echo "ActiveState=$(prop licensed ActiveState) Result=$(prop licensed Result)" \
		"ExecMainStatus=$(prop licensed ExecMainStatus)"
	c journalctl -b -u licensed -o cat --no-pager -n 3
	local state status
	state=$(prop licensed ActiveState)
	status=$(prop licensed ExecMainStatus)
	c cp /run/licensed.conf.good /etc/licensed/licensed.conf
	c systemctl reset-failed licensed
	c timeout 60 systemctl start licensed
	[ "$state" = failed ] && [ "$status" = 2 ] && started
}
check "an invalid config at start: exit 2, not restarted (then fixed, active again)" bad_config

# Two tenants side by side, beside licensed.service.
instances() {
	local a b ua ub
	c timeout 60 systemctl start licensed@alpha licensed@beta || return 1
	for i in alpha beta; do
		echo "licensed@$i: $(prop licensed@$i ActiveState) User=$(prop licensed@$i User)" \
			"MainPID=$(prop licensed@$i MainPID) Status=$(prop licensed@$i StatusText)"
	done
	c ls -ln /var/lib/private/
	a=$(prop licensed@alpha MainPID)
	b=$(prop licensed@beta MainPID)
	ua=$(c awk '/^Uid:/ {print $2}' "/proc/$a/status")
	ub=$(c awk '/^Uid:/ {print $2}' "/proc/$b/status")
	[ "$(prop licensed@alpha ActiveState)" = active ] &&
		[ "$(prop licensed@beta ActiveState)" = active ] &&
		[ "$(prop licensed@alpha User)" = licensed-alpha ] &&
		[ "$(prop licensed@beta User)" = licensed-beta ] &&
		[ -n "$ua" ] && [ "$ua" != "$ub" ] &&
		[ "$(c stat -c %u /var/lib/private/licensed-alpha)" = "$ua" ] &&
		[ "$(c stat -c %u /var/lib/private/licensed-beta)" = "$ub" ] &&
		[ "$(prop licensed ActiveState)" = active ]
}
check "licensed@alpha and licensed@beta run beside licensed: own users and state dirs" instances

# Artifacts for the report.
c journalctl -b -u licensed --no-pager -o json "MESSAGE_ID=$ID_ROUND" \
	>"$art/journal-round-records.json" 2>&1
c journalctl -b -u 'licensed*' --no-pager >"$art/journal.txt" 2>&1
c systemctl status --no-pager --lines=5 licensed licensed@alpha licensed@beta \
	>"$art/systemctl-status-all.txt" 2>&1
cp "$work/console.log" "$art/" 2>/dev/null

echo "e2e: artifacts in $art/; $(($(date +%s) - start_time))s in all"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
