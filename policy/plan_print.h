/*
 * plan_print: a plan as stable text for people (`licensed plan`, dry-run
 * logs, golden tests).  One line per item, then the totals.
 */
#ifndef LICENSED_PLAN_PRINT_H
#define LICENSED_PLAN_PRINT_H

#include <stdbool.h>
#include <stdio.h>

#include "policy/plan.h"

/*
 * One item's explanation ("rule 'sales': plans off SWAY"), into buf; it
 * is one of plan->items (its neighbours tell whether a swap is one call).
 */
void plan_item_text(const struct plan *plan, const struct plan_item *it,
		    const struct policy *p, const struct snapshot *s, char *buf,
		    size_t size);

/*
 * Set id for people: "plans off: SWAY, YAMMER_ENTERPRISE", or, when most
 * plans are off, "only plans on: EXCHANGE_S_ENTERPRISE, TEAMS1".
 */
void plan_set_text(const struct plan *plan, const struct snapshot *s,
		   uint32_t id, char *buf, size_t size);

/*
 * Wall-clock seconds t in UTC: "2026-11-27T21:05:00Z" with is_iso, else
 * "2026-11-27 21:05 UTC" (the number if it cannot be converted).
 */
void plan_time_text(int64_t t, bool is_iso, char *buf, size_t size);

/* The totals line. */
void plan_totals_text(const struct plan_totals *t, char *buf, size_t size);

/* The table and the totals. */
void plan_print(FILE *f, const struct plan *plan, const struct policy *p,
		const struct snapshot *s);

#endif
