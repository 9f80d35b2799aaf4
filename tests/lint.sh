#!/usr/bin/env bash
# make lint: formatting, banned functions, the include rules of STYLE.md,
# and self-contained headers.  Prints each problem; exits 1 if any.
set -u
shopt -s nullglob
cd "$(dirname "$0")/.."
problems=0
say() { echo "lint: $*"; problems=$((problems + 1)); }

sources=(policy/*.[ch] config/*.[ch] graph/*.[ch] daemon/*.[ch]
	 tests/unit/*.[ch] tests/fuzz/*.[ch] tests/bench/*.[ch]
	 tests/integration/*.[ch])

# 1. clang-format (the checked-in .clang-format is the style).
for f in "${sources[@]}"; do
	clang-format --dry-run --Werror "$f" >/dev/null 2>&1 ||
		say "$f: not clang-format clean (run: clang-format -i $f)"
done

# 2. Banned functions (STYLE.md "Safety"); exit() only in daemon/main.c.
banned='\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|atoll|gets|system|sleep|usleep)[[:space:]]*\('
grep -nE "$banned" "${sources[@]}" | grep -v '^\S*:[0-9]*:\s*/\?\*' |
	while IFS= read -r hit; do echo "lint: banned function: $hit"; done
n=$(grep -cE "$banned" "${sources[@]}" | awk -F: '{s += $2} END {print s + 0}')
problems=$((problems + n))
for f in policy/*.c config/*.c graph/*.c daemon/*.c; do
	[ "$f" = daemon/main.c ] && continue
	grep -nE '\bexit[[:space:]]*\(' "$f" | sed "s|^|lint: exit() outside main: $f:|" | grep . && problems=$((problems + 1))
done

# 3. Include rules: policy/ is libc only; config/ adds inih; graph/ adds
#    curl, cJSON and OpenSSL; only daemon/ uses libsystemd; config/ and
#    graph/ never include each other; nothing outside daemon/ includes it.
check_includes() { # folder forbidden-regex why
	local hits
	hits=$(grep -nE "^#include [<\"]($2)" "$1"/*.[ch] 2>/dev/null)
	[ -n "$hits" ] && while IFS= read -r h; do say "$h: $3"; done <<<"$hits"
}
check_includes policy 'ini\.h|curl/|cjson/|openssl/|systemd/|config/|graph/|daemon/' "policy/ includes libc and policy/ only"
check_includes config 'curl/|cjson/|openssl/|systemd/|graph/|daemon/' "config/ includes libc, inih and policy/ only"
check_includes graph 'ini\.h|systemd/|config/|daemon/' "graph/ includes libc, curl, cJSON, OpenSSL and policy/ only"
for d in tests/unit tests/fuzz; do
	check_includes "$d" 'daemon/' "tests link the core, not daemon/"
done

# 4. Every header compiles on its own.
cflags=$(pkg-config --cflags libcurl libcjson libsystemd inih libssl libcrypto)
for h in policy/*.h config/*.h graph/*.h daemon/*.h; do
	echo "#include \"$h\"" | cc -std=c17 -Wall -Wextra -D_GNU_SOURCE -I. $cflags \
		-fsyntax-only -x c - 2>"/tmp/lint-header.$$" ||
		say "$h: not self-contained: $(head -3 "/tmp/lint-header.$$")"
	grep -q "^#ifndef LICENSED_" "$h" || say "$h: no include guard"
done
rm -f "/tmp/lint-header.$$"

# ---------------------------------------------------------------------
# 5. systemd units, journal catalog and man pages (issue 5).
#    The units are checked as installed: @BINDIR@ filled in with the
#    directory of the built binary, since systemd-analyze verify wants
#    ExecStart= to exist.  verify can exit 0 while warning, so any stderr
#    is a problem; the template is checked as an instance.
build=${BUILD:-build}
if [ ! -x "$build/licensed" ]; then
	say "$build/licensed missing: the unit checks need it (run make)"
else
	unitdir=$(mktemp -d /tmp/lint-units.XXXXXX)
	bindir=$(cd "$build" && pwd)
	for u in licensed.service licensed@.service; do
		sed "s|@BINDIR@|$bindir|g" "systemd/$u.in" >"$unitdir/$u"
		grep -q '@[A-Z]*@' "$unitdir/$u" && say "systemd/$u.in: unknown @VARIABLE@"
	done
	for u in licensed.service licensed@example.service; do
		out=$(cd "$unitdir" && systemd-analyze verify --man=no "./$u" 2>&1 >/dev/null)
		[ -n "$out" ] && say "systemd/$u: systemd-analyze verify: $out"
		score=$(cd "$unitdir" && systemd-analyze security --offline=true --no-pager "./$u" 2>&1 |
			sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		if [ -z "$score" ]; then
			say "systemd/$u: systemd-analyze security printed no exposure level"
		else
			echo "lint: $u exposure $score (limit 1.5)"
			awk -v s="$score" 'BEGIN { exit !(s > 1.5) }' &&
				say "systemd/$u: exposure $score above 1.5"
		fi
	done
	rm -rf "$unitdir"
fi

# The catalog holds exactly the MESSAGE_IDs of daemon/journal.h, each with
# the header lines journalctl -x shows, and parses (journalctl builds its
# index from it in a scratch root).
ids_h=$(sed -n 's/^#define JOURNAL_[A-Z_]*[[:space:]]*"\([0-9a-f]\{32\}\)"$/\1/p' daemon/journal.h | sort)
ids_cat=$(sed -n 's/^-- \([0-9a-f]\{32\}\)$/\1/p' systemd/licensed.catalog | sort)
for id in $(comm -23 <(echo "$ids_h") <(echo "$ids_cat")); do
	say "systemd/licensed.catalog: no entry for MESSAGE_ID $id of daemon/journal.h"
done
for id in $(comm -13 <(echo "$ids_h") <(echo "$ids_cat")); do
	say "systemd/licensed.catalog: entry $id is not in daemon/journal.h"
done
n_ids=$(echo "$ids_cat" | grep -c .)
for field in Subject Defined-By Support Documentation; do
	n=$(grep -c "^$field: " systemd/licensed.catalog)
	[ "$n" = "$n_ids" ] || say "systemd/licensed.catalog: $n '$field:' lines for $n_ids entries"
done
catroot=$(mktemp -d /tmp/lint-catalog.XXXXXX)
mkdir -p "$catroot/usr/lib/systemd/catalog"
cp systemd/licensed.catalog "$catroot/usr/lib/systemd/catalog/"
if ! out=$(journalctl --root="$catroot" --update-catalog 2>&1) || [ -n "$out" ]; then
	say "systemd/licensed.catalog: journalctl --update-catalog: $out"
elif [ "$(journalctl --root="$catroot" --list-catalog 2>/dev/null | grep -c .)" != "$n_ids" ]; then
	say "systemd/licensed.catalog: journalctl lists other entries than the file holds"
fi
rm -rf "$catroot"

# Man pages: groff without a single warning, and every key of the config
# and policy loaders and every command documented.
for m in daemon/man/*.[58]; do
	out=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$m" 2>&1)
	[ -n "$out" ] && say "$m: groff: $out"
done
for key in $(sed -n 's/^[[:space:]]*{ "\(tenant\|daemon\|safety\)", "\([a-z_]*\)".*/\2/p' config/config.c); do
	grep -q "^\.BI $key " daemon/man/licensed.conf.5 ||
		say "daemon/man/licensed.conf.5: key '$key' of config/config.c not documented"
done
for key in group sku disabled_plans enabled_plans usage_location users; do
	grep -q "^\.BI $key " daemon/man/licensed-policy.5 ||
		say "daemon/man/licensed-policy.5: key '$key' not documented"
done
for cmd in run once plan check status approve; do
	grep -q "^\.BR\? $cmd\b" daemon/man/licensed.8 ||
		say "daemon/man/licensed.8: command '$cmd' not documented"
done

if [ "$problems" -ne 0 ]; then
	echo "lint: $problems problems"
	exit 1
fi
echo "lint: clean"
