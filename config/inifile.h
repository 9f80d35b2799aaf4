/*
 * inifile: the one wrapper around inih, shared by licensed.conf and the
 * policy loader.
 *
 * Debian's inih (r55) has no line numbers in its handler, cuts lines of
 * INI_MAX_LINE bytes or more and then reports the rest as an error on the
 * following line, tells nothing about sections without keys, and stops
 * at the first syntax error it reports.  We feed it through our own line
 * reader instead, which knows the real line number, refuses over-long
 * lines with that number, checks the syntax of every line (so that every
 * error is reported, not only the first) and reports each [section]
 * header as it passes.  Bad lines reach inih as blank lines.
 *
 * inifile never prints; problems go to the caller's struct diags.
 */
#ifndef LICENSED_INIFILE_H
#define LICENSED_INIFILE_H

#include <stdbool.h>

#include "policy/diag.h"

/* Largest file read (bytes). */
#define INIFILE_MAX_BYTES (4 * 1024 * 1024)

/* Longest line accepted, in characters, line break excluded. */
#define INIFILE_MAX_LINE 198

struct inifile_pos {
	const char *file;
	unsigned line;
	bool is_continuation; /* an indented line continuing a value */
};

struct inifile_ops {
	/* A "[name]" line.  Return 0, or -ENOMEM to abort. */
	int (*section)(void *user, const struct inifile_pos *at,
		       const char *name);
	/* A "key = value" line (or a continuation of the previous key). */
	int (*key)(void *user, const struct inifile_pos *at,
		   const char *section, const char *key, const char *value);
};

/*
 * Read path and call ops for every section and key, in order.  Returns
 * the number of problems inifile itself found (appended to diags; the
 * callbacks add their own), or -ENOMEM.  A file that cannot be read, holds a
 * NUL byte, is larger than INIFILE_MAX_BYTES, or has neither a section nor a
 * key is one problem.
 */
int inifile_parse(const char *path, const struct inifile_ops *ops, void *user,
		  struct diags *diags);

#endif
