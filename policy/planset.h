/*
 * planset: sets of disabled service plans, interned.
 *
 * A set belongs to one SKU and is a bitset over that SKU's plans (in the
 * order of sku.plans).  Equal sets get equal ids, so comparing two sets is
 * comparing two integers, and the intersections the planner needs (a user
 * entitled by several rules, SPEC 5.2) are computed once per pair of sets,
 * not once per user.
 */
#ifndef LICENSED_PLANSET_H
#define LICENSED_PLANSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/model.h"

#define PLANSET_MAX_WORDS ((SNAPSHOT_MAX_PLANS + 63) / 64)

struct planset_entry {
	uint32_t sku;	 /* index into the snapshot's skus */
	uint32_t offset; /* into words */
};

struct planset_memo {
	uint32_t a, b, result; /* result + 1; 0 marks an empty slot */
};

struct plansets {
	const struct sku *skus; /* the snapshot's, borrowed */
	struct planset_entry *v;
	size_t n, cap;
	uint64_t *words;
	size_t n_words, cap_words;
	uint32_t *index; /* hash of sets -> id + 1 */
	size_t index_cap;
	struct planset_memo *memo; /* (a, b) -> a intersect b */
	size_t memo_cap, n_memo;
};

/* Words in a set of SKU sku. */
size_t planset_words(const struct plansets *ps, uint32_t sku);

/*
 * The id of the set with these bits (planset_words() words) for sku,
 * adding it if new.  Returns the id (>= 0) or -ENOMEM.
 */
int64_t planset_intern(struct plansets *ps, uint32_t sku, const uint64_t *bits);

/* The id of a intersect b (same SKU), or -ENOMEM. */
int64_t planset_intersect(struct plansets *ps, uint32_t a, uint32_t b);

/* The bits of set id (valid until the next intern). */
const uint64_t *planset_bits(const struct plansets *ps, uint32_t id);

/* Number of plans in set id. */
size_t planset_count(const struct plansets *ps, uint32_t id);

/* Bit i of set id. */
bool planset_has(const struct plansets *ps, uint32_t id, size_t i);

void planset_clear(struct plansets *ps);

#endif
