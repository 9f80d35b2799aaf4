/*
 * owned: outcomes -> ownership records and pending removals.  See owned.h.
 */
#include <errno.h>
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

/* o with its rule name in next's pool: -ENOMEM or 0. */
static int copy_record(struct state *next, const struct owned *o, bool is_seen)
{
	struct owned *to = &next->owned[next->n_owned];

	*to = *o;
	to->is_confirmed |= is_seen;
	to->rule = strpool_intern(&next->names, o->rule, strlen(o->rule));
	if (!to->rule)
		return -ENOMEM;
	next->n_owned++;
	return 0;
}

/* The records the planner kept, less those this round ended. */
static int keep_records(const struct owned_input *in,
			const struct guidmap *first, struct state *next)
{
	const struct plan *plan = in->plan;
	int r = 0;

	for (size_t k = 0; r == 0 && k < plan->n_owned; k++) {
		const struct owned *o = &in->st->owned[plan->owned[k]];
		size_t i = item_of(in, first, o);

		if (i == SIZE_MAX || !is_ended(in, i))
			r = copy_record(next, o, plan->owned_is_seen[k]);
	}
	return r;
}

/* A new unconfirmed record for every add that went out, or may have. */
static int add_records(const struct owned_input *in, struct state *next)
{
	const struct plan *plan = in->plan;

	for (size_t i = 0; i < plan->n_items; i++) {
		const struct plan_item *it = &plan->items[i];
		struct owned o;

		if (it->action != PLAN_ADD || !is_sent(in->fate[i]))
			continue; /* only adds have a rule */
		o = (struct owned){ .user = in->s->users[it->user].id,
				    .sku = in->s->skus[it->sku].id,
				    .since = in->now,
				    .rule = in->p->rules[it->rule].name,
				    .is_confirmed = false };
		if (copy_record(next, &o, false) < 0)
			return -ENOMEM;
	}
	return 0;
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
	struct state next = { .round = in->round, .is_intent = in->is_intent };
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
	r = keep_records(in, &first, &next);
	if (r == 0)
		r = add_records(in, &next);
	if (r < 0)
		goto out;
	pending_records(in, &next);
	*ret = next;
	memset(&next, 0, sizeof(next));
	r = 0;
out:
	guidmap_clear(&first);
	state_free(&next);
	return r;
}
