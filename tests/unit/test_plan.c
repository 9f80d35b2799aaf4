/*
 * test_plan: the reconciliation planner (policy/plan.c) against SPEC
 * section 5, table-driven.
 *
 * A case is four short texts: a tenant, a policy, a state with the round's
 * options, and the plan expected.
 *
 *   tenant  sku PART [seats=N] [warning=N] [used=N] [company] [plans=P,!Q]
 *           user NAME [id=GUID] [upn=UPN] [loc=CC|none]
 *                [has=PART[@group|@unknown][/PLAN,PLAN]]...
 *           group NAME [missing] [USER]...
 *     SKU and plan ids are the real ones (licensing-service-plan-reference
 *     .csv); "plans=" lists the SKU's plans in tenant order, "!" marks a
 *     plan that applies to the Company.  A user's id is its name's bytes
 *     ("u1" -> 75310000-...) unless id= says otherwise, so that plan order
 *     (by id) is name order.  "has=" is a direct assignment by default.
 *   policy  the INI an admin writes; {NAME} is the id of user or group NAME
 *   state   mode owned|authoritative|never, grace S, max_removals N,
 *           max_percent N, now T, approve N, untrusted,
 *           owned USER PART, pending USER PART SINCE
 *           defaults: owned, 86400, 50, 100 (so that small tenants are not
 *           held by the percentage), now 1000000
 *   want    the plan, one line per item in plan order:
 *             USER PART ACTION REASON HOLD [rule=R] [by=BETTER]
 *                  [disabled=P,Q|-] [loc=CC] [since=T due=T]
 *           then "keep USER PART" per ownership record kept, "problem
 *           TEXT" per diagnostic, and "totals" with the non-zero counters.
 *
 * Every case is also planned twice and on a snapshot with users, SKUs,
 * plans and group members in reverse order: the plan must not change.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/policy_load.h"
#include "policy/plan.h"
#include "policy/policy.h"
#include "tests/unit/testutil.h"

/* ---- catalog: real ids from tests/graphsim/data/ ---------------------- */

struct cat_plan {
	const char *name;
	const char *id;
};

static const struct cat_plan cat_plans[] = {
	{ "AAD_PREMIUM", "41781fb2-bc02-4b7c-bd55-b576c07bb09d" },
	{ "BI_AZURE_P0", "2049e525-b859-401b-b2a0-e0a31c4b1fe4" },
	{ "EXCHANGE_S_ENTERPRISE", "efb87545-963c-4e0d-99df-69c6916d9eb0" },
	{ "EXCHANGE_S_FOUNDATION", "113feb6c-3fe4-4440-bddc-54d774bf0318" },
	{ "INTUNE_A", "c1ec4a95-1f05-45b3-a911-aa3fa01094f5" },
	{ "MCOEV", "4828c8ec-dc2e-4779-b502-87ac9ce28ab7" },
	{ "MCOPSTNC", "505e180f-f7e0-4b65-91d4-00d670bbd18c" },
	{ "MFA_PREMIUM", "8a256a2b-b617-496d-b51b-e76466e88db0" },
	{ "MICROSOFT_SEARCH", "94065c59-bc8e-4e8b-89e5-5138d471eaff" },
	{ "SWAY", "a23b959c-7ce8-4e57-9140-b90eb88a9e97" },
	{ "TEAMS1", "57ff2da0-773e-42df-b2af-ffb7a2317929" },
	{ "THREAT_INTELLIGENCE", "8e0c0a52-6a6c-4d40-8370-dd62790dcd70" },
	{ "YAMMER_ENTERPRISE", "7547a3fe-08ee-4ccb-b430-5077c5041653" },
};

/*
 * A few plans of each SKU (the real ones have dozens), in the order a
 * tenant lists them.  EXCHANGE_S_FOUNDATION applies to the Company, as in
 * the simulator's shared example.
 */
struct cat_sku {
	const char *part;
	const char *id;
	const char *plans;
};

