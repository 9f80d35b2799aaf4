/*
 * writes: a round's plan items -> Graph writes -> one outcome per item.
 *
 * One graph_write per user with something to apply (all its GO items in
 * one assignLicense call: a precedence swap is one call), its disabled
 * plans as GUIDs.  After writes_apply() every GO item has the outcome of
 * its user's call; the items that were not GO have none.  Nothing here
 * logs a change or touches the state: cycle.c and owned.c read the
 * outcomes.
 */
#ifndef LICENSED_WRITES_H
#define LICENSED_WRITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"
#include "policy/plan.h"

struct writes {
	struct graph_write *writes;
	size_t n_writes;
	struct graph_result *results; /* per write */
	uint32_t *write_of;	      /* per plan item: its write, PLAN_NONE */
	struct license_add *adds;     /* pools the writes point into */
	struct guid *guids;
	bool is_stopped; /* the phase ended before the last write */
	struct graph_failure failure; /* why, when is_stopped */
};

/* Build the writes of the plan's GO items.  0 or -ENOMEM. */
int writes_build(const struct plan *plan, const struct snapshot *s,
		 struct writes *ret);

/*
 * Send them.  Returns 0 when the phase ran to its end or stopped on a
 * Graph failure (is_stopped and failure then say why; the outcomes say
 * what went out), -ECANCELED when the daemon is stopping (outcomes set
 * likewise), or -ENOMEM.
 */
int writes_apply(struct graph *g, struct writes *w);

/* The outcome of plan item i, or NULL when it was not to be written. */
const struct graph_result *writes_result(const struct writes *w, size_t i);

void writes_clear(struct writes *w);

#endif
