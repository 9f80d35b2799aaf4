/*
 * test_encode: request bodies for Graph writes (graph/encode.c).
 *
 * Each body is parsed back with cJSON and compared with the published
 * example requests in tests/unit/data/ (cJSON_Compare: member order does
 * not matter, array order does) or checked field by field.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "graph/encode.h"
#include "policy/guid.h"
#include "policy/model.h"

#define DATA "tests/unit/data/"

#define SKU_P2 "84a661c4-e949-4bd2-a560-ed7766fcaf2b" /* AAD_PREMIUM_P2 */
#define SKU_FF "f30db892-07e9-47e9-837c-80727f46fd3d" /* FLOW_FREE */
#define PLAN_M "8a256a2b-b617-496d-b51b-e76466e88db0" /* MFA_PREMIUM */

static struct guid G(const char *s) {
	struct guid g;

	assert_int_equal(guid_parse(s, &g), 0);
	return g;
}

static cJSON *
parse_file(const char *name)
{
	char path[256], buf[8192];
	size_t n;
	cJSON *json;
	FILE *f;

	(void)snprintf(path, sizeof(path), DATA "%s", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	assert_true(n > 0 && n < sizeof(buf) - 1);
	buf[n] = '\0';
	(void)fclose(f);
	json = cJSON_Parse(buf);
	assert_non_null(json);
	return json;
}

/* Parse text, which must be one JSON object, and free text. */
static cJSON *parse_owned(char *text)
{
	cJSON *json = cJSON_Parse(text);

	assert_non_null(json);
	assert_true(cJSON_IsObject(json));
	free(text);
	return json;
}

static void assert_same_json(cJSON *got, cJSON *want)
{
	if (!cJSON_Compare(got, want, 1)) {
		char *a = cJSON_PrintUnformatted(got);
		char *b = cJSON_PrintUnformatted(want);

		fail_msg("got  %s\nwant %s", a, b);
	}
	cJSON_Delete(got);
	cJSON_Delete(want);
}

static const cJSON *item(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	assert_non_null(v);
	return v;
}

/* ---- assignLicense ---------------------------------------------------- */

static void test_assign_matches_beta_add_example(void **state)
{
	const struct guid plans[] = { G(PLAN_M) };
	const struct license_add adds[] = {
		{ G(SKU_P2), plans, 1 },
		{ G(SKU_FF), NULL, 0 },
	};
	char *text = NULL;

	(void)state;
	assert_int_equal(encode_assign_license(adds, 2, NULL, 0, &text), 0);
	assert_same_json(parse_owned(text),
			 parse_file("assignLicense-add.beta.request.json"));
}

static void test_assign_matches_beta_remove_example(void **state)
{
	const struct guid removes[] = { G(SKU_FF), G(SKU_P2) };
	char *text = NULL;

	(void)state;
	assert_int_equal(encode_assign_license(NULL, 0, removes, 2, &text), 0);
	assert_same_json(parse_owned(text),
			 parse_file("assignLicense-remove.beta.request.json"));
}

static void test_assign_matches_v1_example_lower_case(void **state)
{
	const struct guid plans[] = {
		G("11B0131D-43C8-4BBB-B2C8-E80F9A50834A"),
	};
	const struct license_add add = {
		G("45715BB8-13F9-4BF6-927F-EF96C102D394"), plans, 1
	};
	const struct guid removes[] = { G(
		"BEA13E0C-3828-4DAA-A392-28AF7FF61A0F") };
	char *text = NULL;

	(void)state;
	assert_int_equal(encode_assign_license(&add, 1, removes, 1, &text), 0);
	assert_null(strpbrk(text, "ABCDEF")); /* GUIDs go out lower case */
	assert_same_json(parse_owned(text),
			 parse_file("assignLicense.v1.request.json"));
}

static void test_assign_both_arrays_always(void **state)
{
	char *text = NULL;

	(void)state;
	assert_int_equal(encode_assign_license(NULL, 0, NULL, 0, &text), 0);
	assert_string_equal(text, "{\"addLicenses\":[],\"removeLicenses\":[]}");
	free(text);
}

static void test_assign_round_trip(void **state)
{
	struct guid plans[SNAPSHOT_MAX_PLANS];
	struct license_add adds[3];
	struct guid removes[2];
	const cJSON *a, *p;
	char want[GUID_STRLEN + 1];
	char *text = NULL;
	cJSON *json;
	size_t i = 0;

	(void)state;
	for (size_t k = 0; k < SNAPSHOT_MAX_PLANS; k++)
		for (size_t b = 0; b < 16; b++)
			plans[k].b[b] = (uint8_t)(k * 16 + b);
	for (size_t k = 0; k < 3; k++)
		adds[k] = (struct license_add){ plans[k], plans, k * 250 };
	removes[0] = plans[7];
	removes[1] = plans[8];
	assert_int_equal(encode_assign_license(adds, 3, removes, 2, &text), 0);
	json = parse_owned(text);
	assert_int_equal(cJSON_GetArraySize(item(json, "addLicenses")), 3);
	cJSON_ArrayForEach(a, item(json, "addLicenses"))
	{
		guid_format(&adds[i].sku, want);
		assert_string_equal(item(a, "skuId")->valuestring, want);
		assert_int_equal(cJSON_GetArraySize(item(a, "disabledPlans")),
				 adds[i].n_disabled_plans);
		p = cJSON_GetArrayItem(item(a, "disabledPlans"), 249);
		if (i == 2) {
			guid_format(&plans[249], want);
			assert_string_equal(p->valuestring, want);
		}
		i++;
	}
	guid_format(&removes[1], want);
	assert_string_equal(cJSON_GetArrayItem(item(json, "removeLicenses"), 1)
				    ->valuestring,
			    want);
	cJSON_Delete(json);
}

static void test_assign_refused(void **state)
{
	static struct license_add adds[SNAPSHOT_MAX_SKUS + 1];
	static struct guid plans[SNAPSHOT_MAX_PLANS + 1];
	static const struct guid removes[SNAPSHOT_MAX_SKUS + 1];
	const struct license_add too_many_plans = { { { 0 } },
						    plans,
						    SNAPSHOT_MAX_PLANS + 1 };
	const struct license_add no_plans = { { { 0 } }, NULL, 1 };
	char *text = (char *)"untouched";

	(void)state;
	assert_int_equal(encode_assign_license(adds, SNAPSHOT_MAX_SKUS + 1,
					       NULL, 0, &text),
			 -EINVAL);
	assert_int_equal(encode_assign_license(NULL, 0, removes,
					       SNAPSHOT_MAX_SKUS + 1, &text),
			 -EINVAL);
	assert_int_equal(encode_assign_license(NULL, 1, NULL, 0, &text),
			 -EINVAL);
	assert_int_equal(encode_assign_license(NULL, 0, NULL, 1, &text),
			 -EINVAL);
	assert_int_equal(
		encode_assign_license(&too_many_plans, 1, NULL, 0, &text),
		-EINVAL);
	assert_int_equal(encode_assign_license(&no_plans, 1, NULL, 0, &text),
			 -EINVAL);
	assert_string_equal(text, "untouched");
	assert_int_equal(encode_assign_license(adds, SNAPSHOT_MAX_SKUS, removes,
					       SNAPSHOT_MAX_SKUS, &text),
			 0);
	free(text);
}

/* ---- usageLocation ---------------------------------------------------- */

static void test_usage_location(void **state)
{
	static const char *const bad[] = { "", "D", "D1", "1D", "DEU", "D-" };
	char *text = NULL;

	(void)state;
	assert_int_equal(encode_usage_location("DE", &text), 0);
	assert_string_equal(text, "{\"usageLocation\":\"DE\"}");
	free(text);
	assert_int_equal(encode_usage_location("us", &text), 0);
	assert_string_equal(text, "{\"usageLocation\":\"US\"}");
	free(text);
	text = (char *)"untouched";
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(encode_usage_location(bad[i], &text), -EINVAL);
	assert_int_equal(encode_usage_location(NULL, &text), -EINVAL);
	assert_string_equal(text, "untouched");
}

/* ---- $batch ----------------------------------------------------------- */

static void test_batch_matches_docs_example(void **state)
{
	/* the first four requests of the docs example (the fifth carries a
	 * ConsistencyLevel header, which batch_item cannot express) */
	const struct batch_item items[] = {
		{ "1", "GET", "/me/drive/root:/{file}:/content", NULL, NULL },
		{ "2", "GET", "/me/planner/tasks", NULL, NULL },
		{ "3", "GET", "/groups/{id}/events", NULL, NULL },
		{ "4", "PATCH", "/me", "{\n  \"city\" : \"Redmond\"\n}\n",
		  NULL },
	};
	cJSON *want = parse_file("batch.request.json");
	char *text = NULL;

	(void)state;
	cJSON_DeleteItemFromArray(cJSON_GetObjectItem(want, "requests"), 4);
	assert_int_equal(encode_batch(items, 4, &text), 0);
	assert_same_json(parse_owned(text), want);
}

static void test_batch_round_trip(void **state)
{
	char assign[256], *patch = NULL, *text = NULL;
	const struct guid removes[] = { G(SKU_FF) };
	const cJSON *req;
	cJSON *json;
	char *a = NULL;

	(void)state;
	assert_int_equal(encode_usage_location("FR", &patch), 0);
	assert_int_equal(encode_assign_license(NULL, 0, removes, 1, &a), 0);
	(void)snprintf(assign, sizeof(assign), "%s", a);
	free(a);
	{
		const struct batch_item items[] = {
			{ "p0", "PATCH", "/users/" SKU_P2, patch, NULL },
			{ "a0", "POST", "/users/" SKU_P2 "/assignLicense",
			  assign, "p0" },
			{ "g1", "GET", "/users/" SKU_P2 "?$select=id", NULL,
			  NULL },
		};

		assert_int_equal(encode_batch(items, 3, &text), 0);
	}
	json = parse_owned(text);
	assert_int_equal(cJSON_GetArraySize(item(json, "requests")), 3);
	req = cJSON_GetArrayItem(item(json, "requests"), 0);
	assert_string_equal(item(req, "id")->valuestring, "p0");
	assert_string_equal(item(req, "method")->valuestring, "PATCH");
	assert_string_equal(item(req, "url")->valuestring, "/users/" SKU_P2);
	assert_string_equal(
		item(item(req, "headers"), "Content-Type")->valuestring,
		"application/json");
	assert_true(cJSON_IsObject(item(req, "body"))); /* not a string */
	assert_string_equal(
		item(item(req, "body"), "usageLocation")->valuestring, "FR");
	assert_null(cJSON_GetObjectItem(req, "dependsOn"));
	req = cJSON_GetArrayItem(item(json, "requests"), 1);
	assert_true(cJSON_IsArray(item(item(req, "body"), "addLicenses")));
	assert_string_equal(
		cJSON_GetArrayItem(item(req, "dependsOn"), 0)->valuestring,
		"p0");
	assert_int_equal(cJSON_GetArraySize(item(req, "dependsOn")), 1);
	req = cJSON_GetArrayItem(item(json, "requests"), 2);
	assert_null(cJSON_GetObjectItem(req, "headers"));
	assert_null(cJSON_GetObjectItem(req, "body"));
	cJSON_Delete(json);
	free(patch);
}

static void test_batch_limits(void **state)
{
	struct batch_item items[ENCODE_BATCH_MAX + 1];
	char ids[ENCODE_BATCH_MAX + 1][8];
	char *text = NULL;
	cJSON *json;

	(void)state;
	for (size_t i = 0; i <= ENCODE_BATCH_MAX; i++) {
		(void)snprintf(ids[i], sizeof(ids[i]), "%zu", i);
		items[i] = (struct batch_item){ ids[i], "GET", "/users", NULL,
						i ? ids[i - 1] : NULL };
	}
	assert_int_equal(encode_batch(items, ENCODE_BATCH_MAX, &text), 0);
	json = parse_owned(text);
	assert_int_equal(cJSON_GetArraySize(item(json, "requests")),
			 ENCODE_BATCH_MAX);
	cJSON_Delete(json);
	text = (char *)"untouched";
	assert_int_equal(encode_batch(items, ENCODE_BATCH_MAX + 1, &text),
			 -EINVAL);
	assert_int_equal(encode_batch(items, 0, &text), -EINVAL);
	assert_int_equal(encode_batch(NULL, 1, &text), -EINVAL);
	assert_string_equal(text, "untouched");
}

/* A batch of first and second must be refused with -EINVAL. */
static void refuse2(struct batch_item first, struct batch_item second)
{
	const struct batch_item items[] = { first, second };
	char *text = (char *)"untouched";

	assert_int_equal(encode_batch(items, 2, &text), -EINVAL);
	assert_string_equal(text, "untouched");
}

static void test_batch_refused(void **state)
{
	const struct batch_item ok = { "1", "GET", "/me", NULL, NULL };

	(void)state;
	refuse2(ok, (struct batch_item){ "1", "GET", "/me", NULL, NULL });
	refuse2((struct batch_item){ "a", "GET", "/me", NULL, NULL },
		(struct batch_item){ "A", "GET", "/me", NULL, NULL });
	refuse2(ok, (struct batch_item){ "", "GET", "/me", NULL, NULL });
	refuse2(ok, (struct batch_item){ NULL, "GET", "/me", NULL, NULL });
	refuse2(ok, (struct batch_item){ "1234567890123456", "GET", "/me", NULL,
					 NULL });
	refuse2(ok, (struct batch_item){ "2", NULL, "/me", NULL, NULL });
	refuse2(ok, (struct batch_item){ "2", "", "/me", NULL, NULL });
	refuse2(ok, (struct batch_item){ "2", "GET", NULL, NULL, NULL });
	refuse2(ok, (struct batch_item){ "2", "GET", "", NULL, NULL });
	refuse2(ok, (struct batch_item){ "2", "GET",
					 "https://graph.microsoft.com/v1.0/me",
					 NULL, NULL });
	refuse2(ok, (struct batch_item){ "2", "PATCH", "/me", "{", NULL });
	refuse2(ok, (struct batch_item){ "2", "PATCH", "/me", "", NULL });
	refuse2(ok, (struct batch_item){ "2", "PATCH", "/me", "[1]", NULL });
	refuse2(ok,
		(struct batch_item){ "2", "PATCH", "/me", "\"e30=\"", NULL });
	refuse2(ok, (struct batch_item){ "2", "PATCH", "/me", "{} x", NULL });
	refuse2(ok, (struct batch_item){ "2", "PATCH", "/me", "{}{}", NULL });
	refuse2(ok, (struct batch_item){ "2", "GET", "/me", NULL, "3" });
	refuse2(ok, (struct batch_item){ "2", "GET", "/me", NULL, "2" });
}

static void test_batch_escapes(void **state)
{
	const struct batch_item items[] = {
		{ "1\"", "GET", "/users?$filter=startswith(displayName,'a\"b')",
		  "{\"x\":\"\\u00e9\\n\"}", NULL },
	};
	char *text = NULL;
	cJSON *json;
	const cJSON *req;

	(void)state;
	assert_int_equal(encode_batch(items, 1, &text), 0);
	json = parse_owned(text);
	req = cJSON_GetArrayItem(item(json, "requests"), 0);
	assert_string_equal(item(req, "id")->valuestring, "1\"");
	assert_string_equal(item(req, "url")->valuestring, items[0].url);
	assert_string_equal(item(item(req, "body"), "x")->valuestring,
			    "\xc3\xa9\n");
	cJSON_Delete(json);
}

/* cJSON allocations left before the next one fails (OOM tests only). */
static size_t alloc_budget;

static void *limited_malloc(size_t n)
{
	if (alloc_budget == 0)
		return NULL;
	alloc_budget--;
	return malloc(n);
}

/*
 * Run encode with the k-th cJSON allocation failing, for k = 0, 1, ...
 * until it succeeds: every failure is -ENOMEM (or -EINVAL where a body
 * is parsed, which cJSON cannot tell apart), *ret stays untouched, and
 * AddressSanitizer sees no leak.
 */
static void fail_each_allocation(int (*encode)(char **ret), int also)
{
	cJSON_Hooks hooks = { limited_malloc, free };
	size_t budget;
	char *text;
	int r;

	for (budget = 0; budget < 10000; budget++) {
		text = (char *)"untouched";
		alloc_budget = budget;
		cJSON_InitHooks(&hooks);
		r = encode(&text);
		cJSON_InitHooks(NULL);
		if (r == 0)
			break;
		assert_true(r == -ENOMEM || r == also);
		assert_string_equal(text, "untouched");
	}
	assert_int_equal(r, 0);
	assert_true(budget > 2);
	free(text);
}

static int encode_some_assign(char **ret)
{
	const struct guid plans[] = { G(PLAN_M), G(SKU_FF) };
	const struct license_add adds[] = { { G(SKU_P2), plans, 2 },
					    { G(SKU_FF), NULL, 0 } };

	return encode_assign_license(adds, 2, plans, 2, ret);
}

static int encode_some_location(char **ret)
{
	return encode_usage_location("NL", ret);
}

static int encode_some_batch(char **ret)
{
	const struct batch_item items[] = {
		{ "p0", "PATCH", "/users/x", "{\"usageLocation\":\"NL\"}",
		  NULL },
		{ "a0", "POST", "/users/x/assignLicense",
		  "{\"addLicenses\":[],\"removeLicenses\":[\"" SKU_FF "\"]}",
		  "p0" },
		{ "g0", "GET", "/users/y", NULL, NULL },
	};

	return encode_batch(items, 3, ret);
}

static void test_out_of_memory(void **state)
{
	(void)state;
	fail_each_allocation(encode_some_assign, -ENOMEM);
	fail_each_allocation(encode_some_location, -ENOMEM);
	fail_each_allocation(encode_some_batch, -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_assign_matches_beta_add_example),
		cmocka_unit_test(test_assign_matches_beta_remove_example),
		cmocka_unit_test(test_assign_matches_v1_example_lower_case),
		cmocka_unit_test(test_assign_both_arrays_always),
		cmocka_unit_test(test_assign_round_trip),
		cmocka_unit_test(test_assign_refused),
		cmocka_unit_test(test_usage_location),
		cmocka_unit_test(test_batch_matches_docs_example),
		cmocka_unit_test(test_batch_round_trip),
		cmocka_unit_test(test_batch_limits),
		cmocka_unit_test(test_batch_refused),
		cmocka_unit_test(test_batch_escapes),
		cmocka_unit_test(test_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