static const struct cat_sku cat_skus[] = {
	{ "ENTERPRISEPACK", "6fd2c87f-b296-42f0-b197-1e91e994b900",
	  "EXCHANGE_S_ENTERPRISE,SWAY,TEAMS1,YAMMER_ENTERPRISE" },
	{ "SPE_E3", "05e9a617-0261-4cee-bb44-138d3ef5d965",
	  "EXCHANGE_S_ENTERPRISE,INTUNE_A,SWAY,TEAMS1,YAMMER_ENTERPRISE" },
	{ "SPE_E5", "06ebc4ee-1bb5-47dd-8120-11324bc54e06",
	  "EXCHANGE_S_ENTERPRISE,INTUNE_A,MCOEV,SWAY,TEAMS1,"
	  "THREAT_INTELLIGENCE,YAMMER_ENTERPRISE" },
	{ "EMS", "efccb6f7-5641-4e0e-bd10-b4976e1bf68e",
	  "AAD_PREMIUM,!EXCHANGE_S_FOUNDATION,INTUNE_A,MFA_PREMIUM" },
	{ "MCOPSTNC", "47794cd0-f0e5-45c5-9033-2eb6b5fc84e0", "MCOPSTNC" },
	{ "POWER_BI_STANDARD", "a403ebcc-fae0-4ca2-8c8c-7a907fd6c235",
	  "BI_AZURE_P0,!EXCHANGE_S_FOUNDATION" },
};

#define N_CAT_SKUS (sizeof(cat_skus) / sizeof(cat_skus[0]))

static struct guid gid(const char *text)
{
	struct guid g;

	if (guid_parse(text, &g) < 0)
		fail_msg("bad GUID '%s' in a test", text);
	return g;
}

static const struct cat_sku *cat_sku(const char *part)
{
	for (size_t i = 0; i < N_CAT_SKUS; i++)
		if (strcmp(cat_skus[i].part, part) == 0)
			return &cat_skus[i];
	fail_msg("no SKU '%s' in the test catalog", part);
	return NULL;
}

static const char *cat_sku_part(const struct guid *id)
{
	for (size_t i = 0; i < N_CAT_SKUS; i++) {
		struct guid g = gid(cat_skus[i].id);

		if (guid_equal(&g, id))
			return cat_skus[i].part;
	}
	return "?";
}

static struct guid cat_plan_id(const char *name)
{
	for (size_t i = 0; i < sizeof(cat_plans) / sizeof(cat_plans[0]); i++)
		if (strcmp(cat_plans[i].name, name) == 0)
			return gid(cat_plans[i].id);
	fail_msg("no plan '%s' in the test catalog", name);
	return (struct guid){ { 0 } };
}

/* The id of a user or group without id=: its name's bytes. */
static struct guid name_id(const char *name)
{
	struct guid g = { { 0 } };
	size_t n = strlen(name);

	assert_true(n <= sizeof(g.b));
	memcpy(g.b, name, n);
	return g;
}

/* ---- the tenant, the state and the options of a case ------------------ */

#define MAX_SKUS    8
#define MAX_PLANS   12
#define MAX_USERS   24
#define MAX_HAS	    6
#define MAX_GROUPS  12
#define MAX_MEMBERS 24
#define MAX_RECORDS 16
#define NAME_LEN    32

struct world {
	struct snapshot s;
	struct sku skus[MAX_SKUS];
	char parts[MAX_SKUS][NAME_LEN];
	struct service_plan plans[MAX_SKUS][MAX_PLANS];
	char plan_names[MAX_SKUS][MAX_PLANS][NAME_LEN];
	struct user users[MAX_USERS];
	char names[MAX_USERS][NAME_LEN]; /* parallel to s.users */
	char upns[MAX_USERS][64];
	struct assignment has[MAX_USERS][MAX_HAS];
	struct guid disabled[MAX_USERS][MAX_HAS][MAX_PLANS];
	struct group_members groups[MAX_GROUPS];
	uint32_t members[MAX_GROUPS][MAX_MEMBERS];
	struct owned owned[MAX_RECORDS];
	struct pending pending[MAX_RECORDS];
	struct plan_state st;
	struct plan_options o;
	const struct policy *p;
};

/* The next blank-separated word of *p into buf; false at the end. */
static bool word(const char **p, char *buf, size_t size)
{
	const char *s = *p + strspn(*p, " \t");
	size_t n = strcspn(s, " \t");

	*p = s + n;
	if (n == 0)
		return false;
	assert_true(n < size);
	memcpy(buf, s, n);
	buf[n] = '\0';
	return true;
}

