/*
 * strpool: interned strings.  Each distinct string is stored once and
 * handed out as a stable pointer, valid until strpool_clear().
 *
 * Made for the ownership records: a million of them name a few hundred
 * rules, and a rule name inline in each record cost 129 bytes a record
 * (issue 9: 176-byte records, 742 MiB at a million users).  Open
 * addressing with linear probing, at most half full; the strings live in
 * their own allocations, so growing the table moves no string.
 */
#ifndef LICENSED_STRPOOL_H
#define LICENSED_STRPOOL_H

#include <stddef.h>

struct strpool {
	char **slots;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

/*
 * The pool's copy of the len bytes at s (a NUL is added; s need not end
 * in one).  Returns it, or NULL when out of memory (pool unchanged).
 */
const char *strpool_intern(struct strpool *p, const char *s, size_t len);

/* Free every string and the table; the pool is empty again. */
void strpool_clear(struct strpool *p);

#endif
