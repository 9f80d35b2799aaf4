/*
 * plan: the reconciliation planner.  See plan.h for the contract and the
 * list of rules.
 *
 * Data flow inside plan_build():
 *   resolve_rules()   rule -> SKU index, disabled-plan set, applied or not
 *   resolve_chains()  SKU -> precedence chain and rank
 *   index_state()     user -> ownership and pending-removal records
 *   gather()          user -> rules that entitle it (counting sort)
 *   plan_user()       per user, in snapshot order: items, with fallback
 *                     adds (5.1) for lesser SKUs of a chain, undecided
 *   sort_items()      the items in user id order
 *   allocate_seats()  5.5 over the adds, by chain rank, in rule then user
 *                     order; a fallback is made only if the better add
 *                     was not; drop_dormant() removes the others
 *   pair_swaps()      5.4: a lesser SKU goes in the call adding a better
 *   apply_cap()       5.6 over the removals
 * Sizes: hash tables on binary GUIDs, arrays indexed by user, no scan
 * that is quadratic in users.  Users are visited in snapshot order, so
 * the per-user arrays are read front to back: at a million users, a
 * visit in id order made nearly every access a cache and TLB miss
 * (make bench).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/guidmap.h"
#include "policy/plan.h"
#include "policy/policy.h"

/* How one user holds one SKU. */
struct held {
	const struct assignment *direct;
	bool is_inherited; /* by group, or of unknown origin */
};

/* What one user is entitled to, per SKU (5.1, 5.2). */
struct want {
	uint32_t sku;
	uint32_t rule; /* first rule in policy order */
	uint32_t planset;
	uint32_t better; /* PLAN_NONE, or the best SKU of its chain */
	struct held held;
};

/*
 * A fallback add (5.1) that plan_build() has not decided on yet: it is
 * made only if no better SKU of its chain can be added for the user, and
 * dropped otherwise.  Never leaves plan_build().
 */
#define HOLD_DORMANT ((enum plan_hold)(PLAN_NO_SKU_FOR_USERS + 1))

struct planner {
	const struct policy *p;
	const struct snapshot *s;
	const struct plan_state *st;
	const struct plan_options *o;
	struct plan *plan;
	size_t cap_items;
	uint32_t *rule_sku;    /* per rule */
	uint32_t *rule_set;    /* per rule: base disabled set */
	bool *rule_ok;	       /* per rule: applied this round */
	bool *sku_blocked;     /* per SKU: no change this round */
	uint32_t *sku_chain;   /* per SKU: chain index or PLAN_NONE */
	uint32_t *sku_rank;    /* per SKU: rank in the chain, 0 best */
	struct guidmap skus;   /* SKU id -> index */
	struct guidmap *plans; /* per SKU: plan id -> index */
	struct guidmap groups; /* group id -> snapshot.groups index */
	struct guidmap excluded;
	struct guidmap owned; /* user -> first state.owned index */
	uint32_t *owned_next;
	struct guidmap pending;
	uint32_t *pending_next;
	uint32_t *ent_start; /* per user + 1: offsets into ent_rules */
	uint32_t *ent_rules;
	/*
	 * One user's wants, reused for every user: room for every managed
	 * SKU, since a user can want each once.  sku_want maps a SKU to its
	 * slot (PLAN_NONE: not wanted) and is emptied after each user.
	 */
	struct want *wants;
	size_t n_wants;
	uint32_t *sku_want; /* per SKU */
	/*
	 * Per chain, for the current user (PLAN_NONE: none): the best SKU
	 * it wants, and the best it wants and holds.  Emptied like sku_want.
	 */
	uint32_t *chain_top;
	uint32_t *chain_held;
};

static int add_problem(struct planner *pl, const struct rule *r,
		       const char *what, const char *name)
{
	pl->plan->totals.rule_errors++;
	return diags_add(&pl->plan->problems, r->at.file, r->at.line,
			 "rule '%s': %s '%s'; rule not applied this round",
			 r->name, what, name);
}

/* The SKU's plans by id, for turning GUID lists into bit sets. */
static int index_plans(struct planner *pl, uint32_t k)
{
	const struct sku *s = &pl->s->skus[k];
	size_t ignored;

	if (pl->plans[k].cap)
		return 0;
	for (size_t i = 0; i < s->n_plans; i++)
		if (guidmap_put(&pl->plans[k], &s->plans[i].id, i, &ignored) <
		    0)
			return -ENOMEM;
	return guidmap_reserve(&pl->plans[k], 1);
}

/* 5.2: a rule's disabled set; enabled_plans = all user plans but these. */
static int rule_planset(struct planner *pl, const struct rule *r, uint32_t k,
			bool *ret_ok)
{
	const struct sku *s = &pl->s->skus[k];
	uint64_t bits[PLANSET_MAX_WORDS] = { 0 };
	int64_t id;

	*ret_ok = true;
	for (size_t i = 0; i < r->n_plans; i++) {
		const struct service_plan *sp =
			policy_find_plan(s, &r->plans[i]);

		if (!sp) {
			*ret_ok = false;
			return add_problem(pl, r, "unknown service plan",
					   r->plans[i].name);
		}
		bits[(size_t)(sp - s->plans) / 64] |=
			1ULL << ((size_t)(sp - s->plans) % 64);
	}
	for (size_t i = 0; r->is_allow_list && i < s->n_plans; i++) {
		uint64_t bit = 1ULL << (i % 64);

		/* Off: every plan for users not named; Company plans untouched.
		 */
		if (s->plans[i].is_for_users)
			bits[i / 64] ^= bit;
		else
			bits[i / 64] &= ~bit;
	}
	id = planset_intern(&pl->plan->sets, k, bits);
	if (id < 0)
		return (int)id;
	pl->rule_set[r - pl->p->rules] = (uint32_t)id;
	return 0;
}

