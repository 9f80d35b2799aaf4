/*
 * tenant: build a snapshot from Graph reads.  See tenant.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/tenant.h"
#include "policy/guidmap.h"
#include "policy/policy.h"

struct builder {
	struct graph *g;
	struct snapshot *s;
	size_t cap_users;
	struct guidmap users;  /* user id -> index */
	struct guidmap groups; /* group id -> index */
	char **names;	       /* per group, or NULL when not kept */
	bool is_naming;	       /* keep the groups' display names */
};

/* Keep u (moved) unless known; return its index through *ret. */
static int add_user(struct builder *b, struct user *u, uint32_t *ret)
{
	struct snapshot *s = b->s;
	size_t at;
	int r = guidmap_put(&b->users, &u->id, s->n_users, &at);

	if (r < 0)
		return r;
	if (r == 0) {
		decode_user_clear(u); /* already there: keep the first */
		*ret = (uint32_t)at;
		return 0;
	}
	if (s->n_users == b->cap_users) {
		size_t cap = b->cap_users ? b->cap_users * 2 : 1024;
		struct user *v = realloc(s->users, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->users = v;
		b->cap_users = cap;
	}
	s->users[s->n_users] = *u;
	*ret = (uint32_t)s->n_users++;
	return 0;
}

/* Move a read list into the snapshot; indices into *ret (may be NULL). */
static int add_users(struct builder *b, struct user *list, size_t n,
		     uint32_t **ret)
{
	uint32_t *idx = ret ? malloc((n ? n : 1) * sizeof(*idx)) : NULL;
	uint32_t ignored;
	size_t i;
	int r = ret && !idx ? -ENOMEM : 0;

	for (i = 0; i < n && r == 0; i++)
		r = add_user(b, &list[i], idx ? &idx[i] : &ignored);
	for (; i < n; i++) /* after a failure: release the rest */
		decode_user_clear(&list[i]);
	free(list);
	if (r == 0 && ret)
		*ret = idx;
	else
		free(idx);
	return r;
}

/* Read group gm and its members; *ret_name (may be NULL) keeps its name. */
static int read_group(struct builder *b, struct group_members *gm,
		      char **ret_name, struct graph_failure *reterr)
{
	struct user *list = NULL;
	char *name = NULL;
	size_t n = 0;
	int r;

	r = graph_read_group(b->g, &gm->id, &name, reterr);
	if (r == 0 && ret_name) {
		*ret_name = name;
		name = NULL;
	}
	free(name);
	if (r == -ENOENT)
		return 0; /* is_found stays false: the planner reports it */
	if (r == 0)
		r = graph_read_members(b->g, &gm->id, &list, &n, reterr);
	if (r < 0)
		return r;
	gm->is_found = true;
	gm->n_members = n;
	return add_users(b, list, n, &gm->members);
}

/* Room for one more group (and its name, when kept). */
static int grow_groups(struct builder *b)
{
	struct snapshot *s = b->s;
	struct group_members *v;
	char **names;

	v = realloc(s->groups, (s->n_groups + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->groups = v;
	memset(&v[s->n_groups], 0, sizeof(*v));
	if (!b->is_naming)
		return 0;
	names = realloc(b->names, (s->n_groups + 1) * sizeof(*names));
	if (!names)
		return -ENOMEM;
	b->names = names;
	names[s->n_groups] = NULL;
	return 0;
}

static int read_groups(struct builder *b, const struct policy *p,
		       struct graph_failure *reterr)
{
	struct snapshot *s = b->s;

	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t j = 0; j < p->rules[i].n_groups; j++) {
			size_t at, k = s->n_groups;
			int r = guidmap_put(&b->groups, &p->rules[i].groups[j],
					    k, &at);

			if (r <= 0) {
				if (r < 0)
					return r;
				continue;
			}
			r = grow_groups(b);
			if (r < 0)
				return r;
			s->groups[k].id = p->rules[i].groups[j];
			s->n_groups++;
			r = read_group(b, &s->groups[k],
				       b->is_naming ? &b->names[k] : NULL,
				       reterr);
			if (r < 0)
				return r;
		}
	return 0;
}

/* Holders of each SKU the policy names (once each). */
static int read_holders(struct builder *b, const struct policy *p,
			struct graph_failure *reterr)
{
	struct snapshot *s = b->s;
	bool *is_read = calloc(s->n_skus ? s->n_skus : 1, sizeof(*is_read));
	int r = is_read ? 0 : -ENOMEM;

	for (size_t i = 0; i < p->n_rules && r == 0; i++) {
		const struct sku *k =
			policy_find_sku(s->skus, s->n_skus, &p->rules[i].sku);
		struct user *list = NULL;
		size_t n = 0;

		if (!k || is_read[k - s->skus])
			continue;
		is_read[k - s->skus] = true;
		r = graph_read_holders(b->g, &k->id, &list, &n, reterr);
		if (r == 0)
			r = add_users(b, list, n, NULL);
	}
	free(is_read);
	return r;
}

static int read_tenant(struct builder *b, const struct policy *p,
		       struct graph_failure *reterr)
{
	struct snapshot *s = b->s;
	int r;

	r = graph_read_skus(b->g, &s->skus, &s->n_skus, reterr);
	if (r == 0)
		r = read_groups(b, p, reterr);
	if (r == 0)
		r = read_holders(b, p, reterr);
	if (r == -ENOMEM)
		(void)snprintf(reterr->text, sizeof(reterr->text),
			       "out of memory");
	return r;
}

int tenant_read(struct graph *g, const struct policy *p, struct snapshot *ret,
		struct graph_failure *reterr)
{
	return tenant_read_named(g, p, ret, NULL, reterr);
}

int tenant_read_named(struct graph *g, const struct policy *p,
		      struct snapshot *ret, char ***ret_names,
		      struct graph_failure *reterr)
{
	struct snapshot s = { 0 };
	struct builder b = { .g = g, .s = &s, .is_naming = ret_names != NULL };
	int r;

	r = read_tenant(&b, p, reterr);
	if (r == 0 && ret_names) {
		*ret_names = b.names;
		b.names = NULL;
	}
	if (r == 0) {
		*ret = s;
		memset(&s, 0, sizeof(s));
	}
	tenant_names_free(b.names, s.n_groups);
	guidmap_clear(&b.users);
	guidmap_clear(&b.groups);
	tenant_free(&s);
	return r;
}

void tenant_names_free(char **names, size_t n)
{
	if (!names)
		return;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void tenant_free(struct snapshot *s)
{
	if (!s)
		return;
	decode_skus_free(s->skus, s->n_skus);
	for (size_t i = 0; i < s->n_users; i++)
		decode_user_clear(&s->users[i]);
	free(s->users);
	for (size_t i = 0; i < s->n_groups; i++)
		free(s->groups[i].members);
	free(s->groups);
	memset(s, 0, sizeof(*s));
}
