/*
 * owned: outcomes -> ownership records and pending removals.  See owned.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/owned.h"
#include "policy/guidmap.h"

/* The item of user's SKU, or SIZE_MAX.  Items of a user adjoin. */
static size_t item_of(const struct owned_input *in, const struct guidmap *first,
		      const struct owned *o)
{
	const struct plan *plan = in->plan;
	size_t i;
	uint32_t u;

	if (!guidmap_get(first, &o->user, &i))
		return SIZE_MAX;
	u = plan->items[i].user;
	for (; i < plan->n_items && plan->items[i].user == u; i++)
		if (guid_equal(&in->s->skus[plan->items[i].sku].id, &o->sku))
			return i;
	return SIZE_MAX;
}

static bool is_sent(enum owned_fate f)
{
	return f == OWNED_FATE_APPLIED || f == OWNED_FATE_UNKNOWN;
}

/*
 * Does this round's item end the record?  A removal Graph applied does;
 * so does an add that went out (its new record replaces this one).
 */
static bool is_ended(const struct owned_input *in, size_t i)
{
	const struct plan_item *it = &in->plan->items[i];

	if (it->action == PLAN_REMOVE)
		return in->fate[i] == OWNED_FATE_APPLIED;
	return it->action == PLAN_ADD && is_sent(in->fate[i]);
}

/* The records the planner kept, less those this round ended. */
static void keep_records(const struct owned_input *in,
			 const struct guidmap *first, struct state *next)
{
	const struct plan *plan = in->plan;

	for (size_t k = 0; k < plan->n_owned; k++) {
		const struct owned *o = &in->st->owned[plan->owned[k]];
		size_t i = item_of(in, first, o);

		if (i != SIZE_MAX && is_ended(in, i))
			continue;
		next->owned[next->n_owned] = *o;
		next->owned[next->n_owned].is_confirmed |=
			plan->owned_is_seen[k];
		next->n_owned++;
	}
}

/* A new unconfirmed record for every add that went out, or may have. */
static void add_records(const struct owned_input *in, struct state *next)
{
	const struct plan *plan = in->plan;

	for (size_t i = 0; i < plan->n_items; i++) {
		const struct plan_item *it = &plan->items[i];
		struct owned *o = &next->owned[next->n_owned];

		if (it->action != PLAN_ADD || !is_sent(in->fate[i]))
			continue;
		memset(o, 0, sizeof(*o));
		o->user = in->s->users[it->user].id;
		o->sku = in->s->skus[it->sku].id;
		o->since = in->now;
		o->is_confirmed = false;
		(void)snprintf(o->rule, sizeof(o->rule), "%s",
			       in->p->rules[it->rule].name);
		next->n_owned++;
	}
}

/* Is a removal still due, or waiting, after this round? */
static bool is_pending(const struct plan_item *it, enum owned_fate fate)
{
	if (it->action != PLAN_REMOVE || it->reason != PLAN_NOT_ENTITLED ||
	    it->since == 0) /* 0: no grace clock runs (a rule error) */
		return false;
	switch (it->hold) {
	case PLAN_GO:
		return fate != OWNED_FATE_APPLIED;
	case PLAN_GRACE:
	case PLAN_CAPPED:
	case PLAN_RULE_ERROR:
	case PLAN_STATE_UNTRUSTED:
		return true;
	default:
		return false;
	}
}

static void pending_records(const struct owned_input *in, struct state *next)
{
	const struct plan *plan = in->plan;

	for (size_t i = 0; i < plan->n_items; i++) {
		const struct plan_item *it = &plan->items[i];

		if (is_pending(it, in->fate[i]))
			next->pending[next->n_pending++] = (struct pending){
				.user = in->s->users[it->user].id,
				.sku = in->s->skus[it->sku].id,
				.since = it->since,
			};
	}
}

int owned_next(const struct owned_input *in, struct state *ret)
{
	const struct plan *plan = in->plan;
	struct state next = { .round = in->round };
	struct guidmap first = { 0 };
	size_t ignored;
	int r = 0;

	for (size_t i = 0; i < plan->n_items && r >= 0; i++)
		r = guidmap_put(&first, &in->s->users[plan->items[i].user].id,
				i, &ignored);
	next.owned =
		calloc(plan->n_owned + plan->n_items + 1, sizeof(*next.owned));
	next.pending = calloc(plan->n_items + 1, sizeof(*next.pending));
	if (r < 0 || !next.owned || !next.pending) {
		r = -ENOMEM;
		goto out;
	}
	keep_records(in, &first, &next);
	add_records(in, &next);
	pending_records(in, &next);
	*ret = next;
	memset(&next, 0, sizeof(next));
	r = 0;
out:
	guidmap_clear(&first);
	state_free(&next);
	return r;
}
