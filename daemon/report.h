/*
 * report: JSON for people's tools — `plan --json`, the last-round summary
 * written to state_dir, and `status [--json]`.
 */
#ifndef LICENSED_REPORT_H
#define LICENSED_REPORT_H

#include <stdio.h>

#include "config/config.h"
#include "daemon/cycle.h"
#include "policy/plan.h"

/* `plan --json`: one object per affected user, then the totals.  0/-errno. */
int report_plan_json(FILE *f, const struct plan *plan, const struct policy *p,
		     const struct snapshot *s);

/* Write state_dir/last-round.json for `status`.  0/-errno. */
int report_save_round(const struct config *c, const struct round_report *r,
		      const struct snapshot *s, const struct graph_counters *n);

/* `status`: last round, pending removals, approval; no network. */
int report_status(FILE *f, const struct config *c, bool is_json);

#endif