/* The value of word w if it is "key=value", else NULL. */
static const char *value_of(const char *w, const char *key)
{
	size_t n = strlen(key);

	return strncmp(w, key, n) == 0 && w[n] == '=' ? w + n + 1 : NULL;
}

static int64_t number(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		fail_msg("bad number '%s' in a test", s);
	return v;
}

/* Split a comma-separated list into out (at most max names). */
static size_t split(const char *list, char out[][NAME_LEN], size_t max)
{
	size_t n = 0;

	while (*list) {
		size_t len = strcspn(list, ",");

		assert_true(n < max && len < NAME_LEN);
		memcpy(out[n], list, len);
		out[n++][len] = '\0';
		list += len + (list[len] == ',');
	}
	return n;
}

static void parse_sku(struct world *w, const char *rest)
{
	size_t i = w->s.n_skus;
	struct sku *k = &w->skus[i];
	char tok[256], list[MAX_PLANS][NAME_LEN];
	const struct cat_sku *c;
	const char *v, *plans;
	size_t n;

	assert_true(i < MAX_SKUS);
	assert_true(word(&rest, w->parts[i], NAME_LEN));
	c = cat_sku(w->parts[i]);
	*k = (struct sku){ .id = gid(c->id),
			   .part_number = w->parts[i],
			   .is_for_users = true,
			   .status = SKU_ENABLED,
			   .enabled = 100,
			   .plans = w->plans[i] };
	plans = c->plans;
	n = split(plans, list, MAX_PLANS);
	while (word(&rest, tok, sizeof(tok))) {
		if ((v = value_of(tok, "seats")))
			k->enabled = number(v);
		else if ((v = value_of(tok, "warning")))
			k->warning = number(v);
		else if ((v = value_of(tok, "used")))
			k->consumed = number(v);
		else if ((v = value_of(tok, "plans")))
			n = split(v, list, MAX_PLANS);
		else if (strcmp(tok, "company") == 0)
			k->is_for_users = false;
		else
			fail_msg("tenant: unknown word '%s'", tok);
	}
	for (size_t j = 0; j < n; j++) {
		bool is_company = list[j][0] == '!';

		memcpy(w->plan_names[i][j], list[j] + is_company,
		       NAME_LEN - is_company);
		w->plans[i][j] = (struct service_plan){
			cat_plan_id(w->plan_names[i][j]), w->plan_names[i][j],
			!is_company
		};
	}
	k->n_plans = n;
	w->s.n_skus++;
}

/* has=PART[@group|@unknown][/PLAN,PLAN] */
static void parse_has(struct world *w, size_t u, const char *v)
{
	struct user *usr = &w->users[u];
	size_t j = usr->n_assignments;
	struct assignment *a = &w->has[u][j];
	char part[NAME_LEN], list[MAX_PLANS][NAME_LEN];
	size_t len = strcspn(v, "@/");

	assert_true(j < MAX_HAS && len < NAME_LEN);
	memcpy(part, v, len);
	part[len] = '\0';
	*a = (struct assignment){ .sku = gid(cat_sku(part)->id),
				  .by = ASSIGNED_DIRECTLY,
				  .disabled_plans = w->disabled[u][j],
				  .state = "Active" };
	v += len;
	if (strncmp(v, "@group", 6) == 0) {
		a->by = ASSIGNED_BY_GROUP;
		a->group = name_id("gbl");
		v += 6;
	} else if (strncmp(v, "@unknown", 8) == 0) {
		a->by = ASSIGNED_UNKNOWN;
		v += 8;
	}
	if (*v == '/') {
		a->n_disabled_plans = split(v + 1, list, MAX_PLANS);
		for (size_t i = 0; i < a->n_disabled_plans; i++)
			a->disabled_plans[i] = cat_plan_id(list[i]);
	} else if (*v) {
		fail_msg("tenant: bad has= '%s'", v);
	}
	usr->n_assignments++;
}

