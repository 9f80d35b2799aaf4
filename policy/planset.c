/*
 * planset: interned bitsets of disabled plans.  See planset.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/planset.h"

size_t planset_words(const struct plansets *ps, uint32_t sku)
{
	size_t n = ps->skus[sku].n_plans;

	return n ? (n + 63) / 64 : 1;
}

static uint64_t hash_bits(uint32_t sku, const uint64_t *bits, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ sku;

	for (size_t i = 0; i < n; i++) {
		h ^= bits[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return h;
}

static bool same(const struct plansets *ps, uint32_t id, uint32_t sku,
		 const uint64_t *bits)
{
	return ps->v[id].sku == sku &&
	       memcmp(ps->words + ps->v[id].offset, bits,
		      planset_words(ps, sku) * sizeof(*bits)) == 0;
}

static size_t find(const struct plansets *ps, uint32_t sku,
		   const uint64_t *bits)
{
	size_t mask = ps->index_cap - 1;
	size_t i = hash_bits(sku, bits, planset_words(ps, sku)) & mask;

	while (ps->index[i] && !same(ps, ps->index[i] - 1, sku, bits))
		i = (i + 1) & mask;
	return i;
}

static int grow_index(struct plansets *ps)
{
	size_t cap = ps->index_cap ? ps->index_cap * 2 : 64;
	uint32_t *old = ps->index;
	size_t old_cap = ps->index_cap;

	ps->index = calloc(cap, sizeof(*ps->index));
	if (!ps->index) {
		ps->index = old;
		return -ENOMEM;
	}
	ps->index_cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i]) {
			const struct planset_entry *e = &ps->v[old[i] - 1];

			ps->index[find(ps, e->sku, ps->words + e->offset)] =
				old[i];
		}
	free(old);
	return 0;
}

static int append(struct plansets *ps, uint32_t sku, const uint64_t *bits)
{
	size_t nw = planset_words(ps, sku);

	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 16;
		struct planset_entry *v = realloc(ps->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ps->v = v;
		ps->cap = cap;
	}
	if (ps->n_words + nw > ps->cap_words) {
		size_t cap = ps->cap_words ? ps->cap_words * 2 : 64;
		uint64_t *w;

		while (cap < ps->n_words + nw)
			cap *= 2;
		w = realloc(ps->words, cap * sizeof(*w));
		if (!w)
			return -ENOMEM;
		ps->words = w;
		ps->cap_words = cap;
	}
	memcpy(ps->words + ps->n_words, bits, nw * sizeof(*bits));
	ps->v[ps->n] = (struct planset_entry){ sku, (uint32_t)ps->n_words };
	ps->n_words += nw;
	return (int)ps->n++;
}

int64_t planset_intern(struct plansets *ps, uint32_t sku, const uint64_t *bits)
{
	size_t slot;
	int id;

	if (2 * (ps->n + 1) > ps->index_cap && grow_index(ps) < 0)
		return -ENOMEM;
	slot = find(ps, sku, bits);
	if (ps->index[slot])
		return ps->index[slot] - 1;
	id = append(ps, sku, bits);
	if (id < 0)
		return id;
	ps->index[slot] = (uint32_t)id + 1;
	return id;
}

static int grow_memo(struct plansets *ps)
{
	size_t cap = ps->memo_cap ? ps->memo_cap * 2 : 64;
	struct planset_memo *old = ps->memo;
	size_t old_cap = ps->memo_cap;

	ps->memo = calloc(cap, sizeof(*ps->memo));
	if (!ps->memo) {
		ps->memo = old;
		return -ENOMEM;
	}
	ps->memo_cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].result) {
			size_t j = ((size_t)old[i].a * 0x9e3779b1u ^ old[i].b) &
				   (cap - 1);

			while (ps->memo[j].result)
				j = (j + 1) & (cap - 1);
			ps->memo[j] = old[i];
		}
	free(old);
	return 0;
}

int64_t planset_intersect(struct plansets *ps, uint32_t a, uint32_t b)
{
	uint64_t bits[PLANSET_MAX_WORDS];
	size_t nw, j;
	int64_t id;

	if (a == b)
		return a;
	if (a > b) {
		uint32_t t = a;

		a = b;
		b = t;
	}
	if (2 * (ps->n_memo + 1) > ps->memo_cap && grow_memo(ps) < 0)
		return -ENOMEM;
	j = ((size_t)a * 0x9e3779b1u ^ b) & (ps->memo_cap - 1);
	while (ps->memo[j].result) {
		if (ps->memo[j].a == a && ps->memo[j].b == b)
			return ps->memo[j].result - 1;
		j = (j + 1) & (ps->memo_cap - 1);
	}
	nw = planset_words(ps, ps->v[a].sku);
	for (size_t i = 0; i < nw; i++)
		bits[i] = ps->words[ps->v[a].offset + i] &
			  ps->words[ps->v[b].offset + i];
	id = planset_intern(ps, ps->v[a].sku, bits);
	if (id < 0)
		return id;
	ps->memo[j] = (struct planset_memo){ a, b, (uint32_t)id + 1 };
	ps->n_memo++;
	return id;
}

const uint64_t *planset_bits(const struct plansets *ps, uint32_t id)
{
	return ps->words + ps->v[id].offset;
}

size_t planset_count(const struct plansets *ps, uint32_t id)
{
	const uint64_t *w = planset_bits(ps, id);
	size_t n = 0;

	for (size_t i = 0; i < planset_words(ps, ps->v[id].sku); i++)
		n += (size_t)__builtin_popcountll(w[i]);
	return n;
}

bool planset_has(const struct plansets *ps, uint32_t id, size_t i)
{
	return planset_bits(ps, id)[i / 64] >> (i % 64) & 1;
}

void planset_clear(struct plansets *ps)
{
	if (!ps)
		return;
	free(ps->v);
	free(ps->words);
	free(ps->index);
	free(ps->memo);
	memset(ps, 0, sizeof(*ps));
}
