/*
 * plan_print: render a plan.  See plan_print.h.
 *
 * Text only; it reads nothing but its arguments (times are printed in
 * UTC from the plan's own numbers), so the same plan prints the same.
 */
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "policy/plan_print.h"

/* Names of the plans of k that are (is_in) or are not in set id. */
static size_t list_plans(const struct plan *plan, const struct sku *k,
			 uint32_t id, bool is_in, char *buf, size_t size)
{
	size_t len = 0, n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < k->n_plans && len + 1 < size; i++) {
		int w;

		if (planset_has(&plan->sets, id, i) != is_in ||
		    (!is_in && !k->plans[i].is_for_users))
			continue;
		w = snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
			     k->plans[i].name);
		len += w > 0 ? (size_t)w : 0;
		n++;
	}
	return n;
}

void plan_set_text(const struct plan *plan, const struct snapshot *s,
		   uint32_t id, char *buf, size_t size)
{
	const struct sku *k = &s->skus[plan->sets.v[id].sku];
	size_t n_off = planset_count(&plan->sets, id), n_users = 0;
	char list[480];

	for (size_t i = 0; i < k->n_plans; i++)
		n_users += k->plans[i].is_for_users;
	/* Whichever list is shorter: an allow-list rule reads as one. */
	if (n_off > 0 && 2 * n_off > n_users) {
		(void)list_plans(plan, k, id, false, list, sizeof(list));
		(void)snprintf(buf, size, "only plans on: %s",
			       list[0] ? list : "none");
	} else {
		(void)list_plans(plan, k, id, true, list, sizeof(list));
		(void)snprintf(buf, size, "plans off: %s",
			       list[0] ? list : "none");
	}
}

void plan_time_text(int64_t t, bool is_iso, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    (is_iso ? strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm)
		    : strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm)) == 0)
		(void)snprintf(buf, size, "%lld", (long long)t);
}

/* An add or update: rule, plans, what else goes with it, why it waits. */
static void change_text(const struct plan *plan, const struct plan_item *it,
			const struct policy *p, const struct snapshot *s,
			char *buf, size_t size)
{
	char plans[512] = "";
	bool is_fallback = it->action == PLAN_ADD && it->better != PLAN_NONE;

	plan_set_text(plan, s, it->planset, plans, sizeof(plans));
	(void)snprintf(buf, size, "rule '%s'; %s%s%s%s%s%s%s%s",
		       p->rules[it->rule].name, plans,
		       is_fallback ? "; until " : "",
		       is_fallback ? s->skus[it->better].part_number : "",
		       is_fallback ? " can be added" : "",
		       it->usage_location[0] ? "; set usage location " : "",
		       it->usage_location, it->hold ? "; " : "",
		       plan_hold_name(it->hold));
}

/* Does the plan add SKU k to its user in the same call?  Items adjoin. */
static bool is_added_with(const struct plan *plan, const struct plan_item *it,
			  uint32_t k)
{
	const struct plan_item *v = plan->items;
	size_t i = (size_t)(it - v);

	while (i > 0 && v[i - 1].user == it->user)
		i--;
	for (; i < plan->n_items && v[i].user == it->user; i++)
		if (v[i].action == PLAN_ADD && v[i].sku == k &&
		    v[i].hold == PLAN_GO)
			return true;
	return false;
}

void plan_item_text(const struct plan *plan, const struct plan_item *it,
		    const struct policy *p, const struct snapshot *s, char *buf,
		    size_t size)
{
	char when[40];
	const char *hold = plan_hold_name(it->hold);

	if (it->action != PLAN_REMOVE)
		change_text(plan, it, p, s, buf, size);
	else if (it->reason == PLAN_SUPERSEDED)
		(void)snprintf(buf, size, "superseded by %s%s%s%s",
			       s->skus[it->better].part_number,
			       !it->hold && is_added_with(plan, it, it->better)
				       ? " (in one call with the add)"
				       : "",
			       it->hold ? "; " : "", hold);
	else {
		plan_time_text(it->due, false, when, sizeof(when));
		(void)snprintf(buf, size, "no longer entitled%s%s%s%s",
			       it->hold ? "; " : "", hold,
			       it->hold == PLAN_GRACE ? " until " : "",
			       it->hold == PLAN_GRACE ? when : "");
	}
}

void plan_totals_text(const struct plan_totals *t, char *buf, size_t size)
{
	(void)snprintf(buf, size,
		       "%zu to add, %zu to update, %zu to remove; waiting: %zu "
		       "for a seat, %zu for a usage location, %zu in grace "
		       "period, %zu held by the removal cap",
		       t->adds, t->updates, t->removes, t->waiting_seats,
		       t->no_usage_location, t->grace, t->capped);
}

void plan_print(FILE *f, const struct plan *plan, const struct policy *p,
		const struct snapshot *s)
{
	char text[1024];
	int width = 4;

	for (size_t i = 0; i < plan->n_items; i++) {
		int len = (int)strlen(s->users[plan->items[i].user].upn);

		if (len > width)
			width = len;
	}
	fprintf(f, "%-*s  %-20s  %-6s  %s\n", width, "USER", "SKU", "CHANGE",
		"DETAIL");
	for (size_t i = 0; i < plan->n_items; i++) {
		const struct plan_item *it = &plan->items[i];

		plan_item_text(plan, it, p, s, text, sizeof(text));
		fprintf(f, "%-*s  %-20s  %-6s  %s\n", width,
			s->users[it->user].upn, s->skus[it->sku].part_number,
			plan_action_name(it->action), text);
	}
	plan_totals_text(&plan->totals, text, sizeof(text));
	fprintf(f, "%s\n", text);
}
