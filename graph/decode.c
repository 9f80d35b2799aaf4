/*
 * decode: Graph JSON -> model structs.  See decode.h.
 *
 * Every body goes through parse_doc() first: a size cap, one pass over the
 * bytes (nesting depth, number of values, control characters, "\u0000",
 * UTF-8), then cJSON, which must consume everything but trailing blanks.
 * The byte pass runs before cJSON so that a deep or huge document is
 * refused before a tree is built for it.
 *
 * Field readers take an object and a key and fail with a reason that
 * starts with the key ("skuId: not a GUID"); array walkers put the element
 * in front ("value[3].licenseAssignmentStates[0].skuId: not a GUID"), so
 * each reason is a JSON path.  Reasons never quote values: a token or a
 * user's data must not end up in a log line through them.
 *
 * Decoders fill a zeroed result in place and release it whole on failure;
 * the caller sees either a complete result or nothing.  Strings the model
 * keeps are copied with strdup, so results do not point into the tree.
 * Nothing here logs, reads a clock or keeps state between calls.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "graph/decode.h"
#include "graph/encode.h"
#include "policy/guid.h"
#include "policy/model.h"

/* Counts in our model are whole numbers a double holds exactly. */
#define COUNT_MAX 9007199254740992.0 /* 2^53 */

/* nest() without an index: "prepaidUnits.enabled". */
#define NO_INDEX SIZE_MAX

/* An array member: NULL when missing or null; n elements. */
struct list {
	const cJSON *array;
	size_t n;
};

/* ---- reasons ---------------------------------------------------------- */

