/*
 * strpool: interned strings.  See strpool.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/strpool.h"

/* FNV-1a: short keys, few of them; good enough and dependency-free. */
static size_t hash(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static bool is_same(const char *slot, const char *s, size_t len)
{
	return strncmp(slot, s, len) == 0 && slot[len] == '\0';
}

/* The slot of s: where it is, or the empty one where it would go. */
static size_t find(const struct strpool *p, const char *s, size_t len)
{
	size_t i = hash(s, len) & (p->cap - 1);

	while (p->slots[i] && !is_same(p->slots[i], s, len))
		i = (i + 1) & (p->cap - 1);
	return i;
}

static int grow(struct strpool *p)
{
	size_t cap = p->cap ? p->cap * 2 : 64;
	char **old = p->slots;
	size_t old_cap = p->cap;

	p->slots = calloc(cap, sizeof(*p->slots));
	if (!p->slots) {
		p->slots = old;
		return -ENOMEM;
	}
	p->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			p->slots[find(p, old[i], strlen(old[i]))] = old[i];
	free(old);
	return 0;
}

const char *strpool_intern(struct strpool *p, const char *s, size_t len)
{
	char *copy;
	size_t i;

	if ((p->n + 1) * 2 > p->cap && grow(p) < 0)
		return NULL;
	i = find(p, s, len);
	if (p->slots[i])
		return p->slots[i];
	copy = malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	p->slots[i] = copy;
	p->n++;
	return copy;
}

void strpool_clear(struct strpool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->cap; i++)
		free(p->slots[i]);
	free(p->slots);
	p->slots = NULL;
	p->cap = p->n = 0;
}
