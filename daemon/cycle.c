/*
 * cycle: one round.  See cycle.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/cycle.h"
#include "daemon/journal.h"
#include "daemon/log.h"
#include "daemon/report.h"
#include "daemon/state.h"
#include "daemon/tenant.h"
#include "policy/guidmap.h"
#include "policy/policy.h"
#include "policy/plan_print.h"

struct round {
	const struct config *c;
	const struct policy *p;
	struct graph *g;
	enum cycle_mode mode;
	FILE *out;
	struct state st;
	uint64_t approved;
	bool has_approval;
	struct snapshot snap;
	struct plan plan;
	struct graph_write *writes;
	size_t n_writes;
	size_t *first; /* per write: its user's first item */
	size_t *end;   /* per write: past its user's last item */
	struct license_add *adds;
	struct guid *guids; /* removals and disabled plans */
	struct graph_result *results;
	struct round_report rep;
};

static bool is_go_write(const struct plan_item *it)
{
	return it->hold == PLAN_GO;
}

/* Users with something to apply, and the sizes of the pools they need. */
static void count_writes(const struct round *r, size_t *n_writes,
			 size_t *n_adds, size_t *n_guids)
{
	const struct plan *plan = &r->plan;

	*n_writes = *n_adds = *n_guids = 0;
	for (size_t i = 0; i < plan->n_items; i++) {
		const struct plan_item *it = &plan->items[i];
		bool is_first = i == 0 || plan->items[i - 1].user != it->user;
		bool has_go = false;

		for (size_t j = i; is_first && j < plan->n_items &&
				   plan->items[j].user == it->user;
		     j++)
			has_go |= is_go_write(&plan->items[j]);
		*n_writes += is_first && has_go;
		if (!is_go_write(it))
			continue;
		if (it->action == PLAN_REMOVE) {
			(*n_guids)++;
		} else {
			(*n_adds)++;
			*n_guids += planset_count(&plan->sets, it->planset);
		}
	}
}

/* The disabled plans of an item as GUIDs, appended at *pool. */
static size_t fill_plans(const struct round *r, const struct plan_item *it,
			 struct guid *pool)
{
	const struct sku *k = &r->snap.skus[it->sku];
	size_t n = 0;

	for (size_t i = 0; i < k->n_plans; i++)
		if (planset_has(&r->plan.sets, it->planset, i))
			pool[n++] = k->plans[i].id;
	return n;
}

/* One graph_write for the GO items [a, b) of one user. */
static void fill_write(struct round *r, size_t a, size_t b, size_t *n_adds,
		       size_t *n_guids)
{
	struct graph_write *w = &r->writes[r->n_writes];
	struct guid *removes = r->guids + *n_guids;

	memset(w, 0, sizeof(*w));
	w->user = r->snap.users[r->plan.items[a].user].id;
	w->adds = r->adds + *n_adds;
	for (size_t i = a; i < b; i++) {
		const struct plan_item *it = &r->plan.items[i];

		if (!is_go_write(it) || it->action == PLAN_REMOVE)
			continue;
		struct license_add *add = &r->adds[(*n_adds)++];

		add->sku = r->snap.skus[it->sku].id;
		add->disabled_plans = r->guids + *n_guids;
		add->n_disabled_plans = fill_plans(r, it, r->guids + *n_guids);
		*n_guids += add->n_disabled_plans;
		w->n_adds++;
		if (it->usage_location[0] && !w->usage_location[0])
			memcpy(w->usage_location, it->usage_location, 3);
	}
	removes = r->guids + *n_guids;
	w->removes = removes;
	for (size_t i = a; i < b; i++)
		if (is_go_write(&r->plan.items[i]) &&
		    r->plan.items[i].action == PLAN_REMOVE)
			removes[w->n_removes++] =
				r->snap.skus[r->plan.items[i].sku].id;
	*n_guids += w->n_removes;
	r->first[r->n_writes] = a;
	r->end[r->n_writes] = b;
	r->n_writes++;
}

