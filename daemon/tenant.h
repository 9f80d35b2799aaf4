/*
 * tenant: one complete read of what the policy depends on, as a snapshot.
 *
 * SKUs, then every group of the policy once (a deleted group is recorded
 * as not found, not as a failure), then the holders of every SKU the
 * policy names.  Users are kept once however many lists they are on.
 * Any failed read fails the whole snapshot (SPEC 5.7).
 *
 * The one reading of the tenant: a round and `check --online` both call
 * it, so a check that passes means a round can read what it needs.
 */
#ifndef LICENSED_TENANT_H
#define LICENSED_TENANT_H

#include <stddef.h>

#include "graph/graph.h"
#include "policy/model.h"

/*
 * Returns 0 and fills *ret (free with tenant_free), or a negative errno
 * with *reterr saying which read failed.
 */
int tenant_read(struct graph *g, const struct policy *p, struct snapshot *ret,
		struct graph_failure *reterr);

/*
 * The same read, keeping also the display name of each group: on success
 * *ret_names (free with tenant_names_free(names, ret->n_groups)) holds one
 * name per entry of ret->groups, NULL where the group was not found.  For
 * `check --online`, which shows them; a round has no use for them.
 */
int tenant_read_named(struct graph *g, const struct policy *p,
		      struct snapshot *ret, char ***ret_names,
		      struct graph_failure *reterr);

/* Free what tenant_read_named returned.  Accepts NULL. */
void tenant_names_free(char **names, size_t n);

/* Empty a snapshot tenant_read filled.  Accepts NULL. */
void tenant_free(struct snapshot *s);

#endif
