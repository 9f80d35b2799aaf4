/*
 * test_policy_load: policy INI file(s) -> struct policy
 * (config/policy_load.c over inifile.c, value.c and policy/).
 *
 * Each test runs in its own scratch directory (testutil.h); messages are
 * compared whole, in the order the loader appends them.
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
#include "policy/policy.h"
#include "tests/unit/testutil.h"

#define G1 "1e9b6a8c-2a4f-4c55-9d3e-5f1d2c3b4a59"
#define G2 "7c4e2f1a-9b8d-4e6c-a5f3-2d1b0c9e8f7a"
#define G3 "0d3f5a7c-1e2b-4c8d-9f6a-3b5c7d9e1f2a"

/* Lines 1-3: a complete rule. */
#define RULE "[sales]\ngroup = " G1 "\nsku = ENTERPRISEPACK\n"

static const char *const malformed_name =
	"(a name of letters, digits, '_', '-' and '.', or a GUID)";

/* Load path; it must load without a message. */
static void load_path_ok(const char *path, struct policy *p)
{
	struct diags d = { 0 };
	int r;

	r = policy_load(path, p, &d);
	assert_no_diags(&d);
	assert_int_equal(r, 0);
}

/* Load path; it must fail with exactly want[] and leave *ret alone. */
static void load_path_bad_(const char *path, const char *const *want)
{
	struct policy p, zero;
	struct diags d = { 0 };
	int r;

	memset(&p, 0, sizeof(p));
	memset(&zero, 0, sizeof(zero));
	r = policy_load(path, &p, &d);
	assert_diags_(&d, want);
	assert_int_equal(r, 2);
	assert_memory_equal(&p, &zero, sizeof(p));
	diags_clear(&d);
}

#define load_path_bad(path, ...)                                               \
	load_path_bad_((path), (const char *const[]){ __VA_ARGS__, NULL })

static void load_ok(const char *text, struct policy *p)
{
	tmp_write("policy.ini", 0644, text);
	load_path_ok("policy.ini", p);
}

static void load_bad_(const char *text, const char *const *want)
{
	tmp_write("policy.ini", 0644, text);
	load_path_bad_("policy.ini", want);
}

#define load_bad(text, ...)                                                    \
	load_bad_((text), (const char *const[]){ __VA_ARGS__, NULL })

static void assert_guid(const struct guid *g, const char *want)
{
	char text[GUID_STRLEN + 1];

	guid_format(g, text);
	assert_string_equal(text, want);
}

static void test_minimal_rule(void **state)
{
	struct policy p;

	(void)state;
	load_ok(RULE, &p);
	assert_int_equal(p.n_files, 1);
	assert_string_equal(p.files[0], "policy.ini");
	assert_int_equal(p.n_rules, 1);
	assert_string_equal(p.rules[0].name, "sales");
	assert_ptr_equal(p.rules[0].at.file, p.files[0]);
	assert_int_equal(p.rules[0].at.line, 1);
	assert_int_equal(p.rules[0].n_groups, 1);
	assert_guid(&p.rules[0].groups[0], G1);
	assert_true(p.rules[0].has_sku);
	assert_string_equal(p.rules[0].sku.name, "ENTERPRISEPACK");
	assert_false(p.rules[0].sku.is_id);
	assert_false(p.rules[0].has_plans);
	assert_int_equal(p.rules[0].n_plans, 0);
	assert_string_equal(p.rules[0].usage_location, "");
	assert_string_equal(p.usage_location, "");
	assert_int_equal(p.n_chains, 0);
	assert_int_equal(p.n_excluded_ids + p.n_excluded_upns, 0);
	policy_free(&p);
}

