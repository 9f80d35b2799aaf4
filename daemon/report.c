/*
 * report: JSON output and the last-round summary.  See report.h.
 *
 * Built with cJSON; the shapes are documented in README.md ("plan
 * --json", "status --json") and kept stable.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "daemon/log.h"
#include "daemon/report.h"
#include "daemon/state.h"
#include "policy/plan_print.h"
#include "policy/policy.h"

#define LAST_ROUND     "last-round.json"
#define LAST_ROUND_MAX (1024 * 1024)

static void iso_time(int64_t t, char *buf, size_t size)
{
	plan_time_text(t, true, buf, size);
}

static cJSON *id_string(const struct guid *g)
{
	char text[GUID_STRLEN + 1];

	guid_format(g, text);
	return cJSON_CreateString(text);
}

/* {"sku", "sku_id", ...} describing one item. */
static cJSON *item_json(const struct plan *plan, const struct plan_item *it,
			const struct policy *p, const struct snapshot *s)
{
	const struct sku *k = &s->skus[it->sku];
	cJSON *o = cJSON_CreateObject(), *plans;
	char reason[1024], due[32];

	plan_item_text(plan, it, p, s, reason, sizeof(reason));
	cJSON_AddStringToObject(o, "sku", k->part_number);
	cJSON_AddItemToObject(o, "sku_id", id_string(&k->id));
	if (it->rule != PLAN_NONE)
		cJSON_AddStringToObject(o, "rule", p->rules[it->rule].name);
	if (it->action != PLAN_REMOVE) {
		plans = cJSON_AddArrayToObject(o, "disabled_plans");
		for (size_t i = 0; plans && i < k->n_plans; i++)
			if (planset_has(&plan->sets, it->planset, i))
				cJSON_AddItemToArray(
					plans,
					cJSON_CreateString(k->plans[i].name));
	}
	if (it->usage_location[0])
		cJSON_AddStringToObject(o, "set_usage_location",
					it->usage_location);
	if (it->reason == PLAN_SUPERSEDED)
		cJSON_AddStringToObject(o, "superseded_by",
					s->skus[it->better].part_number);
	if (it->hold == PLAN_GRACE) {
		iso_time(it->due, due, sizeof(due));
		cJSON_AddStringToObject(o, "due", due);
	}
	cJSON_AddStringToObject(o, "reason", plan_reason_name(it->reason));
	if (it->hold != PLAN_GO)
		cJSON_AddStringToObject(o, "waiting", plan_hold_name(it->hold));
	cJSON_AddStringToObject(o, "detail", reason);
	return o;
}

static const char *list_of(const struct plan_item *it)
{
	if (it->hold != PLAN_GO)
		return "not_now";
	return it->action == PLAN_ADD	   ? "add"
	       : it->action == PLAN_UPDATE ? "update"
					   : "remove";
}

static cJSON *user_json(const struct plan *plan, size_t a, size_t b,
			const struct policy *p, const struct snapshot *s)
{
	const struct user *u = &s->users[plan->items[a].user];
	static const char *const lists[] = { "add", "update", "remove",
					     "not_now" };
	cJSON *o = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "id", id_string(&u->id));
	cJSON_AddStringToObject(o, "upn", u->upn);
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		cJSON *arr = cJSON_AddArrayToObject(o, lists[l]);

		for (size_t i = a; arr && i < b; i++)
			if (strcmp(list_of(&plan->items[i]), lists[l]) == 0)
				cJSON_AddItemToArray(
					arr,
					item_json(plan, &plan->items[i], p, s));
	}
	return o;
}

static cJSON *totals_json(const struct plan_totals *t)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "add", (double)t->adds);
	cJSON_AddNumberToObject(o, "update", (double)t->updates);
	cJSON_AddNumberToObject(o, "remove", (double)t->removes);
	cJSON_AddNumberToObject(o, "waiting_for_seats",
				(double)t->waiting_seats);
	cJSON_AddNumberToObject(o, "no_usage_location",
				(double)t->no_usage_location);
	cJSON_AddNumberToObject(o, "in_grace_period", (double)t->grace);
	cJSON_AddNumberToObject(o, "held_by_cap", (double)t->capped);
	cJSON_AddNumberToObject(o, "rule_errors", (double)t->rule_errors);
	cJSON_AddBoolToObject(o, "capped", t->is_capped);
	return o;
}