static void parse_user(struct world *w, const char *rest)
{
	size_t u = w->s.n_users;
	struct user *usr = &w->users[u];
	char tok[256];
	const char *v;

	assert_true(u < MAX_USERS);
	assert_true(word(&rest, w->names[u], NAME_LEN));
	(void)snprintf(w->upns[u], sizeof(w->upns[u]), "%s@contoso.com",
		       w->names[u]);
	*usr = (struct user){ .id = name_id(w->names[u]),
			      .upn = w->upns[u],
			      .is_enabled = true,
			      .usage_location = "US",
			      .assignments = w->has[u] };
	while (word(&rest, tok, sizeof(tok))) {
		if ((v = value_of(tok, "id"))) {
			usr->id = gid(v);
		} else if ((v = value_of(tok, "upn"))) {
			assert_true(strlen(v) < sizeof(w->upns[u]));
			memcpy(w->upns[u], v, strlen(v) + 1);
		} else if ((v = value_of(tok, "loc"))) {
			memset(usr->usage_location, 0, 3);
			if (strcmp(v, "none") != 0)
				memcpy(usr->usage_location, v, 2);
		} else if ((v = value_of(tok, "has"))) {
			parse_has(w, u, v);
		} else {
			fail_msg("tenant: unknown word '%s'", tok);
		}
	}
	w->s.n_users++;
}

static size_t user_index(const struct world *w, const char *name)
{
	for (size_t i = 0; i < w->s.n_users; i++)
		if (strcmp(w->names[i], name) == 0)
			return i;
	fail_msg("no user '%s' in the tenant", name);
	return 0;
}

static void parse_group(struct world *w, const char *rest)
{
	size_t gi = w->s.n_groups;
	struct group_members *g = &w->groups[gi];
	char tok[NAME_LEN];

	assert_true(gi < MAX_GROUPS);
	assert_true(word(&rest, tok, sizeof(tok)));
	*g = (struct group_members){ .id = name_id(tok),
				     .is_found = true,
				     .members = w->members[gi] };
	while (word(&rest, tok, sizeof(tok))) {
		if (strcmp(tok, "missing") == 0) {
			g->is_found = false;
			continue;
		}
		assert_true(g->n_members < MAX_MEMBERS);
		g->members[g->n_members++] = (uint32_t)user_index(w, tok);
	}
	w->s.n_groups++;
}

/* The id of user name: from the tenant, else from the name. */
static struct guid user_id(const struct world *w, const char *name)
{
	for (size_t i = 0; i < w->s.n_users; i++)
		if (strcmp(w->names[i], name) == 0)
			return w->users[i].id;
	return name_id(name);
}

/* owned USER PART / pending USER PART SINCE */
static void parse_record(struct world *w, const char *kind, const char *rest)
{
	char user[NAME_LEN], part[NAME_LEN], since[NAME_LEN];
	struct guid u, k;

	assert_true(word(&rest, user, sizeof(user)));
	assert_true(word(&rest, part, sizeof(part)));
	u = user_id(w, user);
	k = gid(cat_sku(part)->id);
	if (strcmp(kind, "owned") == 0) {
		assert_true(w->st.n_owned < MAX_RECORDS);
		w->owned[w->st.n_owned++] =
			(struct owned){ u, k, 1000, "some-rule" };
		return;
	}
	assert_true(word(&rest, since, sizeof(since)));
	assert_true(w->st.n_pending < MAX_RECORDS);
	w->pending[w->st.n_pending++] = (struct pending){ u, k, number(since) };
}