static void test_full_policy(void **state)
{
	struct policy p;

	(void)state;
	load_ok("[defaults]\nusage_location = US\n"
		"[exclude]\nusers = breakglass@contoso.com, " G3 "\n"
		"[precedence]\noffice = SPE_E5 > SPE_E3 > ENTERPRISEPACK\n" RULE
		"disabled_plans = SWAY, YAMMER_ENTERPRISE\n"
		"[engineering-e5] ; a comment\n"
		"group = " G2 "\nsku = SPE_E5\n"
		"enabled_plans = EXCHANGE_S_ENTERPRISE, TEAMS1,\n"
		"  OFFICESUBSCRIPTION\n"
		"usage_location = DE\n",
		&p);
	assert_string_equal(p.usage_location, "US");
	assert_int_equal(p.n_excluded_upns, 1);
	assert_int_equal(p.n_excluded_ids, 1);
	assert_int_equal(p.n_chains, 1);
	assert_int_equal(p.chains[0].n_skus, 3);
	assert_int_equal(p.n_rules, 2);
	assert_int_equal(p.rules[0].at.line, 7);
	assert_int_equal(p.rules[0].n_plans, 2);
	assert_false(p.rules[0].is_allow_list);
	assert_string_equal(p.rules[1].name, "engineering-e5");
	assert_int_equal(p.rules[1].at.line, 11);
	assert_true(p.rules[1].is_allow_list);
	assert_int_equal(p.rules[1].n_plans, 3);
	assert_string_equal(p.rules[1].plans[2].name, "OFFICESUBSCRIPTION");
	assert_string_equal(p.rules[1].usage_location, "DE");
	assert_int_equal(policy_count_groups(&p), 2);
	assert_int_equal(policy_count_skus(&p), 2);
	policy_free(&p);
}

static void test_group_repeatable_and_list(void **state)
{
	struct policy p;

	(void)state;
	load_ok("[r]\nsku = X\ngroup = " G1 ", " G2 "\ngroup = " G3 "\n", &p);
	assert_int_equal(p.rules[0].n_groups, 3);
	assert_guid(&p.rules[0].groups[0], G1);
	assert_guid(&p.rules[0].groups[1], G2);
	assert_guid(&p.rules[0].groups[2], G3);
	policy_free(&p);
}

static void test_duplicate_groups_deduplicated(void **state)
{
	struct policy p;

	(void)state;
	load_ok("[r]\nsku = X\ngroup = " G1 " " G1 "\n"
		"group = 1E9B6A8C-2A4F-4C55-9D3E-5F1D2C3B4A59, " G2 "\n",
		&p);
	assert_int_equal(p.rules[0].n_groups, 2);
	assert_guid(&p.rules[0].groups[0], G1);
	assert_guid(&p.rules[0].groups[1], G2);
	policy_free(&p);
}

static void test_group_continuation_lines(void **state)
{
	struct policy p;

	(void)state;
	load_ok("[r]\ngroup = " G1 ",\n  " G2 "\n\t" G3 "\nsku = X\n", &p);
	assert_int_equal(p.rules[0].n_groups, 3);
	assert_guid(&p.rules[0].groups[2], G3);
	policy_free(&p);
}

/* Regression: inih r55 kept " ; comment" on continuation lines. */
static void test_inline_comment_on_continuation_line(void **state)
{
	struct policy p;

	(void)state;
	load_ok("[exclude]\nusers = a@b.com ; first\n  c@d.com\t; second\n"
		"[r]\ngroup = " G1 ",\n  " G2 " ; sales;eu\nsku = X\n"
		"disabled_plans = SWAY,\n  TEAMS1 ; chat\n",
		&p);
	assert_int_equal(p.n_excluded_upns, 2);
	assert_string_equal(p.excluded_upns[1], "c@d.com");
	assert_int_equal(p.rules[0].n_groups, 2);
	assert_int_equal(p.rules[0].n_plans, 2);
	assert_string_equal(p.rules[0].plans[1].name, "TEAMS1");
	policy_free(&p);
}

