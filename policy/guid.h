/*
 * guid: object ids, SKU ids and plan ids in their 16-byte binary form.
 *
 * Graph spells them as 36-character strings in any case; we compare and
 * hash the bytes so that "6FD2C87F-..." and "6fd2c87f-..." are one id and
 * tables keyed on ids stay small.  Formatting is always lower case.
 */
#ifndef LICENSED_GUID_H
#define LICENSED_GUID_H

#include <stdbool.h>
#include <stdint.h>

#define GUID_STRLEN 36

struct guid {
	uint8_t b[16];
};

/*
 * Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex digits in either case,
 * nothing before or after).  Returns 0 and writes *ret, or -EINVAL.
 */
int guid_parse(const char *s, struct guid *ret);

/* True when s has the shape of a GUID, valid or not: 36 chars, 4 dashes. */
bool guid_is_shaped(const char *s);

/* Lower-case text form into out (GUID_STRLEN + 1 bytes). */
void guid_format(const struct guid *g, char out[GUID_STRLEN + 1]);

bool guid_equal(const struct guid *a, const struct guid *b);
bool guid_is_null(const struct guid *g);

/* A well-mixed 64-bit hash for hash tables. */
uint64_t guid_hash(const struct guid *g);

#endif