static int build_writes(struct round *r)
{
	size_t n_writes, n_adds, n_guids, a = 0, used_adds = 0, used_guids = 0;
	const struct plan *plan = &r->plan;

	count_writes(r, &n_writes, &n_adds, &n_guids);
	r->writes = calloc(n_writes + 1, sizeof(*r->writes));
	r->first = calloc(n_writes + 1, sizeof(*r->first));
	r->end = calloc(n_writes + 1, sizeof(*r->end));
	r->results = calloc(n_writes + 1, sizeof(*r->results));
	r->adds = calloc(n_adds + 1, sizeof(*r->adds));
	r->guids = calloc(n_guids + 1, sizeof(*r->guids));
	if (!r->writes || !r->first || !r->end || !r->results || !r->adds ||
	    !r->guids)
		return -ENOMEM;
	while (a < plan->n_items) {
		size_t b = a;
		bool has_go = false;

		while (b < plan->n_items &&
		       plan->items[b].user == plan->items[a].user)
			has_go |= is_go_write(&plan->items[b++]);
		if (has_go)
			fill_write(r, a, b, &used_adds, &used_guids);
		a = b;
	}
	return 0;
}

static const char *action_word(enum plan_action a)
{
	return a == PLAN_ADD	  ? "assign"
	       : a == PLAN_UPDATE ? "update"
				  : "remove";
}

static void fields_of(const struct round *r, const struct plan_item *it,
		      struct journal_fields *f, char *user_id)
{
	const struct user *u = &r->snap.users[it->user];

	guid_format(&u->id, user_id);
	f->action = action_word(it->action);
	f->user = user_id;
	f->upn = u->upn;
	f->sku = r->snap.skus[it->sku].part_number;
	f->rule = it->rule != PLAN_NONE ? r->p->rules[it->rule].name : NULL;
	f->round = (unsigned long)r->rep.round;
}

/* One journal record per change, applied or failed. */
static void record_outcome(struct round *r, const struct plan_item *it,
			   const struct graph_result *res)
{
	struct journal_fields f = { 0 };
	char id[GUID_STRLEN + 1], text[1024];

	fields_of(r, it, &f, id);
	plan_item_text(&r->plan, it, r->p, &r->snap, text, sizeof(text));
	if (res->outcome == GRAPH_OK) {
		f.message_id = JOURNAL_CHANGE_APPLIED;
		journal_record(LOG_NOTICE, &f, "%s %s %s: %s", f.action, f.sku,
			       f.upn, text);
		r->rep.assigned += it->action == PLAN_ADD;
		r->rep.updated += it->action == PLAN_UPDATE;
		r->rep.removed += it->action == PLAN_REMOVE;
		return;
	}
	f.message_id = JOURNAL_CHANGE_FAILED;
	r->rep.failed++;
	journal_record(LOG_ERR, &f, "failed to %s %s %s: %s%s%s", f.action,
		       f.sku, f.upn, graph_outcome_name(res->outcome),
		       res->message[0] ? ": " : "", res->message);
}

static int apply(struct round *r)
{
	struct graph_failure fail = { 0 };
	size_t n_unsent = 0;
	int rc = build_writes(r);

	if (rc < 0)
		return rc;
	rc = graph_apply(r->g, r->writes, r->n_writes, r->results, &fail);
	if (rc < 0)
		log_error("writes stopped: %s", fail.text);
	for (size_t w = 0; w < r->n_writes; w++)
		for (size_t i = r->first[w]; i < r->end[w]; i++) {
			if (!is_go_write(&r->plan.items[i]))
				continue;
			if (r->results[w].outcome == GRAPH_NOT_SENT)
				n_unsent++; /* one line for all, below */
			else
				record_outcome(r, &r->plan.items[i],
					       &r->results[w]);
		}
	if (n_unsent)
		log_warning("%zu changes not sent in this round; the next "
			    "round makes them",
			    n_unsent);
	r->rep.failed += n_unsent;
	return rc < 0 && rc != -EAGAIN && rc != -ECANCELED ? rc : 0;
}

/* Which items went through: ok[i] for every GO item whose call succeeded. */
static bool *applied_items(const struct round *r)
{
	bool *ok = calloc(r->plan.n_items + 1, sizeof(*ok));

	for (size_t w = 0; ok && w < r->n_writes; w++)
		for (size_t i = r->first[w]; i < r->end[w]; i++)
			ok[i] = is_go_write(&r->plan.items[i]) &&
				r->results[w].outcome == GRAPH_OK;
	return ok;
}

