/*
 * test_policy: the pure helpers of policy/policy.c.
 *
 * Policies are built in memory here (no files): the loader has its own
 * tests in test_policy_load.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/policy.h"

#define GUID_A "1e9b6a8c-2a4f-4c55-9d3e-5f1d2c3b4a59"
#define GUID_B "7c4e2f1a-9b8d-4e6c-a5f3-2d1b0c9e8f7a"

static struct ref ref(const char *text)
{
	struct ref r;

	assert_int_equal(policy_ref_parse(text, &r), 0);
	return r;
}

static void assert_ref_invalid(const char *text)
{
	char untouched[] = "untouched";
	struct ref r = { untouched, false, { { 0 } } };

	assert_int_equal(policy_ref_parse(text, &r), -EINVAL);
	assert_string_equal(r.name, "untouched");
}

static struct guid guid(const char *s)
{
	struct guid g;

	assert_int_equal(guid_parse(s, &g), 0);
	return g;
}

/*
 * Append a chain named name to p, declared at "policy.ini":line, from a
 * NULL-terminated list of SKU spellings.  Strings are owned by p.
 */
static void add_chain(struct policy *p, const char *name, unsigned line,
		      const char *const *skus)
{
	struct chain *c;

	p->chains = realloc(p->chains, (p->n_chains + 1) * sizeof(*c));
	assert_non_null(p->chains);
	c = &p->chains[p->n_chains++];
	memset(c, 0, sizeof(*c));
	c->name = strdup(name);
	c->at.file = "policy.ini";
	c->at.line = line;
	while (skus[c->n_skus])
		c->n_skus++;
	c->skus = calloc(c->n_skus, sizeof(*c->skus));
	assert_non_null(c->skus);
	for (size_t i = 0; i < c->n_skus; i++)
		c->skus[i] = ref(skus[i]);
}

#define CHAIN(p, name, line, ...)                                              \
	add_chain((p), (name), (line),                                         \
		  (const char *const[]){ __VA_ARGS__, NULL })

/* Append a rule with a SKU (or none when sku is NULL) and its groups. */
static void add_rule(struct policy *p, const char *sku,
		     const char *const *groups)
{
	struct rule *r;

	p->rules = realloc(p->rules, (p->n_rules + 1) * sizeof(*r));
	assert_non_null(p->rules);
	r = &p->rules[p->n_rules++];
	memset(r, 0, sizeof(*r));
	r->name = strdup("rule");
	if (sku) {
		r->sku = ref(sku);
		r->has_sku = true;
	}
	while (groups[r->n_groups])
		r->n_groups++;
	r->groups = calloc(r->n_groups + 1, sizeof(*r->groups));
	assert_non_null(r->groups);
	for (size_t i = 0; i < r->n_groups; i++)
		r->groups[i] = guid(groups[i]);
}

#define RULE(p, sku, ...)                                                      \
	add_rule((p), (sku), (const char *const[]){ __VA_ARGS__, NULL })

/* Run policy_validate; it must return n and produce exactly want[]. */
static void assert_validate(const struct policy *p, int n,
			    const char *const *want)
{
	struct diags d = { 0 };
	char buf[DIAG_TEXT_MAX + 64];
	int i = 0;

	assert_int_equal(policy_validate(p, &d), n);
	for (; want[i]; i++) {
		assert_true((size_t)i < d.n);
		diags_format(&d, (size_t)i, buf, sizeof(buf));
		assert_string_equal(buf, want[i]);
	}
	assert_int_equal(diags_count(&d), i);
	diags_clear(&d);
}

static void test_is_country_assigned_codes(void **state)
{
	(void)state;
	assert_true(policy_is_country("US"));
	assert_true(policy_is_country("DE"));
	assert_true(policy_is_country("GB"));
	assert_true(policy_is_country("AD"));
	assert_true(policy_is_country("ZW"));
}

static void test_is_country_rejects_others(void **state)
{
	static const char *const bad[] = { "us", "De",	"UK", "XX", "",
					   "U",	 "USA", "U1", "EU", " US" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(policy_is_country(bad[i]));
}

/* Regression (fuzz_policy): a code not in the table read past its end. */
static void test_is_country_unknown_code_scans_safely(void **state)
{
	(void)state;
	assert_false(policy_is_country("ZZ"));
	assert_false(policy_is_country("ZX"));
	assert_false(policy_is_country("AA"));
}

static void test_ref_parse_names(void **state)
{
	static const char *const names[] = { "SPE_E5", "ENTERPRISEPACK",
					     "Microsoft_365_E5-x.1", "a" };

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct ref r = ref(names[i]);

		assert_string_equal(r.name, names[i]);
		assert_false(r.is_id);
		free(r.name);
	}
}