static void test_group_limit(void **state)
{
	enum { N = POLICY_MAX_GROUPS + 1 };
	char *text = malloc(64 + N * (GUID_STRLEN + 4));
	size_t len;

	(void)state;
	assert_non_null(text);
	len = (size_t)snprintf(text, 64, "[r]\nsku = X\ngroup =");
	for (unsigned i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, GUID_STRLEN + 5,
					"%s%08x-0000-4000-8000-000000000000\n",
					i ? "  " : " ", i);
	load_bad(text, "policy.ini:1003: more than 1000 groups in rule 'r'");
	free(text);
}

static void test_disabled_plans_continuation_lines(void **state)
{
	struct policy p;

	(void)state;
	load_ok(RULE "disabled_plans = SWAY,\n"
		     "    YAMMER_ENTERPRISE  FORMS_PLAN_E3\n",
		&p);
	assert_true(p.rules[0].has_plans);
	assert_false(p.rules[0].is_allow_list);
	assert_int_equal(p.rules[0].n_plans, 3);
	assert_string_equal(p.rules[0].plans[0].name, "SWAY");
	assert_string_equal(p.rules[0].plans[1].name, "YAMMER_ENTERPRISE");
	assert_string_equal(p.rules[0].plans[2].name, "FORMS_PLAN_E3");
	policy_free(&p);
}

static void test_enabled_plans_allow_list_with_ids(void **state)
{
	struct policy p;

	(void)state;
	load_ok(RULE "enabled_plans = TEAMS1 " G2 "\n", &p);
	assert_true(p.rules[0].is_allow_list);
	assert_int_equal(p.rules[0].n_plans, 2);
	assert_false(p.rules[0].plans[0].is_id);
	assert_true(p.rules[0].plans[1].is_id);
	assert_guid(&p.rules[0].plans[1].id, G2);
	policy_free(&p);
}

static void test_enabled_and_disabled_exclusive(void **state)
{
	(void)state;
	load_bad(RULE "disabled_plans = SWAY\nenabled_plans = TEAMS1\n",
		 "policy.ini:5: 'enabled_plans' and 'disabled_plans' exclude "
		 "each other (the other is on line 4); keep one");
	load_bad(RULE "enabled_plans = TEAMS1\ndisabled_plans = SWAY\n",
		 "policy.ini:5: 'enabled_plans' and 'disabled_plans' exclude "
		 "each other (the other is on line 4); keep one");
}

static void test_duplicate_keys_in_rule(void **state)
{
	(void)state;
	load_bad(RULE "sku = SPE_E3\n"
		      "disabled_plans = SWAY\ndisabled_plans = TEAMS1\n"
		      "usage_location = DE\nusage_location = FR\n",
		 "policy.ini:4: duplicate key 'sku' (first set on line 3)",
		 "policy.ini:6: duplicate key 'disabled_plans' (first set on "
		 "line 5)",
		 "policy.ini:8: duplicate key 'usage_location' (first set on "
		 "line 7)");
}

static void test_malformed_group_id(void **state)
{
	(void)state;
	load_bad("[r]\nsku = X\ngroup = sales-team, " G1 "x\n",
		 "policy.ini:3: malformed group id 'sales-team' (groups are "
		 "given by object id, a GUID)",
		 "policy.ini:3: malformed group id '" G1 "x' (groups are "
		 "given by object id, a GUID)");
	load_bad("[r]\nsku = X\ngroup = 1e9b6a8c-2a4f-4c55-9d3e-5f1d2c3b4a5z\n",
		 "policy.ini:3: malformed group id "
		 "'1e9b6a8c-2a4f-4c55-9d3e-5f1d2c3b4a5z' (groups are given by "
		 "object id, a GUID)");
}

static void test_bad_plan_names(void **state)
{
	char want[256];

	(void)state;
	(void)snprintf(want, sizeof(want),
		       "policy.ini:4: malformed service "
		       "plan 'SWAY!' %s",
		       malformed_name);
	load_bad(RULE "disabled_plans = SWAY! "
		      "6fd2c87g-b296-42f0-b197-1e91e994b900\n",
		 want,
		 "policy.ini:4: malformed GUID "
		 "'6fd2c87g-b296-42f0-b197-1e91e994b900' for service plan");
}

