/*
 * events: a round's journal records.  See events.h.
 */
#include <stdio.h>
#include <string.h>

#include "daemon/events.h"
#include "daemon/journal.h"
#include "daemon/log.h"
#include "policy/plan_print.h"

static const char *action_word(enum plan_action a)
{
	return a == PLAN_ADD	  ? "assign"
	       : a == PLAN_UPDATE ? "update"
				  : "remove";
}

static void fields_of(const struct events *e, const struct plan_item *it,
		      struct journal_fields *f, char *user_id)
{
	const struct user *u = &e->s->users[it->user];

	guid_format(&u->id, user_id);
	f->action = action_word(it->action);
	f->user = user_id;
	f->upn = u->upn;
	f->sku = e->s->skus[it->sku].part_number;
	f->rule = it->rule != PLAN_NONE ? e->p->rules[it->rule].name : NULL;
	f->round = (unsigned long)e->rep->round;
}

static void count_applied(struct round_report *rep, const struct plan_item *it)
{
	rep->assigned += it->action == PLAN_ADD;
	rep->updated += it->action == PLAN_UPDATE;
	rep->removed += it->action == PLAN_REMOVE;
}

/* One record for one change that went out: applied, unknown or refused. */
static void record_change(const struct events *e, const struct plan_item *it,
			  const struct graph_result *res)
{
	struct journal_fields f = { 0 };
	char id[GUID_STRLEN + 1], text[1024];

	fields_of(e, it, &f, id);
	plan_item_text(e->plan, it, e->p, e->s, text, sizeof(text));
	if (res->outcome == GRAPH_OK) {
		f.message_id = JOURNAL_CHANGE_APPLIED;
		journal_record(LOG_NOTICE, &f, "%s %s %s: %s%s", f.action,
			       f.sku, f.upn, text,
			       res->is_inferred ? " (a retry found it done)"
						: "");
		count_applied(e->rep, it);
		return;
	}
	f.message_id = res->outcome == GRAPH_UNKNOWN ? JOURNAL_CHANGE_UNKNOWN
						     : JOURNAL_CHANGE_FAILED;
	if (res->outcome == GRAPH_UNKNOWN)
		e->rep->unknown++;
	else
		e->rep->failed++;
	journal_record(LOG_ERR, &f, "%s %s %s: %s%s%s%s",
		       res->outcome == GRAPH_UNKNOWN ? "no answer to"
						     : "failed to",
		       f.action, f.sku, f.upn, graph_outcome_name(res->outcome),
		       res->message[0] ? ": " : "", res->message);
	if (res->is_location_set && res->outcome != GRAPH_UNKNOWN)
		log_info("usage location of %s set; the assignment did not "
			 "follow",
			 f.upn);
}

void events_changes(const struct events *e, const struct writes *w)
{
	size_t n_unsent = 0;

	for (size_t i = 0; i < e->plan->n_items; i++) {
		const struct graph_result *res = writes_result(w, i);

		if (!res)
			continue;
		if (res->outcome == GRAPH_NOT_SENT)
			n_unsent++; /* one line for all, below */
		else
			record_change(e, &e->plan->items[i], res);
	}
	if (n_unsent)
		log_warning("%zu changes not sent in this round; the next "
			    "round makes them",
			    n_unsent);
	e->rep->unsent += n_unsent;
}

void events_dry_run(const struct events *e)
{
	char text[1024];

	for (size_t i = 0; i < e->plan->n_items; i++) {
		const struct plan_item *it = &e->plan->items[i];

		if (it->hold != PLAN_GO)
			continue;
		plan_item_text(e->plan, it, e->p, e->s, text, sizeof(text));
		log_info("dry run: would %s %s %s: %s", action_word(it->action),
			 e->s->skus[it->sku].part_number,
			 e->s->users[it->user].upn, text);
	}
}

static void seats_short(const struct events *e)
{
	struct journal_fields f = { .message_id = JOURNAL_SEATS_SHORT,
				    .action = "skip",
				    .round = (unsigned long)e->rep->round };

	for (size_t k = 0; k < e->s->n_skus; k++) {
		size_t n = 0;

		for (size_t i = 0; i < e->plan->n_items; i++)
			n += e->plan->items[i].sku == k &&
			     e->plan->items[i].hold == PLAN_NO_SEATS;
		if (n == 0)
			continue;
		f.sku = e->s->skus[k].part_number;
		journal_record(LOG_WARNING, &f,
			       "%zu users wait for a seat of %s (%lld enabled, "
			       "%lld assigned when the round started)",
			       n, f.sku, (long long)e->s->skus[k].enabled,
			       (long long)e->s->skus[k].consumed);
	}
}

static void removals_held(const struct events *e, bool has_approval,
			  uint64_t approved)
{
	const struct plan_totals *t = &e->plan->totals;
	struct journal_fields f = { .message_id = JOURNAL_REMOVALS_HELD,
				    .action = "hold",
				    .round = (unsigned long)e->rep->round };

	if (has_approval)
		journal_record(LOG_WARNING, &f,
			       "the approval of %llu removals was not enough "
			       "for the %zu this round holds, and is used up",
			       (unsigned long long)approved, t->capped);
	journal_record(LOG_WARNING, &f,
		       "%zu removals held by the safety cap (max_removals "
		       "%llu, max_removal_percent %llu); to apply them in the "
		       "next round: licensed approve %zu",
		       t->capped, (unsigned long long)e->c->max_removals,
		       (unsigned long long)e->c->max_removal_percent,
		       t->capped);
}

void events_holds(const struct events *e, bool has_approval, uint64_t approved)
{
	const struct plan_totals *t = &e->plan->totals;
	struct journal_fields f = { .message_id = JOURNAL_NO_USAGE_LOCATION,
				    .action = "skip",
				    .round = (unsigned long)e->rep->round };

	seats_short(e);
	if (t->no_usage_location)
		journal_record(LOG_WARNING, &f,
			       "%zu licenses not assigned: the users have no "
			       "usage location and the policy sets none",
			       t->no_usage_location);
	if (t->is_capped)
		removals_held(e, has_approval, approved);
}

void events_round(const struct round_report *rep)
{
	struct journal_fields f = { .message_id = JOURNAL_ROUND_FINISHED,
				    .round = (unsigned long)rep->round };

	journal_record(rep->exit_code ? LOG_WARNING : LOG_INFO, &f,
		       "round %llu%s: %zu assigned, %zu removed, %zu updated, "
		       "%zu failed, %zu without answer, %zu not sent; %zu "
		       "waiting for seats, %zu without usage location, %zu in "
		       "grace period, %zu held by the cap, %zu rule errors%s%s",
		       (unsigned long long)rep->round,
		       rep->is_dry_run ? " (dry run)" : "", rep->assigned,
		       rep->removed, rep->updated, rep->failed, rep->unknown,
		       rep->unsent, rep->totals.waiting_seats,
		       rep->totals.no_usage_location, rep->totals.grace,
		       rep->totals.capped, rep->totals.rule_errors,
		       rep->problem[0] ? "; " : "", rep->problem);
}