static int check_groups(struct planner *pl, const struct rule *r, bool *ret_ok)
{
	size_t gi;
	char id[GUID_STRLEN + 1];

	*ret_ok = true;
	for (size_t j = 0; j < r->n_groups; j++) {
		int rc;

		if (guidmap_get(&pl->groups, &r->groups[j], &gi) &&
		    pl->s->groups[gi].is_found)
			continue;
		guid_format(&r->groups[j], id);
		/* Every missing group named; the rule counted once. */
		rc = *ret_ok ? add_problem(pl, r, "group does not exist", id)
			     : diags_add(
				       &pl->plan->problems, r->at.file,
				       r->at.line,
				       "rule '%s': group does not exist '%s'; "
				       "rule not applied this round",
				       r->name, id);
		*ret_ok = false;
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int resolve_rule(struct planner *pl, size_t i)
{
	const struct rule *r = &pl->p->rules[i];
	const struct sku *s =
		policy_find_sku(pl->s->skus, pl->s->n_skus, &r->sku);
	bool is_ok = false;
	uint32_t k;
	int rc;

	pl->rule_sku[i] = PLAN_NONE;
	if (!s)
		return add_problem(pl, r, "SKU not subscribed", r->sku.name);
	k = (uint32_t)(s - pl->s->skus);
	pl->rule_sku[i] = k;
	pl->plan->is_managed[k] = true;
	rc = index_plans(pl, k);
	if (rc == 0)
		rc = check_groups(pl, r, &is_ok);
	if (rc == 0 && is_ok)
		rc = rule_planset(pl, r, k, &is_ok);
	pl->rule_ok[i] = is_ok;
	if (!is_ok)
		pl->sku_blocked[k] = true; /* SPEC 3: no removals for it */
	return rc < 0 ? rc : 0;
}

static int resolve_rules(struct planner *pl)
{
	size_t ignored;
	int r = 0;

	for (size_t i = 0; i < pl->s->n_skus && r >= 0; i++)
		r = guidmap_put(&pl->skus, &pl->s->skus[i].id, i, &ignored);
	for (size_t i = 0; i < pl->s->n_groups && r >= 0; i++)
		r = guidmap_put(&pl->groups, &pl->s->groups[i].id, i, &ignored);
	for (size_t i = 0; i < pl->p->n_rules && r >= 0; i++)
		r = resolve_rule(pl, i);
	return r < 0 ? r : 0;
}

/*
 * Precedence ranks.  A chain with a blocked SKU is blocked whole: with a
 * rule of E5 failing, E3 members would otherwise look unranked and be
 * given E3 next to the E5 they hold.
 */
static void resolve_chains(struct planner *pl)
{
	for (size_t k = 0; k < pl->s->n_skus; k++)
		pl->sku_chain[k] = PLAN_NONE;
	for (size_t c = 0; c < pl->p->n_chains; c++) {
		const struct chain *ch = &pl->p->chains[c];
		bool is_blocked = false;

		for (size_t j = 0; j < ch->n_skus; j++) {
			const struct sku *s = policy_find_sku(
				pl->s->skus, pl->s->n_skus, &ch->skus[j]);
			uint32_t k;

			if (!s)
				continue;
			k = (uint32_t)(s - pl->s->skus);
			pl->sku_chain[k] = (uint32_t)c;
			pl->sku_rank[k] = (uint32_t)j;
			is_blocked |= pl->sku_blocked[k];
		}
		for (size_t k = 0; is_blocked && k < pl->s->n_skus; k++)
			if (pl->sku_chain[k] == c)
				pl->sku_blocked[k] = true;
	}
}

/*
 * user -> records (ownership or pending removals) as linked lists through
 * next[]: the map holds the first record of each user.  Both record types
 * start with the user's id.
 */
static int index_records(struct guidmap *m, uint32_t **ret_next,
			 const void *records, size_t n, size_t size)
{
	uint32_t *next = malloc((n ? n : 1) * sizeof(*next));

	if (!next)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct guid *user =
			(const struct guid *)((const char *)records + i * size);
		size_t head;
		int r = guidmap_put(m, user, i, &head);

		if (r < 0) {
			free(next);
			return r;
		}
		next[i] = PLAN_NONE;
		if (r == 0) { /* not the first: link after the head */
			next[i] = next[head];
			next[head] = (uint32_t)i;
		}
	}
	*ret_next = next;
	return 0;
}

static int index_state(struct planner *pl)
{
	const struct plan_state *st = pl->st;
	int r;

	r = index_records(&pl->owned, &pl->owned_next, st->owned, st->n_owned,
			  sizeof(*st->owned));
	if (r == 0)
		r = index_records(&pl->pending, &pl->pending_next, st->pending,
				  st->n_pending, sizeof(*st->pending));
	for (size_t i = 0; r == 0 && i < pl->p->n_excluded_ids; i++) {
		size_t ignored;

		r = guidmap_put(&pl->excluded, &pl->p->excluded_ids[i], 0,
				&ignored);
		r = r < 0 ? r : 0;
	}
	return r;
}

/* The record of (user, sku) in an index_records() list, or NULL. */
static const void *find_record(const struct guidmap *m, const uint32_t *next,
			       const void *records, size_t size,
			       const struct guid *user, const struct guid *sku)
{
	size_t i;

	if (!guidmap_get(m, user, &i))
		return NULL;
	for (; i != PLAN_NONE; i = next[i]) {
		const struct guid *rec =
			(const struct guid *)((const char *)records + i * size);

		if (guid_equal(&rec[1], sku)) /* user, then sku */
			return rec;
	}
	return NULL;
}

static const struct owned *find_owned(const struct planner *pl,
				      const struct guid *user,
				      const struct guid *sku)
{
	return find_record(&pl->owned, pl->owned_next, pl->st->owned,
			   sizeof(*pl->st->owned), user, sku);
}

static const struct pending *find_pending(const struct planner *pl,
					  const struct guid *user,
					  const struct guid *sku)
{
	return find_record(&pl->pending, pl->pending_next, pl->st->pending,
			   sizeof(*pl->st->pending), user, sku);
}

/*
 * 5.1, first half: for every user, the applied rules whose groups hold
 * it, in rule order.  A counting sort by user keeps memory at one word
 * per (user, rule) membership and the time linear.
 */
static int gather(struct planner *pl)
{
	const struct snapshot *s = pl->s;
	size_t n_users = s->n_users, total = 0;
	uint32_t *fill;

	pl->ent_start = calloc(n_users + 1, sizeof(*pl->ent_start));
	if (!pl->ent_start)
		return -ENOMEM;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < pl->p->n_rules; i++) {
			const struct rule *r = &pl->p->rules[i];

			if (!pl->rule_ok[i])
				continue;
			for (size_t j = 0; j < r->n_groups; j++) {
				size_t gi = 0;
				const struct group_members *g;

				(void)guidmap_get(&pl->groups, &r->groups[j],
						  &gi);
				g = &s->groups[gi];
				for (size_t m = 0; m < g->n_members; m++) {
					uint32_t u = g->members[m];

					if (pass == 0)
						pl->ent_start[u + 1]++;
					else
						pl->ent_rules[fill[u]++] =
							(uint32_t)i;
				}
			}
		}
		if (pass == 1)
			break;
		for (size_t u = 0; u < n_users; u++)
			pl->ent_start[u + 1] += pl->ent_start[u];
		total = pl->ent_start[n_users];
		pl->ent_rules = malloc((total ? total : 1) * sizeof(uint32_t));
		fill = malloc((n_users ? n_users : 1) * sizeof(*fill));
		if (!pl->ent_rules || !fill) {
			free(fill);
			return -ENOMEM;
		}
		memcpy(fill, pl->ent_start, n_users * sizeof(*fill));
	}
	free(fill);
	return 0;
}

