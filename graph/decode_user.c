/*
 * decode_user: pages of users -> struct user.  See decode_user.h.
 *
 * A page is filled in place, zeroed, and released whole on failure;
 * strings are copied with strdup, so nothing points into the cJSON tree.
 * The delta pages of issue 9 (/users/delta) are for another decoder
 * beside this one, not a mode of it: their objects may carry only the
 * changed fields or just an id and "@removed", which a page read here must
 * refuse.  When that decoder needs the field readers below (account state,
 * usage location, assignments, the page link), they move behind an
 * internal header, as json.h is, not into decode_user.h, which callers
 * outside graph/ see.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "graph/decode_common.h"
#include "graph/decode_user.h"
#include "graph/json.h"
#include "policy/guid.h"
#include "policy/model.h"

/* disabledPlans: an array of GUIDs; missing or null is none. */
static int read_plans(const cJSON *obj, struct guid **ret, size_t *ret_n,
		      struct decode_error *e)
{
	struct json_list l;
	struct guid *v = NULL;
	const cJSON *el;
	size_t i = 0;
	int r = json_read_list(obj, "disabledPlans", SNAPSHOT_MAX_PLANS, &l, e);

	if (r < 0)
		goto out;
	v = json_alloc_array(l.n, sizeof(*v));
	if (!v) {
		r = json_nomem(e);
		goto out;
	}
	for (el = json_first(&l); el; el = el->next, i++)
		if (!cJSON_IsString(el) || guid_parse(el->valuestring, &v[i])) {
			r = json_fail(e, "disabledPlans[%zu]: not a GUID", i);
			goto out;
		}
	*ret = v;
	*ret_n = l.n;
	v = NULL;
out:
	free(v);
	return r;
}

/* A word of Graph's as one of a table's values; other when not there. */
static int word_of(const char *word, const char *const *names, size_t n,
		   int other)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(word, names[i]) == 0)
			return (int)i;
	return other;
}

static enum assignment_state state_of(const char *word)
{
	static const char *const names[] = {
		[ASSIGNMENT_STATE_NONE] = "",
		[ASSIGNMENT_ACTIVE] = "Active",
		[ASSIGNMENT_ACTIVE_WITH_ERROR] = "ActiveWithError",
		[ASSIGNMENT_DISABLED] = "Disabled",
		[ASSIGNMENT_ERROR] = "Error",
	};

	return (enum assignment_state)word_of(word, names,
					      sizeof(names) / sizeof(names[0]),
					      ASSIGNMENT_STATE_OTHER);
}

static enum assignment_error error_of(const char *word)
{
	static const char *const names[] = {
		[ASSIGNMENT_ERROR_NONE] = "",
		[ASSIGNMENT_COUNT_VIOLATION] = "CountViolation",
		[ASSIGNMENT_MUTUALLY_EXCLUSIVE_VIOLATION] =
			"MutuallyExclusiveViolation",
		[ASSIGNMENT_DEPENDENCY_VIOLATION] = "DependencyViolation",
		[ASSIGNMENT_PROHIBITED_IN_USAGE_LOCATION_VIOLATION] =
			"ProhibitedInUsageLocationViolation",
		[ASSIGNMENT_UNIQUENESS_VIOLATION] = "UniquenessViolation",
	};

	/* The service says "None" where the docs say null: both mean none. */
	if (strcmp(word, "None") == 0)
		return ASSIGNMENT_ERROR_NONE;
	return (enum assignment_error)word_of(word, names,
					      sizeof(names) / sizeof(names[0]),
					      ASSIGNMENT_ERROR_OTHER);
}

/* One licenseAssignmentState into a zeroed *a. */
static int decode_state(const cJSON *el, struct assignment *a,
			struct decode_error *e)
{
	char state[20], error[40]; /* the sizes of the old limits */
	bool has_group = false;
	int r;

