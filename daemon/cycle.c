/*
 * cycle: one round.  See cycle.h.
 *
 * This file only sequences the steps; each has its own module:
 *   state.c   the state files          tenant.c  the complete read
 *   plan.c    the plan (pure)          writes.c  plan items -> writes
 *   owned.c   outcomes -> records      events.c  journal records
 * The round's words (exit code, problem, STATUS=) come from what was
 * actually sent: a round that wrote and then stopped never says
 * "nothing was written".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/cycle.h"
#include "daemon/events.h"
#include "daemon/exitcode.h"
#include "daemon/journal.h"
#include "daemon/log.h"
#include "daemon/owned.h"
#include "daemon/report.h"
#include "daemon/state.h"
#include "daemon/tenant.h"
#include "daemon/writes.h"
#include "policy/plan_print.h"

struct round {
	const struct config *c;
	const struct policy *p;
	struct graph *g;
	struct state st;
	bool has_approval;
	uint64_t approved;
	int64_t read_at; /* wall clock when the read began */
	struct snapshot snap;
	struct plan plan;
	struct round_report rep;
};

static void problem(struct round *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Say why the round stopped early (the first reason wins). */
static void problem(struct round *r, const char *fmt, ...)
{
	va_list ap;

	if (r->rep.problem[0])
		return;
	va_start(ap, fmt);
	(void)vsnprintf(r->rep.problem, sizeof(r->rep.problem), fmt, ap);
	va_end(ap);
}

/*
 * The state as the round starts.  Only a round holding the lock may move
 * a bad file aside (state_load); `plan` only looks (state_inspect).
 */
static int load_state(struct round *r, bool is_locked)
{
	int rc = is_locked ? state_load(r->c->state_dir, &r->st)
			   : state_inspect(r->c->state_dir, &r->st);

	if (rc == -EPROTONOSUPPORT) {
		log_error("%s; it is left as it is", r->st.problem);
		return rc;
	}
	if (rc < 0) {
		log_error("cannot read the state in '%s': %s", r->c->state_dir,
			  r->st.problem[0] ? r->st.problem : strerror(-rc));
		return rc;
	}
	if (r->st.problem[0])
		log_warning("%s%s", r->st.problem,
			    r->st.is_untrusted
				    ? "; no removals until this round has "
				      "rebuilt it"
				    : "");
	rc = state_approval_get(r->c->state_dir, &r->approved);
	r->has_approval = rc == 1;
	r->rep.round = r->st.round + 1;
	r->rep.is_dry_run = r->c->is_dry_run;
	return 0;
}

static int read_tenant(struct round *r)
{
	struct graph_failure f = { 0 };
	struct journal_fields jf = { .message_id = JOURNAL_READ_FAILED,
				     .round = (unsigned long)r->rep.round };
	int rc;

	graph_round_start(r->g);
	r->read_at = (int64_t)time(NULL);
	rc = tenant_read(r->g, r->p, &r->snap, &f);
	if (rc == 0)
		return 0;
	if (rc == -ECANCELED) { /* stopping: no failure to report */
		log_info("stopping before the tenant was read; nothing was "
			 "written");
		return rc;
	}
	if (rc == -EACCES)
		jf.message_id = JOURNAL_AUTH_FAILED;
	journal_record(LOG_ERR, &jf,
		       "cannot read the tenant, nothing was written: %s",
		       f.text);
	r->rep.is_read_failed = true;
	r->rep.wait_sec = f.wait_sec;
	problem(r, "cannot read the tenant, nothing was written: %s", f.text);
	return rc;
}

static enum removal_mode removal_of(enum config_removal m)
{
	return m == CONFIG_REMOVAL_AUTHORITATIVE ? REMOVAL_AUTHORITATIVE
	       : m == CONFIG_REMOVAL_NEVER	 ? REMOVAL_NEVER
						 : REMOVAL_OWNED;
}

static int make_plan(struct round *r)
{
	const struct config *c = r->c;
	struct plan_state ps = { .owned = r->st.owned,
				 .n_owned = r->st.n_owned,
				 .pending = r->st.pending,
				 .n_pending = r->st.n_pending,
				 .has_approval = r->has_approval,
				 .approved = r->approved,
				 .is_untrusted = r->st.is_untrusted };
	struct plan_options o = { .removal = removal_of(c->removal),
				  .grace_sec = (int64_t)c->removal_grace_sec,
				  .max_removals = c->max_removals,
				  .max_removal_percent = c->max_removal_percent,
				  .now = (int64_t)time(NULL),
				  .read_at = r->read_at };
	char line[DIAG_TEXT_MAX + 512];
	int rc = plan_build(r->p, &r->snap, &ps, &o, &r->plan);

	for (size_t i = 0; rc == 0 && i < r->plan.problems.n; i++) {
		diags_format(&r->plan.problems, i, line, sizeof(line));
		log_warning("%s", line);
	}
	r->rep.totals = r->plan.totals;
	return rc;
}

/* What became of each plan item; w NULL: before the writes (intents). */
static enum owned_fate *fates_of(const struct round *r, const struct writes *w)
{
	enum owned_fate *fate = calloc(r->plan.n_items + 1, sizeof(*fate));

	for (size_t i = 0; fate && i < r->plan.n_items; i++) {
		const struct plan_item *it = &r->plan.items[i];
		const struct graph_result *res = w ? writes_result(w, i) : NULL;

		if (!w && it->hold == PLAN_GO && it->action == PLAN_ADD)
			fate[i] = OWNED_FATE_UNKNOWN; /* it may go out */
		else if (!res)
			fate[i] = OWNED_FATE_NONE;
		else if (res->outcome == GRAPH_OK)
			fate[i] = OWNED_FATE_APPLIED;
		else if (res->outcome == GRAPH_UNKNOWN)
			fate[i] = OWNED_FATE_UNKNOWN;
		else
			fate[i] = OWNED_FATE_REFUSED;
	}
	return fate;
}

/*
 * Save the state the round leaves.  Called before the first write with w
 * NULL (a round killed mid-write then still owns what it may have
 * assigned) and after the writes with their outcomes.
 */
static int save_state(struct round *r, const struct writes *w)
{
	enum owned_fate *fate = fates_of(r, w);
	struct owned_input in = { .p = r->p,
				  .s = &r->snap,
				  .plan = &r->plan,
				  .st = &r->st,
				  .fate = fate,
				  .now = (int64_t)time(NULL), /* after sends */
				  .is_intent = w == NULL,
				  .round = r->rep.round };
	struct state next = { 0 };
	int rc = fate ? owned_next(&in, &next) : -ENOMEM;

	if (rc == 0)
		rc = state_save(r->c->state_dir, &next);
	if (rc < 0 && rc != -ENOMEM)
		log_error("cannot save the state in '%s': %s", r->c->state_dir,
			  strerror(-rc));
	state_free(&next);
	free(fate);
	return rc;
}

/* How many writes went out (or may have), of how many. */
static void stopped_words(const struct round *r, char *buf, size_t size)
{
	const struct round_report *rep = &r->rep;
	size_t sent = rep->assigned + rep->removed + rep->updated +
		      rep->failed + rep->unknown;

	(void)snprintf(buf, size,
		       "%zu of %zu changes sent (%zu applied, %zu refused, "
		       "%zu without answer), %zu not sent",
		       sent, sent + rep->unsent,
		       rep->assigned + rep->removed + rep->updated, rep->failed,
		       rep->unknown, rep->unsent);
}

static void writes_stopped(struct round *r, const struct writes *w)
{
	struct journal_fields f = { .message_id = JOURNAL_WRITES_STOPPED,
				    .round = (unsigned long)r->rep.round };
	char words[256];

	stopped_words(r, words, sizeof(words));
	r->rep.wait_sec = w->failure.wait_sec;
	journal_record(LOG_ERR, &f, "writes stopped: %s; %s", w->failure.text,
		       words);
	problem(r, "writes stopped: %s; %s", w->failure.text, words);
}

/* Send the writes and record their outcomes.  0, -ENOMEM. */
static int send_writes(struct round *r, const struct events *e)
{
	struct writes w = { 0 };
	char words[256];
	int rc = writes_build(&r->plan, &r->snap, &w);

	if (rc == 0 && save_state(r, NULL) < 0) {
		problem(r,
			"cannot save the state in '%s' before writing; "
			"nothing was written",
			r->c->state_dir);
		goto out;
	}
	if (rc == 0)
		rc = writes_apply(r->g, &w);
	if (rc == -ENOMEM)
		goto out;
	r->rep.is_written = w.n_writes > 0;
	events_changes(e, &w);
	if (w.is_stopped)
		writes_stopped(r, &w);
	if (rc == -ECANCELED)
		problem(r, "stopped by a signal");
	/* One round: the one that sent its removals. */
	if (r->has_approval && !w.is_stopped && rc != -ECANCELED)
		(void)state_approval_clear(r->c->state_dir);
	else if (r->has_approval)
		log_warning("the approval stays for the next round: this one "
			    "stopped before its writes were done");
	if (save_state(r, &w) < 0) {
		stopped_words(r, words, sizeof(words));
		problem(r, "cannot save the state in '%s' after the writes: %s",
			r->c->state_dir, words);
	}
	rc = 0;
out:
	writes_clear(&w);
	return rc;
}

static int exit_code_of(const struct round *r)
{
	const struct plan_totals *t = &r->plan.totals;
	const struct round_report *rep = &r->rep;
	size_t n_odd = 0;

	for (size_t i = 0; i < r->plan.n_items; i++)
		n_odd += r->plan.items[i].hold == PLAN_NO_SKU_FOR_USERS;
	if (rep->failed || rep->unknown || rep->unsent || rep->problem[0] ||
	    t->waiting_seats || t->no_usage_location || t->rule_errors ||
	    t->is_capped || n_odd)
		return EXITCODE_INCOMPLETE;
	return EXITCODE_OK;
}

/* The write half of a round: apply, record, save, report. */
static int write_round(struct round *r)
{
	struct events e = { .c = r->c,
			    .p = r->p,
			    .s = &r->snap,
			    .plan = &r->plan,
			    .rep = &r->rep };
	struct graph_counters n;
	int rc = 0;

	if (r->c->is_dry_run)
		events_dry_run(&e);
	else
		rc = send_writes(r, &e);
	if (rc < 0)
		return rc;
	r->rep.finished = (int64_t)time(NULL);
	events_holds(&e, r->has_approval && r->plan.totals.is_capped,
		     r->approved);
	r->rep.exit_code = exit_code_of(r);
	events_round(&r->rep);
	graph_counters(r->g, &n);
	if (report_save_round(r->c, &r->rep, &r->snap, &n) < 0)
		log_warning("cannot write '%s/last-round.json', ignoring",
			    r->c->state_dir);
	return 0;
}

static void round_clear(struct round *r)
{
	state_free(&r->st);
	tenant_free(&r->snap);
	plan_free(&r->plan);
}

static int lock_round(const struct config *c)
{
	int lock = state_lock(c->state_dir);

	if (lock < 0)
		log_error("cannot lock '%s/lock': %s", c->state_dir,
			  lock == -EWOULDBLOCK
				  ? "another licensed round is running"
				  : strerror(-lock));
	return lock;
}

int cycle_run(const struct config *c, const struct policy *p, struct graph *g,
	      enum cycle_mode mode, FILE *out, struct round_report *ret)
{
	struct round r = { .c = c, .p = p, .g = g };
	int lock = -1, rc = 0;

	if (mode == CYCLE_APPLY)
		rc = lock = lock_round(c);
	if (rc >= 0)
		rc = load_state(&r, mode == CYCLE_APPLY);
	if (rc < 0)
		goto out;
	rc = read_tenant(&r);
	if (rc < 0) {
		r.rep.exit_code = EXITCODE_UNREADABLE;
		r.rep.finished = (int64_t)time(NULL);
		*ret = r.rep;
		rc = rc == -ENOMEM || rc == -ECANCELED ? rc : 0;
		goto out;
	}
	rc = make_plan(&r);
	if (rc == 0 && mode == CYCLE_PLAN)
		plan_print(out, &r.plan, p, &r.snap);
	else if (rc == 0 && mode == CYCLE_PLAN_JSON)
		rc = report_plan_json(out, &r.plan, p, &r.snap);
	else if (rc == 0)
		rc = write_round(&r);
	if (rc == 0)
		*ret = r.rep; /* plan modes: exit_code 0 */
out:
	if (lock >= 0)
		close(lock);
	round_clear(&r);
	return rc;
}
