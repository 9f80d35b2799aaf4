/*
 * online: `licensed check --online`.  See online.h.
 *
 * Reads what a round would read (SKUs, then each group of the policy once,
 * with its transitive members) and reports, without writing anything:
 * every SKU, plan and group the tenant does not have, as FILE:LINE errors
 * (exit 2); the seats of each managed SKU and the members of each rule.
 * Any read that fails ends the check with exit 3.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/client.h"
#include "daemon/log.h"
#include "daemon/online.h"
#include "policy/guidmap.h"
#include "policy/policy.h"

enum {
	ONLINE_OK = 0,
	ONLINE_MISMATCH = 2,
	ONLINE_UNREADABLE = 3,
};

struct group_read {
	struct guid id;
	char *name; /* NULL when the group does not exist */
	struct guid *users;
	size_t n_users;
	size_t n_disabled;
};

struct online {
	FILE *f;
	const struct policy *p;
	struct graph *g;
	struct sku *skus;
	size_t n_skus;
	struct guidmap group_index; /* group id -> index in groups */
	struct group_read *groups;
	size_t n_groups;
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

/* SKUs and plans of every rule, SKUs of every chain. */
static int check_skus(struct online *o)
{
	const struct policy *p = o->p;
	int r = 0;

	for (size_t i = 0; i < p->n_rules && r == 0; i++) {
		const struct rule *rule = &p->rules[i];
		const struct sku *s =
			policy_find_sku(o->skus, o->n_skus, &rule->sku);

		if (!s)
			r = diags_add(&o->problems, rule->at.file,
				      rule->at.line,
				      "rule '%s': SKU '%s' is not subscribed "
				      "in the tenant",
				      rule->name, rule->sku.name);
		else if (!s->is_for_users)
			r = diags_add(&o->problems, rule->at.file,
				      rule->at.line,
				      "rule '%s': SKU %s cannot be assigned "
				      "to users",
				      rule->name, s->part_number);
		else
			r = check_plans(o, rule, s);
	}
	for (size_t i = 0; i < p->n_chains && r == 0; i++)
		for (size_t j = 0; j < p->chains[i].n_skus && r == 0; j++)
			if (!policy_find_sku(o->skus, o->n_skus,
					     &p->chains[i].skus[j]))
				r = diags_add(&o->warnings,
					      p->chains[i].at.file,
					      p->chains[i].at.line,
					      "precedence '%s': SKU '%s' is "
					      "not subscribed; it ranks "
					      "nothing",
					      p->chains[i].name,
					      p->chains[i].skus[j].name);
	return r;
}

static int keep_members(struct group_read *gr, struct user *users, size_t n)
{
	gr->users = calloc(n ? n : 1, sizeof(*gr->users));
	if (!gr->users)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		gr->users[i] = users[i].id;
		gr->n_disabled += !users[i].is_enabled;
	}
	gr->n_users = n;
	return 0;
}

/* Read one group and its members; -ENOENT is recorded, not returned. */
static int read_group(struct online *o, struct group_read *gr)
{
	struct graph_failure f;
	struct user *users = NULL;
	size_t n = 0;
	int r;

	r = graph_read_group(o->g, &gr->id, &gr->name, &f);
	if (r == -ENOENT)
		return 0;
	if (r == 0)
		r = graph_read_members(o->g, &gr->id, &users, &n, &f);
	if (r < 0) {
		log_error("cannot read the tenant: %s", f.text);
		return r;
	}
	r = keep_members(gr, users, n);
	for (size_t i = 0; i < n; i++)
		decode_user_clear(&users[i]);
	free(users);
	return r;
}

/* Every group of the policy, each read once, in rule order. */
static int read_groups(struct online *o)
{
	const struct policy *p = o->p;

	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t j = 0; j < p->rules[i].n_groups; j++) {
			const struct guid *id = &p->rules[i].groups[j];
			struct group_read *v;
			size_t at;
			int r = guidmap_put(&o->group_index, id, o->n_groups,
					    &at);

			if (r <= 0) {
				if (r < 0)
					return r;
				continue;
			}
			v = realloc(o->groups, (o->n_groups + 1) * sizeof(*v));
			if (!v)
				return -ENOMEM;
			o->groups = v;
			memset(&v[o->n_groups], 0, sizeof(*v));
			v[o->n_groups].id = *id;
			r = read_group(o, &v[o->n_groups++]);
			if (r < 0)
				return r;
		}
	return 0;
}