	if (!cJSON_IsObject(el))
		return json_fail(e, ": not an object");
	r = json_need_guid(el, "skuId", &a->sku, e);
	if (r == 0)
		r = json_maybe_guid(el, "assignedByGroup", &a->group,
				    &has_group, e);
	if (r == 0)
		r = json_read_word(el, "state", state, sizeof(state), e);
	if (r == 0)
		r = json_read_word(el, "error", error, sizeof(error), e);
	if (r == 0)
		r = read_plans(el, &a->disabled_plans, &a->n_disabled_plans, e);
	if (r < 0)
		return r;
	a->by = has_group ? ASSIGNED_BY_GROUP : ASSIGNED_DIRECTLY;
	a->state = state_of(state);
	a->error = error_of(error);
	return 0;
}

static bool has_sku(const struct user *u, const struct guid *sku)
{
	for (size_t i = 0; i < u->n_assignments; i++)
		if (guid_equal(&u->assignments[i].sku, sku))
			return true;
	return false;
}

/*
 * One assignedLicenses entry: appended as ASSIGNED_UNKNOWN only when no
 * state entry (and no earlier entry) names its SKU.
 */
static int decode_license(const cJSON *el, struct user *u,
			  struct decode_error *e)
{
	struct assignment a = { .by = ASSIGNED_UNKNOWN };
	int r;

	if (!cJSON_IsObject(el))
		return json_fail(e, ": not an object");
	r = json_need_guid(el, "skuId", &a.sku, e);
	if (r == 0)
		r = read_plans(el, &a.disabled_plans, &a.n_disabled_plans, e);
	if (r < 0)
		return r;
	if (has_sku(u, &a.sku))
		free(a.disabled_plans);
	else
		u->assignments[u->n_assignments++] = a;
	return 0;
}

/*
 * The user's assignments: one per licenseAssignmentStates entry (several
 * per SKU when it comes both directly and from groups, GRAPH.md 3.2), then
 * the assignedLicenses SKUs that no state entry explains.
 * assignedLicenses is non-null in the schema: missing means it was not
 * selected, and a user read without it is not a complete read.
 * licenseAssignmentStates is nullable: missing or null leaves every SKU
 * ASSIGNED_UNKNOWN.
 */
static int decode_assignments(const cJSON *el, struct user *u,
			      struct decode_error *e)
{
	struct json_list states, lics;
	const cJSON *x;
	size_t i;
	int r;

	r = json_read_list(el, "licenseAssignmentStates",
			   SNAPSHOT_MAX_ASSIGNMENTS, &states, e);
	if (r == 0)
		r = json_need_list(el, "assignedLicenses",
				   SNAPSHOT_MAX_ASSIGNMENTS, &lics, e);
	if (r < 0)
		return r;
	u->assignments =
		json_alloc_array(states.n + lics.n, sizeof(*u->assignments));
	if (!u->assignments)
		return json_nomem(e);
	for (x = json_first(&states), i = 0; r == 0 && x; x = x->next, i++) {
		r = decode_state(x, &u->assignments[u->n_assignments++], e);
		(void)json_nest(e, r, "licenseAssignmentStates", i);
	}
	for (x = json_first(&lics), i = 0; r == 0 && x; x = x->next, i++) {
		r = decode_license(x, u, e);
		(void)json_nest(e, r, "assignedLicenses", i);
	}
	if (r == 0 && u->n_assignments > SNAPSHOT_MAX_ASSIGNMENTS)
		r = json_fail(e, ": more than %d license assignments",
			      SNAPSHOT_MAX_ASSIGNMENTS);
	return r;
}

/*
 * accountEnabled.  Missing or null reads as enabled: Graph leaves a
 * property out only when it was not selected or may not be shown, and
 * "disabled" is the claim that could make a planner withhold or strip a
 * license, so it is believed only when Graph states it.  Any other type
 * is refused.
 */
static int read_enabled(const cJSON *el, bool *ret, struct decode_error *e)
{
	const cJSON *v = json_member(el, "accountEnabled");

	if (v && !cJSON_IsBool(v))
		return json_fail(e, "accountEnabled: not a boolean");
	*ret = !v || cJSON_IsTrue(v);
	return 0;
}

