/*
 * test_decode: Graph JSON -> model structs (graph/decode_*.c, graph/json.c).
 *
 * The real examples in tests/unit/data/ (copies of shared/data, see the
 * README there) are decoded field by field; every prefix of each of them
 * must fail with -EBADMSG and leave the results untouched; then wrong
 * types, bad GUIDs, limits and the byte-level checks one by one.  Inputs
 * are always copied into buffers of exactly their length, without a NUL,
 * so that AddressSanitizer catches any read past the end.
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

#include "graph/decode.h"
#include "policy/guid.h"
#include "policy/model.h"

#define DATA "tests/unit/data/"

#define USER_A "e61ff361-5baf-41f0-b2fd-380a6a5e406a"
#define USER_B "071cc716-8147-4397-a5ba-b2105951cc0b"
#define SKU_1  "157870f6-e050-4b3c-ad5e-0f0a377c8f4d"
#define SKU_2  "1f3174e2-ee9d-49e9-b917-e8d84650f895"
#define SKU_3  "240622ac-b9b8-4d50-94e2-dad19a3bf4b5"
#define SKU_P2 "84a661c4-e949-4bd2-a560-ed7766fcaf2b"
#define SKU_FF "f30db892-07e9-47e9-837c-80727f46fd3d"
#define PLAN_M "8a256a2b-b617-496d-b51b-e76466e88db0"

/* ---- helpers ---------------------------------------------------------- */

/* A growing string for generated bodies (capacity doubles). */
struct sb {
	char *s;
	size_t len;
	size_t cap;
};

