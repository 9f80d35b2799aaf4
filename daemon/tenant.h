/*
 * tenant: one complete read of what the policy depends on, as a snapshot.
 *
 * SKUs, then every group of the policy once (a deleted group is recorded
 * as not found, not as a failure), then the holders of every SKU the
 * policy names.  Users are kept once however many lists they are on.
 * Any failed read fails the whole snapshot (SPEC 5.7).
 */
#ifndef LICENSED_TENANT_H
#define LICENSED_TENANT_H

#include "graph/graph.h"
#include "policy/model.h"

/*
 * Returns 0 and fills *ret (free with tenant_free), or a negative errno
 * with *reterr saying which read failed.
 */
int tenant_read(struct graph *g, const struct policy *p, struct snapshot *ret,
		struct graph_failure *reterr);

void tenant_free(struct snapshot *s);

#endif