static bool is_ascii_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* usageLocation: missing, null or "" is none; else two letters, upper. */
static int read_location(const cJSON *el, char dst[3], struct decode_error *e)
{
	const char *s;
	int r = json_maybe_text(el, "usageLocation", DECODE_MAX_NAME, &s, e);

	if (r < 0)
		return r;
	if (!s || !*s) {
		dst[0] = '\0';
		return 0;
	}
	if (strlen(s) != 2 || !is_ascii_letter(s[0]) || !is_ascii_letter(s[1]))
		return json_fail(
			e, "usageLocation: not a two-letter country code");
	dst[0] = (char)(s[0] & ~0x20);
	dst[1] = (char)(s[1] & ~0x20);
	dst[2] = '\0';
	return 0;
}

/* One user into a zeroed *u; on failure *u may hold parts. */
static int decode_user(const cJSON *el, struct user *u, struct decode_error *e)
{
	const char *upn;
	int r;

	r = json_need_guid(el, "id", &u->id, e);
	if (r == 0)
		r = json_need_text(el, "userPrincipalName", DECODE_MAX_UPN,
				   &upn, e);
	if (r == 0)
		r = read_enabled(el, &u->is_enabled, e);
	if (r == 0)
		r = read_location(el, u->usage_location, e);
	if (r == 0)
		r = decode_assignments(el, u, e);
	if (r < 0)
		return r;
	u->upn = strdup(upn);
	return u->upn ? 0 : json_nomem(e);
}

/* True unless @odata.type names another type; /users pages carry none. */
static int is_user_object(const cJSON *el, bool *ret, struct decode_error *e)
{
	const cJSON *t = json_member(el, "@odata.type");

	if (t && !cJSON_IsString(t))
		return json_fail(e, "@odata.type: not a string");
	*ret = !t || strcmp(t->valuestring, "#microsoft.graph.user") == 0;
	return 0;
}

static int decode_members(const struct json_list *l, struct user_page *p,
			  struct decode_error *e)
{
	const cJSON *el;
	bool is_user = false;
	size_t i = 0;
	int r = 0;

	p->users = json_alloc_array(l->n, sizeof(*p->users));
	if (!p->users)
		return json_nomem(e);
	for (el = json_first(l); r == 0 && el; el = el->next, i++) {
		if (!cJSON_IsObject(el))
			r = json_fail(e, ": not an object");
		if (r == 0)
			r = is_user_object(el, &is_user, e);
		if (r == 0 && !is_user)
			p->n_skipped++;
		else if (r == 0)
			r = decode_user(el, &p->users[p->n_users++], e);
		(void)json_nest(e, r, "value", i);
	}
	return r;
}

/* @odata.nextLink: absent or null on the last page. */
static int read_next_link(const cJSON *doc, char **ret, struct decode_error *e)
{
	const char *s;
	int r = json_maybe_text(doc, "@odata.nextLink", DECODE_MAX_LINK, &s, e);

	if (r < 0)
		return r;
	if (s && ((strncmp(s, "https://", 8) != 0 &&
		   strncmp(s, "http://", 7) != 0) ||
		  strchr(s, ' ')))
		return json_fail(e, "@odata.nextLink: not an http(s) URL");
	*ret = s ? strdup(s) : NULL;
	return s && !*ret ? json_nomem(e) : 0;
}

int decode_user_page(const char *json, size_t len, struct user_page *ret,
		     struct decode_error *reterr)
{
	struct user_page p = { NULL, 0, 0, NULL };
	cJSON *doc = NULL;
	struct json_list l;
	int r;

	r = json_parse(json, len, &doc, reterr);
	if (r < 0)
		goto out;
	r = json_need_list(doc, "value", DECODE_MAX_PAGE_OBJECTS, &l, reterr);
	if (r == 0)
		r = read_next_link(doc, &p.next_link, reterr);
	if (r == 0)
		r = decode_members(&l, &p, reterr);
	if (r < 0)
		goto out;
	*ret = p;
	memset(&p, 0, sizeof(p));
out:
	decode_user_page_clear(&p);
	cJSON_Delete(doc);
	return r;
}

void decode_user_clear(struct user *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n_assignments; i++)
		free(u->assignments[i].disabled_plans);
	free(u->assignments);
	free(u->upn);
	memset(u, 0, sizeof(*u));
}

void decode_user_page_clear(struct user_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_users; i++)
		decode_user_clear(&p->users[i]);
	free(p->users);
	free(p->next_link);
	memset(p, 0, sizeof(*p));
}