/* Did this round remove o's SKU from o's user?  Items of a user adjoin. */
static bool was_removed(const struct round *r, const struct guidmap *first,
			const bool *ok, const struct owned *o)
{
	size_t i;
	uint32_t u;

	if (!guidmap_get(first, &o->user, &i))
		return false;
	u = r->plan.items[i].user;
	for (; i < r->plan.n_items && r->plan.items[i].user == u; i++) {
		const struct plan_item *it = &r->plan.items[i];

		if (ok[i] && it->action == PLAN_REMOVE &&
		    guid_equal(&r->snap.skus[it->sku].id, &o->sku))
			return true;
	}
	return false;
}

static bool keeps_pending(const struct plan_item *it, bool is_ok)
{
	if (it->action != PLAN_REMOVE || it->reason != PLAN_NOT_ENTITLED)
		return false;
	switch (it->hold) {
	case PLAN_GO:
		return !is_ok; /* failed: still due */
	case PLAN_GRACE:
	case PLAN_CAPPED:
	case PLAN_RULE_ERROR:
	case PLAN_STATE_UNTRUSTED:
		return true;
	default:
		return false;
	}
}

/* The new ownership records: confirmed ones, less removals, plus adds. */
static int next_owned(const struct round *r, const bool *ok, struct state *next)
{
	struct guidmap first = { 0 };
	size_t n = 0, ignored;
	int rc = 0;

	for (size_t i = 0; i < r->plan.n_items && rc >= 0; i++)
		rc = guidmap_put(&first,
				 &r->snap.users[r->plan.items[i].user].id, i,
				 &ignored);
	next->owned = calloc(r->plan.n_owned + r->plan.n_items + 1,
			     sizeof(*next->owned));
	if (rc < 0 || !next->owned) {
		guidmap_clear(&first);
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->plan.n_owned; i++) {
		const struct owned *o = &r->st.owned[r->plan.owned[i]];

		if (!was_removed(r, &first, ok, o))
			next->owned[n++] = *o;
	}
	for (size_t i = 0; i < r->plan.n_items; i++) {
		const struct plan_item *it = &r->plan.items[i];
		struct owned *o = &next->owned[n];

		if (!ok[i] || it->action != PLAN_ADD)
			continue;
		o->user = r->snap.users[it->user].id;
		o->sku = r->snap.skus[it->sku].id;
		o->since = r->rep.finished;
		(void)snprintf(o->rule, sizeof(o->rule), "%s",
			       r->p->rules[it->rule].name);
		n++;
	}
	next->n_owned = n;
	guidmap_clear(&first);
	return 0;
}

/*
 * Write the state as it is if the items marked in ok went through.  Also
 * called before any write with every add marked: a round killed in the
 * middle (kill -9, power) then leaves ownership records for the adds it
 * may have made; the next round keeps those the tenant confirms (the user
 * holds the SKU directly) and drops the others.
 */
static int save_state(struct round *r, const bool *ok)
{
	struct state next = { .round = r->rep.round };
	int rc = next_owned(r, ok, &next);

	if (rc == 0) {
		next.pending =
			calloc(r->plan.n_items + 1, sizeof(*next.pending));
		rc = next.pending ? 0 : -ENOMEM;
	}
	for (size_t i = 0; rc == 0 && i < r->plan.n_items; i++) {
		const struct plan_item *it = &r->plan.items[i];

		if (keeps_pending(it, ok[i]))
			next.pending[next.n_pending++] =
				(struct pending){ r->snap.users[it->user].id,
						  r->snap.skus[it->sku].id,
						  it->since };
	}
	if (rc == 0)
		rc = state_save(r->c->state_dir, &next);
	if (rc < 0)
		log_error("cannot save the state in '%s': %s", r->c->state_dir,
			  strerror(-rc));
	state_free(&next);
	return rc;
}

/* Before writing: record every add as if it will be made (see above). */
static int save_intent(struct round *r)
{
	bool *ok = calloc(r->plan.n_items + 1, sizeof(*ok));
	int rc = ok ? 0 : -ENOMEM;

	for (size_t i = 0; ok && i < r->plan.n_items; i++)
		ok[i] = is_go_write(&r->plan.items[i]) &&
			r->plan.items[i].action == PLAN_ADD;
	if (rc == 0)
		rc = save_state(r, ok);
	free(ok);
	return rc;
}