static void test_bad_sku(void **state)
{
	char want[256];

	(void)state;
	(void)snprintf(want, sizeof(want),
		       "policy.ini:3: malformed SKU 'SPE_E3, SPE_E5' %s",
		       malformed_name);
	load_bad("[r]\ngroup = " G1 "\nsku = SPE_E3, SPE_E5\n", want);
}

static void test_sku_by_id(void **state)
{
	struct policy p;

	(void)state;
	load_ok("[r]\ngroup = " G1
		"\nsku = 05E9A617-0261-4CEE-BB44-138D3EF5D965\n",
		&p);
	assert_true(p.rules[0].sku.is_id);
	assert_guid(&p.rules[0].sku.id, "05e9a617-0261-4cee-bb44-138d3ef5d965");
	policy_free(&p);
}

static void test_usage_location_upper_cased(void **state)
{
	struct policy p;

	(void)state;
	load_ok("[defaults]\nusage_location = us\n" RULE
		"usage_location = De\n",
		&p);
	assert_string_equal(p.usage_location, "US");
	assert_string_equal(p.rules[0].usage_location, "DE");
	policy_free(&p);
}

static void test_usage_location_invalid(void **state)
{
	(void)state;
	load_bad("[defaults]\nusage_location = UK\n" RULE
		 "usage_location = USA\n",
		 "policy.ini:2: invalid usage location 'UK' (an ISO 3166-1 "
		 "alpha-2 country code such as US or DE)",
		 "policy.ini:6: invalid usage location 'USA' (an ISO 3166-1 "
		 "alpha-2 country code such as US or DE)");
}

static void test_exclude_ids_and_upns(void **state)
{
	struct policy p;

	(void)state;
	load_ok("[exclude]\n"
		"users = " G1 ", BreakGlass@Contoso.COM\n"
		"  ADMIN@contoso.com\n"
		"users = 7C4E2F1A-9B8D-4E6C-A5F3-2D1B0C9E8F7A\n" RULE,
		&p);
	assert_int_equal(p.n_excluded_ids, 2);
	assert_guid(&p.excluded_ids[0], G1);
	assert_guid(&p.excluded_ids[1], G2);
	assert_int_equal(p.n_excluded_upns, 2);
	assert_string_equal(p.excluded_upns[0], "breakglass@contoso.com");
	assert_string_equal(p.excluded_upns[1], "admin@contoso.com");
	policy_free(&p);
}

static void test_exclude_bad_items(void **state)
{
	(void)state;
	load_bad("[exclude]\nusers = bob, @contoso.com, "
		 "6fd2c87g-b296-42f0-b197-1e91e994b900\n"
		 "user = x@y.com\n" RULE,
		 "policy.ini:2: 'bob' is neither a user object id nor a user "
		 "principal name",
		 "policy.ini:2: '@contoso.com' is neither a user object id nor "
		 "a user principal name",
		 "policy.ini:2: malformed user object id "
		 "'6fd2c87g-b296-42f0-b197-1e91e994b900'",
		 "policy.ini:3: unknown key 'user' in [exclude] (did you mean "
		 "'users'?)");
}

static void test_precedence_parsed(void **state)
{
	struct policy p;

	(void)state;
	load_ok("[precedence]\n"
		"office = SPE_E5 > SPE_E3 > ENTERPRISEPACK\n"
		"visio: VISIOCLIENT>" G2 "\n" RULE,
		&p);
	assert_int_equal(p.n_chains, 2);
	assert_string_equal(p.chains[0].name, "office");
	assert_int_equal(p.chains[0].at.line, 2);
	assert_int_equal(p.chains[0].n_skus, 3);
	assert_string_equal(p.chains[0].skus[0].name, "SPE_E5");
	assert_string_equal(p.chains[0].skus[2].name, "ENTERPRISEPACK");
	assert_string_equal(p.chains[1].name, "visio");
	assert_int_equal(p.chains[1].n_skus, 2);
	assert_string_equal(p.chains[1].skus[0].name, "VISIOCLIENT");
	assert_true(p.chains[1].skus[1].is_id);
	policy_free(&p);
}