static void parse_state_line(struct world *w, const char *line)
{
	char key[NAME_LEN], v[NAME_LEN] = "";
	const char *rest = line;

	assert_true(word(&rest, key, sizeof(key)));
	if (strcmp(key, "owned") == 0 || strcmp(key, "pending") == 0) {
		parse_record(w, key, rest);
		return;
	}
	if (strcmp(key, "untrusted") == 0) {
		w->st.is_untrusted = true;
		return;
	}
	assert_true(word(&rest, v, sizeof(v)));
	if (strcmp(key, "mode") == 0 && strcmp(v, "never") == 0)
		w->o.removal = REMOVAL_NEVER;
	else if (strcmp(key, "mode") == 0 && strcmp(v, "authoritative") == 0)
		w->o.removal = REMOVAL_AUTHORITATIVE;
	else if (strcmp(key, "mode") == 0 && strcmp(v, "owned") == 0)
		w->o.removal = REMOVAL_OWNED;
	else if (strcmp(key, "grace") == 0)
		w->o.grace_sec = number(v);
	else if (strcmp(key, "max_removals") == 0)
		w->o.max_removals = (uint64_t)number(v);
	else if (strcmp(key, "max_percent") == 0)
		w->o.max_removal_percent = (uint64_t)number(v);
	else if (strcmp(key, "now") == 0)
		w->o.now = number(v);
	else if (strcmp(key, "approve") == 0)
		w->st.approved = (uint64_t)number(v);
	else
		fail_msg("state: unknown line '%s'", line);
	w->st.has_approval |= strcmp(key, "approve") == 0;
}

/* Call fn on each line of text (without its newline). */
static void each_line(struct world *w, const char *text,
		      void (*fn)(struct world *w, const char *line))
{
	char line[512];

	while (text && *text) {
		size_t len = strcspn(text, "\n");

		assert_true(len < sizeof(line));
		memcpy(line, text, len);
		line[len] = '\0';
		if (len)
			fn(w, line);
		text += len + (text[len] == '\n');
	}
}

static void parse_tenant_line(struct world *w, const char *line)
{
	char kind[NAME_LEN];
	const char *rest = line;

	assert_true(word(&rest, kind, sizeof(kind)));
	if (strcmp(kind, "sku") == 0)
		parse_sku(w, rest);
	else if (strcmp(kind, "user") == 0)
		parse_user(w, rest);
	else if (strcmp(kind, "group") == 0)
		parse_group(w, rest);
	else
		fail_msg("tenant: unknown line '%s'", line);
}

#define SWAP(T, a, b)                                                          \
	do {                                                                   \
		T t_ = (a);                                                    \
		(a) = (b);                                                     \
		(b) = t_;                                                      \
	} while (0)

/*
 * The same tenant listed backwards: users, SKUs, each SKU's plans, groups,
 * members and disabled plans.  Only the order of the snapshot changes.
 */
static void reverse(struct world *w)
{
	struct snapshot *s = &w->s;

	for (size_t i = 0, j = s->n_users - 1; s->n_users && i < j; i++, j--) {
		SWAP(struct user, s->users[i], s->users[j]);
		for (size_t c = 0; c < NAME_LEN; c++)
			SWAP(char, w->names[i][c], w->names[j][c]);
	}
	for (size_t i = 0, j = s->n_skus - 1; s->n_skus && i < j; i++, j--)
		SWAP(struct sku, s->skus[i], s->skus[j]);
	for (size_t k = 0; k < s->n_skus; k++) {
		struct service_plan *p = s->skus[k].plans;

		for (size_t i = 0, j = s->skus[k].n_plans - 1;
		     s->skus[k].n_plans && i < j; i++, j--)
			SWAP(struct service_plan, p[i], p[j]);
	}
	for (size_t i = 0, j = s->n_groups - 1; s->n_groups && i < j; i++, j--)
		SWAP(struct group_members, s->groups[i], s->groups[j]);
	for (size_t g = 0; g < s->n_groups; g++) {
		uint32_t *m = s->groups[g].members;
		size_t n = s->groups[g].n_members;

		for (size_t i = 0; i < n; i++)
			m[i] = (uint32_t)(s->n_users - 1 - m[i]);
		for (size_t i = 0, j = n - 1; n && i < j; i++, j--)
			SWAP(uint32_t, m[i], m[j]);
	}
	for (size_t u = 0; u < s->n_users; u++)
		for (size_t a = 0; a < s->users[u].n_assignments; a++) {
			struct assignment *x = &s->users[u].assignments[a];
			size_t n = x->n_disabled_plans;

			for (size_t i = 0, j = n - 1; n && i < j; i++, j--)
				SWAP(struct guid, x->disabled_plans[i],
				     x->disabled_plans[j]);
		}
}

struct plan_case {
	const char *name;
	const char *tenant;
	const char *policy;
	const char *state;
	const char *want;
};