static int save_outcome(struct round *r)
{
	bool *ok = applied_items(r);
	int rc = ok ? save_state(r, ok) : -ENOMEM;

	free(ok);
	return rc;
}

/* Summaries: seats short per SKU, users without location, the cap. */
static void record_holds(struct round *r)
{
	const struct plan_totals *t = &r->plan.totals;
	struct journal_fields f = { .round = (unsigned long)r->rep.round };

	for (size_t k = 0; k < r->snap.n_skus; k++) {
		size_t n = 0;

		for (size_t i = 0; i < r->plan.n_items; i++)
			n += r->plan.items[i].sku == k &&
			     r->plan.items[i].hold == PLAN_NO_SEATS;
		if (n == 0)
			continue;
		f.message_id = JOURNAL_SEATS_SHORT;
		f.sku = r->snap.skus[k].part_number;
		f.action = "skip";
		journal_record(LOG_WARNING, &f,
			       "%zu users wait for a seat of %s (%lld enabled, "
			       "%lld assigned when the round started)",
			       n, f.sku, (long long)r->snap.skus[k].enabled,
			       (long long)r->snap.skus[k].consumed);
	}
	f.sku = NULL;
	if (t->no_usage_location) {
		f.message_id = JOURNAL_NO_USAGE_LOCATION;
		f.action = "skip";
		journal_record(LOG_WARNING, &f,
			       "%zu licenses not assigned: the users have no "
			       "usage location and the policy sets none",
			       t->no_usage_location);
	}
	if (t->is_capped) {
		f.message_id = JOURNAL_REMOVALS_HELD;
		f.action = "hold";
		journal_record(LOG_WARNING, &f,
			       "%zu removals held by the safety cap "
			       "(max_removals %llu, max_removal_percent %llu); "
			       "to apply them in the next round: licensed "
			       "approve %zu",
			       t->capped,
			       (unsigned long long)r->c->max_removals,
			       (unsigned long long)r->c->max_removal_percent,
			       t->capped);
	}
}

static int exit_code_of(const struct round *r)
{
	const struct plan_totals *t = &r->plan.totals;
	size_t n_odd = 0;

	for (size_t i = 0; i < r->plan.n_items; i++)
		n_odd += r->plan.items[i].hold == PLAN_NO_SKU_FOR_USERS;
	if (r->rep.failed || t->waiting_seats || t->no_usage_location ||
	    t->rule_errors || t->is_capped || n_odd)
		return 1;
	return 0;
}

static enum removal_mode removal_of(enum config_removal m)
{
	return m == CONFIG_REMOVAL_AUTHORITATIVE ? REMOVAL_AUTHORITATIVE
	       : m == CONFIG_REMOVAL_NEVER	 ? REMOVAL_NEVER
						 : REMOVAL_OWNED;
}

static int read_tenant(struct round *r)
{
	struct graph_failure f = { 0 };
	struct journal_fields jf = { .message_id = JOURNAL_READ_FAILED,
				     .round = (unsigned long)r->rep.round };
	int rc;

	graph_round_start(r->g);
	rc = tenant_read(r->g, r->p, &r->snap, &f);
	if (rc == 0)
		return 0;
	if (rc == -EACCES)
		jf.message_id = JOURNAL_AUTH_FAILED;
	journal_record(LOG_ERR, &jf,
		       "cannot read the tenant, nothing was written: %s",
		       f.text);
	return rc;
}

static int make_plan(struct round *r)
{
	const struct config *c = r->c;
	struct plan_state ps = { r->st.owned,	    r->st.n_owned,
				 r->st.pending,	    r->st.n_pending,
				 r->has_approval,   r->approved,
				 r->st.is_untrusted };
	struct plan_options o = { removal_of(c->removal),
				  (int64_t)c->removal_grace_sec,
				  c->max_removals, c->max_removal_percent,
				  (int64_t)time(NULL) };
	char line[DIAG_TEXT_MAX + 512];
	int rc = plan_build(r->p, &r->snap, &ps, &o, &r->plan);

	for (size_t i = 0; rc == 0 && i < r->plan.problems.n; i++) {
		diags_format(&r->plan.problems, i, line, sizeof(line));
		log_warning("%s", line);
	}
	r->rep.totals = r->plan.totals;
	return rc;
}