static void test_ref_parse_guid_keeps_text(void **state)
{
	struct ref r = ref("6FD2C87F-B296-42F0-B197-1E91E994B900");
	struct guid want = guid("6fd2c87f-b296-42f0-b197-1e91e994b900");

	(void)state;
	assert_true(r.is_id);
	assert_true(guid_equal(&r.id, &want));
	assert_string_equal(r.name, "6FD2C87F-B296-42F0-B197-1E91E994B900");
	free(r.name);
}

static void test_ref_parse_rejects_bad_spellings(void **state)
{
	(void)state;
	assert_ref_invalid("");
	assert_ref_invalid("SPE E5");
	assert_ref_invalid("SPE_E5,");
	assert_ref_invalid("E5+");
	assert_ref_invalid("E5/x");
	assert_ref_invalid("'E5'");
	assert_ref_invalid("ÉCOLE");
	/* GUID-shaped but not hex: not silently taken as a name. */
	assert_ref_invalid("6fd2c87g-b296-42f0-b197-1e91e994b900");
}

static void test_ref_parse_name_length_limit(void **state)
{
	char name[POLICY_NAME_MAX + 2];
	struct ref r;

	(void)state;
	memset(name, 'A', POLICY_NAME_MAX);
	name[POLICY_NAME_MAX] = '\0';
	r = ref(name);
	assert_int_equal(strlen(r.name), POLICY_NAME_MAX);
	free(r.name);
	name[POLICY_NAME_MAX] = 'A';
	name[POLICY_NAME_MAX + 1] = '\0';
	assert_ref_invalid(name);
}

static void test_ref_same_names_ignore_case(void **state)
{
	struct ref a = ref("SPE_E5"), b = ref("spe_e5"), c = ref("SPE_E3");

	(void)state;
	assert_true(policy_ref_same(&a, &b));
	assert_false(policy_ref_same(&a, &c));
	free(a.name);
	free(b.name);
	free(c.name);
}

static void test_ref_same_ids_by_value(void **state)
{
	struct ref a = ref(GUID_A),
		   b = ref("1E9B6A8C-2A4F-4C55-9D3E-5F1D2C3B4A59");
	struct ref c = ref(GUID_B), name = ref("x");

	(void)state;
	assert_true(policy_ref_same(&a, &b));
	assert_false(policy_ref_same(&a, &c));
	assert_false(policy_ref_same(&a, &name));
	assert_false(policy_ref_same(&name, &a));
	free(a.name);
	free(b.name);
	free(c.name);
	free(name.name);
}

static void test_validate_accepts_disjoint_chains(void **state)
{
	struct policy p = { 0 };

	(void)state;
	CHAIN(&p, "office", 3, "SPE_E5", "SPE_E3", "ENTERPRISEPACK");
	CHAIN(&p, "visio", 4, "VISIOCLIENT", "VISIO_PLAN1");
	assert_validate(&p, 0, (const char *const[]){ NULL });
	policy_free(&p);
}

static void test_validate_chain_cycle(void **state)
{
	struct policy p = { 0 };

	(void)state;
	CHAIN(&p, "office", 3, "A", "B", "a");
	assert_validate(
		&p, 1,
		(const char *const[]){ "policy.ini:3: precedence 'office': 'a' "
				       "appears twice (a cycle)",
				       NULL });
	policy_free(&p);
}

static void test_validate_cycle_reported_once_per_repeat(void **state)
{
	struct policy p = { 0 };

	(void)state;
	CHAIN(&p, "office", 3, "A", "A", "A");
	assert_validate(
		&p, 2,
		(const char *const[]){ "policy.ini:3: precedence 'office': 'A' "
				       "appears twice (a cycle)",
				       "policy.ini:3: precedence 'office': 'A' "
				       "appears twice (a cycle)",
				       NULL });
	policy_free(&p);
}

static void test_validate_sku_in_two_chains(void **state)
{
	struct policy p = { 0 };

	(void)state;
	CHAIN(&p, "office", 3, "SPE_E5", "SPE_E3");
	CHAIN(&p, "other", 7, "ENTERPRISEPACK", "spe_e3");
	assert_validate(&p, 1,
			(const char *const[]){
				"policy.ini:7: precedence 'other': 'spe_e3' "
				"is already ranked in 'office' "
				"(policy.ini:3)",
				NULL });
	policy_free(&p);
}