static void test_precedence_errors(void **state)
{
	char want[256];

	(void)state;
	(void)snprintf(want, sizeof(want),
		       "policy.ini:5: malformed SKU 'E F' %s", malformed_name);
	load_bad("[precedence]\n"
		 "one = SPE_E5\n"
		 "two = A >\n"
		 "three = > A > B\n"
		 "four = D > E F\n"
		 "ONE = X > Y\n"
		 "  Z > W\n" RULE,
		 "policy.ini:2: precedence 'one' needs at least two SKUs: "
		 "BEST > NEXT",
		 "policy.ini:3: precedence 'two': empty or over-long SKU "
		 "between '>'",
		 "policy.ini:4: precedence 'three': empty or over-long SKU "
		 "between '>'",
		 want,
		 "policy.ini:6: duplicate precedence 'ONE' (first at "
		 "policy.ini:2)",
		 "policy.ini:7: indented line would continue the value of "
		 "'ONE'; remove the indentation");
}

static void test_precedence_cycle_and_two_chains(void **state)
{
	(void)state;
	load_bad("[precedence]\n"
		 "office = A > B > a\n"
		 "other = C > B\n" RULE,
		 "policy.ini:2: precedence 'office': 'a' appears twice (a "
		 "cycle)",
		 "policy.ini:3: precedence 'other': 'B' is already ranked in "
		 "'office' (policy.ini:2)");
}

static void test_defaults_errors(void **state)
{
	(void)state;
	load_bad("[defaults]\nusage_locaton = US\nusage_location = US\n"
		 "  DE\n[Defaults]\nusage_location = FR\n" RULE,
		 "policy.ini:2: unknown key 'usage_locaton' in [defaults] (did "
		 "you mean 'usage_location'?)",
		 "policy.ini:4: indented line would continue the value of "
		 "'usage_location'; remove the indentation",
		 "policy.ini:6: duplicate key 'usage_location' (first set at "
		 "policy.ini:3)");
}

static void test_sections_case_insensitive(void **state)
{
	struct policy p;

	(void)state;
	load_ok("[DEFAULTS]\nusage_location = GB\n"
		"[Exclude]\nusers = a@b.com\n"
		"[Precedence]\no = A > B\n" RULE,
		&p);
	assert_string_equal(p.usage_location, "GB");
	assert_int_equal(p.n_excluded_upns, 1);
	assert_int_equal(p.n_chains, 1);
	assert_int_equal(p.n_rules, 1);
	policy_free(&p);
}

static void test_empty_file(void **state)
{
	(void)state;
	load_bad("", "policy.ini: empty file: no section and no setting");
	load_bad("; nothing\n\n",
		 "policy.ini: empty file: no section and no setting");
}

static void test_no_rules(void **state)
{
	(void)state;
	load_bad("[defaults]\nusage_location = US\n",
		 "policy.ini: no rules: add a section with a 'group' and a "
		 "'sku'");
}

static void test_rule_without_group_or_sku(void **state)
{
	(void)state;
	load_bad("[a]\nsku = X\n[b]\ngroup = " G1 "\n[c]\n",
		 "policy.ini:1: rule 'a' has no 'group'",
		 "policy.ini:3: rule 'b' has no 'sku'",
		 "policy.ini:5: rule 'c' has no 'group'",
		 "policy.ini:5: rule 'c' has no 'sku'");
}

static void test_missing_value(void **state)
{
	(void)state;
	/* Reported once: the empty key, not also "has no 'sku'". */
	load_bad("[r]\ngroup = " G1 "\nsku =\n",
		 "policy.ini:3: missing value for 'sku'");
}