struct keyed {
	struct guid id;
	uint32_t index;
};

static int cmp_keyed(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct guid));
}

/*
 * The plan in user id order, the order of seat allocation (5.5) and of
 * the output.  plan_user() leaves each user's items adjacent, so sorting
 * the users that have items, not every user, is enough.  The items then
 * move in place, one cycle of the permutation at a time: 4 bytes per
 * item instead of a second item array.
 */
static int sort_items(struct planner *pl)
{
	struct plan_item *v = pl->plan->items;
	size_t n = pl->plan->n_items, n_runs = 0, at = 0;
	struct keyed *k = malloc((n ? n : 1) * sizeof(*k));
	uint32_t *to = malloc((n ? n : 1) * sizeof(*to));

	if (!k || !to) {
		free(k);
		free(to);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (i == 0 || v[i].user != v[i - 1].user)
			k[n_runs++] =
				(struct keyed){ pl->s->users[v[i].user].id,
						(uint32_t)i };
	qsort(k, n_runs, sizeof(*k), cmp_keyed);
	for (size_t r = 0; r < n_runs; r++) {
		uint32_t u = v[k[r].index].user;

		for (size_t i = k[r].index; i < n && v[i].user == u; i++)
			to[i] = (uint32_t)at++;
	}
	for (size_t i = 0; i < n; i++)
		while (to[i] != i) { /* item i goes to to[i]: swap it there */
			uint32_t j = to[i];
			struct plan_item t = v[j];

			v[j] = v[i];
			v[i] = t;
			to[i] = to[j];
			to[j] = j;
		}
	free(k);
	free(to);
	return 0;
}

static bool is_excluded(const struct planner *pl, const struct user *u)
{
	size_t ignored;

	if (guidmap_get(&pl->excluded, &u->id, &ignored))
		return true;
	for (size_t i = 0; i < pl->p->n_excluded_upns; i++)
		if (u->upn && strcasecmp(u->upn, pl->p->excluded_upns[i]) == 0)
			return true;
	return false;
}

/*
 * A group-based assignment Entra could not apply (state Error or
 * Disabled, e.g. CountViolation: GRAPH.md 4.4) gives the user nothing;
 * it must not stop licensed from assigning the SKU directly.
 */
static bool is_failed_inheritance(const struct assignment *a)
{
	return a->by == ASSIGNED_BY_GROUP && (a->state == ASSIGNMENT_ERROR ||
					      a->state == ASSIGNMENT_DISABLED);
}

/* How user u holds SKU k. */
static struct held held_of(const struct planner *pl, const struct user *u,
			   uint32_t k)
{
	struct held h = { NULL, false };

	for (size_t i = 0; i < u->n_assignments; i++) {
		const struct assignment *a = &u->assignments[i];

		if (!guid_equal(&a->sku, &pl->s->skus[k].id))
			continue;
		if (a->by == ASSIGNED_DIRECTLY)
			h.direct = a;
		else if (!is_failed_inheritance(a))
			h.is_inherited = true;
	}
	return h;
}

/* Is SKU a ranked better than b (in the same chain)?  PLAN_NONE is last. */
static bool is_better(const struct planner *pl, uint32_t a, uint32_t b)
{
	return a != PLAN_NONE &&
	       (b == PLAN_NONE || pl->sku_rank[a] < pl->sku_rank[b]);
}

/*
 * 5.1 precedence over the wants: per chain the best SKU wanted (the
 * others get it as better) and the best one held, which the user keeps
 * until a better one can be added.
 */
static void rank_wants(struct planner *pl)
{
	struct want *w = pl->wants;
	size_t n = pl->n_wants;

	for (size_t i = 0; i < n; i++) {
		uint32_t c = pl->sku_chain[w[i].sku];

		if (c == PLAN_NONE)
			continue;
		if (is_better(pl, w[i].sku, pl->chain_top[c]))
			pl->chain_top[c] = w[i].sku;
		if ((w[i].held.direct || w[i].held.is_inherited) &&
		    is_better(pl, w[i].sku, pl->chain_held[c]))
			pl->chain_held[c] = w[i].sku;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t c = pl->sku_chain[w[i].sku];

		if (c != PLAN_NONE && pl->chain_top[c] != w[i].sku)
			w[i].better = pl->chain_top[c];
	}
}

/* 5.1 and 5.2 for one user: the SKUs it should have, with plans. */
static int wants_of(struct planner *pl, uint32_t u)
{
	struct want *w = pl->wants;

	pl->n_wants = 0;
	for (uint32_t e = pl->ent_start[u]; e < pl->ent_start[u + 1]; e++) {
		uint32_t r = pl->ent_rules[e], k = pl->rule_sku[r];
		uint32_t j = pl->sku_want[k];
		int64_t id;

		if (j == PLAN_NONE) {
			pl->sku_want[k] = (uint32_t)pl->n_wants;
			w[pl->n_wants++] =
				(struct want){ .sku = k,
					       .rule = r,
					       .planset = pl->rule_set[r],
					       .better = PLAN_NONE };
			continue;
		}
		if (w[j].rule == r)
			continue;
		id = planset_intersect(&pl->plan->sets, w[j].planset,
				       pl->rule_set[r]);
		if (id < 0)
			return (int)id;
		w[j].planset = (uint32_t)id;
	}
	for (size_t i = 0; i < pl->n_wants; i++)
		w[i].held = held_of(pl, &pl->s->users[u], w[i].sku);
	rank_wants(pl);
	return 0;
}

/* Empty sku_want and the chain tables for the next user. */
static void forget_wants(struct planner *pl)
{
	for (size_t i = 0; i < pl->n_wants; i++) {
		uint32_t c = pl->sku_chain[pl->wants[i].sku];

		pl->sku_want[pl->wants[i].sku] = PLAN_NONE;
		if (c != PLAN_NONE)
			pl->chain_top[c] = pl->chain_held[c] = PLAN_NONE;
	}
}

/* Does the direct assignment a have exactly the disabled set id? */
static bool same_plans(const struct planner *pl, uint32_t k,
		       const struct assignment *a, uint32_t id)
{
	size_t i;

	if (a->n_disabled_plans != planset_count(&pl->plan->sets, id))
		return false;
	for (size_t j = 0; j < a->n_disabled_plans; j++)
		if (!guidmap_get(&pl->plans[k], &a->disabled_plans[j], &i) ||
		    !planset_has(&pl->plan->sets, id, i))
			return false;
	return true;
}

static int push(struct planner *pl, const struct plan_item *it)
{
	struct plan *plan = pl->plan;

	if (plan->n_items == pl->cap_items) {
		size_t cap = pl->cap_items ? pl->cap_items * 2 : 256;
		struct plan_item *v = realloc(plan->items, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		plan->items = v;
		pl->cap_items = cap;
	}
	plan->items[plan->n_items++] = *it;
	return 0;
}

/* May licensed change or remove this direct assignment (5.3)? */
static enum plan_hold may_touch(const struct planner *pl, const struct user *u,
				uint32_t k, bool is_removal)
{
	bool is_owned = find_owned(pl, &u->id, &pl->s->skus[k].id) != NULL;

	if (pl->sku_blocked[k])
		return PLAN_RULE_ERROR;
	if (is_removal && pl->o->removal == REMOVAL_NEVER)
		return is_owned ? PLAN_NEVER_REMOVE : PLAN_NOT_OWNED;
	if (!is_owned && pl->o->removal != REMOVAL_AUTHORITATIVE)
		return PLAN_NOT_OWNED;
	if (is_removal && pl->st->is_untrusted)
		return PLAN_STATE_UNTRUSTED;
	return PLAN_GO;
}

/*
 * Where user u, without a usage location, would get one for SKU k (5.8):
 * the first rule giving it k that sets one (not only the first rule
 * giving k), else [defaults], else NULL.
 */
static const char *usage_location_for(const struct planner *pl, uint32_t u,
				      uint32_t k)
{
	for (uint32_t e = pl->ent_start[u]; e < pl->ent_start[u + 1]; e++) {
		uint32_t r = pl->ent_rules[e];

		if (pl->rule_sku[r] == k && pl->p->rules[r].usage_location[0])
			return pl->p->rules[r].usage_location;
	}
	if (pl->p->usage_location[0])
		return pl->p->usage_location;
	return NULL;
}

/* Can this add be made (5.3, 5.8, appliesTo)?  Seats come later. */
static void add_hold(const struct planner *pl, struct plan_item *it)
{
	const struct user *usr = &pl->s->users[it->user];
	const char *loc = usage_location_for(pl, it->user, it->sku);

	it->hold = PLAN_GO;
	if (pl->sku_blocked[it->sku])
		it->hold = PLAN_RULE_ERROR;
	else if (!pl->s->skus[it->sku].is_for_users)
		it->hold = PLAN_NO_SKU_FOR_USERS;
	else if (!usr->usage_location[0] && !loc)
		it->hold = PLAN_NO_USAGE_LOCATION;
	else if (!usr->usage_location[0])
		memcpy(it->usage_location, loc, 3);
}

static int plan_add(struct planner *pl, uint32_t u, const struct want *w)
{
	struct plan_item it = { .user = u,
				.sku = w->sku,
				.rule = w->rule,
				.better = PLAN_NONE,
				.planset = w->planset,
				.action = PLAN_ADD,
				.reason = PLAN_ENTITLED };

	add_hold(pl, &it);
	return push(pl, &it);
}

/*
 * A lesser SKU of a chain (5.1, 5.4).  Held directly: removed in the
 * call that adds a better one, or at once if a better one is held (then
 * better names it).  Not held, and better than any held: a fallback add,
 * made if the better ones cannot be (allocate_seats()).
 */
static int plan_lesser(struct planner *pl, uint32_t u, const struct want *w)
{
	uint32_t held = pl->chain_held[pl->sku_chain[w->sku]];
	struct plan_item it = { .user = u,
				.sku = w->sku,
				.rule = w->rule,
				.better = w->better,
				.planset = w->planset,
				.action = PLAN_ADD,
				.reason = PLAN_ENTITLED,
				.hold = HOLD_DORMANT };

	if (w->held.direct) {
		if (is_better(pl, held, w->sku))
			it.better = held;
		it.action = PLAN_REMOVE;
		it.reason = PLAN_SUPERSEDED;
		it.hold = may_touch(pl, &pl->s->users[u], w->sku, true);
		return push(pl, &it);
	}
	if (w->held.is_inherited || pl->sku_blocked[w->sku] ||
	    !is_better(pl, w->sku, held))
		return 0;
	return push(pl, &it);
}

static int plan_want(struct planner *pl, uint32_t u, const struct want *w)
{
	const struct user *usr = &pl->s->users[u];
	const struct held *h = &w->held;
	struct plan_item it = { .user = u,
				.sku = w->sku,
				.rule = w->rule,
				.better = PLAN_NONE,
				.planset = w->planset,
				.action = PLAN_UPDATE,
				.reason = PLAN_PLANS_DIFFER };

	if (w->better != PLAN_NONE)
		return plan_lesser(pl, u, w);
	if (h->direct) {
		if (same_plans(pl, w->sku, h->direct, w->planset))
			return 0;
		it.hold = may_touch(pl, usr, w->sku, false);
		return push(pl, &it);
	}
	if (h->is_inherited)
		return 0; /* held through group-based licensing: enough */
	return plan_add(pl, u, w);
}

/* A managed SKU held directly that no rule gives: remove, after grace. */
static int plan_unwanted(struct planner *pl, uint32_t u, uint32_t k)
{
	const struct user *usr = &pl->s->users[u];
	const struct pending *rec =
		find_pending(pl, &usr->id, &pl->s->skus[k].id);
	struct plan_item it = { .user = u,
				.sku = k,
				.rule = PLAN_NONE,
				.better = PLAN_NONE,
				.action = PLAN_REMOVE,
				.reason = PLAN_NOT_ENTITLED };

	/* Not ours (5.3): left alone, but reported like the rest. */
	it.hold = may_touch(pl, usr, k, true);
	it.since = rec ? rec->since : pl->o->now;
	/*
	 * A blocked SKU's rules could not be evaluated: whether the user
	 * lost the entitlement is unknown, so no clock starts (since 0).
	 * One already running keeps its start.
	 */
	if (!rec && pl->sku_blocked[k])
		it.since = 0;
	it.due = it.since ? it.since + pl->o->grace_sec : 0;
	if (it.hold == PLAN_GO && pl->o->now < it.due)
		it.hold = PLAN_GRACE;
	return push(pl, &it);
}

/* The SKU index of an assignment if it is managed, else PLAN_NONE. */
static uint32_t managed_sku(const struct planner *pl,
			    const struct assignment *a)
{
	size_t k;

	if (!guidmap_get(&pl->skus, &a->sku, &k) || !pl->plan->is_managed[k])
		return PLAN_NONE;
	return (uint32_t)k;
}

/* What the planner found out about each ownership record. */
enum {
	OWNED_SEEN = 1, /* the snapshot shows the direct assignment */
	OWNED_KEEP = 2,
};

/* Ownership records of this user that the snapshot confirms. */
static void confirm_owned(struct planner *pl, const struct user *usr,
			  uint8_t *mark)
{
	size_t i;

	if (!guidmap_get(&pl->owned, &usr->id, &i))
		return;
	for (; i != PLAN_NONE; i = pl->owned_next[i])
		for (size_t j = 0; j < usr->n_assignments; j++)
			if (usr->assignments[j].by == ASSIGNED_DIRECTLY &&
			    guid_equal(&usr->assignments[j].sku,
				       &pl->st->owned[i].sku))
				mark[i] = OWNED_SEEN;
}

static int plan_excluded(struct planner *pl, uint32_t u, const struct want *w,
			 size_t n)
{
	pl->plan->totals.excluded++;
	for (size_t i = 0; i < n; i++) {
		const struct held *h = &w[i].held;
		struct plan_item it = { .user = u,
					.sku = w[i].sku,
					.rule = w[i].rule,
					.better = PLAN_NONE,
					.planset = w[i].planset,
					.action = PLAN_ADD,
					.reason = PLAN_ENTITLED,
					.hold = PLAN_EXCLUDED };

		if (!h->direct && !h->is_inherited &&
		    w[i].better == PLAN_NONE && push(pl, &it) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void sort_user_items(struct planner *pl, size_t first)
{
	struct plan_item *v = pl->plan->items;

	for (size_t i = first + 1; i < pl->plan->n_items; i++) {
		struct plan_item it = v[i];
		size_t j = i;

		while (j > first &&
		       strcmp(pl->s->skus[it.sku].part_number,
			      pl->s->skus[v[j - 1].sku].part_number) < 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = it;
	}
}

static int plan_user(struct planner *pl, uint32_t u, uint8_t *mark)
{
	const struct user *usr = &pl->s->users[u];
	const struct want *w = pl->wants;
	size_t first = pl->plan->n_items;
	bool is_holder = false;
	int r = wants_of(pl, u);

	confirm_owned(pl, usr, mark);
	for (size_t i = 0; i < usr->n_assignments; i++)
		is_holder |= managed_sku(pl, &usr->assignments[i]) != PLAN_NONE;
	pl->plan->totals.holders += is_holder;
	if (r == 0 && is_excluded(pl, usr)) {
		r = plan_excluded(pl, u, w, pl->n_wants);
		forget_wants(pl);
		return r;
	}
	for (size_t i = 0; r == 0 && i < pl->n_wants; i++)
		r = plan_want(pl, u, &w[i]);
	for (size_t i = 0; r == 0 && i < usr->n_assignments; i++) {
		const struct assignment *a = &usr->assignments[i];
		uint32_t k = managed_sku(pl, a);

		if (k != PLAN_NONE && a->by == ASSIGNED_DIRECTLY &&
		    pl->sku_want[k] == PLAN_NONE)
			r = plan_unwanted(pl, u, k);
	}
	forget_wants(pl);
	sort_user_items(pl, first);
	return r;
}

/* A rule's SKU's rank in its chain; 0 outside chains. */
static uint32_t rule_rank(const struct planner *pl, size_t r)
{
	uint32_t k = pl->rule_sku[r];

	return k == PLAN_NONE || pl->sku_chain[k] == PLAN_NONE
		       ? 0
		       : pl->sku_rank[k];
}

/*
 * The rules in seat order: by chain rank, then in policy order.  Seats
 * are per SKU and all rules of a SKU share its rank, so each SKU's adds
 * still come in rule order (5.5); and every better add of a user is
 * decided before its fallbacks.
 */
static void seat_order(const struct planner *pl, uint32_t *pos)
{
	uint32_t max_rank = 0, next = 0;

	for (size_t r = 0; r < pl->p->n_rules; r++)
		if (rule_rank(pl, r) > max_rank)
			max_rank = rule_rank(pl, r);
	for (uint32_t rank = 0; rank <= max_rank; rank++)
		for (size_t r = 0; r < pl->p->n_rules; r++)
			if (rule_rank(pl, r) == rank)
				pos[r] = next++;
}

/* Does user i's item go with an add of a better SKU of its chain? */
static bool is_better_added(const struct planner *pl, size_t i)
{
	const struct plan_item *v = pl->plan->items;
	uint32_t u = v[i].user, c = pl->sku_chain[v[i].sku];
	size_t j = i;

	while (j > 0 && v[j - 1].user == u)
		j--;
	for (; j < pl->plan->n_items && v[j].user == u; j++)
		if (v[j].action == PLAN_ADD && v[j].hold == PLAN_GO &&
		    pl->sku_chain[v[j].sku] == c &&
		    is_better(pl, v[j].sku, v[i].sku))
			return true;
	return false;
}

/*
 * Item i's turn for a seat.  A fallback is made only if no better add
 * of its chain is, and only if it can be: one that cannot is dropped,
 * so that a user waits once per chain, for the best SKU.
 */
static void take_seat(struct planner *pl, size_t i, int64_t *free_seats)
{
	struct plan_item *it = &pl->plan->items[i];
	bool is_fallback = it->hold == HOLD_DORMANT;

	if (is_fallback) {
		if (is_better_added(pl, i))
			return;
		add_hold(pl, it);
		if (it->hold != PLAN_GO) {
			it->hold = HOLD_DORMANT;
			return;
		}
	}
	if (free_seats[it->sku] > 0)
		free_seats[it->sku]--;
	else
		it->hold = is_fallback ? HOLD_DORMANT : PLAN_NO_SEATS;
}

static bool wants_seat(const struct plan_item *it)
{
	return it->action == PLAN_ADD &&
	       (it->hold == PLAN_GO || it->hold == HOLD_DORMANT);
}

/*
 * 5.5: adds in rule order, then user id, while seats last; 5.1: a user
 * whose better add cannot be made gets the next SKU of the chain that
 * can.  A counting sort on the rule's seat order; items are in user
 * order already.
 */
static int allocate_seats(struct planner *pl)
{
	struct plan *plan = pl->plan;
	size_t n_rules = pl->p->n_rules, n_queue;
	size_t *start = calloc(n_rules + 1, sizeof(*start));
	uint32_t *pos = malloc((n_rules ? n_rules : 1) * sizeof(*pos));
	uint32_t *queue =
		malloc((plan->n_items ? plan->n_items : 1) * sizeof(*queue));
	int64_t *free_seats = malloc((pl->s->n_skus ? pl->s->n_skus : 1) *
				     sizeof(*free_seats));
	int r = -ENOMEM;

	if (!start || !pos || !queue || !free_seats)
		goto out;
	seat_order(pl, pos);
	for (size_t k = 0; k < pl->s->n_skus; k++)
		free_seats[k] = policy_sku_free(&pl->s->skus[k]);
	for (size_t i = 0; i < plan->n_items; i++)
		if (wants_seat(&plan->items[i]))
			start[pos[plan->items[i].rule] + 1]++;
	for (size_t i = 0; i < n_rules; i++)
		start[i + 1] += start[i];
	n_queue = start[n_rules];
	for (size_t i = 0; i < plan->n_items; i++) /* stable: user order */
		if (wants_seat(&plan->items[i]))
			queue[start[pos[plan->items[i].rule]]++] = (uint32_t)i;
	for (size_t q = 0; q < n_queue; q++)
		take_seat(pl, queue[q], free_seats);
	r = 0;
out:
	free(start);
	free(pos);
	free(queue);
	free(free_seats);
	return r;
}

/* The fallback adds allocate_seats() found not needed. */
static void drop_dormant(struct plan *plan)
{
	size_t n = 0;

	for (size_t i = 0; i < plan->n_items; i++)
		if (plan->items[i].hold != HOLD_DORMANT)
			plan->items[n++] = plan->items[i];
	plan->n_items = n;
}

/*
 * 5.4: a swap is one call.  A lesser SKU held goes in the call that adds
 * a better one of its chain (better then names that one).  When the best
 * cannot be added and no fallback is, the user keeps what it has.
 * Removals held for other reasons (not owned) name the add too.
 */
static void pair_swap(struct planner *pl, size_t first, size_t i)
{
	struct plan_item *v = pl->plan->items;
	uint32_t c = pl->sku_chain[v[i].sku];
	bool is_waiting = false;

	for (size_t j = first; j < pl->plan->n_items && v[j].user == v[i].user;
	     j++) {
		if (v[j].action != PLAN_ADD || pl->sku_chain[v[j].sku] != c)
			continue;
		if (v[j].hold == PLAN_GO) {
			v[i].better = v[j].sku;
			return;
		}
		is_waiting |= v[j].sku == v[i].better;
	}
	if (is_waiting && v[i].hold == PLAN_GO)
		v[i].hold = PLAN_SWAP_WAITS;
}

static void pair_swaps(struct planner *pl)
{
	const struct plan_item *v = pl->plan->items;
	size_t first = 0;

	for (size_t i = 0; i < pl->plan->n_items; i++) {
		if (v[i].user != v[first].user)
			first = i;
		if (v[i].reason == PLAN_SUPERSEDED)
			pair_swap(pl, first, i);
	}
}

/* 5.6: too many removals in one round hold them all, unless approved. */
/*
 * Is item i the removal half of a swap going out this round (5.4: one
 * call, never delayed)?  The user keeps a license of the chain, so it is
 * not a removal the cap guards against.  A user's items adjoin.
 */
static bool is_swap(const struct plan *plan, size_t i)
{
	const struct plan_item *v = plan->items;

	if (v[i].reason != PLAN_SUPERSEDED || v[i].hold != PLAN_GO)
		return false;
	for (size_t j = i; j-- > 0 && v[j].user == v[i].user;)
		if (v[j].action == PLAN_ADD && v[j].hold == PLAN_GO &&
		    v[j].sku == v[i].better)
			return true;
	for (size_t j = i + 1; j < plan->n_items && v[j].user == v[i].user; j++)
		if (v[j].action == PLAN_ADD && v[j].hold == PLAN_GO &&
		    v[j].sku == v[i].better)
			return true;
	return false;
}

static bool is_capped_removal(const struct plan *plan, size_t i)
{
	return plan->items[i].action == PLAN_REMOVE &&
	       plan->items[i].hold == PLAN_GO && !is_swap(plan, i);
}

static void apply_cap(struct planner *pl)
{
	struct plan *plan = pl->plan;
	struct plan_totals *t = &plan->totals;
	size_t n = 0, n_users = 0;
	uint32_t last = PLAN_NONE;
	bool is_over;

	for (size_t i = 0; i < plan->n_items; i++)
		if (is_capped_removal(plan, i)) {
			n++;
			n_users += plan->items[i].user != last;
			last = plan->items[i].user;
		}
	is_over = n > pl->o->max_removals ||
		  n_users * 100 > pl->o->max_removal_percent * t->holders;
	if (n == 0 || !is_over)
		return;
	if (pl->st->has_approval && pl->st->approved >= n) {
		t->is_approval_used = true;
		return;
	}
	t->is_capped = true;
	for (size_t i = 0; i < plan->n_items; i++)
		if (is_capped_removal(plan, i))
			plan->items[i].hold = PLAN_CAPPED;
}

static void count(struct plan *plan)
{
	struct plan_totals *t = &plan->totals;

	for (size_t i = 0; i < plan->n_items; i++) {
		const struct plan_item *it = &plan->items[i];

		if (it->hold == PLAN_GO) {
			t->adds += it->action == PLAN_ADD;
			t->updates += it->action == PLAN_UPDATE;
			t->removes += it->action == PLAN_REMOVE;
		}
		t->waiting_seats += it->hold == PLAN_NO_SEATS;
		t->no_usage_location += it->hold == PLAN_NO_USAGE_LOCATION;
		t->grace += it->hold == PLAN_GRACE;
		t->capped += it->hold == PLAN_CAPPED;
		t->not_owned += it->hold == PLAN_NOT_OWNED;
		t->inherited += it->hold == PLAN_INHERITED;
	}
}

/*
 * Keep an ownership record the snapshot does not confirm?  Yes if this
 * round could not judge its SKU (not managed now, or blocked), or if it
 * is an unconfirmed intent whose add may still land (SPEC 5.7).
 */
static bool keeps_unseen(const struct planner *pl, const struct owned *rec)
{
	int64_t read_at = pl->o->read_at ? pl->o->read_at : pl->o->now;
	size_t k;

	if (!guidmap_get(&pl->skus, &rec->sku, &k) ||
	    !pl->plan->is_managed[k] || pl->sku_blocked[k])
		return true;
	return !rec->is_confirmed && read_at < rec->since + OWNED_SETTLE_SEC;
}

/*
 * The ownership records to keep, and which of them this snapshot saw.
 * As indices into the state's records: at a million records a copy
 * would cost 170 MB and most of a second (make bench).
 */
static int keep_owned(struct planner *pl, uint8_t *mark)
{
	const struct plan_state *st = pl->st;
	struct plan *plan = pl->plan;
	size_t n = 0;

	for (size_t i = 0; i < st->n_owned; i++) {
		if (mark[i] || keeps_unseen(pl, &st->owned[i]))
			mark[i] |= OWNED_KEEP;
		n += mark[i] != 0;
	}
	plan->owned = malloc((n ? n : 1) * sizeof(*plan->owned));
	plan->owned_is_seen = malloc((n ? n : 1) * sizeof(bool));
	if (!plan->owned || !plan->owned_is_seen)
		return -ENOMEM;
	for (size_t i = 0; i < st->n_owned; i++) {
		if (!mark[i])
			continue;
		plan->owned_is_seen[plan->n_owned] = mark[i] & OWNED_SEEN;
		plan->owned[plan->n_owned++] = (uint32_t)i;
	}
	return 0;
}

static int alloc_tables(struct planner *pl)
{
	size_t n_rules = pl->p->n_rules ? pl->p->n_rules : 1;
	size_t n_skus = pl->s->n_skus ? pl->s->n_skus : 1;

	pl->rule_sku = calloc(n_rules, sizeof(*pl->rule_sku));
	pl->rule_set = calloc(n_rules, sizeof(*pl->rule_set));
	pl->rule_ok = calloc(n_rules, sizeof(*pl->rule_ok));
	pl->sku_blocked = calloc(n_skus, sizeof(*pl->sku_blocked));
	pl->sku_chain = calloc(n_skus, sizeof(*pl->sku_chain));
	pl->sku_rank = calloc(n_skus, sizeof(*pl->sku_rank));
	pl->plans = calloc(n_skus, sizeof(*pl->plans));
	pl->plan->is_managed = calloc(n_skus, sizeof(bool));
	if (!pl->rule_sku || !pl->rule_set || !pl->rule_ok ||
	    !pl->sku_blocked || !pl->sku_chain || !pl->sku_rank || !pl->plans ||
	    !pl->plan->is_managed)
		return -ENOMEM;
	return 0;
}

static void planner_clear(struct planner *pl)
{
	free(pl->rule_sku);
	free(pl->rule_set);
	free(pl->rule_ok);
	free(pl->sku_blocked);
	free(pl->sku_chain);
	free(pl->sku_rank);
	for (size_t k = 0; pl->plans && k < pl->s->n_skus; k++)
		guidmap_clear(&pl->plans[k]);
	free(pl->plans);
	guidmap_clear(&pl->skus);
	guidmap_clear(&pl->groups);
	guidmap_clear(&pl->excluded);
	guidmap_clear(&pl->owned);
	free(pl->owned_next);
	guidmap_clear(&pl->pending);
	free(pl->pending_next);
	free(pl->ent_start);
	free(pl->ent_rules);
	free(pl->wants);
	free(pl->sku_want);
	free(pl->chain_top);
	free(pl->chain_held);
}

/* The per-user scratch, once the managed SKUs are known. */
static int alloc_wants(struct planner *pl)
{
	size_t n_managed = 0, n_chains = pl->p->n_chains ? pl->p->n_chains : 1;

	for (size_t k = 0; k < pl->s->n_skus; k++)
		n_managed += pl->plan->is_managed[k];
	pl->wants = malloc((n_managed ? n_managed : 1) * sizeof(*pl->wants));
	pl->sku_want = malloc((pl->s->n_skus ? pl->s->n_skus : 1) *
			      sizeof(*pl->sku_want));
	pl->chain_top = malloc(n_chains * sizeof(*pl->chain_top));
	pl->chain_held = malloc(n_chains * sizeof(*pl->chain_held));
	if (!pl->wants || !pl->sku_want || !pl->chain_top || !pl->chain_held)
		return -ENOMEM;
	for (size_t k = 0; k < pl->s->n_skus; k++)
		pl->sku_want[k] = PLAN_NONE;
	for (size_t c = 0; c < n_chains; c++)
		pl->chain_top[c] = pl->chain_held[c] = PLAN_NONE;
	return 0;
}

static int plan_users(struct planner *pl)
{
	uint8_t *mark =
		calloc(pl->st->n_owned ? pl->st->n_owned : 1, sizeof(*mark));
	int r = mark ? alloc_wants(pl) : -ENOMEM;

	for (size_t i = 0; r == 0 && i < pl->s->n_users; i++)
		r = plan_user(pl, (uint32_t)i, mark);
	if (r == 0)
		r = keep_owned(pl, mark);
	free(mark);
	return r;
}

int plan_build(const struct policy *p, const struct snapshot *s,
	       const struct plan_state *state, const struct plan_options *o,
	       struct plan *ret)
{
	struct plan plan = { 0 };
	struct planner pl = {
		.p = p, .s = s, .st = state, .o = o, .plan = &plan
	};
	int r;

	plan.sets.skus = s->skus;
	r = alloc_tables(&pl);
	if (r == 0)
		r = resolve_rules(&pl);
	if (r == 0) {
		resolve_chains(&pl);
		r = index_state(&pl);
	}
	if (r == 0)
		r = gather(&pl);
	if (r == 0)
		r = plan_users(&pl);
	if (r == 0)
		r = sort_items(&pl);
	if (r == 0)
		r = allocate_seats(&pl);
	if (r == 0) {
		drop_dormant(&plan);
		pair_swaps(&pl);
		apply_cap(&pl);
		count(&plan);
		*ret = plan;
		memset(&plan, 0, sizeof(plan));
	}
	planner_clear(&pl);
	plan_free(&plan);
	return r;
}

void plan_free(struct plan *plan)
{
	if (!plan)
		return;
	free(plan->items);
	planset_clear(&plan->sets);
	free(plan->is_managed);
	free(plan->owned);
	free(plan->owned_is_seen);
	diags_clear(&plan->problems);
	memset(plan, 0, sizeof(*plan));
}

const char *plan_hold_name(enum plan_hold h)
{
	static const char *const names[] = {
		[PLAN_GO] = "",
		[PLAN_GRACE] = "in grace period",
		[PLAN_NO_SEATS] = "waiting for a seat",
		[PLAN_NO_USAGE_LOCATION] = "no usage location",
		[PLAN_EXCLUDED] = "excluded",
		[PLAN_INHERITED] = "inherited from a group",
		[PLAN_NOT_OWNED] = "not assigned by licensed",
		[PLAN_NEVER_REMOVE] = "removal = never",
		[PLAN_CAPPED] = "held by the removal cap",
		[PLAN_RULE_ERROR] = "rule error",
		[PLAN_STATE_UNTRUSTED] = "state being rebuilt",
		[PLAN_SWAP_WAITS] = "kept until the better SKU is added",
		[PLAN_NO_SKU_FOR_USERS] = "SKU not assignable to users",
	};

	return h <= PLAN_NO_SKU_FOR_USERS ? names[h] : "?";
}

const char *plan_action_name(enum plan_action a)
{
	return a == PLAN_ADD ? "add" : a == PLAN_UPDATE ? "update" : "remove";
}

const char *plan_reason_name(enum plan_reason r)
{
	static const char *const names[] = {
		[PLAN_ENTITLED] = "entitled",
		[PLAN_PLANS_DIFFER] = "plans differ",
		[PLAN_NOT_ENTITLED] = "no longer entitled",
		[PLAN_SUPERSEDED] = "superseded",
	};

	return r <= PLAN_SUPERSEDED ? names[r] : "?";
}
