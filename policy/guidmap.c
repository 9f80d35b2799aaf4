/*
 * guidmap: GUID -> index hash table.  See guidmap.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "policy/guidmap.h"

static size_t find_slot(const struct guidmap_slot *slots, size_t cap,
			const struct guid *key)
{
	size_t i = (size_t)guid_hash(key) & (cap - 1);

	while (slots[i].is_used && !guid_equal(&slots[i].key, key))
		i = (i + 1) & (cap - 1);
	return i;
}

int guidmap_reserve(struct guidmap *m, size_t n)
{
	struct guidmap_slot *slots;
	size_t cap = m->cap ? m->cap : 16;

	while (cap < 2 * n)
		cap *= 2;
	if (cap == m->cap)
		return 0;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].is_used)
			slots[find_slot(slots, cap, &m->slots[i].key)] =
				m->slots[i];
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

int guidmap_put(struct guidmap *m, const struct guid *key, size_t value,
		size_t *ret_value)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap && guidmap_reserve(m, m->n + 1) < 0)
		return -ENOMEM;
	i = find_slot(m->slots, m->cap, key);
	if (m->slots[i].is_used) {
		*ret_value = m->slots[i].value;
		return 0;
	}
	m->slots[i].key = *key;
	m->slots[i].value = value;
	m->slots[i].is_used = true;
	m->n++;
	*ret_value = value;
	return 1;
}

bool guidmap_get(const struct guidmap *m, const struct guid *key,
		 size_t *ret_value)
{
	size_t i;

	if (m->cap == 0)
		return false;
	i = find_slot(m->slots, m->cap, key);
	if (!m->slots[i].is_used)
		return false;
	*ret_value = m->slots[i].value;
	return true;
}

void guidmap_clear(struct guidmap *m)
{
	if (!m)
		return;
	free(m->slots);
	m->slots = NULL;
	m->cap = 0;
	m->n = 0;
}