static void test_unknown_rule_key(void **state)
{
	(void)state;
	load_bad(RULE "skus = X\ncolour = red\n",
		 "policy.ini:4: unknown key 'skus' in rule 'sales' (did you "
		 "mean 'sku'?)",
		 "policy.ini:5: unknown key 'colour' in rule 'sales'");
}

static void test_key_outside_section(void **state)
{
	(void)state;
	load_bad("group = " G1 "\n" RULE,
		 "policy.ini:1: 'group' is outside any section");
}

static void test_continuation_after_sku_refused(void **state)
{
	(void)state;
	load_bad(RULE "  SPE_E3\n",
		 "policy.ini:4: indented line would continue the value of "
		 "'sku'; remove the indentation");
}

static void test_duplicate_rule_in_one_file(void **state)
{
	(void)state;
	load_bad(RULE "[Sales]\ngroup = zzz\n",
		 "policy.ini:4: duplicate rule '[Sales]' (first at "
		 "policy.ini:1)");
}

static void test_bad_rule_names_and_their_keys_skipped(void **state)
{
	char text[512];

	(void)state;
	(void)snprintf(text, sizeof(text),
		       "[a\tb]\ngroup = bad\n[%0129d]\nsku = @\n" RULE, 0);
	load_bad(text, "policy.ini:1: control character in section name",
		 "policy.ini:3: rule name longer than 128 characters");
}

static void test_overlong_line(void **state)
{
	char text[512];

	(void)state;
	(void)snprintf(text, sizeof(text),
		       "[r]\ngroup = %s, %s, %s, %s, %s, %s\n"
		       "sku = X\n",
		       G1, G1, G1, G1, G1, G1);
	load_bad(text, "policy.ini:2: line is longer than 198 characters",
		 "policy.ini:1: rule 'r' has no 'group'");
}

static void test_crlf_and_bom(void **state)
{
	struct policy p;

	(void)state;
	load_ok("\xEF\xBB\xBF[r]\r\ngroup = " G1 ",\r\n  " G2 "\r\n"
		"sku = X\r\n",
		&p);
	assert_int_equal(p.rules[0].n_groups, 2);
	assert_string_equal(p.rules[0].name, "r");
	assert_string_equal(p.rules[0].sku.name, "X");
	policy_free(&p);
}

static void test_nul_byte(void **state)
{
	static const char text[] = RULE "\0";

	(void)state;
	tmp_write_bytes("policy.ini", 0644, text, sizeof(text));
	load_path_bad("policy.ini", "policy.ini:4: NUL byte in a text file");
}

static void test_missing_path(void **state)
{
	(void)state;
	load_path_bad("nope.ini",
		      "nope.ini: cannot read: No such file or directory");
}

static void test_every_error_collected(void **state)
{
	(void)state;
	load_bad("[defaults]\n"
		 "usage_location = XX\n"
		 "[exclude]\n"
		 "users = nobody\n"
		 "[precedence]\n"
		 "office = A > A\n"
		 "[r1]\n"
		 "group = not-a-guid\n"
		 "sku = X\n"
		 "[r2]\n"
		 "sku = Y!\n",
		 "policy.ini:2: invalid usage location 'XX' (an ISO 3166-1 "
		 "alpha-2 country code such as US or DE)",
		 "policy.ini:4: 'nobody' is neither a user object id nor a "
		 "user principal name",
		 "policy.ini:8: malformed group id 'not-a-guid' (groups are "
		 "given by object id, a GUID)",
		 "policy.ini:11: malformed SKU 'Y!' (a name of letters, "
		 "digits, '_', '-' and '.', or a GUID)",
		 "policy.ini:10: rule 'r2' has no 'group'",
		 "policy.ini:6: precedence 'office': 'A' appears twice (a "
		 "cycle)");
}

