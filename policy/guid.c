/*
 * guid: parse, format, compare and hash GUIDs.  See guid.h.
 */
#include <errno.h>
#include <string.h>

#include "policy/guid.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_dash_position(size_t i)
{
	return i == 8 || i == 13 || i == 18 || i == 23;
}

bool guid_is_shaped(const char *s)
{
	size_t i;

	for (i = 0; s[i] && i < GUID_STRLEN; i++)
		if ((s[i] == '-') != is_dash_position(i))
			return false;
	return i == GUID_STRLEN && s[i] == '\0';
}

int guid_parse(const char *s, struct guid *ret)
{
	struct guid g;
	size_t n = 0;

	if (!guid_is_shaped(s))
		return -EINVAL;
	for (size_t i = 0; i < GUID_STRLEN; i += 2) {
		int hi, lo;

		if (is_dash_position(i))
			i++;
		hi = hexval(s[i]);
		lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		g.b[n++] = (uint8_t)(hi << 4 | lo);
	}
	*ret = g;
	return 0;
}

void guid_format(const struct guid *g, char out[GUID_STRLEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[g->b[i] >> 4];
		out[o++] = hex[g->b[i] & 0xf];
	}
	out[o] = '\0';
}

bool guid_equal(const struct guid *a, const struct guid *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

bool guid_is_null(const struct guid *g)
{
	static const struct guid null_guid;

	return guid_equal(g, &null_guid);
}

uint64_t guid_hash(const struct guid *g)
{
	uint64_t a, b;

	/* GUIDs are mostly random already; fold and mix (splitmix64 final). */
	memcpy(&a, g->b, 8);
	memcpy(&b, g->b + 8, 8);
	a ^= b + 0x9e3779b97f4a7c15ULL;
	a = (a ^ (a >> 30)) * 0xbf58476d1ce4e5b9ULL;
	a = (a ^ (a >> 27)) * 0x94d049bb133111ebULL;
	return a ^ (a >> 31);
}