static void sb_add(struct sb *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = 2 * (b->len + (size_t)n + 1);
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
	va_start(ap, fmt);
	(void)vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* len bytes of s in a buffer of exactly that size (no NUL). */
static char *exact(const char *s, size_t len)
{
	char *buf = malloc(len ? len : 1);

	assert_non_null(buf);
	memcpy(buf, s, len);
	return buf;
}

/* A file of tests/unit/data/, NUL-terminated for convenience. */
static char *load(const char *name, size_t *ret_len)
{
	char path[256];
	char *buf;
	long n;
	FILE *f;

	(void)snprintf(path, sizeof(path), DATA "%s", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	(void)fclose(f);
	*ret_len = (size_t)n;
	return buf;
}

static struct guid G(const char *s) {
	struct guid g;

	assert_int_equal(guid_parse(s, &g), 0);
	return g;
}

static void
assert_guid(const struct guid *g, const char *s)
{
	char text[GUID_STRLEN + 1];

	guid_format(g, text);
	assert_string_equal(text, s);
}

/*
 * Each run_* decodes len bytes of json (copied to an exact buffer), checks
 * that a failure leaves every result untouched and names a reason, frees
 * what a success returned, and gives back the result code.  The reason
 * goes to reason when it is not NULL.
 */
static char sentinel;

static void check_reason(int r, const struct decode_error *e, char *reason)
{
	if (r < 0)
		assert_true(e->text[0] != '\0');
	else
		assert_string_equal(e->text, "untouched");
	if (reason)
		(void)snprintf(reason, sizeof(e->text), "%s", e->text);
}

static int run_skus(const char *json, size_t len, char *reason)
{
	struct decode_error e = { "untouched" };
	struct sku *v = (struct sku *)(void *)&sentinel;
	size_t n = 77;
	char *buf = exact(json, len);
	int r = decode_skus(buf, len, &v, &n, &e);

	free(buf);
	check_reason(r, &e, reason);
	if (r == 0)
		decode_skus_free(v, n);
	else
		assert_true(v == (void *)&sentinel && n == 77);
	return r;
}

static int run_page(const char *json, size_t len, char *reason)
{
	struct decode_error e = { "untouched" };
	struct user_page p, before;
	char *buf = exact(json, len);
	int r;

	memset(&p, 0x5a, sizeof(p));
	before = p;
	r = decode_user_page(buf, len, &p, &e);
	free(buf);
	check_reason(r, &e, reason);
	if (r == 0)
		decode_user_page_clear(&p);
	else
		assert_memory_equal(&p, &before, sizeof(p));
	return r;
}

static int run_group(const char *json, size_t len, char *reason)
{
	struct decode_error e = { "untouched" };
	struct guid id = G(USER_B), before = id;
	char *name = &sentinel, *buf = exact(json, len);
	int r = decode_group(buf, len, &id, &name, &e);

	free(buf);
	check_reason(r, &e, reason);
	if (r == 0)
		free(name);
	else
		assert_true(name == &sentinel && guid_equal(&id, &before));
	return r;
}

static int run_error(const char *json, size_t len, char *reason)
{
	struct graph_error_body b = { "code?", "message?" };
	char *buf = exact(json, len);
	int r = decode_graph_error(buf, len, &b);

	free(buf);
	if (r < 0) {
		assert_string_equal(b.code, "code?");
		assert_string_equal(b.message, "message?");
	}
	if (reason)
		reason[0] = '\0';
	return r;
}

static int run_token(const char *json, size_t len, char *reason)
{
	struct decode_error e = { "untouched" };
	struct token_reply t, before;
	char *buf = exact(json, len);
	int r;

	memset(&t, 0x5a, sizeof(t));
	before = t;
	r = decode_token(buf, len, &t, &e);
	free(buf);
	check_reason(r, &e, reason);
	if (r == 0)
		decode_token_clear(&t);
	else
		assert_memory_equal(&t, &before, sizeof(t));
	return r;
}

static int run_batch(const char *json, size_t len, char *reason)
{
	struct decode_error e = { "untouched" };
	struct batch_reply *v = (struct batch_reply *)(void *)&sentinel;
	size_t n = 77;
	char *buf = exact(json, len);
	int r = decode_batch(buf, len, &v, &n, &e);

	free(buf);
	check_reason(r, &e, reason);
	if (r == 0)
		decode_batch_free(v, n);
	else
		assert_true(v == (void *)&sentinel && n == 77);
	return r;
}

typedef int (*run_fn)(const char *json, size_t len, char *reason);

/* Decoding text must fail with -EBADMSG and exactly this reason. */
static void refuse(run_fn run, const char *text, const char *want)
{
	char reason[256];
	int r = run(text, strlen(text), reason);

	if (r != -EBADMSG || strcmp(reason, want) != 0)
		fail_msg("got %d '%s'\n  want '%s'\n  for %.300s", r, reason,
			 want, text);
}

static void decodes(run_fn run, const char *text)
{
	char reason[256];
	int r = run(text, strlen(text), reason);

	if (r != 0)
		fail_msg("got %d '%s'\n  for %.300s", r, reason, text);
}

/*
 * Every strict prefix of text that cuts into the JSON value fails with
 * -EBADMSG; cutting only trailing blanks changes nothing.
 */
static void every_cut_fails(run_fn run, const char *name, const char *text,
			    size_t len)
{
	size_t end = len;

	while (end > 0 && strchr(" \t\r\n", text[end - 1]))
		end--;
	for (size_t cut = 0; cut < end; cut++) {
		int r = run(text, cut, NULL);

		if (r != -EBADMSG)
			fail_msg("%s cut at %zu of %zu: got %d", name, cut, len,
				 r);
	}
	for (size_t cut = end; cut <= len; cut++)
		assert_int_equal(run(text, cut, NULL), 0);
}

static void every_cut_of_file_fails(run_fn run, const char *name)
{
	size_t len;
	char *text = load(name, &len);

	every_cut_fails(run, name, text, len);
	free(text);
}

/* Decode a page that must succeed; the caller clears it. */
static void page_ok(const char *text, struct user_page *p)
{
	struct decode_error e = { "" };
	size_t len = strlen(text);
	char *buf = exact(text, len);
	int r = decode_user_page(buf, len, p, &e);

	free(buf);
	if (r != 0)
		fail_msg("%s\n  got %d '%s'", text, r, e.text);
}

static void page_file_ok(const char *name, struct user_page *p)
{
	size_t len;
	char *text = load(name, &len);

	page_ok(text, p);
	free(text);
}

/*
 * {"value":[{"id":USER_B,"userPrincipalName":"a@contoso.com"EXTRA}]},
 * with "assignedLicenses":[] added when EXTRA has none.
 */
static char *one_user(const char *extra)
{
	struct sb b = { NULL, 0, 0 };

	sb_add(&b,
	       "{\"value\":[{\"id\":\"" USER_B "\","
	       "\"userPrincipalName\":\"a@contoso.com\"%s%s}]}",
	       extra,
	       strstr(extra, "\"assignedLicenses\"")
		       ? ""
		       : ",\"assignedLicenses\":[]");
	return b.s;
}

static void refuse_user(const char *extra, const char *want)
{
	char *text = one_user(extra);

	refuse(run_page, text, want);
	free(text);
}

/* Decode one_user(extra) and hand back its only user (caller clears). */
static void user_ok(const char *extra, struct user_page *p)
{
	char *text = one_user(extra);

	page_ok(text, p);
	free(text);
	assert_int_equal(p->n_users, 1);
}

/* ---- subscribedSkus --------------------------------------------------- */

static void test_skus_real_example(void **state)
{
	struct decode_error e = { "" };
	struct sku *v = NULL;
	size_t len, n = 0;
	char *text = load("subscribedSkus-list.response.json", &len);

	(void)state;
	assert_int_equal(decode_skus(text, len, &v, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_guid(&v[0].id, "c7df2760-2c81-4ef7-b578-5b5392b571df");
	assert_string_equal(v[0].part_number, "ENTERPRISEPREMIUM");
	assert_true(v[0].is_for_users);
	assert_int_equal(v[0].status, SKU_ENABLED);
	assert_int_equal(v[0].enabled, 25);
	assert_int_equal(v[0].warning, 0);
	assert_int_equal(v[0].suspended, 0);
	assert_int_equal(v[0].locked_out, 0);
	assert_int_equal(v[0].consumed, 14);
	assert_int_equal(v[0].n_plans, 1);
	assert_guid(&v[0].plans[0].id, "8c098270-9dd4-4350-9b30-ba4703f3b36b");
	assert_string_equal(v[0].plans[0].name, "ADALLOM_S_O365");
	assert_false(v[0].plans[0].is_for_users); /* "Company" */
	assert_string_equal(v[1].part_number, "CRMSTANDARD");
	assert_int_equal(v[1].status, SKU_SUSPENDED);
	assert_int_equal(v[1].enabled, 0);
	assert_int_equal(v[1].suspended, 25);
	assert_int_equal(v[1].consumed, 14); /* more than enabled: kept */
	assert_string_equal(v[1].plans[0].name, "CRMSTANDARD");
	assert_true(v[1].plans[0].is_for_users);
	decode_skus_free(v, n);
	free(text);
}

static void test_skus_every_cut_fails(void **state)
{
	(void)state;
	every_cut_of_file_fails(run_skus, "subscribedSkus-list.response.json");
}

static void test_skus_license_details_refused(void **state)
{
	size_t len;
	char *text = load("licenseDetails-list.response.json", &len);
	char reason[256];

	(void)state;
	assert_int_equal(run_skus(text, len, reason), -EBADMSG);
	assert_string_equal(reason, "value[0].consumedUnits: missing");
	free(text);
}

static void test_skus_defaults(void **state)
{
	struct decode_error e = { "" };
	struct sku *v = NULL;
	size_t n = 0;
	static const char text[] =
		"{\"value\":[{\"skuId\":\"6FD2C87F-B296-42F0-B197-"
		"1E91E994B900\","
		"\"skuPartNumber\":\"ENTERPRISEPACK\",\"appliesTo\":"
		"\"Company\","
		"\"capabilityStatus\":\"Frozen\",\"consumedUnits\":0},"
		"{\"skuId\":\"06ebc4ee-1bb5-47dd-8120-11324bc54e06\","
		"\"skuPartNumber\":\"SPE_E5\",\"capabilityStatus\":"
		"\"LockedOut\","
		"\"consumedUnits\":9007199254740992,\"prepaidUnits\":"
		"{\"warning\":3,\"enabled\":null},\"servicePlans\":null},"
		"{\"skuId\":\"06ebc4ee-1bb5-47dd-8120-11324bc54e07\","
		"\"skuPartNumber\":\"X\",\"capabilityStatus\":\"Warning\","
		"\"consumedUnits\":1,\"prepaidUnits\":null,\"servicePlans\":[]}"
		","
		"{\"skuId\":\"06ebc4ee-1bb5-47dd-8120-11324bc54e08\","
		"\"skuPartNumber\":\"Y\",\"capabilityStatus\":\"Deleted\","
		"\"consumedUnits\":-0}]}";
	char *buf = exact(text, strlen(text));

	(void)state;
	assert_int_equal(decode_skus(buf, strlen(text), &v, &n, &e), 0);
	assert_int_equal(n, 4);
	assert_guid(&v[0].id, "6fd2c87f-b296-42f0-b197-1e91e994b900");
	assert_false(v[0].is_for_users);
	assert_int_equal(v[0].status, SKU_OTHER);
	assert_int_equal(v[0].enabled, 0);
	assert_int_equal(v[0].n_plans, 0);
	assert_int_equal(v[1].status, SKU_LOCKED_OUT);
	assert_true(v[1].consumed == INT64_C(9007199254740992));
	assert_int_equal(v[1].warning, 3);
	assert_int_equal(v[1].enabled, 0);
	assert_int_equal(v[2].status, SKU_WARNING);
	assert_int_equal(v[3].status, SKU_DELETED);
	assert_int_equal(v[3].consumed, 0);
	decode_skus_free(v, n);
	free(buf);
}

#define SKU_HEAD                                                               \
	"{\"value\":[{\"skuId\":\"" SKU_1 "\",\"skuPartNumber\":"              \
	"\"P\",\"consumedUnits\":"

static void test_skus_refused(void **state)
{
	(void)state;
	refuse(run_skus, "{}", "value: missing");
	refuse(run_skus, "{\"value\":null}", "value: missing");
	refuse(run_skus, "{\"value\":{}}", "value: not an array");
	refuse(run_skus, "[]", "not a JSON object");
	refuse(run_skus, "{\"value\":[5]}", "value[0]: not an object");
	refuse(run_skus,
	       "{\"value\":[{\"skuPartNumber\":\"P\",\"consumedUnits\":1}]}",
	       "value[0].skuId: missing");
	refuse(run_skus,
	       "{\"value\":[{\"skuId\":\"" SKU_1 "x\",\"skuPartNumber\":"
	       "\"P\",\"consumedUnits\":1}]}",
	       "value[0].skuId: not a GUID");
	refuse(run_skus,
	       "{\"value\":[{\"skuId\":42,\"skuPartNumber\":\"P\","
	       "\"consumedUnits\":1}]}",
	       "value[0].skuId: not a GUID");
	refuse(run_skus,
	       "{\"value\":[{\"skuId\":\"" SKU_1 "\",\"consumedUnits\":1}]}",
	       "value[0].skuPartNumber: missing");
	refuse(run_skus,
	       "{\"value\":[{\"skuId\":\"" SKU_1 "\",\"skuPartNumber\":"
	       "\"\",\"consumedUnits\":1}]}",
	       "value[0].skuPartNumber: missing");
	refuse(run_skus,
	       "{\"value\":[{\"skuId\":\"" SKU_1 "\",\"skuPartNumber\":"
	       "[\"P\"],\"consumedUnits\":1}]}",
	       "value[0].skuPartNumber: not a string");
	refuse(run_skus, SKU_HEAD "1.5}]}",
	       "value[0].consumedUnits: not a whole number");
	refuse(run_skus, SKU_HEAD "-1}]}",
	       "value[0].consumedUnits: out of range");
	refuse(run_skus, SKU_HEAD "9007199254740994}]}",
	       "value[0].consumedUnits: out of range");
	refuse(run_skus, SKU_HEAD "1e400}]}",
	       "value[0].consumedUnits: out of range");
	refuse(run_skus, SKU_HEAD "\"14\"}]}",
	       "value[0].consumedUnits: not a number");
	refuse(run_skus, SKU_HEAD "true}]}",
	       "value[0].consumedUnits: not a number");
	refuse(run_skus, SKU_HEAD "1,\"prepaidUnits\":[]}]}",
	       "value[0].prepaidUnits: not an object");
	refuse(run_skus, SKU_HEAD "1,\"prepaidUnits\":{\"enabled\":\"25\"}}]}",
	       "value[0].prepaidUnits.enabled: not a number");
	refuse(run_skus, SKU_HEAD "1,\"prepaidUnits\":{\"lockedOut\":0.5}}]}",
	       "value[0].prepaidUnits.lockedOut: not a whole number");
	refuse(run_skus, SKU_HEAD "1,\"servicePlans\":{}}]}",
	       "value[0].servicePlans: not an array");
	refuse(run_skus,
	       SKU_HEAD "1,\"servicePlans\":[{\"servicePlanId\":\"" PLAN_M
			"\",\"servicePlanName\":\"MFA\"},{\"servicePlanId\":"
			"\"nope\",\"servicePlanName\":\"X\"}]}]}",
	       "value[0].servicePlans[1].servicePlanId: not a GUID");
	refuse(run_skus,
	       SKU_HEAD "1,\"servicePlans\":[{\"servicePlanId\":\"" PLAN_M
			"\"}]}]}",
	       "value[0].servicePlans[0].servicePlanName: missing");
	refuse(run_skus,
	       SKU_HEAD "1,\"servicePlans\":[{\"servicePlanId\":\"" PLAN_M
			"\",\"servicePlanName\":\"X\",\"appliesTo\":1}]}]}",
	       "value[0].servicePlans[0].appliesTo: not a string");
	refuse(run_skus, SKU_HEAD "1,\"appliesTo\":false}]}",
	       "value[0].appliesTo: not a string");
}

/* n SKUs, the first with n_plans plans; names of name_len bytes. */
static char *many_skus(size_t n, size_t n_plans, size_t name_len)
{
	struct sb b = { NULL, 0, 0 };

	sb_add(&b, "{\"value\":[");
	for (size_t i = 0; i < n; i++) {
		sb_add(&b,
		       "%s{\"skuId\":\"00000000-0000-0000-0000-%012zx\","
		       "\"skuPartNumber\":\"%0*zu\",\"consumedUnits\":%zu,"
		       "\"servicePlans\":[",
		       i ? "," : "", i, (int)name_len, i, i);
		for (size_t k = 0; i == 0 && k < n_plans; k++)
			sb_add(&b,
			       "%s{\"servicePlanId\":\"10000000-0000-0000-"
			       "0000-%012zx\",\"servicePlanName\":\"P%zu\"}",
			       k ? "," : "", k, k);
		sb_add(&b, "]}");
	}
	sb_add(&b, "]}");
	return b.s;
}

static void test_skus_limits(void **state)
{
	char *text;

	(void)state;
	text = many_skus(SNAPSHOT_MAX_SKUS, SNAPSHOT_MAX_PLANS, 4);
	decodes(run_skus, text);
	free(text);
	text = many_skus(SNAPSHOT_MAX_SKUS + 1, 0, 4);
	refuse(run_skus, text, "value: more than 1000 items");
	free(text);
	text = many_skus(1, SNAPSHOT_MAX_PLANS + 1, 4);
	refuse(run_skus, text, "value[0].servicePlans: more than 500 items");
	free(text);
	text = many_skus(1, 0, DECODE_MAX_NAME);
	decodes(run_skus, text);
	free(text);
	text = many_skus(1, 0, DECODE_MAX_NAME + 1);
	refuse(run_skus, text, "value[0].skuPartNumber: longer than 256 bytes");
	free(text);
}

/* ---- pages of users --------------------------------------------------- */

static void test_page_derived_example(void **state)
{
	struct user_page p;
	const struct user *u;

	(void)state;
	page_file_ok("users-page.derived.json", &p);
	assert_int_equal(p.n_users, 2);
	assert_int_equal(p.n_skipped, 2);
	assert_string_equal(p.next_link,
			    "https://graph.microsoft.com/v1.0/groups/" USER_A
			    "/transitiveMembers?$select=id,userPrincipalName,"
			    "accountEnabled,usageLocation,assignedLicenses,"
			    "licenseAssignmentStates&$top=999&$skiptoken=X%"
			    "274453707402000100000017");
	u = &p.users[0];
	assert_guid(&u->id, USER_A);
	assert_string_equal(u->upn, "MeganB@Contoso.com");
	assert_true(u->is_enabled);
	assert_string_equal(u->usage_location, "US");
	assert_int_equal(u->n_assignments, 4); /* all explained by states */
	assert_guid(&u->assignments[0].sku, SKU_1);
	assert_int_equal(u->assignments[0].by, ASSIGNED_DIRECTLY);
	assert_int_equal(u->assignments[0].state, ASSIGNMENT_ACTIVE);
	assert_int_equal(u->assignments[0].error, ASSIGNMENT_ERROR_NONE);
	assert_int_equal(u->assignments[0].n_disabled_plans, 0);
	assert_guid(&u->assignments[1].sku, SKU_2);
	assert_int_equal(u->assignments[1].by, ASSIGNED_BY_GROUP);
	assert_guid(&u->assignments[1].group, USER_A);
	/* one SKU, two sources: both kept (GRAPH.md 3.2) */
	assert_guid(&u->assignments[2].sku, SKU_3);
	assert_int_equal(u->assignments[2].by, ASSIGNED_BY_GROUP);
	assert_int_equal(u->assignments[2].n_disabled_plans, 1);
	assert_guid(&u->assignments[2].disabled_plans[0], USER_A);
	assert_guid(&u->assignments[3].sku, SKU_3);
	assert_int_equal(u->assignments[3].by, ASSIGNED_DIRECTLY);
	assert_int_equal(u->assignments[3].state,
			 ASSIGNMENT_ACTIVE); /* " Active " */
	assert_int_equal(u->assignments[3].error,
			 ASSIGNMENT_ERROR_NONE); /* " None" */
	u = &p.users[1];
	assert_guid(&u->id, USER_B);
	assert_string_equal(u->upn, "AdeleV@Contoso.com");
	assert_false(u->is_enabled);
	assert_string_equal(u->usage_location, "");
	assert_int_equal(u->n_assignments, 2);
	assert_guid(&u->assignments[0].sku, SKU_P2);
	assert_int_equal(u->assignments[0].by, ASSIGNED_BY_GROUP);
	assert_int_equal(u->assignments[0].state, ASSIGNMENT_ERROR);
	assert_int_equal(u->assignments[0].error, ASSIGNMENT_COUNT_VIOLATION);
	assert_guid(&u->assignments[0].disabled_plans[0], PLAN_M);
	assert_guid(&u->assignments[1].sku, SKU_FF);
	assert_int_equal(u->assignments[1].by, ASSIGNED_UNKNOWN);
	assert_int_equal(u->assignments[1].state, ASSIGNMENT_STATE_NONE);
	decode_user_page_clear(&p);
	assert_null(p.users);
	assert_null(p.next_link);
	decode_user_page_clear(&p);
	decode_user_page_clear(NULL);
	decode_user_clear(NULL);
}

static void test_page_last_page(void **state)
{
	struct user_page p;
	const struct user *u;

	(void)state;
	page_file_ok("users-last-page.derived.json", &p);
	assert_int_equal(p.n_users, 1);
	assert_int_equal(p.n_skipped, 0);
	assert_null(p.next_link);
	u = &p.users[0];
	assert_string_equal(u->usage_location, "DE");
	/* "C7DF..." in assignedLicenses is the state's SKU: no extra entry */
	assert_int_equal(u->n_assignments, 1);
	assert_int_equal(u->assignments[0].by, ASSIGNED_DIRECTLY);
	assert_int_equal(u->assignments[0].error, ASSIGNMENT_ERROR_NONE);
	decode_user_page_clear(&p);
}

static void test_page_every_cut_fails(void **state)
{
	(void)state;
	every_cut_of_file_fails(run_page, "users-page.derived.json");
	every_cut_of_file_fails(run_page, "users-last-page.derived.json");
}

static void test_page_docs_examples_refused(void **state)
{
	static const char *const files[] = {
		"group-members-list.response.json",
		"group-transitiveMembers-list.response.json",
		"user-get-licenseAssignmentStates.entra-docs.json",
	};
	char reason[256];

	(void)state;
	/* none of them selects userPrincipalName, which we always do */
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t len;
		char *text = load(files[i], &len);

		assert_int_equal(run_page(text, len, reason), -EBADMSG);
		assert_string_equal(reason,
				    "value[0].userPrincipalName: missing");
		free(text);
	}
}

static void test_page_empty_and_skipped(void **state)
{
	struct user_page p;

	(void)state;
	page_ok("{\"value\":[]}", &p);
	assert_int_equal(p.n_users, 0);
	assert_null(p.next_link);
	decode_user_page_clear(&p);
	page_ok("{\"@odata.nextLink\":null,\"value\":[{\"@odata.type\":"
		"\"#microsoft.graph.device\",\"id\":\"x\"},{\"@odata.type\":"
		"\"#microsoft.graph.orgContact\"},{\"@odata.type\":"
		"\"#microsoft.graph.servicePrincipal\",\"id\":\"" USER_A
		"\"}]}",
		&p);
	assert_int_equal(p.n_users, 0);
	assert_int_equal(p.n_skipped, 3);
	assert_null(p.next_link);
	decode_user_page_clear(&p);
	/* a page may be empty and still have a next page (GRAPH.md 3.3) */
	page_ok("{\"value\":[],\"@odata.nextLink\":\"http://127.0.0.1:8443/"
		"v1.0/users?$skiptoken=abc\"}",
		&p);
	assert_string_equal(p.next_link,
			    "http://127.0.0.1:8443/v1.0/users?$skiptoken=abc");
	decode_user_page_clear(&p);
}

static void test_page_refused(void **state)
{
	(void)state;
	refuse(run_page, "{}", "value: missing");
	refuse(run_page, "{\"value\":null}", "value: missing");
	refuse(run_page, "{\"value\":\"[]\"}", "value: not an array");
	refuse(run_page, "{\"value\":{}}", "value: not an array");
	refuse(run_page, "{\"value\":[null]}", "value[0]: not an object");
	refuse(run_page, "{\"value\":[[]]}", "value[0]: not an object");
	refuse(run_page, "{\"value\":[{\"@odata.type\":1}]}",
	       "value[0].@odata.type: not a string");
	refuse(run_page, "{\"value\":[{\"userPrincipalName\":\"a@b\"}]}",
	       "value[0].id: missing");
	refuse(run_page,
	       "{\"value\":[{\"id\":\"" USER_A "\",\"userPrincipalName\":"
	       "\"a@b\",\"assignedLicenses\":[]},{\"id\":5,"
	       "\"userPrincipalName\":\"c@d\",\"assignedLicenses\":[]}]}",
	       "value[1].id: not a GUID");
	refuse(run_page,
	       "{\"value\":[{\"id\":\"" USER_A "\",\"userPrincipalName\":"
	       "\"a@b\"}]}",
	       "value[0].assignedLicenses: missing");
	refuse(run_page,
	       "{\"value\":[{\"id\":\"" USER_A "\",\"userPrincipalName\":"
	       "\"a@b\",\"assignedLicenses\":null}]}",
	       "value[0].assignedLicenses: missing");
	refuse(run_page,
	       "{\"value\":[{\"id\":\"{" USER_A "}\","
	       "\"userPrincipalName\":\"a@b\"}]}",
	       "value[0].id: not a GUID");
	refuse(run_page, "{\"value\":[{\"id\":\"" USER_A "\"}]}",
	       "value[0].userPrincipalName: missing");
	refuse(run_page,
	       "{\"value\":[{\"id\":\"" USER_A "\",\"userPrincipalName\":"
	       "null}]}",
	       "value[0].userPrincipalName: missing");
	refuse(run_page,
	       "{\"value\":[{\"id\":\"" USER_A "\",\"userPrincipalName\":"
	       "\"a\\nb@c\"}]}",
	       "value[0].userPrincipalName: control character");
	refuse(run_page,
	       "{\"value\":[],\"@odata.nextLink\":\"ftp://graph/v1.0/x\"}",
	       "@odata.nextLink: not an http(s) URL");
	refuse(run_page, "{\"value\":[],\"@odata.nextLink\":\"/v1.0/users\"}",
	       "@odata.nextLink: not an http(s) URL");
	refuse(run_page,
	       "{\"value\":[],\"@odata.nextLink\":\"https://g/v1.0/u?a b\"}",
	       "@odata.nextLink: not an http(s) URL");
	refuse(run_page,
	       "{\"value\":[],\"@odata.nextLink\":\"https://g/\\r\\nX: y\"}",
	       "@odata.nextLink: control character");
	refuse(run_page, "{\"value\":[],\"@odata.nextLink\":1}",
	       "@odata.nextLink: not a string");
}

static void test_page_link_limit(void **state)
{
	struct sb b = { NULL, 0, 0 };
	size_t pad = DECODE_MAX_LINK - strlen("https://g/");

	(void)state;
	sb_add(&b, "{\"value\":[],\"@odata.nextLink\":\"https://g/%0*d\"}",
	       (int)pad, 0);
	decodes(run_page, b.s);
	free(b.s);
	b = (struct sb){ NULL, 0, 0 };
	sb_add(&b, "{\"value\":[],\"@odata.nextLink\":\"https://g/%0*d\"}",
	       (int)pad + 1, 0);
	refuse(run_page, b.s, "@odata.nextLink: longer than 8192 bytes");
	free(b.s);
}

static void test_user_account_enabled(void **state)
{
	struct user_page p;

	(void)state;
	/* missing or null: believed enabled (see decode_user.c read_enabled) */
	user_ok("", &p);
	assert_true(p.users[0].is_enabled);
	decode_user_page_clear(&p);
	user_ok(",\"accountEnabled\":null", &p);
	assert_true(p.users[0].is_enabled);
	decode_user_page_clear(&p);
	user_ok(",\"accountEnabled\":false", &p);
	assert_false(p.users[0].is_enabled);
	decode_user_page_clear(&p);
	refuse_user(",\"accountEnabled\":\"false\"",
		    "value[0].accountEnabled: not a boolean");
	refuse_user(",\"accountEnabled\":0",
		    "value[0].accountEnabled: not a boolean");
}

static void test_user_usage_location(void **state)
{
	struct user_page p;

	(void)state;
	user_ok(",\"usageLocation\":null", &p);
	assert_string_equal(p.users[0].usage_location, "");
	decode_user_page_clear(&p);
	user_ok(",\"usageLocation\":\"\"", &p);
	assert_string_equal(p.users[0].usage_location, "");
	decode_user_page_clear(&p);
	user_ok(",\"usageLocation\":\"gB\"", &p);
	assert_string_equal(p.users[0].usage_location, "GB");
	decode_user_page_clear(&p);
	refuse_user(",\"usageLocation\":\"USA\"",
		    "value[0].usageLocation: not a two-letter country code");
	refuse_user(",\"usageLocation\":\"U1\"",
		    "value[0].usageLocation: not a two-letter country code");
	refuse_user(",\"usageLocation\":\"U\"",
		    "value[0].usageLocation: not a two-letter country code");
	refuse_user(",\"usageLocation\":\"\\u00dcS\"",
		    "value[0].usageLocation: not a two-letter country code");
	refuse_user(",\"usageLocation\":49",
		    "value[0].usageLocation: not a string");
}

static void test_user_upn_limit(void **state)
{
	struct user_page p;
	struct sb b = { NULL, 0, 0 };

	(void)state;
	sb_add(&b,
	       "{\"value\":[{\"id\":\"" USER_A "\",\"userPrincipalName\":"
	       "\"%0*d@x\",\"assignedLicenses\":[]}]}",
	       DECODE_MAX_UPN - 2, 0);
	page_ok(b.s, &p);
	assert_int_equal(strlen(p.users[0].upn), DECODE_MAX_UPN);
	decode_user_page_clear(&p);
	free(b.s);
	b = (struct sb){ NULL, 0, 0 };
	sb_add(&b,
	       "{\"value\":[{\"id\":\"" USER_A "\",\"userPrincipalName\":"
	       "\"%0*d@x\",\"assignedLicenses\":[]}]}",
	       DECODE_MAX_UPN - 1, 0);
	refuse(run_page, b.s,
	       "value[0].userPrincipalName: longer than 1024 bytes");
	free(b.s);
	/* UTF-8 is fine */
	page_ok("{\"value\":[{\"id\":\"" USER_A "\",\"userPrincipalName\":"
		"\"j\xc3\xbcrgen@contoso.com\",\"assignedLicenses\":[]}]}",
		&p);
	assert_string_equal(p.users[0].upn, "j\xc3\xbcrgen@contoso.com");
	decode_user_page_clear(&p);
}

#define STATE(sku, group, state, error)                                        \
	"{\"skuId\":\"" sku "\",\"assignedByGroup\":" group ",\"state\":"      \
	"\"" state "\",\"error\":" error ",\"disabledPlans\":[]}"

static void test_user_assignments(void **state)
{
	struct user_page p;
	const struct user *u;

	(void)state;
	/* states null: nothing known; a duplicate SKU counted once */
	user_ok(",\"assignedLicenses\":[],\"licenseAssignmentStates\":null",
		&p);
	assert_int_equal(p.users[0].n_assignments, 0);
	decode_user_page_clear(&p);
	user_ok(",\"assignedLicenses\":[{\"skuId\":\"" SKU_1 "\","
		"\"disabledPlans\":[\"" PLAN_M "\"]},{\"skuId\":\"" SKU_1 "\"},"
		"{\"skuId\":\"" SKU_2 "\",\"disabledPlans\":null}]",
		&p);
	u = &p.users[0];
	assert_int_equal(u->n_assignments, 2);
	assert_int_equal(u->assignments[0].by, ASSIGNED_UNKNOWN);
	assert_int_equal(u->assignments[0].n_disabled_plans, 1);
	assert_guid(&u->assignments[0].disabled_plans[0], PLAN_M);
	assert_int_equal(u->assignments[1].by, ASSIGNED_UNKNOWN);
	assert_int_equal(u->assignments[1].n_disabled_plans, 0);
	decode_user_page_clear(&p);
	/* longest state and error that fit */
	user_ok(",\"licenseAssignmentStates\":[" STATE(
			SKU_1, "null", "1234567890123456789",
			"\"123456789012345678901234567890123456789\"") "]",
		&p);
	/* words Graph may add later: known as "other" */
	assert_int_equal(p.users[0].assignments[0].state,
			 ASSIGNMENT_STATE_OTHER);
	assert_int_equal(p.users[0].assignments[0].error,
			 ASSIGNMENT_ERROR_OTHER);
	decode_user_page_clear(&p);
}

static void test_user_assignments_refused(void **state)
{
	(void)state;
	refuse_user(",\"assignedLicenses\":{}",
		    "value[0].assignedLicenses: not an array");
	refuse_user(",\"assignedLicenses\":[\"" SKU_1 "\"]",
		    "value[0].assignedLicenses[0]: not an object");
	refuse_user(",\"assignedLicenses\":[{\"disabledPlans\":[]}]",
		    "value[0].assignedLicenses[0].skuId: missing");
	refuse_user(",\"assignedLicenses\":[{\"skuId\":\"" SKU_1 "\","
		    "\"disabledPlans\":[\"" PLAN_M "\",\"MFA_PREMIUM\"]}]",
		    "value[0].assignedLicenses[0].disabledPlans[1]: not a "
		    "GUID");
	refuse_user(",\"assignedLicenses\":[{\"skuId\":\"" SKU_1 "\","
		    "\"disabledPlans\":[null]}]",
		    "value[0].assignedLicenses[0].disabledPlans[0]: not a "
		    "GUID");
	refuse_user(",\"licenseAssignmentStates\":[" STATE(
			    SKU_1, "\"group\"", "Active", "null") "]",
		    "value[0].licenseAssignmentStates[0].assignedByGroup: "
		    "not a GUID");
	refuse_user(",\"licenseAssignmentStates\":[" STATE(
			    SKU_1, "null", "12345678901234567890", "null") "]",
		    "value[0].licenseAssignmentStates[0].state: longer than "
		    "19 bytes");
	refuse_user(",\"licenseAssignmentStates\":[" STATE(
			    SKU_1, "null", "Error",
			    "\"1234567890123456789012345678901234567890\"") "]",
		    "value[0].licenseAssignmentStates[0].error: longer than 39 "
		    "bytes");
	refuse_user(",\"licenseAssignmentStates\":[" STATE(SKU_1, "null",
							   "Active", "7") "]",
		    "value[0].licenseAssignmentStates[0].error: not a string");
	refuse_user(",\"licenseAssignmentStates\":[{\"skuId\":\"" SKU_1 "\","
		    "\"disabledPlans\":\"" PLAN_M "\"}]",
		    "value[0].licenseAssignmentStates[0].disabledPlans: not "
		    "an array");
}

/* A user with n_states state entries and n_unknown other SKUs. */
static char *user_with(size_t n_states, size_t n_unknown)
{
	struct sb b = { NULL, 0, 0 };

	sb_add(&b, "{\"value\":[{\"id\":\"" USER_A "\",\"userPrincipalName\":"
		   "\"a@b\",\"licenseAssignmentStates\":[");
	for (size_t i = 0; i < n_states; i++)
		sb_add(&b,
		       "%s{\"skuId\":\"00000000-0000-0000-0000-%012zx\","
		       "\"assignedByGroup\":null,\"state\":\"Active\"}",
		       i ? "," : "", i);
	sb_add(&b, "],\"assignedLicenses\":[");
	for (size_t i = 0; i < n_unknown; i++)
		sb_add(&b,
		       "%s{\"skuId\":\"10000000-0000-0000-0000-%012zx\","
		       "\"disabledPlans\":[]}",
		       i ? "," : "", i);
	sb_add(&b, "]}]}");
	return b.s;
}

static void test_user_assignment_limits(void **state)
{
	char *text;

	(void)state;
	text = user_with(SNAPSHOT_MAX_ASSIGNMENTS, 0);
	decodes(run_page, text);
	free(text);
	text = user_with(SNAPSHOT_MAX_ASSIGNMENTS + 1, 0);
	refuse(run_page, text,
	       "value[0].licenseAssignmentStates: more than 200 items");
	free(text);
	text = user_with(0, SNAPSHOT_MAX_ASSIGNMENTS + 1);
	refuse(run_page, text,
	       "value[0].assignedLicenses: more than 200 items");
	free(text);
	text = user_with(150, 50);
	decodes(run_page, text);
	free(text);
	text = user_with(150, 51);
	refuse(run_page, text, "value[0]: more than 200 license assignments");
	free(text);
}

static void test_page_object_limit(void **state)
{
	struct sb b = { NULL, 0, 0 };

	(void)state;
	sb_add(&b, "{\"value\":[");
	for (size_t i = 0; i <= DECODE_MAX_PAGE_OBJECTS; i++)
		sb_add(&b, "%s{\"@odata.type\":\"#microsoft.graph.device\"}",
		       i ? "," : "");
	sb_add(&b, "]}");
	refuse(run_page, b.s, "value: more than 10000 items");
	free(b.s);
}

/* ---- bytes and syntax, through one decoder ---------------------------- */

static void test_bytes_refused(void **state)
{
	char reason[256];

	(void)state;
	refuse(run_page, "", "empty body");
	refuse(run_page, "{\"value\":[]} x",
	       "text after the JSON value at "
	       "byte 13");
	refuse(run_page, "{\"value\":[]}{}",
	       "text after the JSON value at "
	       "byte 12");
	refuse(run_page, "{\"value\":[}", "not valid JSON (at byte 10)");
	refuse(run_page, "{\"value\":[\"a\tb\"]}",
	       "control character in a string at byte 12");
	refuse(run_page, "{\"value\":[],\"x\":\"a\\u0000b\"}",
	       "\\u0000 in a string at byte 18");
	refuse(run_page, "{\"value\":[],\"x\":\"\xff\"}",
	       "invalid UTF-8 at byte 17");
	refuse(run_page, "{\"value\":[],\"x\":\"\xc0\xaf\"}",
	       "invalid UTF-8 at byte 17");
	refuse(run_page, "{\"value\":[],\"x\":\"\xed\xa0\x80\"}",
	       "invalid UTF-8 at byte 17");
	refuse(run_page, "{\"value\":[],\"x\":\"\xe2\x82\"}",
	       "invalid UTF-8 at byte 17");
	refuse(run_page, "{\"value\":[]}\x01", "control character at byte 12");
	refuse(run_page, "{\"value\":[],\"x\":\"\\ud800\"}",
	       "not valid JSON (at byte 17)");
	decodes(run_page, " \r\n\t{\"value\":[],\"x\":\"\xe2\x82\xac\"} \n");
	/* a NUL inside the length is not the end of the text */
	assert_int_equal(run_page("{\"value\":[]}\0junk", 17, reason),
			 -EBADMSG);
	assert_string_equal(reason, "control character at byte 12");
	/* NULL with length 0 */
	{
		struct user_page p;
		struct decode_error e;

		assert_int_equal(decode_user_page(NULL, 0, &p, &e), -EBADMSG);
		assert_string_equal(e.text, "empty body");
	}
}

/* {"value":[],"x":[[...]]} nested to depth in total. */
static char *nested(size_t depth)
{
	struct sb b = { NULL, 0, 0 };

	sb_add(&b, "{\"value\":[],\"x\":");
	for (size_t i = 1; i < depth; i++)
		sb_add(&b, "[");
	for (size_t i = 1; i < depth; i++)
		sb_add(&b, "]");
	sb_add(&b, "}");
	return b.s;
}

static void test_depth_limit(void **state)
{
	char *text;

	(void)state;
	text = nested(DECODE_MAX_DEPTH);
	decodes(run_page, text);
	free(text);
	text = nested(DECODE_MAX_DEPTH + 1);
	refuse(run_page, text, "nested deeper than 32 at byte 47");
	free(text);
	text = nested(2000); /* deeper than cJSON's own limit */
	refuse(run_page, text, "nested deeper than 32 at byte 47");
	free(text);
	/* brackets inside strings do not count */
	decodes(run_page, "{\"value\":[],\"x\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[["
			  "[[[[[[[[[[[[[[[[\\\"{{{{\"}");
}

/* ---- groups ----------------------------------------------------------- */

static void test_group(void **state)
{
	static const char text[] =
		"{\"@odata.context\":\"https://graph.microsoft.com/v1.0/"
		"$metadata#groups(id,displayName)/$entity\",\"id\":"
		"\"E61FF361-5BAF-41F0-B2FD-380A6A5E406A\",\"displayName\":"
		"\"Sales \xe2\x80\x93 EMEA\"}";
	struct decode_error e = { "" };
	struct guid id;
	char *name = NULL, *buf = exact(text, strlen(text));

	(void)state;
	assert_int_equal(decode_group(buf, strlen(text), &id, &name, &e), 0);
	assert_guid(&id, USER_A);
	assert_string_equal(name, "Sales \xe2\x80\x93 EMEA");
	free(name);
	free(buf);
	every_cut_fails(run_group, "group", text, strlen(text));
	decodes(run_group, "{\"id\":\"" USER_A "\",\"displayName\":null}");
	decodes(run_group, "{\"@odata.type\":\"#microsoft.graph.group\","
			   "\"id\":\"" USER_A "\"}");
	refuse(run_group, "{\"displayName\":\"x\"}", "id: missing");
	refuse(run_group, "{\"id\":\"" USER_A "0\"}", "id: not a GUID");
	refuse(run_group, "{\"id\":\"" USER_A "\",\"displayName\":[]}",
	       "displayName: not a string");
	refuse(run_group,
	       "{\"@odata.type\":\"#microsoft.graph.user\","
	       "\"id\":\"" USER_A "\"}",
	       "@odata.type: not a group");
	refuse(run_group, "{\"error\":{\"code\":\"Request_ResourceNotFound\"}}",
	       "id: missing");
}

/* ---- error bodies ----------------------------------------------------- */

static void error_file(const char *name, struct graph_error_body *b)
{
	size_t len;
	char *text = load(name, &len);
	char *buf = exact(text, len);

	assert_int_equal(decode_graph_error(buf, len, b), 0);
	free(buf);
	free(text);
}

static void test_graph_error_real_examples(void **state)
{
	struct graph_error_body b;
	size_t len;
	char *text;

	(void)state;
	error_file("assignLicense-error-invalid-usage-location.response.json",
		   &b);
	assert_string_equal(b.code, "Request_BadRequest");
	assert_string_equal(b.message, "License assignment cannot be done for "
				       "user with invalid usage location.");
	error_file("throttling-429.response.json", &b);
	assert_string_equal(b.code, "TooManyRequests");
	assert_string_equal(b.message, "Please retry again later.");
	text = load("assignLicense-error-invalid-usage-location.response.json",
		    &len);
	every_cut_fails(run_error, "usage-location error", text, len);
	free(text);
}

static void refuse_error(const char *text)
{
	assert_int_equal(run_error(text, strlen(text), NULL), -EBADMSG);
}

static void test_graph_error_shapes(void **state)
{
	struct graph_error_body b;
	struct sb s = { NULL, 0, 0 };
	char *buf;

	(void)state;
	refuse_error("{\"error\":\"invalid_client\"}");
	refuse_error("<html>Bad gateway</html>");
	refuse_error("{\"value\":[]}");
	refuse_error("{\"error\":null}");
	refuse_error("[{\"error\":{}}]");
	assert_int_equal(decode_graph_error(NULL, 0, &b), -EBADMSG);
	/* tolerant inside: missing and odd members read as "" */
	buf = exact("{\"error\":{\"code\":5,\"message\":\"a\\r\\nb\"}}", 39);
	assert_int_equal(decode_graph_error(buf, 39, &b), 0);
	assert_string_equal(b.code, "");
	assert_string_equal(b.message, "a  b");
	free(buf);
	/* a long message is cut between characters */
	sb_add(&s, "{\"error\":{\"code\":\"%0100d\",\"message\":\"", 0);
	for (size_t i = 0; i < 1000; i++)
		sb_add(&s, "\xc3\xa9");
	sb_add(&s, "\"}}");
	buf = exact(s.s, s.len);
	assert_int_equal(decode_graph_error(buf, s.len, &b), 0);
	assert_int_equal(strlen(b.code), sizeof(b.code) - 1);
	assert_int_equal(strlen(b.message), 382); /* 383 would split a char */
	assert_memory_equal(b.message + 380, "\xc3\xa9", 2);
	free(buf);
	free(s.s);
}

/* ---- tokens ----------------------------------------------------------- */

#define TOKEN "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJncmFwaCJ9.c2ln"

static void token_ok(const char *text, struct token_reply *t)
{
	struct decode_error e = { "" };
	char *buf = exact(text, strlen(text));
	int r = decode_token(buf, strlen(text), t, &e);

	free(buf);
	if (r != 0)
		fail_msg("%s\n  got %d '%s'", text, r, e.text);
}

static void test_token_v2_and_imds(void **state)
{
	static const char v2[] =
		"{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		"\"ext_expires_in\":3599,\"access_token\":\"" TOKEN "\"}";
	static const char imds[] =
		"{\"access_token\":\"" TOKEN "\",\"refresh_token\":\"\","
		"\"expires_in\":\"3599\",\"expires_on\":\"1506484173\","
		"\"not_before\":\"1506480273\",\"resource\":"
		"\"https://graph.microsoft.com/\",\"token_type\":\"Bearer\"}";
	struct token_reply t;

	(void)state;
	token_ok(v2, &t);
	assert_string_equal(t.access_token, TOKEN);
	assert_int_equal(t.expires_in, 3599);
	assert_string_equal(t.error, "");
	assert_int_equal(t.aadsts, 0);
	decode_token_clear(&t);
	assert_null(t.access_token);
	decode_token_clear(NULL);
	token_ok(imds, &t);
	assert_string_equal(t.access_token, TOKEN);
	assert_int_equal(t.expires_in, 3599);
	decode_token_clear(&t);
	every_cut_fails(run_token, "v2 token", v2, strlen(v2));
	every_cut_fails(run_token, "IMDS token", imds, strlen(imds));
}

/* A failure's reason never carries the token. */
static void refuse_token(const char *expires_in, const char *want)
{
	struct sb b = { NULL, 0, 0 };
	char reason[256];

	sb_add(&b, "{\"access_token\":\"" TOKEN "\"%s%s}",
	       expires_in ? ",\"expires_in\":" : "",
	       expires_in ? expires_in : "");
	assert_int_equal(run_token(b.s, b.len, reason), -EBADMSG);
	assert_string_equal(reason, want);
	assert_null(strstr(reason, "eyJ"));
	free(b.s);
}

static void test_token_refused(void **state)
{
	static const char *const bad[] = {
		"\"35x9\"", "\"\"", "0",	 "-1",	   "1.5",   "\"0\"",
		"true",	    "[]",   "\" 3599\"", "\"-5\"", "1e400",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refuse_token(bad[i],
			     "expires_in: not a positive number of seconds");
	refuse_token(NULL, "expires_in: missing");
	refuse_token("null", "expires_in: missing");
	refuse(run_token, "{\"expires_in\":3599}", "access_token: missing");
	refuse(run_token, "{\"access_token\":\"\",\"expires_in\":1}",
	       "access_token: missing");
	refuse(run_token, "{\"access_token\":\"a b\",\"expires_in\":1}",
	       "access_token: contains a space");
	refuse(run_token, "{\"access_token\":\"a\\r\\nb\",\"expires_in\":1}",
	       "access_token: control character");
	refuse(run_token,
	       "{\"access_token\":\"ab\",\"expires_in\":1,"
	       "\"token_type\":\"pop\"}",
	       "token_type: not Bearer");
	refuse(run_token, "{\"error\":5,\"access_token\":\"ab\"}",
	       "error: neither a string nor an object");
	decodes(run_token, "{\"access_token\":\"ab\",\"expires_in\":1,"
			   "\"token_type\":\"bearer\"}");
}

static void test_token_error_bodies(void **state)
{
	static const char aad[] =
		"{\"error\":\"invalid_client\",\"error_description\":"
		"\"AADSTS7000215: Invalid client secret provided.\\r\\n"
		"Trace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333\\r\\n"
		"Correlation ID: aaaa0000-bb11-2222-33cc-444444dddddd\\r\\n"
		"Timestamp: 2025-01-06 12:25:59Z\",\"error_codes\":[7000215],"
		"\"timestamp\":\"2025-01-06 12:25:59Z\",\"trace_id\":"
		"\"0000aaaa-11bb-cccc-dd22-eeeeee333333\",\"error_uri\":"
		"\"https://login.microsoftonline.com/error?code=7000215\"}";
	struct token_reply t;

	(void)state;
	token_ok(aad, &t);
	assert_null(t.access_token);
	assert_string_equal(t.error, "invalid_client");
	assert_int_equal(t.aadsts, 7000215);
	assert_non_null(strstr(t.description, "AADSTS7000215: Invalid client "
					      "secret provided.  Trace ID:"));
	assert_null(strchr(t.description, '\n'));
	decode_token_clear(&t);
	every_cut_fails(run_token, "AAD error", aad, strlen(aad));
	token_ok("{\"error\":\"invalid_request\",\"error_description\":"
		 "\"Identity not found\"}",
		 &t);
	assert_string_equal(t.error, "invalid_request");
	assert_string_equal(t.description, "Identity not found");
	assert_int_equal(t.aadsts, 0);
	decode_token_clear(&t);
	/* an error wins over a token in the same body; odd codes read 0 */
	token_ok("{\"error\":{\"code\":\"temporarily_unavailable\",\"message\":"
		 "\"busy\"},\"access_token\":\"" TOKEN "\",\"expires_in\":1,"
		 "\"error_codes\":[\"x\"]}",
		 &t);
	assert_null(t.access_token);
	assert_string_equal(t.error, "temporarily_unavailable");
	assert_string_equal(t.description, "busy");
	assert_int_equal(t.aadsts, 0);
	decode_token_clear(&t);
}

/* ---- $batch ----------------------------------------------------------- */

static const struct batch_reply *reply(const struct batch_reply *v, size_t n,
				       const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].id, id) == 0)
			return &v[i];
	fail_msg("no reply '%s'", id);
	return NULL;
}

static void test_batch_real_example(void **state)
{
	struct decode_error e = { "" };
	struct batch_reply *v = NULL;
	struct graph_error_body err;
	const struct batch_reply *r;
	size_t len, n = 0;
	char *text = load("batch.response.json", &len);

	(void)state;
	assert_int_equal(decode_batch(text, len, &v, &n, &e), 0);
	assert_int_equal(n, 5);
	assert_string_equal(v[0].id, "1"); /* order as sent by the server */
	assert_string_equal(v[1].id, "3");
	assert_string_equal(v[4].id, "4");
	r = reply(v, n, "1");
	assert_int_equal(r->status, 302);
	assert_null(r->body);
	assert_true(r->retry_after_sec == -1);
	r = reply(v, n, "3");
	assert_int_equal(r->status, 401);
	assert_int_equal(decode_graph_error(r->body, r->body_len, &err), 0);
	assert_string_equal(err.code, "Forbidden");
	r = reply(v, n, "5");
	assert_int_equal(r->status, 200);
	assert_int_equal(r->body_len, strlen(r->body));
	assert_non_null(strstr(r->body, "\"value\":[{\"id\":\"" USER_B "\""));
	r = reply(v, n, "4");
	assert_int_equal(r->status, 204);
	assert_null(r->body); /* "body": null */
	decode_batch_free(v, n);
	decode_batch_free(NULL, 0);
	free(text);
	every_cut_of_file_fails(run_batch, "batch.response.json");
}

static void test_batch_as_published_refused(void **state)
{
	size_t len;
	char *text = load("batch.response.as-published.txt", &len);
	char reason[256];

	(void)state;
	assert_int_equal(run_batch(text, len, reason), -EBADMSG);
	free(text);
}

static void test_batch_throttled_out_of_order(void **state)
{
	static const char text[] =
		"{\"responses\":["
		"{\"id\":\"a7\",\"status\":429,\"headers\":{\"retry-after\":"
		"\"2.128\",\"Content-Type\":\"application/json\"},\"body\":"
		"{\"error\":{\"code\":\"TooManyRequests\",\"message\":"
		"\"Please retry again later.\"}}},"
		"{\"id\":\"p7\",\"status\":204,\"body\":null},"
		"{\"id\":\"a3\",\"status\":429,\"headers\":{\"Retry-After\":3}}"
		","
		"{\"id\":\"a1\",\"status\":503,\"headers\":{\"RETRY-AFTER\":"
		"\"10\"}},"
		"{\"id\":\"a2\",\"status\":503,\"headers\":{\"Retry-After\":"
		"\"Wed, 21 Oct 2015 07:28:00 GMT\"}},"
		"{\"id\":\"a0\",\"status\":200,\"headers\":{},\"body\":"
		"{\"id\":\"" USER_B "\",\"usageLocation\":\"DE\"}}]}";
	struct decode_error e = { "" };
	struct batch_reply *v = NULL;
	struct graph_error_body err;
	size_t n = 0;
	char *buf = exact(text, strlen(text));

	(void)state;
	assert_int_equal(decode_batch(buf, strlen(text), &v, &n, &e), 0);
	assert_int_equal(n, 6);
	assert_int_equal(reply(v, n, "a7")->status, 429);
	assert_float_equal(reply(v, n, "a7")->retry_after_sec, 2.128, 1e-9);
	assert_int_equal(decode_graph_error(reply(v, n, "a7")->body,
					    reply(v, n, "a7")->body_len, &err),
			 0);
	assert_string_equal(err.code, "TooManyRequests");
	assert_true(reply(v, n, "p7")->retry_after_sec == -1);
	assert_null(reply(v, n, "p7")->body);
	assert_float_equal(reply(v, n, "a3")->retry_after_sec, 3, 0);
	assert_float_equal(reply(v, n, "a1")->retry_after_sec, 10, 0);
	assert_true(reply(v, n, "a2")->retry_after_sec == -1);
	/* an HTTP date is kept for graph.c, which has a clock */
	assert_string_equal(reply(v, n, "a2")->retry_after,
			    "Wed, 21 Oct 2015 07:28:00 GMT");
	assert_string_equal(reply(v, n, "a1")->retry_after, "");
	assert_string_equal(reply(v, n, "a0")->body,
			    "{\"id\":\"" USER_B "\",\"usageLocation\":\"DE\"}");
	decode_batch_free(v, n);
	free(buf);
	every_cut_fails(run_batch, "throttled batch", text, strlen(text));
}

/* {"responses":[R]} with one inner response R. */
static void refuse_reply(const char *inner, const char *want)
{
	struct sb b = { NULL, 0, 0 };

	sb_add(&b, "{\"responses\":[%s]}", inner);
	refuse(run_batch, b.s, want);
	free(b.s);
}

static void test_batch_refused(void **state)
{
	struct sb b = { NULL, 0, 0 };

	(void)state;
	refuse(run_batch, "{}", "responses: missing");
	refuse(run_batch, "{\"responses\":{}}", "responses: not an array");
	refuse(run_batch, "{\"error\":{\"code\":\"BadRequest\"}}",
	       "responses: missing");
	refuse_reply("1", "responses[0]: not an object");
	refuse_reply("{\"id\":\"1\",\"status\":200},{\"id\":\"1\","
		     "\"status\":200}",
		     "responses[1].id: repeated");
	refuse_reply("{\"id\":\"a1\",\"status\":200},{\"id\":\"A1\","
		     "\"status\":200}",
		     "responses[1].id: repeated");
	refuse_reply("{\"id\":\"1234567890123456\",\"status\":200}",
		     "responses[0].id: longer than 15 bytes");
	refuse_reply("{\"id\":1,\"status\":200}",
		     "responses[0].id: not a string");
	refuse_reply("{\"id\":\"\",\"status\":200}",
		     "responses[0].id: missing");
	refuse_reply("{\"status\":200}", "responses[0].id: missing");
	refuse_reply("{\"id\":\"1\"}", "responses[0].status: missing");
	refuse_reply("{\"id\":\"1\",\"status\":\"200\"}",
		     "responses[0].status: not a number");
	refuse_reply("{\"id\":\"1\",\"status\":200.5}",
		     "responses[0].status: not a whole number");
	refuse_reply("{\"id\":\"1\",\"status\":99}",
		     "responses[0].status: not an HTTP status");
	refuse_reply("{\"id\":\"1\",\"status\":600}",
		     "responses[0].status: not an HTTP status");
	refuse_reply("{\"id\":\"1\",\"status\":200,\"headers\":[]}",
		     "responses[0].headers: not an object");
	decodes(run_batch,
		"{\"responses\":[{\"id\":\"123456789012345\","
		"\"status\":200,\"headers\":null,\"body\":\"e30=\"}]}");
	decodes(run_batch, "{\"responses\":[]}");
	sb_add(&b, "{\"responses\":[");
	for (int i = 0; i < 21; i++)
		sb_add(&b, "%s{\"id\":\"%d\",\"status\":200}", i ? "," : "", i);
	sb_add(&b, "]}");
	refuse(run_batch, b.s, "responses: more than 20 items");
	free(b.s);
}

/* ---- out of memory ---------------------------------------------------- */

/* cJSON allocations left before the next one fails. */
static size_t alloc_budget;

static void *limited_malloc(size_t n)
{
	if (alloc_budget == 0)
		return NULL;
	alloc_budget--;
	return malloc(n);
}

/*
 * Decode with the k-th cJSON allocation failing, for k = 0, 1, ... until
 * it succeeds.  cJSON's parser reports running out as bad syntax, so
 * -EBADMSG is allowed besides -ENOMEM; the run_* checks make sure the
 * results stay untouched, and AddressSanitizer that nothing leaks.
 */
static void fail_each_allocation(run_fn run, const char *name)
{
	cJSON_Hooks hooks = { limited_malloc, free };
	size_t len, budget;
	char *text = load(name, &len);
	int r = -1;

	for (budget = 0; budget < 100000 && r != 0; budget++) {
		alloc_budget = budget;
		cJSON_InitHooks(&hooks);
		r = run(text, len, NULL);
		cJSON_InitHooks(NULL);
		assert_true(r == 0 || r == -EBADMSG || r == -ENOMEM);
	}
	assert_int_equal(r, 0);
	free(text);
}

static void test_out_of_memory(void **state)
{
	(void)state;
	fail_each_allocation(run_batch, "batch.response.json");
	fail_each_allocation(run_page, "users-page.derived.json");
	fail_each_allocation(run_skus, "subscribedSkus-list.response.json");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skus_real_example),
		cmocka_unit_test(test_skus_every_cut_fails),
		cmocka_unit_test(test_skus_license_details_refused),
		cmocka_unit_test(test_skus_defaults),
		cmocka_unit_test(test_skus_refused),
		cmocka_unit_test(test_skus_limits),
		cmocka_unit_test(test_page_derived_example),
		cmocka_unit_test(test_page_last_page),
		cmocka_unit_test(test_page_every_cut_fails),
		cmocka_unit_test(test_page_docs_examples_refused),
		cmocka_unit_test(test_page_empty_and_skipped),
		cmocka_unit_test(test_page_refused),
		cmocka_unit_test(test_page_link_limit),
		cmocka_unit_test(test_user_account_enabled),
		cmocka_unit_test(test_user_usage_location),
		cmocka_unit_test(test_user_upn_limit),
		cmocka_unit_test(test_user_assignments),
		cmocka_unit_test(test_user_assignments_refused),
		cmocka_unit_test(test_user_assignment_limits),
		cmocka_unit_test(test_page_object_limit),
		cmocka_unit_test(test_bytes_refused),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_graph_error_real_examples),
		cmocka_unit_test(test_graph_error_shapes),
		cmocka_unit_test(test_token_v2_and_imds),
		cmocka_unit_test(test_token_refused),
		cmocka_unit_test(test_token_error_bodies),
		cmocka_unit_test(test_batch_real_example),
		cmocka_unit_test(test_batch_as_published_refused),
		cmocka_unit_test(test_batch_throttled_out_of_order),
		cmocka_unit_test(test_batch_refused),
		cmocka_unit_test(test_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