static int fail(struct decode_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Write the reason (when e is given) and return -EBADMSG. */
static int fail(struct decode_error *e, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, fmt);
		(void)vsnprintf(e->text, sizeof(e->text), fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

static int nomem(struct decode_error *e)
{
	if (e)
		(void)snprintf(e->text, sizeof(e->text), "out of memory");
	return -ENOMEM;
}

/*
 * Put "name[i]" (or "name" with NO_INDEX) in front of the reason of a
 * failed element.  Reasons about the element itself start with ':' and
 * get no dot.  Returns r.
 */
static int nest(struct decode_error *e, int r, const char *name, size_t i)
{
	char pre[80], idx[24] = "";
	size_t n_pre, n_text;

	if (!e || r != -EBADMSG)
		return r;
	if (i != NO_INDEX)
		(void)snprintf(idx, sizeof(idx), "[%zu]", i);
	(void)snprintf(pre, sizeof(pre), "%s%s%s", name, idx,
		       e->text[0] == ':' ? "" : ".");
	n_pre = strlen(pre);
	n_text = strnlen(e->text, sizeof(e->text) - 1);
	if (n_pre + n_text >= sizeof(e->text))
		n_text = sizeof(e->text) - 1 - n_pre;
	memmove(e->text + n_pre, e->text, n_text);
	memcpy(e->text, pre, n_pre);
	e->text[n_pre + n_text] = '\0';
	return r;
}

/* ---- the byte pass ---------------------------------------------------- */

/* Length of the well-formed UTF-8 character at s (n > 0 bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp, min;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2, cp = s[0] & 0x1fu, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, cp = s[0] & 0x0fu, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4, cp = s[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * Check the string that opens at s[*i] and move *i past its closing
 * quote.  cJSON lets raw control characters through and "\u0000" would
 * silently cut a C string short, so both are refused here.
 */
static int scan_string(const unsigned char *s, size_t len, size_t *i,
		       struct decode_error *e)
{
	size_t k = *i + 1, step;

	while (k < len && s[k] != '"') {
		if (s[k] < 0x20)
			return fail(e,
				    "control character in a string at "
				    "byte %zu",
				    k);
		if (s[k] == '\\') {
			if (len - k >= 6 && memcmp(s + k + 1, "u0000", 5) == 0)
				return fail(e,
					    "\\u0000 in a string at byte %zu",
					    k);
			k += 2;
			continue;
		}
		step = utf8_len(s + k, len - k);
		if (step == 0)
			return fail(e, "invalid UTF-8 at byte %zu", k);
		k += step;
	}
	*i = k + 1;
	return 0;
}

static bool is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Everything but the grammar, which cJSON checks afterwards. */
static int scan_text(const unsigned char *s, size_t len, struct decode_error *e)
{
	size_t i = 0, depth = 0, n_values = 1, step;
	int r = 0;

	while (r == 0 && i < len) {
		if (s[i] == '"') {
			r = scan_string(s, len, &i, e);
			continue;
		}
		if (s[i] == '[' || s[i] == '{') {
			n_values++;
			if (++depth > DECODE_MAX_DEPTH)
				r = fail(e, "nested deeper than %d at byte %zu",
					 DECODE_MAX_DEPTH, i);
		} else if ((s[i] == ']' || s[i] == '}') && depth > 0) {
			depth--;
		} else if (s[i] == ',' && ++n_values > DECODE_MAX_VALUES) {
			r = fail(e, "more than %d values", DECODE_MAX_VALUES);
		} else if (s[i] < 0x20 && !is_blank(s[i])) {
			r = fail(e, "control character at byte %zu", i);
		}
		step = utf8_len(s + i, len - i);
		if (r == 0 && step == 0)
			r = fail(e, "invalid UTF-8 at byte %zu", i);
		i += step ? step : 1;
	}
	return r;
}

/*
 * The body as a cJSON object.  A length-delimited buffer has no NUL that
 * cJSON's require_null_terminated could find, so the end is checked here:
 * only blanks may follow the value.  cJSON cannot tell running out of
 * memory from bad syntax; both come back as -EBADMSG.
 */
static int parse_doc(const char *json, size_t len, cJSON **ret,
		     struct decode_error *e)
{
	const char *end = NULL;
	cJSON *doc = NULL;
	int r;

	if (!json || len == 0)
		return fail(e, "empty body");
	if (len > DECODE_MAX_BODY)
		return fail(e, "body larger than %d bytes", DECODE_MAX_BODY);
	r = scan_text((const unsigned char *)json, len, e);
	if (r < 0)
		goto out;
	doc = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (!doc) {
		r = fail(e, "not valid JSON (at byte %td)",
			 end ? end - json : 0);
		goto out;
	}
	for (; end < json + len; end++)
		if (!is_blank((unsigned char)*end)) {
			r = fail(e, "text after the JSON value at byte %td",
				 end - json);
			goto out;
		}
	if (!cJSON_IsObject(doc)) {
		r = fail(e, "not a JSON object");
		goto out;
	}
	*ret = doc;
	doc = NULL;
out:
	cJSON_Delete(doc);
	return r;
}

/* ---- field readers ---------------------------------------------------- */

/* The member at key, or NULL when it is missing or JSON null. */
static const cJSON *member(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNull(v) ? NULL : v;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* A string of at most max bytes without control characters, or NULL. */
static int maybe_text(const cJSON *obj, const char *key, size_t max,
		      const char **ret, struct decode_error *e)
{
	const cJSON *v = member(obj, key);

	if (v && !cJSON_IsString(v))
		return fail(e, "%s: not a string", key);
	if (v && strnlen(v->valuestring, max + 1) > max)
		return fail(e, "%s: longer than %zu bytes", key, max);
	if (v && has_control(v->valuestring))
		return fail(e, "%s: control character", key);
	*ret = v ? v->valuestring : NULL;
	return 0;
}

/* As maybe_text(), but missing, null and "" are refused. */
static int need_text(const cJSON *obj, const char *key, size_t max,
		     const char **ret, struct decode_error *e)
{
	const char *s;
	int r = maybe_text(obj, key, max, &s, e);

	if (r == 0 && (!s || !*s))
		r = fail(e, "%s: missing", key);
	if (r == 0)
		*ret = s;
	return r;
}

/* A string from an error body: "" for anything but a string. */
static const char *loose_text(const cJSON *obj, const char *key)
{
	const cJSON *v = member(obj, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

/* A GUID, or *ret_has false when missing or null. */
static int maybe_guid(const cJSON *obj, const char *key, struct guid *ret,
		      bool *ret_has, struct decode_error *e)
{
	const cJSON *v = member(obj, key);
	struct guid g;

	if (v && (!cJSON_IsString(v) || guid_parse(v->valuestring, &g) < 0))
		return fail(e, "%s: not a GUID", key);
	if (v)
		*ret = g;
	*ret_has = v != NULL;
	return 0;
}

static int need_guid(const cJSON *obj, const char *key, struct guid *ret,
		     struct decode_error *e)
{
	bool has;
	int r = maybe_guid(obj, key, ret, &has, e);

	if (r == 0 && !has)
		r = fail(e, "%s: missing", key);
	return r;
}

/* A JSON number that is a whole number in [0, 2^53]. */
static int to_count(const cJSON *v, int64_t *ret)
{
	double d;

	if (!cJSON_IsNumber(v))
		return -EINVAL;
	d = v->valuedouble;
	if (!(d >= 0 && d <= COUNT_MAX)) /* also NaN */
		return -ERANGE;
	if ((double)(int64_t)d != d)
		return -EDOM;
	*ret = (int64_t)d;
	return 0;
}

/* A count; missing or null is 0 unless is_required. */
static int read_count(const cJSON *obj, const char *key, bool is_required,
		      int64_t *ret, struct decode_error *e)
{
	const cJSON *v = member(obj, key);
	int64_t n = 0;
	int r = v ? to_count(v, &n) : 0;

	if (!v && is_required)
		return fail(e, "%s: missing", key);
	if (r == -EINVAL)
		return fail(e, "%s: not a number", key);
	if (r == -ERANGE)
		return fail(e, "%s: out of range", key);
	if (r == -EDOM)
		return fail(e, "%s: not a whole number", key);
	*ret = n;
	return 0;
}

/* An array of at most max elements; missing or null is empty. */
static int read_list(const cJSON *obj, const char *key, size_t max,
		     struct list *ret, struct decode_error *e)
{
	const cJSON *v = member(obj, key), *el;
	size_t n = 0;

	if (v && !cJSON_IsArray(v))
		return fail(e, "%s: not an array", key);
	cJSON_ArrayForEach(el, v) if (++n > max) return fail(
		e, "%s: more than %zu items", key, max);
	ret->array = v;
	ret->n = n;
	return 0;
}

static int need_list(const cJSON *obj, const char *key, size_t max,
		     struct list *ret, struct decode_error *e)
{
	int r = read_list(obj, key, max, ret, e);

	if (r == 0 && !ret->array)
		r = fail(e, "%s: missing", key);
	return r;
}

static const cJSON *first(const struct list *l)
{
	return l->array ? l->array->child : NULL;
}

/* calloc for n elements; never asks for 0 bytes. */
static void *alloc_array(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

/*
 * Copy src into dst (size bytes) for a log line: control characters
 * become spaces, and a cut falls between characters, not inside one
 * (the byte pass made sure src is UTF-8).
 */
static void copy_clean(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	if (src[n] != '\0')
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	for (size_t i = 0; i < n; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f
				 ? ' '
				 : src[i];
	dst[n] = '\0';
}

/*
 * A short word such as licenseAssignmentState.state into dst, without
 * surrounding spaces (a published example pads " Active ").  Missing or
 * null is "".  Too long for dst is refused, never cut.
 */
static int read_word(const cJSON *obj, const char *key, char *dst, size_t size,
		     struct decode_error *e)
{
	const char *s;
	size_t n;
	int r = maybe_text(obj, key, DECODE_MAX_NAME, &s, e);

	if (r < 0)
		return r;
	for (s = s ? s : ""; *s == ' '; s++)
		;
	for (n = strlen(s); n > 0 && s[n - 1] == ' '; n--)
		;
	if (n >= size)
		return fail(e, "%s: longer than %zu bytes", key, size - 1);
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/* ---- subscribedSkus --------------------------------------------------- */

static enum sku_status sku_status_of(const char *s)
{
	static const struct {
		const char *text;
		enum sku_status status;
	} map[] = {
		{ "Enabled", SKU_ENABLED },	 { "Warning", SKU_WARNING },
		{ "Suspended", SKU_SUSPENDED },	 { "Deleted", SKU_DELETED },
		{ "LockedOut", SKU_LOCKED_OUT },
	};

	for (size_t i = 0; s && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(s, map[i].text) == 0)
			return map[i].status;
	return SKU_OTHER;
}

/* prepaidUnits: missing or null, and each missing field, count as 0. */
static int decode_prepaid(const cJSON *el, struct sku *s,
			  struct decode_error *e)
{
	const cJSON *p = member(el, "prepaidUnits");
	int r;

	if (!p)
		return 0;
	if (!cJSON_IsObject(p))
		return fail(e, "prepaidUnits: not an object");
	r = read_count(p, "enabled", false, &s->enabled, e);
	if (r == 0)
		r = read_count(p, "warning", false, &s->warning, e);
	if (r == 0)
		r = read_count(p, "suspended", false, &s->suspended, e);
	if (r == 0)
		r = read_count(p, "lockedOut", false, &s->locked_out, e);
	return nest(e, r, "prepaidUnits", NO_INDEX);
}

static int decode_service_plan(const cJSON *el, struct service_plan *p,
			       struct decode_error *e)
{
	const char *name, *applies;
	int r;

	if (!cJSON_IsObject(el))
		return fail(e, ": not an object");
	r = need_guid(el, "servicePlanId", &p->id, e);
	if (r == 0)
		r = need_text(el, "servicePlanName", DECODE_MAX_NAME, &name, e);
	if (r == 0)
		r = maybe_text(el, "appliesTo", DECODE_MAX_NAME, &applies, e);
	if (r < 0)
		return r;
	p->is_for_users = applies && strcmp(applies, "User") == 0;
	p->name = strdup(name);
	return p->name ? 0 : nomem(e);
}

/* servicePlans: missing or null is none (the schema says non-null). */
static int decode_service_plans(const cJSON *el, struct sku *s,
				struct decode_error *e)
{
	struct list l;
	const cJSON *p;
	int r = read_list(el, "servicePlans", SNAPSHOT_MAX_PLANS, &l, e);

	if (r < 0)
		return r;
	s->plans = alloc_array(l.n, sizeof(*s->plans));
	if (!s->plans)
		return nomem(e);
	for (p = first(&l); p; p = p->next) {
		r = decode_service_plan(p, &s->plans[s->n_plans++], e);
		if (r < 0)
			return nest(e, r, "servicePlans", s->n_plans - 1);
	}
	return 0;
}

/*
 * One subscribedSku into a zeroed *s; on failure *s may hold parts for
 * decode_skus_free().  consumedUnits is required: counting a missing
 * value as 0 would invent free seats.
 */
static int decode_sku(const cJSON *el, struct sku *s, struct decode_error *e)
{
	const char *part, *applies, *status;
	int r;

	if (!cJSON_IsObject(el))
		return fail(e, ": not an object");
	r = need_guid(el, "skuId", &s->id, e);
	if (r == 0)
		r = need_text(el, "skuPartNumber", DECODE_MAX_NAME, &part, e);
	if (r == 0)
		r = maybe_text(el, "appliesTo", DECODE_MAX_NAME, &applies, e);
	if (r == 0)
		r = maybe_text(el, "capabilityStatus", DECODE_MAX_NAME, &status,
			       e);
	if (r == 0)
		r = read_count(el, "consumedUnits", true, &s->consumed, e);
	if (r == 0)
		r = decode_prepaid(el, s, e);
	if (r == 0)
		r = decode_service_plans(el, s, e);
	if (r < 0)
		return r;
	s->is_for_users = applies && strcmp(applies, "User") == 0;
	s->status = sku_status_of(status);
	s->part_number = strdup(part);
	return s->part_number ? 0 : nomem(e);
}

int decode_skus(const char *json, size_t len, struct sku **ret, size_t *ret_n,
		struct decode_error *reterr)
{
	cJSON *doc = NULL;
	struct sku *skus = NULL;
	struct list l = { NULL, 0 };
	const cJSON *el;
	size_t i = 0;
	int r;

	r = parse_doc(json, len, &doc, reterr);
	if (r == 0)
		r = need_list(doc, "value", SNAPSHOT_MAX_SKUS, &l, reterr);
	if (r < 0)
		goto out;
	skus = alloc_array(l.n, sizeof(*skus));
	if (!skus) {
		r = nomem(reterr);
		goto out;
	}
	for (el = first(&l); el; el = el->next, i++) {
		r = decode_sku(el, &skus[i], reterr);
		if (r < 0) {
			(void)nest(reterr, r, "value", i);
			goto out;
		}
	}
	*ret = skus;
	*ret_n = l.n;
	skus = NULL;
out:
	decode_skus_free(skus, l.n);
	cJSON_Delete(doc);
	return r;
}

void decode_skus_free(struct sku *skus, size_t n)
{
	for (size_t i = 0; skus && i < n; i++) {
		for (size_t k = 0; k < skus[i].n_plans; k++)
			free(skus[i].plans[k].name);
		free(skus[i].plans);
		free(skus[i].part_number);
	}
	free(skus);
}

/* ---- users ------------------------------------------------------------ */

/* disabledPlans: an array of GUIDs; missing or null is none. */
static int read_plans(const cJSON *obj, struct guid **ret, size_t *ret_n,
		      struct decode_error *e)
{
	struct list l;
	struct guid *v = NULL;
	const cJSON *el;
	size_t i = 0;
	int r = read_list(obj, "disabledPlans", SNAPSHOT_MAX_PLANS, &l, e);

	if (r < 0)
		goto out;
	v = alloc_array(l.n, sizeof(*v));
	if (!v) {
		r = nomem(e);
		goto out;
	}
	for (el = first(&l); el; el = el->next, i++)
		if (!cJSON_IsString(el) || guid_parse(el->valuestring, &v[i])) {
			r = fail(e, "disabledPlans[%zu]: not a GUID", i);
			goto out;
		}
	*ret = v;
	*ret_n = l.n;
	v = NULL;
out:
	free(v);
	return r;
}

/* One licenseAssignmentState into a zeroed *a. */
static int decode_state(const cJSON *el, struct assignment *a,
			struct decode_error *e)
{
	bool has_group = false;
	int r;

	if (!cJSON_IsObject(el))
		return fail(e, ": not an object");
	r = need_guid(el, "skuId", &a->sku, e);
	if (r == 0)
		r = maybe_guid(el, "assignedByGroup", &a->group, &has_group, e);
	if (r == 0)
		r = read_word(el, "state", a->state, sizeof(a->state), e);
	if (r == 0)
		r = read_word(el, "error", a->error, sizeof(a->error), e);
	if (r == 0)
		r = read_plans(el, &a->disabled_plans, &a->n_disabled_plans, e);
	if (r < 0)
		return r;
	a->by = has_group ? ASSIGNED_BY_GROUP : ASSIGNED_DIRECTLY;
	/* The service says "None" where the docs say null: both mean "". */
	if (strcmp(a->error, "None") == 0)
		a->error[0] = '\0';
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
		return fail(e, ": not an object");
	r = need_guid(el, "skuId", &a.sku, e);
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
	struct list states, lics;
	const cJSON *x;
	size_t i;
	int r;

	r = read_list(el, "licenseAssignmentStates", SNAPSHOT_MAX_ASSIGNMENTS,
		      &states, e);
	if (r == 0)
		r = need_list(el, "assignedLicenses", SNAPSHOT_MAX_ASSIGNMENTS,
			      &lics, e);
	if (r < 0)
		return r;
	u->assignments =
		alloc_array(states.n + lics.n, sizeof(*u->assignments));
	if (!u->assignments)
		return nomem(e);
	for (x = first(&states), i = 0; r == 0 && x; x = x->next, i++) {
		r = decode_state(x, &u->assignments[u->n_assignments++], e);
		(void)nest(e, r, "licenseAssignmentStates", i);
	}
	for (x = first(&lics), i = 0; r == 0 && x; x = x->next, i++) {
		r = decode_license(x, u, e);
		(void)nest(e, r, "assignedLicenses", i);
	}
	if (r == 0 && u->n_assignments > SNAPSHOT_MAX_ASSIGNMENTS)
		r = fail(e, ": more than %d license assignments",
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
	const cJSON *v = member(el, "accountEnabled");

	if (v && !cJSON_IsBool(v))
		return fail(e, "accountEnabled: not a boolean");
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
	int r = maybe_text(el, "usageLocation", DECODE_MAX_NAME, &s, e);

	if (r < 0)
		return r;
	if (!s || !*s) {
		dst[0] = '\0';
		return 0;
	}
	if (strlen(s) != 2 || !is_ascii_letter(s[0]) || !is_ascii_letter(s[1]))
		return fail(e, "usageLocation: not a two-letter country code");
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

	r = need_guid(el, "id", &u->id, e);
	if (r == 0)
		r = need_text(el, "userPrincipalName", DECODE_MAX_UPN, &upn, e);
	if (r == 0)
		r = read_enabled(el, &u->is_enabled, e);
	if (r == 0)
		r = read_location(el, u->usage_location, e);
	if (r == 0)
		r = decode_assignments(el, u, e);
	if (r < 0)
		return r;
	u->upn = strdup(upn);
	return u->upn ? 0 : nomem(e);
}

/* True unless @odata.type names another type; /users pages carry none. */
static int is_user_object(const cJSON *el, bool *ret, struct decode_error *e)
{
	const cJSON *t = member(el, "@odata.type");

	if (t && !cJSON_IsString(t))
		return fail(e, "@odata.type: not a string");
	*ret = !t || strcmp(t->valuestring, "#microsoft.graph.user") == 0;
	return 0;
}

static int decode_members(const struct list *l, struct user_page *p,
			  struct decode_error *e)
{
	const cJSON *el;
	bool is_user = false;
	size_t i = 0;
	int r = 0;

	p->users = alloc_array(l->n, sizeof(*p->users));
	if (!p->users)
		return nomem(e);
	for (el = first(l); r == 0 && el; el = el->next, i++) {
		if (!cJSON_IsObject(el))
			r = fail(e, ": not an object");
		if (r == 0)
			r = is_user_object(el, &is_user, e);
		if (r == 0 && !is_user)
			p->n_skipped++;
		else if (r == 0)
			r = decode_user(el, &p->users[p->n_users++], e);
		(void)nest(e, r, "value", i);
	}
	return r;
}

/* @odata.nextLink: absent or null on the last page. */
static int read_next_link(const cJSON *doc, char **ret, struct decode_error *e)
{
	const char *s;
	int r = maybe_text(doc, "@odata.nextLink", DECODE_MAX_LINK, &s, e);

	if (r < 0)
		return r;
	if (s && ((strncmp(s, "https://", 8) != 0 &&
		   strncmp(s, "http://", 7) != 0) ||
		  strchr(s, ' ')))
		return fail(e, "@odata.nextLink: not an http(s) URL");
	*ret = s ? strdup(s) : NULL;
	return s && !*ret ? nomem(e) : 0;
}

int decode_user_page(const char *json, size_t len, struct user_page *ret,
		     struct decode_error *reterr)
{
	struct user_page p = { NULL, 0, 0, NULL };
	cJSON *doc = NULL;
	struct list l;
	int r;

	r = parse_doc(json, len, &doc, reterr);
	if (r < 0)
		goto out;
	r = need_list(doc, "value", DECODE_MAX_PAGE_OBJECTS, &l, reterr);
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

/* ---- groups and errors ------------------------------------------------ */

int decode_group(const char *json, size_t len, struct guid *ret_id,
		 char **ret_name, struct decode_error *reterr)
{
	cJSON *doc = NULL;
	const char *type, *name;
	struct guid id;
	char *copy = NULL;
	int r;

	r = parse_doc(json, len, &doc, reterr);
	if (r == 0)
		r = maybe_text(doc, "@odata.type", DECODE_MAX_NAME, &type,
			       reterr);
	if (r == 0 && type && strcmp(type, "#microsoft.graph.group") != 0)
		r = fail(reterr, "@odata.type: not a group");
	if (r == 0)
		r = need_guid(doc, "id", &id, reterr);
	if (r == 0)
		r = maybe_text(doc, "displayName", DECODE_MAX_NAME, &name,
			       reterr);
	if (r < 0)
		goto out;
	copy = strdup(name ? name : "");
	if (!copy) {
		r = nomem(reterr);
		goto out;
	}
	*ret_id = id;
	*ret_name = copy;
	copy = NULL;
out:
	free(copy);
	cJSON_Delete(doc);
	return r;
}

int decode_graph_error(const char *json, size_t len,
		       struct graph_error_body *ret)
{
	cJSON *doc = NULL;
	const cJSON *err;
	int r = parse_doc(json, len, &doc, NULL);

	if (r < 0)
		goto out;
	err = member(doc, "error");
	if (!cJSON_IsObject(err)) {
		r = -EBADMSG;
		goto out;
	}
	copy_clean(ret->code, sizeof(ret->code), loose_text(err, "code"));
	copy_clean(ret->message, sizeof(ret->message),
		   loose_text(err, "message"));
out:
	cJSON_Delete(doc);
	return r;
}

/* ---- tokens ----------------------------------------------------------- */

/* "3599" as IMDS sends it: 1 to 15 digits. */
static int parse_digits(const char *s, int64_t *ret)
{
	size_t n = strspn(s, "0123456789");
	int64_t v = 0;

	if (n == 0 || n > 15 || s[n] != '\0')
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	*ret = v;
	return 0;
}

/* expires_in: a JSON number (v2 endpoint) or a digit string (IMDS). */
static int read_expires_in(const cJSON *doc, int64_t *ret,
			   struct decode_error *e)
{
	const cJSON *v = member(doc, "expires_in");
	int64_t n = 0;
	int r;

	if (!v)
		return fail(e, "expires_in: missing");
	r = cJSON_IsString(v) ? parse_digits(v->valuestring, &n)
			      : to_count(v, &n);
	if (r < 0 || n <= 0)
		return fail(e, "expires_in: not a positive number of seconds");
	*ret = n;
	return 0;
}

static int token_success(const cJSON *doc, struct token_reply *t,
			 struct decode_error *e)
{
	const char *token, *type;
	int r;

	r = need_text(doc, "access_token", DECODE_MAX_TOKEN, &token, e);
	if (r == 0 && strchr(token, ' '))
		r = fail(e, "access_token: contains a space");
	if (r == 0)
		r = maybe_text(doc, "token_type", DECODE_MAX_NAME, &type, e);
	if (r == 0 && type && strcasecmp(type, "Bearer") != 0)
		r = fail(e, "token_type: not Bearer");
	if (r == 0)
		r = read_expires_in(doc, &t->expires_in, e);
	if (r < 0)
		return r;
	t->access_token = strdup(token);
	return t->access_token ? 0 : nomem(e);
}

/* error_codes[0], or 0 when absent or not a plausible code. */
static long first_error_code(const cJSON *doc)
{
	const cJSON *codes = member(doc, "error_codes");
	int64_t n;

	if (!cJSON_IsArray(codes) || to_count(codes->child, &n) < 0 ||
	    n > LONG_MAX)
		return 0;
	return (long)n;
}

/*
 * An OAuth error body ("error" a string, GRAPH.md 1.4), or the Graph
 * shape ("error" an object) that some token services answer with.
 */
static int token_error(const cJSON *doc, struct token_reply *t,
		       struct decode_error *e)
{
	const cJSON *err = member(doc, "error");

	if (cJSON_IsString(err)) {
		copy_clean(t->error, sizeof(t->error), err->valuestring);
		copy_clean(t->description, sizeof(t->description),
			   loose_text(doc, "error_description"));
	} else if (cJSON_IsObject(err)) {
		copy_clean(t->error, sizeof(t->error), loose_text(err, "code"));
		copy_clean(t->description, sizeof(t->description),
			   loose_text(err, "message"));
	} else {
		return fail(e, "error: neither a string nor an object");
	}
	t->aadsts = first_error_code(doc);
	return 0;
}

/* Overwrite cJSON's copy of the token before the tree is freed. */
static void wipe_token(cJSON *doc)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "access_token");

	if (cJSON_IsString(v))
		explicit_bzero(v->valuestring, strlen(v->valuestring));
}

int decode_token(const char *json, size_t len, struct token_reply *ret,
		 struct decode_error *reterr)
{
	struct token_reply t;
	cJSON *doc = NULL;
	int r;

	memset(&t, 0, sizeof(t));
	r = parse_doc(json, len, &doc, reterr);
	if (r < 0)
		goto out;
	if (member(doc, "error"))
		r = token_error(doc, &t, reterr);
	else
		r = token_success(doc, &t, reterr);
	if (r < 0)
		goto out;
	*ret = t;
	t.access_token = NULL;
out:
	wipe_token(doc);
	decode_token_clear(&t);
	cJSON_Delete(doc);
	return r;
}

void decode_token_clear(struct token_reply *t)
{
	if (!t)
		return;
	if (t->access_token) {
		explicit_bzero(t->access_token, strlen(t->access_token));
		free(t->access_token);
	}
	memset(t, 0, sizeof(*t));
}

/* ---- $batch ----------------------------------------------------------- */

/*
 * Retry-After as decimal seconds ("10", "2.128"), without strtod (which
 * follows the locale's decimal point).  -1 for anything else, an HTTP
 * date included: the caller then backs off on its own.
 */
static double parse_seconds(const char *s)
{
	static const char digits[] = "0123456789";
	size_t n_int = strspn(s, digits), n_frac = 0;
	double v = 0, scale = 1;

	if (n_int == 0 || n_int > 9)
		return -1;
	if (s[n_int] == '.') {
		n_frac = strspn(s + n_int + 1, digits);
		if (n_frac == 0 || n_frac > 9)
			return -1;
	}
	if (s[n_int + (n_frac ? n_frac + 1 : 0)] != '\0')
		return -1;
	for (size_t i = 0; i < n_int; i++)
		v = v * 10 + (s[i] - '0');
	for (size_t i = 0; i < n_frac; i++) {
		scale /= 10;
		v += (s[n_int + 1 + i] - '0') * scale;
	}
	return v;
}

/* The value of a Retry-After header: a string or a JSON number. */
static double seconds_of(const cJSON *v)
{
	if (cJSON_IsString(v))
		return parse_seconds(v->valuestring);
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 &&
	    v->valuedouble <= COUNT_MAX)
		return v->valuedouble;
	return -1;
}

/* Retry-After from the inner headers, its name in any case; else -1. */
static int read_retry_after(const cJSON *el, double *ret,
			    struct decode_error *e)
{
	const cJSON *h = member(el, "headers"), *v;

	if (h && !cJSON_IsObject(h))
		return fail(e, "headers: not an object");
	cJSON_ArrayForEach(v, h) if (v->string &&
				     strcasecmp(v->string, "Retry-After") == 0)
	{
		*ret = seconds_of(v);
		return 0;
	}
	*ret = -1;
	return 0;
}

/* The inner body re-serialised (any JSON value), NULL when absent. */
static int read_body(const cJSON *el, struct batch_reply *b,
		     struct decode_error *e)
{
	const cJSON *v = member(el, "body");

	if (!v)
		return 0;
	b->body = cJSON_PrintUnformatted(v);
	if (!b->body)
		return nomem(e);
	b->body_len = strlen(b->body);
	return 0;
}

/* One inner response into a zeroed *b. */
static int decode_reply(const cJSON *el, struct batch_reply *b,
			struct decode_error *e)
{
	const char *id;
	int64_t status = 0;
	int r;

	if (!cJSON_IsObject(el))
		return fail(e, ": not an object");
	r = need_text(el, "id", sizeof(b->id) - 1, &id, e);
	if (r == 0)
		r = read_count(el, "status", true, &status, e);
	if (r == 0 && (status < 100 || status > 599))
		r = fail(e, "status: not an HTTP status");
	if (r == 0)
		r = read_retry_after(el, &b->retry_after_sec, e);
	if (r < 0)
		return r;
	memcpy(b->id, id, strlen(id) + 1);
	b->status = (long)status;
	return read_body(el, b, e);
}

/* Ids are unique in a batch regardless of case (GRAPH.md 5). */
static bool has_id(const struct batch_reply *r, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(r[i].id, id) == 0)
			return true;
	return false;
}

int decode_batch(const char *json, size_t len, struct batch_reply **ret,
		 size_t *ret_n, struct decode_error *reterr)
{
	cJSON *doc = NULL;
	struct batch_reply *v = NULL;
	struct list l = { NULL, 0 };
	const cJSON *el;
	size_t i = 0;
	int r;

	r = parse_doc(json, len, &doc, reterr);
	if (r == 0)
		r = need_list(doc, "responses", ENCODE_BATCH_MAX, &l, reterr);
	if (r < 0)
		goto out;
	v = alloc_array(l.n, sizeof(*v));
	if (!v) {
		r = nomem(reterr);
		goto out;
	}
	for (el = first(&l); r == 0 && el; el = el->next, i++) {
		r = decode_reply(el, &v[i], reterr);
		if (r == 0 && has_id(v, i, v[i].id))
			r = fail(reterr, "id: repeated");
		(void)nest(reterr, r, "responses", i);
	}
	if (r < 0)
		goto out;
	*ret = v;
	*ret_n = l.n;
	v = NULL;
out:
	decode_batch_free(v, l.n);
	cJSON_Delete(doc);
	return r;
}

void decode_batch_free(struct batch_reply *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++)
		free(r[i].body);
	free(r);
}
