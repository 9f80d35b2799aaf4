/*
 * owned: a round's outcomes -> the ownership records and pending removals
 * it leaves in the state (SPEC 5.3, 5.4, 5.7).
 *
 *   kept records (the planner's choice)  less those this round replaced
 *                                        or whose removal was applied
 *   + one unconfirmed record per add that went out, or may have
 *   pending removals still due, or held (grace, cap, rule error)
 *
 * Called twice a round: before the first write, with every add's outcome
 * "unknown" (an intent: a round killed mid-write then still owns what it
 * may have assigned), and after the writes with their real outcomes.
 * A record is dropped only on evidence: a removal Graph applied, an add
 * Graph refused, or a read that no longer shows it (the planner).
 */
#ifndef LICENSED_OWNED_H
#define LICENSED_OWNED_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/state.h"
#include "policy/plan.h"

/* What became of one plan item in this round. */
enum owned_fate {
	OWNED_FATE_NONE,    /* not written (held, or not yet sent) */
	OWNED_FATE_APPLIED, /* Graph said it was done */
	OWNED_FATE_UNKNOWN, /* sent, no answer: it may be done */
	OWNED_FATE_REFUSED, /* Graph refused it, or it never went out */
};

struct owned_input {
	const struct policy *p;
	const struct snapshot *s;
	const struct plan *plan;
	const struct state *st;	     /* what the round started from */
	const enum owned_fate *fate; /* per plan item */
	int64_t now;		     /* wall clock: when the adds went out */
	bool is_intent;		     /* before the writes (see state.c) */
	uint64_t round;
};

/*
 * The state the round leaves: 0 and *ret (free with state_free), or
 * -ENOMEM.
 */
int owned_next(const struct owned_input *in, struct state *ret);

#endif
