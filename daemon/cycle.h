/*
 * cycle: one round (SPEC section 5 and 6).
 *
 *   lock state_dir -> load state -> read the tenant (complete, or stop)
 *   -> plan -> writes (batched, rate-limited) -> outcomes -> journal
 *   -> state and last-round summary
 *
 * Nothing flows backward: outcomes never feed the planner within the
 * round; the next round reads the tenant again.
 */
#ifndef LICENSED_CYCLE_H
#define LICENSED_CYCLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "graph/graph.h"
#include "policy/model.h"
#include "policy/plan.h"

enum cycle_mode {
	CYCLE_APPLY,	 /* once / run */
	CYCLE_PLAN,	 /* plan: print, change nothing */
	CYCLE_PLAN_JSON, /* plan --json */
};

/* What a round did, for the exit code and sd_notify STATUS=. */
struct round_report {
	int exit_code;	  /* SPEC section 1: 0, 1 or 3 */
	int64_t finished; /* wall clock */
	uint64_t round;
	struct plan_totals totals;
	size_t assigned, updated, removed, failed;
	bool is_dry_run;
};

/*
 * Run one round against the tenant.  out receives the plan in the plan
 * modes.  Returns 0 with *ret filled (its exit_code says how the round
 * went), or a negative errno when it could not run at all (after
 * logging).  A wait hook of the Graph client may cancel (-ECANCELED):
 * the round then stops at that request boundary and saves what it did.
 */
int cycle_run(const struct config *c, const struct policy *p, struct graph *g,
	      enum cycle_mode mode, FILE *out, struct round_report *ret);

#endif