/*
 * Regression: tests/fuzz/crashes/fuzz_policy-crash-e49a3219...: an
 * unknown usage location made policy_is_country() read past its table.
 */
static void test_fuzz_crash_unknown_usage_location(void **state)
{
	(void)state;
	load_bad("; every problem is reported, not only the first\n"
		 "[precedence]\n"
		 "office = SPE_E5 > SPE_E5\n"
		 "\n"
		 "[sales]\n"
		 "group = not-a-guid\n"
		 "sku = ENTERPRISEPACK\n"
		 "disabled_plans = SWAY\n"
		 "enabled_plans = TEAMS1\n"
		 "usage_location = ZZ\n"
		 "\n"
		 "[support]\n"
		 "grop = 7c4e2f1a-9b8d-4e6c-a5f3-2d1b0c9e8f7a\n",
		 "policy.ini:6: malformed group id 'not-a-guid' (groups are "
		 "given by object id, a GUID)",
		 "policy.ini:9: 'enabled_plans' and 'disabled_plans' exclude "
		 "each other (the other is on line 8); keep one",
		 "policy.ini:10: invalid usage location 'ZZ' (an ISO 3166-1 "
		 "alpha-2 country code such as US or DE)",
		 "policy.ini:13: unknown key 'grop' in rule 'support' (did you "
		 "mean 'group'?)",
		 "policy.ini:12: rule 'support' has no 'group'",
		 "policy.ini:12: rule 'support' has no 'sku'",
		 "policy.ini:3: precedence 'office': 'SPE_E5' appears twice (a "
		 "cycle)");
}

/* policy.d with three rule files and files that must be ignored. */
static void write_policy_dir(void)
{
	tmp_mkdir("policy.d");
	tmp_write("policy.d/20-b.ini", 0644, "[b]\ngroup = " G2 "\nsku = B\n");
	tmp_write("policy.d/10-a.ini", 0644,
		  "[defaults]\nusage_location = FR\n\n[a]\ngroup = " G1
		  "\nsku = A\n");
	tmp_write("policy.d/3-c.ini", 0644, "[c]\ngroup = " G3 "\nsku = C\n");
	tmp_write("policy.d/README.txt", 0644, "[x]\n");
	tmp_write("policy.d/.hidden.ini", 0644, "garbage\n");
	tmp_write("policy.d/old.ini.bak", 0644, "garbage\n");
	tmp_write("policy.d/UPPER.INI", 0644, "garbage\n");
	tmp_write("policy.d/.ini", 0644, "garbage\n");
}

static void test_directory_in_lexical_order(void **state)
{
	struct policy p;

	(void)state;
	write_policy_dir();
	load_path_ok("policy.d", &p);
	assert_int_equal(p.n_files, 3);
	assert_string_equal(p.files[0], "policy.d/10-a.ini");
	assert_string_equal(p.files[1], "policy.d/20-b.ini");
	assert_string_equal(p.files[2], "policy.d/3-c.ini");
	assert_int_equal(p.n_rules, 3);
	assert_string_equal(p.rules[0].name, "a");
	assert_ptr_equal(p.rules[0].at.file, p.files[0]);
	assert_int_equal(p.rules[0].at.line, 4);
	assert_string_equal(p.rules[2].name, "c");
	assert_ptr_equal(p.rules[2].at.file, p.files[2]);
	assert_string_equal(p.usage_location, "FR");
	policy_free(&p);
}

static void test_directory_duplicate_rule_names_both_files(void **state)
{
	(void)state;
	write_policy_dir();
	tmp_write("policy.d/30-d.ini", 0644,
		  "; more\n[B]\ngroup = " G1 "\nsku = X\n");
	load_path_bad("policy.d", "policy.d/30-d.ini:2: duplicate rule '[B]' "
				  "(first at policy.d/20-b.ini:1)");
}

