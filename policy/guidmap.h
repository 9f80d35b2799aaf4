/*
 * guidmap: a hash table from GUID to an index (size_t), open addressing
 * with linear probing, sized to stay at most half full.
 *
 * Used wherever ids are looked up at scale (users of a tenant, SKUs,
 * groups): O(1) per lookup, no per-entry allocation.  Keys are copied.
 */
#ifndef LICENSED_GUIDMAP_H
#define LICENSED_GUIDMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/guid.h"

struct guidmap_slot {
	struct guid key;
	size_t value;
	bool is_used;
};

struct guidmap {
	struct guidmap_slot *slots;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

/*
 * Insert key -> value unless key is there.  Returns 1 and *ret_value =
 * value when inserted, 0 and *ret_value = the existing value when it was
 * there already, or -ENOMEM (map unchanged).
 */
int guidmap_put(struct guidmap *m, const struct guid *key, size_t value,
		size_t *ret_value);

/* Look key up: true and *ret_value, or false. */
bool guidmap_get(const struct guidmap *m, const struct guid *key,
		 size_t *ret_value);

/* Make room for n entries in total.  0 or -ENOMEM. */
int guidmap_reserve(struct guidmap *m, size_t n);

void guidmap_clear(struct guidmap *m);

#endif