static void test_validate_sku_in_three_chains_names_first(void **state)
{
	struct policy p = { 0 };

	(void)state;
	CHAIN(&p, "one", 2, "A", "B");
	CHAIN(&p, "two", 3, "C", "A");
	CHAIN(&p, "three", 4, "A", "D");
	assert_validate(&p, 2,
			(const char *const[]){
				"policy.ini:3: precedence 'two': 'A' is "
				"already ranked in 'one' (policy.ini:2)",
				"policy.ini:4: precedence 'three': 'A' is "
				"already ranked in 'one' (policy.ini:2)",
				NULL });
	policy_free(&p);
}

static void test_validate_ids_compared_by_value(void **state)
{
	struct policy p = { 0 };

	(void)state;
	CHAIN(&p, "one", 2, GUID_A, "B");
	CHAIN(&p, "two", 5, "C", "1E9B6A8C-2A4F-4C55-9D3E-5F1D2C3B4A59");
	assert_validate(&p, 1,
			(const char *const[]){
				"policy.ini:5: precedence 'two': "
				"'1E9B6A8C-2A4F-4C55-9D3E-5F1D2C3B4A59' is "
				"already ranked in 'one' (policy.ini:2)",
				NULL });
	policy_free(&p);
}

static void test_validate_leaves_rules_to_the_loader(void **state)
{
	struct policy p = { 0 };
	const char *const none[] = { NULL };

	(void)state;
	add_rule(&p, NULL, none);
	assert_validate(&p, 0, (const char *const[]){ NULL });
	policy_free(&p);
}

static void test_count_groups_distinct_over_rules(void **state)
{
	struct policy p = { 0 };

	(void)state;
	assert_int_equal(policy_count_groups(&p), 0);
	RULE(&p, "A", GUID_A, GUID_B);
	RULE(&p, "B", "1E9B6A8C-2A4F-4C55-9D3E-5F1D2C3B4A59");
	RULE(&p, "C", GUID_B, "00000000-0000-0000-0000-000000000001");
	assert_int_equal(policy_count_groups(&p), 3);
	policy_free(&p);
}

static void test_count_skus_distinct_spellings(void **state)
{
	struct policy p = { 0 };

	(void)state;
	assert_int_equal(policy_count_skus(&p), 0);
	RULE(&p, "SPE_E3", GUID_A);
	RULE(&p, "spe_e3", GUID_A);
	RULE(&p, "SPE_E5", GUID_A);
	RULE(&p, NULL, GUID_A);
	RULE(&p, GUID_B, GUID_A);
	RULE(&p, "7C4E2F1A-9B8D-4E6C-A5F3-2D1B0C9E8F7A", GUID_A);
	assert_int_equal(policy_count_skus(&p), 3);
	policy_free(&p);
}

static void test_free_accepts_null_and_zeroes(void **state)
{
	struct policy p = { 0 };

	(void)state;
	policy_free(NULL);
	RULE(&p, "A", GUID_A);
	policy_free(&p);
	assert_null(p.rules);
	assert_int_equal(p.n_rules, 0);
	policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_country_assigned_codes),
		cmocka_unit_test(test_is_country_rejects_others),
		cmocka_unit_test(test_is_country_unknown_code_scans_safely),
		cmocka_unit_test(test_ref_parse_names),
		cmocka_unit_test(test_ref_parse_guid_keeps_text),
		cmocka_unit_test(test_ref_parse_rejects_bad_spellings),
		cmocka_unit_test(test_ref_parse_name_length_limit),
		cmocka_unit_test(test_ref_same_names_ignore_case),
		cmocka_unit_test(test_ref_same_ids_by_value),
		cmocka_unit_test(test_validate_accepts_disjoint_chains),
		cmocka_unit_test(test_validate_chain_cycle),
		cmocka_unit_test(test_validate_cycle_reported_once_per_repeat),
		cmocka_unit_test(test_validate_sku_in_two_chains),
		cmocka_unit_test(test_validate_sku_in_three_chains_names_first),
		cmocka_unit_test(test_validate_ids_compared_by_value),
		cmocka_unit_test(test_validate_leaves_rules_to_the_loader),
		cmocka_unit_test(test_count_groups_distinct_over_rules),
		cmocka_unit_test(test_count_skus_distinct_spellings),
		cmocka_unit_test(test_free_accepts_null_and_zeroes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