static void test_directory_errors_in_each_file(void **state)
{
	(void)state;
	write_policy_dir();
	tmp_write("policy.d/15-x.ini", 0644, "[x]\ngroup = nope\nsku = X\n");
	tmp_write("policy.d/40-y.ini", 0644,
		  "[defaults]\nusage_location = DE\n");
	load_path_bad("policy.d",
		      "policy.d/15-x.ini:2: malformed group id 'nope' (groups "
		      "are given by object id, a GUID)",
		      "policy.d/40-y.ini:2: duplicate key 'usage_location' "
		      "(first set at policy.d/10-a.ini:2)");
}

static void test_rule_does_not_span_files(void **state)
{
	(void)state;
	tmp_mkdir("policy.d");
	tmp_write("policy.d/1.ini", 0644, "[r]\nsku = X\n");
	tmp_write("policy.d/2.ini", 0644, "group = " G1 "\n");
	load_path_bad("policy.d", "policy.d/1.ini:1: rule 'r' has no 'group'",
		      "policy.d/2.ini:1: 'group' is outside any section");
}

static void test_empty_directory(void **state)
{
	(void)state;
	tmp_mkdir("policy.d");
	load_path_bad("policy.d",
		      "policy.d: no *.ini files in the policy directory");
	tmp_write("policy.d/README.txt", 0644, "[r]\n");
	tmp_write("policy.d/.x.ini", 0644, "[r]\n");
	load_path_bad("policy.d",
		      "policy.d: no *.ini files in the policy directory");
}

static void test_directory_of_empty_files(void **state)
{
	(void)state;
	tmp_mkdir("policy.d");
	tmp_write("policy.d/a.ini", 0644, "");
	tmp_write("policy.d/b.ini", 0644, "[defaults]\nusage_location = US\n");
	load_path_bad("policy.d",
		      "policy.d/a.ini: empty file: no section and no setting");
	tmp_write("policy.d/a.ini", 0644, "[exclude]\nusers = a@b.c\n");
	load_path_bad("policy.d", "policy.d: no rules: add a section with a "
				  "'group' and a 'sku'");
}

#define T(f) cmocka_unit_test_setup_teardown(f, tmp_setup, tmp_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_minimal_rule),
		T(test_full_policy),
		T(test_group_repeatable_and_list),
		T(test_duplicate_groups_deduplicated),
		T(test_group_continuation_lines),
		T(test_inline_comment_on_continuation_line),
		T(test_group_limit),
		T(test_disabled_plans_continuation_lines),
		T(test_enabled_plans_allow_list_with_ids),
		T(test_enabled_and_disabled_exclusive),
		T(test_duplicate_keys_in_rule),
		T(test_malformed_group_id),
		T(test_bad_plan_names),
		T(test_bad_sku),
		T(test_sku_by_id),
		T(test_usage_location_upper_cased),
		T(test_usage_location_invalid),
		T(test_exclude_ids_and_upns),
		T(test_exclude_bad_items),
		T(test_precedence_parsed),
		T(test_precedence_errors),
		T(test_precedence_cycle_and_two_chains),
		T(test_defaults_errors),
		T(test_sections_case_insensitive),
		T(test_empty_file),
		T(test_no_rules),
		T(test_rule_without_group_or_sku),
		T(test_missing_value),
		T(test_unknown_rule_key),
		T(test_key_outside_section),
		T(test_continuation_after_sku_refused),
		T(test_duplicate_rule_in_one_file),
		T(test_bad_rule_names_and_their_keys_skipped),
		T(test_overlong_line),
		T(test_crlf_and_bom),
		T(test_nul_byte),
		T(test_missing_path),
		T(test_every_error_collected),
		T(test_fuzz_crash_unknown_usage_location),
		T(test_directory_in_lexical_order),
		T(test_directory_duplicate_rule_names_both_files),
		T(test_directory_errors_in_each_file),
		T(test_rule_does_not_span_files),
		T(test_empty_directory),
		T(test_directory_of_empty_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
