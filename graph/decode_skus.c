/*
 * decode_skus: GET /subscribedSkus -> struct sku.  See decode_skus.h.
 *
 * The result is filled in place, zeroed, and released whole on failure;
 * names are copied with strdup, so nothing points into the cJSON tree.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "graph/decode_common.h"
#include "graph/decode_skus.h"
#include "graph/json.h"
#include "policy/model.h"

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
	const cJSON *p = json_member(el, "prepaidUnits");
	int r;

	if (!p)
		return 0;
	if (!cJSON_IsObject(p))
		return json_fail(e, "prepaidUnits: not an object");
	r = json_read_count(p, "enabled", false, &s->enabled, e);
	if (r == 0)
		r = json_read_count(p, "warning", false, &s->warning, e);
	if (r == 0)
		r = json_read_count(p, "suspended", false, &s->suspended, e);
	if (r == 0)
		r = json_read_count(p, "lockedOut", false, &s->locked_out, e);
	return json_nest(e, r, "prepaidUnits", JSON_NO_INDEX);
}

static int decode_service_plan(const cJSON *el, struct service_plan *p,
			       struct decode_error *e)
{
	const char *name, *applies;
	int r;

	if (!cJSON_IsObject(el))
		return json_fail(e, ": not an object");
	r = json_need_guid(el, "servicePlanId", &p->id, e);
	if (r == 0)
		r = json_need_text(el, "servicePlanName", DECODE_MAX_NAME,
				   &name, e);
	if (r == 0)
		r = json_maybe_text(el, "appliesTo", DECODE_MAX_NAME, &applies,
				    e);
	if (r < 0)
		return r;
	p->is_for_users = applies && strcmp(applies, "User") == 0;
	p->name = strdup(name);
	return p->name ? 0 : json_nomem(e);
}

/* servicePlans: missing or null is none (the schema says non-null). */
static int decode_service_plans(const cJSON *el, struct sku *s,
				struct decode_error *e)
{
	struct json_list l;
	const cJSON *p;
	int r = json_read_list(el, "servicePlans", SNAPSHOT_MAX_PLANS, &l, e);

	if (r < 0)
		return r;
	s->plans = json_alloc_array(l.n, sizeof(*s->plans));
	if (!s->plans)
		return json_nomem(e);
	for (p = json_first(&l); p; p = p->next) {
		r = decode_service_plan(p, &s->plans[s->n_plans++], e);
		if (r < 0)
			return json_nest(e, r, "servicePlans", s->n_plans - 1);
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
		return json_fail(e, ": not an object");
	r = json_need_guid(el, "skuId", &s->id, e);
	if (r == 0)
		r = json_need_text(el, "skuPartNumber", DECODE_MAX_NAME, &part,
				   e);
	if (r == 0)
		r = json_maybe_text(el, "appliesTo", DECODE_MAX_NAME, &applies,
				    e);
	if (r == 0)
		r = json_maybe_text(el, "capabilityStatus", DECODE_MAX_NAME,
				    &status, e);
	if (r == 0)
		r = json_read_count(el, "consumedUnits", true, &s->consumed, e);
	if (r == 0)
		r = decode_prepaid(el, s, e);
	if (r == 0)
		r = decode_service_plans(el, s, e);
	if (r < 0)
		return r;
	s->is_for_users = applies && strcmp(applies, "User") == 0;
	s->status = sku_status_of(status);
	s->part_number = strdup(part);
	return s->part_number ? 0 : json_nomem(e);
}

int decode_skus(const char *json, size_t len, struct sku **ret, size_t *ret_n,
		struct decode_error *reterr)
{
	cJSON *doc = NULL;
	struct sku *skus = NULL;
	struct json_list l = { NULL, 0 };
	const cJSON *el;
	size_t i = 0;
	int r;

	r = json_parse(json, len, &doc, reterr);
	if (r == 0)
		r = json_need_list(doc, "value", SNAPSHOT_MAX_SKUS, &l, reterr);
	if (r < 0)
		goto out;
	skus = json_alloc_array(l.n, sizeof(*skus));
	if (!skus) {
		r = json_nomem(reterr);
		goto out;
	}
	for (el = json_first(&l); el; el = el->next, i++) {
		r = decode_sku(el, &skus[i], reterr);
		if (r < 0) {
			(void)json_nest(reterr, r, "value", i);
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