static void log_dry_run(const struct round *r)
{
	char text[1024];

	for (size_t i = 0; i < r->plan.n_items; i++) {
		const struct plan_item *it = &r->plan.items[i];

		if (it->hold != PLAN_GO)
			continue;
		plan_item_text(&r->plan, it, r->p, &r->snap, text,
			       sizeof(text));
		log_info("dry run: would %s %s %s: %s", action_word(it->action),
			 r->snap.skus[it->sku].part_number,
			 r->snap.users[it->user].upn, text);
	}
}

static void record_round(const struct round *r)
{
	const struct round_report *rep = &r->rep;
	struct journal_fields f = { .message_id = JOURNAL_ROUND_FINISHED,
				    .round = (unsigned long)rep->round };

	journal_record(rep->exit_code ? LOG_WARNING : LOG_INFO, &f,
		       "round %llu%s: %zu assigned, %zu removed, %zu updated, "
		       "%zu failed; %zu waiting for seats, %zu without usage "
		       "location, %zu in grace period, %zu held by the cap, "
		       "%zu rule errors",
		       (unsigned long long)rep->round,
		       rep->is_dry_run ? " (dry run)" : "", rep->assigned,
		       rep->removed, rep->updated, rep->failed,
		       rep->totals.waiting_seats, rep->totals.no_usage_location,
		       rep->totals.grace, rep->totals.capped,
		       rep->totals.rule_errors);
}

static void round_clear(struct round *r)
{
	state_free(&r->st);
	tenant_free(&r->snap);
	plan_free(&r->plan);
	free(r->writes);
	free(r->first);
	free(r->end);
	free(r->adds);
	free(r->guids);
	free(r->results);
}

static int load_state(struct round *r)
{
	int rc = state_load(r->c->state_dir, &r->st);

	if (rc < 0) {
		log_error("cannot read the state in '%s': %s", r->c->state_dir,
			  strerror(-rc));
		return rc;
	}
	if (r->st.is_untrusted)
		log_warning("state file '%s/state': %s; no removals until "
			    "this round has rebuilt it",
			    r->c->state_dir, r->st.problem);
	rc = state_approval_get(r->c->state_dir, &r->approved);
	r->has_approval = rc == 1;
	r->rep.round = r->st.round + 1;
	r->rep.is_dry_run = r->c->is_dry_run;
	return 0;
}

/* The write half of a round: apply, record, save. */
static int write_round(struct round *r)
{
	struct graph_counters n;
	int rc = 0;

	r->rep.finished = (int64_t)time(NULL);
	if (r->c->is_dry_run) {
		log_dry_run(r);
	} else {
		rc = save_intent(r);
		if (rc == 0)
			rc = apply(r);
		if (rc == 0 && r->has_approval)
			(void)state_approval_clear(r->c->state_dir);
	}
	r->rep.finished = (int64_t)time(NULL);
	if (rc == 0 && !r->c->is_dry_run)
		rc = save_outcome(r);
	record_holds(r);
	r->rep.exit_code = rc < 0 ? 1 : exit_code_of(r);
	record_round(r);
	graph_counters(r->g, &n);
	if (report_save_round(r->c, &r->rep, &r->snap, &n) < 0)
		log_warning("cannot write '%s/last-round.json', ignoring",
			    r->c->state_dir);
	return rc;
}

int cycle_run(const struct config *c, const struct policy *p, struct graph *g,
	      enum cycle_mode mode, FILE *out, struct round_report *ret)
{
	struct round r = { .c = c, .p = p, .g = g, .mode = mode, .out = out };
	int lock = -1, rc;

	if (mode == CYCLE_APPLY) {
		lock = state_lock(c->state_dir);
		if (lock < 0) {
			log_error("cannot lock '%s/lock': %s", c->state_dir,
				  lock == -EWOULDBLOCK
					  ? "another licensed round is running"
					  : strerror(-lock));
			rc = lock;
			goto out;
		}
	}
	rc = load_state(&r);
	if (rc < 0)
		goto out;
	rc = read_tenant(&r);
	if (rc < 0) {
		r.rep.exit_code = 3; /* SPEC 5.7: nothing was written */
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