static struct world *world_new(const struct plan_case *c, bool is_reversed)
{
	struct world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	w->s.skus = w->skus;
	w->s.users = w->users;
	w->s.groups = w->groups;
	w->st.owned = w->owned;
	w->st.pending = w->pending;
	w->o = (struct plan_options){ REMOVAL_OWNED, 86400, 50, 100, 1000000 };
	each_line(w, c->tenant, parse_tenant_line);
	each_line(w, c->state, parse_state_line);
	if (is_reversed)
		reverse(w);
	return w;
}

/* ---- the policy -------------------------------------------------------- */

/* Write text as policy.ini with {NAME} replaced by ids, and load it. */
static void load_policy(const struct world *w, const char *text,
			struct policy *ret)
{
	char out[4096], name[NAME_LEN], id[GUID_STRLEN + 1];
	struct diags d = { 0 };
	size_t n = 0;

	while (*text) {
		size_t len = strcspn(text, "{");

		assert_true(n + len + GUID_STRLEN < sizeof(out));
		memcpy(out + n, text, len);
		n += len;
		text += len;
		if (!*text)
			break;
		len = strcspn(++text, "}");
		assert_true(len < NAME_LEN && text[len] == '}');
		memcpy(name, text, len);
		name[len] = '\0';
		text += len + 1;
		{
			struct guid g = user_id(w, name);

			guid_format(&g, id);
		}
		memcpy(out + n, id, GUID_STRLEN);
		n += GUID_STRLEN;
	}
	out[n] = '\0';
	tmp_write("policy.ini", 0644, out);
	assert_int_equal(policy_load("policy.ini", ret, &d), 0);
	assert_no_diags(&d);
}

/* ---- rendering --------------------------------------------------------- */

static const char *const action_words[] = { "add", "update", "remove" };
static const char *const reason_words[] = { "entitled", "plans-differ",
					    "not-entitled", "superseded" };
static const char *const hold_words[] = {
	"go",	     "grace",	     "no-seats",	"no-usage-location",
	"excluded",  "inherited",    "not-owned",	"never-remove",
	"capped",    "rule-error",   "state-untrusted", "swap-waits",
	"no-sku-for-users",
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* disabled=P,Q (sorted by name: the tenant's plan order is no input) */
static void render_disabled(FILE *f, const struct plan *plan,
			    const struct sku *k, uint32_t set)
{
	const char *names[MAX_PLANS];
	size_t n = 0;

	for (size_t i = 0; i < k->n_plans; i++)
		if (planset_has(&plan->sets, set, i))
			names[n++] = k->plans[i].name;
	qsort(names, n, sizeof(names[0]), cmp_str);
	fputs(" disabled=", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? "," : "", names[i]);
	if (n == 0)
		fputc('-', f);
}

static void render_item(FILE *f, const struct world *w,
			const struct plan *plan, const struct plan_item *it)
{
	const struct sku *k = &w->s.skus[it->sku];

	assert_true(it->user < w->s.n_users && it->sku < w->s.n_skus);
	assert_true(it->action <= PLAN_REMOVE && it->reason <= PLAN_SUPERSEDED);
	assert_true(it->hold <= PLAN_NO_SKU_FOR_USERS);
	fprintf(f, "%s %s %s %s %s", w->names[it->user], k->part_number,
		action_words[it->action], reason_words[it->reason],
		hold_words[it->hold]);
	if (it->rule != PLAN_NONE)
		fprintf(f, " rule=%s", w->p->rules[it->rule].name);
	if (it->reason == PLAN_SUPERSEDED)
		fprintf(f, " by=%s", w->s.skus[it->better].part_number);
	if (it->action != PLAN_REMOVE)
		render_disabled(f, plan, k, it->planset);
	if (it->usage_location[0])
		fprintf(f, " loc=%.2s", it->usage_location);
	if (it->reason == PLAN_NOT_ENTITLED || it->since || it->due)
		fprintf(f, " since=%lld due=%lld", (long long)it->since,
			(long long)it->due);
	fputc('\n', f);
}

/* A user's name: from the tenant, else decoded from a name_id() id. */
static void user_name(const struct world *w, const struct guid *id,
		      char out[NAME_LEN])
{
	for (size_t i = 0; i < w->s.n_users; i++)
		if (guid_equal(&w->users[i].id, id)) {
			memcpy(out, w->names[i], NAME_LEN);
			return;
		}
	memcpy(out, id->b, sizeof(id->b));
	out[sizeof(id->b)] = '\0';
}

static void render_totals(FILE *f, const struct plan_totals *t)
{
	const struct {
		const char *name;
		size_t n;
	} v[] = {
		{ "adds", t->adds },
		{ "updates", t->updates },
		{ "removes", t->removes },
		{ "waiting_seats", t->waiting_seats },
		{ "no_usage_location", t->no_usage_location },
		{ "grace", t->grace },
		{ "capped", t->capped },
		{ "not_owned", t->not_owned },
		{ "inherited", t->inherited },
		{ "excluded", t->excluded },
		{ "rule_errors", t->rule_errors },
		{ "holders", t->holders },
	};

	fputs("totals", f);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i].n)
			fprintf(f, " %s=%zu", v[i].name, v[i].n);
	if (t->is_capped)
		fputs(" is_capped", f);
	if (t->is_approval_used)
		fputs(" approval_used", f);
	fputc('\n', f);
}