static int print_json(FILE *f, cJSON *root)
{
	char *text = root ? cJSON_Print(root) : NULL;
	int r = text ? 0 : -ENOMEM;

	if (text && (fprintf(f, "%s\n", text) < 0 || fflush(f) != 0))
		r = -EIO;
	free(text);
	cJSON_Delete(root);
	return r;
}

int report_plan_json(FILE *f, const struct plan *plan, const struct policy *p,
		     const struct snapshot *s)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *users = cJSON_AddArrayToObject(root, "users");
	size_t a = 0;

	while (users && a < plan->n_items) {
		size_t b = a;

		while (b < plan->n_items &&
		       plan->items[b].user == plan->items[a].user)
			b++;
		cJSON_AddItemToArray(users, user_json(plan, a, b, p, s));
		a = b;
	}
	cJSON_AddItemToObject(root, "totals", totals_json(&plan->totals));
	return print_json(f, root);
}

static cJSON *skus_json(const struct snapshot *s)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < s->n_skus; i++) {
		const struct sku *k = &s->skus[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "sku", k->part_number);
		cJSON_AddItemToObject(o, "sku_id", id_string(&k->id));
		cJSON_AddNumberToObject(o, "enabled", (double)k->enabled);
		cJSON_AddNumberToObject(o, "warning", (double)k->warning);
		cJSON_AddNumberToObject(o, "consumed", (double)k->consumed);
		cJSON_AddNumberToObject(o, "free", (double)policy_sku_free(k));
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *requests_json(const struct graph_counters *n)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "reads", (double)n->reads);
	cJSON_AddNumberToObject(o, "writes", (double)n->writes);
	cJSON_AddNumberToObject(o, "batches", (double)n->batches);
	cJSON_AddNumberToObject(o, "retries", (double)n->retries);
	cJSON_AddNumberToObject(o, "throttled", (double)n->throttled);
	return o;
}

int report_save_round(const struct config *c, const struct round_report *r,
		      const struct snapshot *s, const struct graph_counters *n)
{
	cJSON *o = cJSON_CreateObject();
	char when[32], *text;
	int rc;

	iso_time(r->finished, when, sizeof(when));
	cJSON_AddNumberToObject(o, "version", 1);
	cJSON_AddNumberToObject(o, "round", (double)r->round);
	cJSON_AddStringToObject(o, "finished", when);
	cJSON_AddNumberToObject(o, "finished_epoch", (double)r->finished);
	cJSON_AddNumberToObject(o, "exit_code", r->exit_code);
	cJSON_AddBoolToObject(o, "dry_run", r->is_dry_run);
	cJSON_AddNumberToObject(o, "assigned", (double)r->assigned);
	cJSON_AddNumberToObject(o, "updated", (double)r->updated);
	cJSON_AddNumberToObject(o, "removed", (double)r->removed);
	cJSON_AddNumberToObject(o, "failed", (double)r->failed);
	cJSON_AddNumberToObject(o, "unknown", (double)r->unknown);
	cJSON_AddNumberToObject(o, "not_sent", (double)r->unsent);
	if (r->problem[0])
		cJSON_AddStringToObject(o, "problem", r->problem);
	cJSON_AddItemToObject(o, "totals", totals_json(&r->totals));
	cJSON_AddItemToObject(o, "skus", skus_json(s));
	cJSON_AddItemToObject(o, "requests", requests_json(n));
	text = cJSON_Print(o);
	cJSON_Delete(o);
	if (!text)
		return -ENOMEM;
	rc = state_write_file(c->state_dir, LAST_ROUND, text, strlen(text));
	free(text);
	return rc;
}

/* Part number of a SKU id from the last round's list, or the id. */
static const char *sku_name(const cJSON *last, const char *id)
{
	const cJSON *skus = cJSON_GetObjectItemCaseSensitive(last, "skus");
	const cJSON *k;

	cJSON_ArrayForEach(k, skus)
	{
		const cJSON *kid =
			cJSON_GetObjectItemCaseSensitive(k, "sku_id");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(k, "sku");

		if (cJSON_IsString(kid) && cJSON_IsString(name) &&
		    strcmp(kid->valuestring, id) == 0)
			return name->valuestring;
	}
	return id;
}

