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

if [ "$problems" -ne 0 ]; then
	echo "lint: $problems problems"
	exit 1
fi
echo "lint: clean"
