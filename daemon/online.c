/*
 * online: `licensed check --online`.  See online.h.
 *
 * Reads the tenant exactly as a round does (tenant_read_named: SKUs, each
 * group of the policy once with its transitive members, the holders of
 * every managed SKU), so that a check that passes means a round can read
 * what it needs, and reports, without writing anything: every SKU, plan
 * and group the tenant does not have, each named, as FILE:LINE errors
 * (exit 2); the seats of each managed SKU and the members of each rule.
 * Any read that fails ends the check with exit 3.
 *
 * It does not plan: what a round would change is `licensed plan`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/client.h"
#include "daemon/log.h"
#include "daemon/online.h"
#include "daemon/tenant.h"
#include "policy/guidmap.h"
#include "policy/policy.h"

enum {
	ONLINE_OK = 0,
	ONLINE_MISMATCH = 2,
	ONLINE_UNREADABLE = 3,
};

struct online {
	FILE *f;
	const struct policy *p;
	struct graph *g;
	struct snapshot snap;
	char **names;		    /* per snap.groups; NULL: not found */
	struct guidmap group_index; /* group id -> index in snap.groups */
	struct diags problems;
	struct diags warnings;
};

static int check_plans(struct online *o, const struct rule *r,
		       const struct sku *s)
{
	for (size_t i = 0; i < r->n_plans; i++)
		if (!policy_find_plan(s, &r->plans[i]) &&
		    diags_add(&o->problems, r->at.file, r->at.line,
			      "rule '%s': SKU %s has no service plan '%s'",
			      r->name, s->part_number, r->plans[i].name) < 0)
			return -ENOMEM;
	return 0;
}

/* The SKU of a rule and, when it exists, its plans. */
static int check_sku(struct online *o, const struct rule *rule)
{
	const struct sku *s =
		policy_find_sku(o->snap.skus, o->snap.n_skus, &rule->sku);

	if (!s)
		return diags_add(&o->problems, rule->at.file, rule->at.line,
				 "rule '%s': SKU '%s' is not subscribed in the "
				 "tenant",
				 rule->name, rule->sku.name);
	if (!s->is_for_users)
		return diags_add(
			&o->problems, rule->at.file, rule->at.line,
			"rule '%s': SKU %s cannot be assigned to users",
			rule->name, s->part_number);
	return check_plans(o, rule, s);
}

static const struct group_members *find_group(const struct online *o,
					      const struct guid *id)
{
	size_t i;

	if (!guidmap_get(&o->group_index, id, &i))
		return NULL;
	return &o->snap.groups[i];
}

/* Every group of a rule the tenant does not have, each by its id. */
static int check_groups(struct online *o, const struct rule *rule)
{
	char id[GUID_STRLEN + 1];
	int r = 0;

	for (size_t j = 0; j < rule->n_groups && r == 0; j++) {
		const struct group_members *gm =
			find_group(o, &rule->groups[j]);

		if (gm && gm->is_found)
			continue;
		guid_format(&rule->groups[j], id);
		r = diags_add(&o->problems, rule->at.file, rule->at.line,
			      "rule '%s': group %s does not exist in the "
			      "tenant",
			      rule->name, id);
	}
	return r;
}

/* SKUs, plans and groups of every rule; SKUs of every chain. */
static int check_policy(struct online *o)
{
	const struct policy *p = o->p;
	int r = 0;

	for (size_t i = 0; i < p->n_rules && r == 0; i++) {
		r = check_sku(o, &p->rules[i]);
		if (r == 0)
			r = check_groups(o, &p->rules[i]);
	}
	for (size_t i = 0; i < p->n_chains && r == 0; i++) {
		const struct chain *ch = &p->chains[i];

		for (size_t j = 0; j < ch->n_skus && r == 0; j++)
			if (!policy_find_sku(o->snap.skus, o->snap.n_skus,
					     &ch->skus[j]))
				r = diags_add(&o->warnings, ch->at.file,
					      ch->at.line,
					      "precedence '%s': SKU '%s' is "
					      "not subscribed; it ranks "
					      "nothing",
					      ch->name, ch->skus[j].name);
	}
	return r;
}

static int index_groups(struct online *o)
{
	size_t ignored;
	int r = 0;

	for (size_t i = 0; i < o->snap.n_groups && r >= 0; i++)
		r = guidmap_put(&o->group_index, &o->snap.groups[i].id, i,
				&ignored);
	return r < 0 ? r : 0;
}