static cJSON *pending_json(const struct config *c, const struct state *st,
			   const cJSON *last)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < st->n_pending; i++) {
		const struct pending *p = &st->pending[i];
		char user[GUID_STRLEN + 1], sku[GUID_STRLEN + 1], when[32];
		cJSON *o = cJSON_CreateObject();

		guid_format(&p->user, user);
		guid_format(&p->sku, sku);
		cJSON_AddStringToObject(o, "user", user);
		cJSON_AddStringToObject(o, "sku", sku_name(last, sku));
		cJSON_AddStringToObject(o, "sku_id", sku);
		iso_time(p->since, when, sizeof(when));
		cJSON_AddStringToObject(o, "since", when);
		iso_time(p->since + (int64_t)c->removal_grace_sec, when,
			 sizeof(when));
		cJSON_AddStringToObject(o, "due", when);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

/* Everything status knows, as one JSON object. */
static int status_object(const struct config *c, cJSON **ret)
{
	struct state st = { 0 };
	cJSON *o = cJSON_CreateObject(), *last = NULL;
	char *text = NULL;
	size_t len;
	uint64_t approved = 0;
	int r;

	r = state_read_file(c->state_dir, LAST_ROUND, LAST_ROUND_MAX, &text,
			    &len);
	if (r == 0)
		last = cJSON_ParseWithLength(text, len);
	free(text);
	cJSON_AddItemToObject(o, "last_round",
			      last ? last : cJSON_CreateNull());
	/* Read only: status holds no round lock, so it moves nothing aside. */
	r = state_inspect(c->state_dir, &st);
	if (r < 0 && r != -EPROTONOSUPPORT) {
		log_error("%s", st.problem);
		state_free(&st);
		cJSON_Delete(o);
		return r;
	}
	cJSON_AddStringToObject(o, "state", st.problem[0] ? st.problem : "ok");
	if (r < 0) /* a newer licensed's file: its records are unknown */
		cJSON_AddNullToObject(o, "owned");
	else
		cJSON_AddNumberToObject(o, "owned", (double)st.n_owned);
	cJSON_AddItemToObject(o, "pending_removals",
			      pending_json(c, &st, last));
	if (state_approval_get(c->state_dir, &approved) == 1)
		cJSON_AddNumberToObject(o, "approval", (double)approved);
	else
		cJSON_AddNullToObject(o, "approval");
	state_free(&st);
	*ret = o;
	return 0;
}

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "?";
}

static void print_last(FILE *f, const cJSON *last)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(last, "totals");
	const cJSON *k;

	if (!cJSON_IsObject(last)) {
		fprintf(f, "no round has run yet\n");
		return;
	}
	fprintf(f, "last round %.0f finished %s, exit code %.0f%s\n",
		num(last, "round"), str(last, "finished"),
		num(last, "exit_code"),
		cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(last, "dry_run"))
			? " (dry run)"
			: "");
	fprintf(f,
		"  %.0f assigned, %.0f removed, %.0f updated, %.0f failed, "
		"%.0f without answer, %.0f not sent\n",
		num(last, "assigned"), num(last, "removed"),
		num(last, "updated"), num(last, "failed"), num(last, "unknown"),
		num(last, "not_sent"));
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(last, "problem")))
		fprintf(f, "  stopped early: %s\n", str(last, "problem"));
	fprintf(f,
		"  waiting: %.0f for a seat, %.0f for a usage location, "
		"%.0f in grace period, %.0f held by the removal cap\n",
		num(t, "waiting_for_seats"), num(t, "no_usage_location"),
		num(t, "in_grace_period"), num(t, "held_by_cap"));
	cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(last, "skus"))
		fprintf(f,
			"  sku %-24s %.0f enabled, %.0f assigned, %.0f free\n",
			str(k, "sku"), num(k, "enabled"), num(k, "consumed"),
			num(k, "free"));
}

int report_status(FILE *f, const struct config *c, bool is_json)
{
	const cJSON *p;
	cJSON *o = NULL;
	int r = status_object(c, &o);

	if (r < 0)
		return r;
	if (is_json)
		return print_json(f, o);
	print_last(f, cJSON_GetObjectItemCaseSensitive(o, "last_round"));
	fprintf(f, "state: %s, %.0f ownership records\n", str(o, "state"),
		num(o, "owned"));
	fprintf(f, "pending removals: %d\n",
		cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
			o, "pending_removals")));
	cJSON_ArrayForEach(
		p, cJSON_GetObjectItemCaseSensitive(o, "pending_removals"))
		fprintf(f, "  %s %s due %s\n", str(p, "user"), str(p, "sku"),
			str(p, "due"));
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "approval")))
		fprintf(f, "approval: up to %.0f removals in the next round\n",
			num(o, "approval"));
	cJSON_Delete(o);
	return fflush(f) == 0 ? 0 : -EIO;
}
