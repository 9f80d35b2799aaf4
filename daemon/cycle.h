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
	int exit_code;	  /* enum exitcode: 0, 1 or 3 */
	int64_t finished; /* wall clock */
	uint64_t round;
	struct plan_totals totals;
	size_t assigned, updated, removed; /* applied (Graph said so) */
	size_t failed;			   /* refused */
	size_t unknown;			   /* sent, no answer */
	size_t unsent;			   /* the write phase stopped first */
	bool is_dry_run;
	bool is_read_failed; /* exit 3: nothing was written */
	bool is_written;     /* at least one write went out */
	double wait_sec;     /* Graph asked for this wait before the next */
	char problem[512];   /* why the round stopped early, or "" */
};

/*
 * Run one round against the tenant.  out receives the plan in the plan
 * modes.  Returns 0 with *ret filled (its exit_code and problem say how
 * the round went; the words come from what was sent), or a negative
 * errno when it could not run at all, after logging: -EWOULDBLOCK
 * (another round holds the lock), -EPROTONOSUPPORT (a state file from a
 * newer licensed: exit 2), -ENOMEM, or -ECANCELED (a wait hook cancelled:
 * the round stopped at a request boundary and saved what it did).
 */
int cycle_run(const struct config *c, const struct policy *p, struct graph *g,
	      enum cycle_mode mode, FILE *out, struct round_report *ret);

#endif
