/*
 * events: the journal records of a round (SPEC section 6), one per
 * change and one per round, plus the summaries of what waits.
 *
 * Reads the plan, the snapshot and the outcomes; counts what it records
 * into the round report.  Writes nothing else.
 */
#ifndef LICENSED_EVENTS_H
#define LICENSED_EVENTS_H

#include "config/config.h"
#include "daemon/cycle.h"
#include "daemon/writes.h"
#include "policy/plan.h"

/* What the records of one round are about. */
struct events {
	const struct config *c;
	const struct policy *p;
	const struct snapshot *s;
	const struct plan *plan;
	struct round_report *rep;
};

/* One record per change that went out, or may have; counts them. */
void events_changes(const struct events *e, const struct writes *w);

/* dry_run: one line per change the round would make. */
void events_dry_run(const struct events *e);

/* Seats short per SKU, users without location, removals held. */
void events_holds(const struct events *e, bool has_approval, uint64_t approved);

/* The round's closing record. */
void events_round(const struct round_report *rep);

#endif