static void print_skus(struct online *o)
{
	size_t n_managed = 0;

	for (size_t i = 0; i < o->n_skus; i++) {
		const struct sku *s = &o->skus[i];
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
		o->n_skus - n_managed);
}

/* Distinct users over the groups of one rule. */
static int rule_members(struct online *o, const struct rule *r, size_t *ret_n,
			size_t *ret_missing)
{
	struct guidmap seen = { 0 };
	size_t missing = 0, ignored;
	int rc = 0;

	for (size_t j = 0; j < r->n_groups && rc >= 0; j++) {
		size_t gi = 0;
		const struct group_read *gr;

		(void)guidmap_get(&o->group_index, &r->groups[j], &gi);
		gr = &o->groups[gi];
		missing += !gr->name;
		for (size_t u = 0; u < gr->n_users && rc >= 0; u++)
			rc = guidmap_put(&seen, &gr->users[u], 0, &ignored);
	}
	*ret_n = seen.n;
	*ret_missing = missing;
	guidmap_clear(&seen);
	return rc < 0 ? rc : 0;
}

static int print_rules(struct online *o)
{
	for (size_t i = 0; i < o->p->n_rules; i++) {
		const struct rule *r = &o->p->rules[i];
		size_t n = 0, missing = 0;
		int rc = rule_members(o, r, &n, &missing);

		if (rc < 0)
			return rc;
		fprintf(o->f, "  rule %s: %s to %zu %s in %zu %s\n", r->name,
			r->sku.name, n, n == 1 ? "user" : "users", r->n_groups,
			r->n_groups == 1 ? "group" : "groups");
		if (missing &&
		    diags_add(&o->problems, r->at.file, r->at.line,
			      "rule '%s': %zu of its groups do not exist",
			      r->name, missing) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < o->n_groups; i++) {
		char id[GUID_STRLEN + 1];

		if (!o->groups[i].name)
			continue;
		guid_format(&o->groups[i].id, id);
		fprintf(o->f, "  group %s '%s': %zu users (%zu disabled)\n", id,
			o->groups[i].name, o->groups[i].n_users,
			o->groups[i].n_disabled);
	}
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
}

static void online_clear(struct online *o)
{
	for (size_t i = 0; i < o->n_groups; i++) {
		free(o->groups[i].name);
		free(o->groups[i].users);
	}
	free(o->groups);
	guidmap_clear(&o->group_index);
	decode_skus_free(o->skus, o->n_skus);
	diags_clear(&o->problems);
	diags_clear(&o->warnings);
	graph_free(o->g);
}

int online_check(FILE *f, const struct config *c, const struct policy *p)
{
	struct online o = { .f = f, .p = p };
	struct graph_failure fail;
	int r, rc = ONLINE_UNREADABLE;

	r = client_open(c, NULL, &o.g);
	if (r < 0) {
		rc = r == -EINVAL ? ONLINE_MISMATCH : ONLINE_UNREADABLE;
		goto out;
	}
	r = graph_read_skus(o.g, &o.skus, &o.n_skus, &fail);
	if (r < 0) {
		log_error("cannot read the tenant: %s", fail.text);
		goto out;
	}
	if (check_skus(&o) < 0 || read_groups(&o) < 0)
		goto out;
	fprintf(f, "tenant %s\n", c->tenant_id);
	print_skus(&o);
	if (print_rules(&o) < 0)
		goto out;
	print_diags(&o.warnings, LOG_WARNING);
	print_diags(&o.problems, LOG_ERR);
	rc = o.problems.n ? ONLINE_MISMATCH : ONLINE_OK;
	if (rc == ONLINE_OK)
		fprintf(f, "ok: every SKU, plan and group of the policy is in "
			   "the tenant\n");
out:
	online_clear(&o);
	return rc;
}
