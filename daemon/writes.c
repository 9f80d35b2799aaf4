/*
 * writes: plan items -> Graph writes.  See writes.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/writes.h"

static bool is_go(const struct plan_item *it)
{
	return it->hold == PLAN_GO;
}

/* Items [a, b) of one user: does any of them go out? */
static bool has_go(const struct plan *plan, size_t a, size_t b)
{
	for (size_t i = a; i < b; i++)
		if (is_go(&plan->items[i]))
			return true;
	return false;
}

/* Past the last item of the user of item a (a user's items adjoin). */
static size_t user_end(const struct plan *plan, size_t a)
{
	size_t b = a;

	while (b < plan->n_items && plan->items[b].user == plan->items[a].user)
		b++;
	return b;
}

/* How many writes, adds and GUIDs the plan needs. */
static void count(const struct plan *plan, size_t *n_writes, size_t *n_adds,
		  size_t *n_guids)
{
	*n_writes = *n_adds = *n_guids = 0;
	for (size_t a = 0, b; a < plan->n_items; a = b) {
		b = user_end(plan, a);
		*n_writes += has_go(plan, a, b);
	}
	for (size_t i = 0; i < plan->n_items; i++) {
		const struct plan_item *it = &plan->items[i];

		if (!is_go(it))
			continue;
		if (it->action == PLAN_REMOVE) {
			(*n_guids)++;
		} else {
			(*n_adds)++;
			*n_guids += planset_count(&plan->sets, it->planset);
		}
	}
}

/* Pools handed out to the writes as they are built. */
struct pools {
	size_t n_adds, n_guids;
};

/* The disabled plans of an add item as GUIDs, appended to the pool. */
static void fill_add(struct writes *w, const struct plan *plan,
		     const struct snapshot *s, const struct plan_item *it,
		     struct pools *used)
{
	const struct sku *k = &s->skus[it->sku];
	struct license_add *add = &w->adds[used->n_adds++];

	add->sku = k->id;
	add->disabled_plans = w->guids + used->n_guids;
	add->n_disabled_plans = 0;
	for (size_t i = 0; i < k->n_plans; i++)
		if (planset_has(&plan->sets, it->planset, i))
			w->guids[used->n_guids + add->n_disabled_plans++] =
				k->plans[i].id;
	used->n_guids += add->n_disabled_plans;
}

/* One graph_write for the GO items [a, b) of one user. */
static void fill_write(struct writes *w, const struct plan *plan,
		       const struct snapshot *s, size_t a, size_t b,
		       struct pools *used)
{
	struct graph_write *gw = &w->writes[w->n_writes];
	struct guid *removes;

	memset(gw, 0, sizeof(*gw));
	gw->user = s->users[plan->items[a].user].id;
	gw->adds = w->adds + used->n_adds;
	for (size_t i = a; i < b; i++) {
		const struct plan_item *it = &plan->items[i];

		if (!is_go(it))
			continue;
		w->write_of[i] = (uint32_t)w->n_writes;
		if (it->action == PLAN_REMOVE)
			continue;
		fill_add(w, plan, s, it, used);
		gw->n_adds++;
		if (it->usage_location[0] && !gw->usage_location[0])
			memcpy(gw->usage_location, it->usage_location, 3);
	}
	removes = w->guids + used->n_guids;
	gw->removes = removes;
	for (size_t i = a; i < b; i++)
		if (is_go(&plan->items[i]) &&
		    plan->items[i].action == PLAN_REMOVE)
			removes[gw->n_removes++] =
				s->skus[plan->items[i].sku].id;
	used->n_guids += gw->n_removes;
	w->n_writes++;
}

int writes_build(const struct plan *plan, const struct snapshot *s,
		 struct writes *ret)
{
	struct writes w = { 0 };
	struct pools used = { 0 };
	size_t n_writes, n_adds, n_guids;
	int r = -ENOMEM;

	count(plan, &n_writes, &n_adds, &n_guids);
	w.writes = calloc(n_writes + 1, sizeof(*w.writes));
	w.results = calloc(n_writes + 1, sizeof(*w.results));
	w.write_of = malloc((plan->n_items + 1) * sizeof(*w.write_of));
	w.adds = calloc(n_adds + 1, sizeof(*w.adds));
	w.guids = calloc(n_guids + 1, sizeof(*w.guids));
	if (!w.writes || !w.results || !w.write_of || !w.adds || !w.guids)
		goto out;
	for (size_t i = 0; i < plan->n_items; i++)
		w.write_of[i] = PLAN_NONE;
	for (size_t a = 0, b; a < plan->n_items; a = b) {
		b = user_end(plan, a);
		if (has_go(plan, a, b))
			fill_write(&w, plan, s, a, b, &used);
	}
	*ret = w;
	memset(&w, 0, sizeof(w));
	r = 0;
out:
	writes_clear(&w);
	return r;
}

int writes_apply(struct graph *g, struct writes *w)
{
	int r = graph_apply(g, w->writes, w->n_writes, w->results, &w->failure);

	if (r >= 0)
		return 0;
	w->is_stopped = true;
	return r == -ENOMEM || r == -ECANCELED ? r : 0;
}

const struct graph_result *writes_result(const struct writes *w, size_t i)
{
	if (!w->write_of || w->write_of[i] == PLAN_NONE)
		return NULL;
	return &w->results[w->write_of[i]];
}

void writes_clear(struct writes *w)
{
	if (!w)
		return;
	free(w->writes);
	free(w->results);
	free(w->write_of);
	free(w->adds);
	free(w->guids);
	memset(w, 0, sizeof(*w));
}