/* The whole plan as text (see the head of the file); free() it. */
static char *render(const struct world *w, const struct plan *plan)
{
	char *buf = NULL, line[DIAG_TEXT_MAX + 64], name[NAME_LEN];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	for (size_t i = 0; i < plan->n_items; i++)
		render_item(f, w, plan, &plan->items[i]);
	for (size_t i = 0; i < plan->n_owned; i++) {
		user_name(w, &plan->owned[i].user, name);
		fprintf(f, "keep %s %s\n", name,
			cat_sku_part(&plan->owned[i].sku));
	}
	for (size_t i = 0; i < plan->problems.n; i++) {
		diags_format(&plan->problems, i, line, sizeof(line));
		fprintf(f, "problem %s\n", line);
	}
	render_totals(f, &plan->totals);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void assert_text(const char *what, const char *want, const char *got)
{
	if (strcmp(want, got) != 0)
		fail_msg("%s:\n--- want\n%s--- got\n%s", what, want, got);
}

static void assert_same_items(const struct plan *a, const struct plan *b)
{
	assert_int_equal(a->n_items, b->n_items);
	for (size_t i = 0; i < a->n_items; i++) {
		const struct plan_item *x = &a->items[i], *y = &b->items[i];

		assert_int_equal(x->user, y->user);
		assert_int_equal(x->sku, y->sku);
		assert_int_equal(x->rule, y->rule);
		assert_int_equal(x->better, y->better);
		assert_int_equal(x->planset, y->planset);
		assert_int_equal(x->action, y->action);
		assert_int_equal(x->reason, y->reason);
		assert_int_equal(x->hold, y->hold);
		assert_int_equal(x->since, y->since);
		assert_int_equal(x->due, y->due);
		assert_memory_equal(x->usage_location, y->usage_location, 3);
	}
}

static void build(const struct world *w, struct plan *ret)
{
	memset(ret, 0, sizeof(*ret));
	assert_int_equal(plan_build(w->p, &w->s, &w->st, &w->o, ret), 0);
}

/*
 * One case: the plan must be the one wanted, the same when built again,
 * and the same when the tenant lists everything in reverse order.
 */
static void run_case(void **state)
{
	const struct plan_case *c = *state;
	struct world *w = world_new(c, false), *r = world_new(c, true);
	struct plan plan, again, reordered;
	struct policy p;
	char *got, *got_again, *got_reordered;

	load_policy(w, c->policy, &p);
	w->p = &p;
	r->p = &p;
	build(w, &plan);
	got = render(w, &plan);
	assert_text("plan", c->want, got);
	build(w, &again);
	got_again = render(w, &again);
	assert_text("plan built again", got, got_again);
	assert_same_items(&plan, &again);
	build(r, &reordered);
	got_reordered = render(r, &reordered);
	assert_text("plan of the reordered tenant", got, got_reordered);
	free(got);
	free(got_again);
	free(got_reordered);
	plan_free(&plan);
	plan_free(&again);
	plan_free(&reordered);
	policy_free(&p);
	free(w);
	free(r);
}