static void print_skus(struct online *o)
{
	size_t n_managed = 0;

	for (size_t i = 0; i < o->snap.n_skus; i++) {
		const struct sku *s = &o->snap.skus[i];
		bool is_managed = false;

		for (size_t j = 0; j < o->p->n_rules && !is_managed; j++)
			is_managed = policy_find_sku(
					     s, 1, &o->p->rules[j].sku) != NULL;
		if (!is_managed)
			continue;
		n_managed++;
		fprintf(o->f,
			"  sku %-24s %lld enabled, %lld assigned, %lld "
			"free%s\n",
			s->part_number, (long long)s->enabled,
			(long long)s->consumed, (long long)policy_sku_free(s),
			s->warning ? " (some units in warning)" : "");
	}
	fprintf(o->f, "  %zu managed, %zu other SKUs subscribed\n", n_managed,
		o->snap.n_skus - n_managed);
}

/*
 * Distinct users over the groups of rule i.  mark[u] holds the last rule
 * (plus one) that counted user u, so no per-rule set is needed.
 */
static size_t rule_members(const struct online *o, size_t i, size_t *mark)
{
	const struct rule *r = &o->p->rules[i];
	size_t n = 0;

	for (size_t j = 0; j < r->n_groups; j++) {
		const struct group_members *gm = find_group(o, &r->groups[j]);

		for (size_t k = 0; gm && k < gm->n_members; k++) {
			uint32_t u = gm->members[k];

			n += mark[u] != i + 1;
			mark[u] = i + 1;
		}
	}
	return n;
}

static void print_groups(struct online *o)
{
	char id[GUID_STRLEN + 1];

	for (size_t i = 0; i < o->snap.n_groups; i++) {
		const struct group_members *gm = &o->snap.groups[i];
		size_t n_disabled = 0;

		if (!gm->is_found)
			continue;
		for (size_t k = 0; k < gm->n_members; k++)
			n_disabled += !o->snap.users[gm->members[k]].is_enabled;
		guid_format(&gm->id, id);
		fprintf(o->f, "  group %s '%s': %zu users (%zu disabled)\n", id,
			o->names[i] ? o->names[i] : "", gm->n_members,
			n_disabled);
	}
}

static int print_rules(struct online *o)
{
	size_t n_users = o->snap.n_users;
	size_t *mark = calloc(n_users ? n_users : 1, sizeof(*mark));

	if (!mark)
		return -ENOMEM;
	for (size_t i = 0; i < o->p->n_rules; i++) {
		const struct rule *r = &o->p->rules[i];
		size_t n = rule_members(o, i, mark);

		fprintf(o->f, "  rule %s: %s to %zu %s in %zu %s\n", r->name,
			r->sku.name, n, n == 1 ? "user" : "users", r->n_groups,
			r->n_groups == 1 ? "group" : "groups");
	}
	free(mark);
	print_groups(o);
	return 0;
}

static void print_diags(struct diags *d, int priority)
{
	char line[DIAG_TEXT_MAX + 512];

	diags_sort(d);
	for (size_t i = 0; i < d->n; i++) {
		diags_format(d, i, line, sizeof(line));
		log_msg(priority, "%s", line);
	}
	if (d->n_dropped)
		log_msg(priority, "... and %zu more", d->n_dropped);
}

static void online_clear(struct online *o)
{
	tenant_names_free(o->names, o->snap.n_groups);
	tenant_free(&o->snap);
	guidmap_clear(&o->group_index);
	diags_clear(&o->problems);
	diags_clear(&o->warnings);
	graph_free(o->g);
}

int online_check(FILE *f, const struct config *c, const struct policy *p)
{
	struct online o = { .f = f, .p = p };
	struct graph_failure fail = { 0 };
	int r, rc = ONLINE_UNREADABLE;

	r = client_open(c, NULL, &o.g);
	if (r < 0) {
		rc = r == -EINVAL ? ONLINE_MISMATCH : ONLINE_UNREADABLE;
		goto out;
	}
	graph_round_start(o.g);
	r = tenant_read_named(o.g, p, &o.snap, &o.names, &fail);
	if (r < 0) {
		log_error("cannot read the tenant: %s", fail.text);
		goto out;
	}
	r = index_groups(&o);
	if (r == 0)
		r = check_policy(&o);
	if (r == 0) {
		fprintf(f, "tenant %s\n", c->tenant_id);
		print_skus(&o);
		r = print_rules(&o);
	}
	if (r < 0) {
		log_error("cannot check the policy: %s", strerror(-r));
		goto out;
	}
	print_diags(&o.warnings, LOG_WARNING);
	print_diags(&o.problems, LOG_ERR);
	rc = diags_count(&o.problems) ? ONLINE_MISMATCH : ONLINE_OK;
	if (rc == ONLINE_OK)
		fprintf(f, "ok: every SKU, plan and group of the policy is in "
			   "the tenant\n");
out:
	online_clear(&o);
	return rc;
}
