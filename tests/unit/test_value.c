/*
 * test_value: the scalar parsers of config/value.c.
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

#include "config/value.h"

/* value_duration() of s, which must fail with err, leaves *ret alone. */
static void assert_duration_fails(const char *s, int err)
{
	uint64_t v = 12345;

	assert_int_equal(value_duration(s, &v), err);
	assert_int_equal(v, 12345);
}

static uint64_t duration(const char *s)
{
	uint64_t v = 0;

	assert_int_equal(value_duration(s, &v), 0);
	return v;
}

static void test_duration_suffixes(void **state)
{
	(void)state;
	assert_int_equal(duration("90s"), 90);
	assert_int_equal(duration("15m"), 15 * 60);
	assert_int_equal(duration("24h"), 24 * 3600);
	assert_int_equal(duration("7d"), 7 * 86400);
}

static void test_duration_bare_seconds_and_zero(void **state)
{
	(void)state;
	assert_int_equal(duration("3600"), 3600);
	assert_int_equal(duration("0"), 0);
	assert_int_equal(duration("0s"), 0);
	assert_int_equal(duration("0d"), 0);
	assert_int_equal(duration("007m"), 7 * 60);
}

static void test_duration_malformed(void **state)
{
	(void)state;
	assert_duration_fails("", -EINVAL);
	assert_duration_fails("s", -EINVAL);
	assert_duration_fails("1x", -EINVAL);
	assert_duration_fails("-5", -EINVAL);
	assert_duration_fails("+5", -EINVAL);
	assert_duration_fails(" 5", -EINVAL);
	assert_duration_fails("5 m", -EINVAL);
	assert_duration_fails("5m ", -EINVAL);
	assert_duration_fails("15M", -EINVAL);
	assert_duration_fails("1h30m", -EINVAL);
	assert_duration_fails("1.5h", -EINVAL);
	assert_duration_fails("0x10", -EINVAL);
	assert_duration_fails("5ss", -EINVAL);
}

static void test_duration_max_boundaries(void **state)
{
	(void)state;
	assert_int_equal(VALUE_DURATION_MAX, 315360000);
	assert_int_equal(duration("315360000"), VALUE_DURATION_MAX);
	assert_int_equal(duration("315360000s"), VALUE_DURATION_MAX);
	assert_int_equal(duration("5256000m"), VALUE_DURATION_MAX);
	assert_int_equal(duration("87600h"), VALUE_DURATION_MAX);
	assert_int_equal(duration("3650d"), VALUE_DURATION_MAX);
	assert_duration_fails("315360001", -ERANGE);
	assert_duration_fails("315360001s", -ERANGE);
	assert_duration_fails("5256001m", -ERANGE);
	assert_duration_fails("87601h", -ERANGE);
	assert_duration_fails("3651d", -ERANGE);
}

static void test_duration_overflow(void **state)
{
	(void)state;
	/* 2^64 and beyond: strtoull overflows, not only our limit. */
	assert_duration_fails("18446744073709551616", -ERANGE);
	assert_duration_fails("18446744073709551615d", -ERANGE);
	assert_duration_fails("99999999999999999999999d", -ERANGE);
	/* 2^64 / 86400 + 1 days would wrap around if multiplied. */
	assert_duration_fails("213503982334602d", -ERANGE);
}

static void assert_format(uint64_t sec, const char *want)
{
	char buf[32];

	value_format_duration(sec, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void test_format_duration_picks_largest_exact_unit(void **state)
{
	(void)state;
	assert_format(0, "0s");
	assert_format(59, "59s");
	assert_format(90, "90s");
	assert_format(900, "15m");
	assert_format(3600, "1h");
	assert_format(86400, "24h");
	assert_format(36 * 3600, "36h");
	assert_format(6 * 86400, "144h");
	assert_format(7 * 86400, "7d");
	assert_format(7 * 86400 + 3600, "169h");
	assert_format(VALUE_DURATION_MAX, "3650d");
}

static void test_format_duration_round_trips(void **state)
{
	static const uint64_t secs[] = { 0,
					 1,
					 59,
					 60,
					 61,
					 90,
					 900,
					 3599,
					 3600,
					 5400,
					 86399,
					 86400,
					 129600,
					 604800,
					 604801,
					 1209600,
					 VALUE_DURATION_MAX - 1,
					 VALUE_DURATION_MAX };
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		value_format_duration(secs[i], buf, sizeof(buf));
		assert_int_equal(duration(buf), secs[i]);
	}
}

static void test_format_duration_truncates_safely(void **state)
{
	char buf[3] = "xx";

	(void)state;
	value_format_duration(900, buf, sizeof(buf));
	assert_string_equal(buf, "15");
}

static void assert_bool(const char *s, bool want)
{
	bool b = !want;

	assert_int_equal(value_bool(s, &b), 0);
	assert_int_equal(b, want);
}

static void test_bool_spellings_any_case(void **state)
{
	(void)state;
	assert_bool("yes", true);
	assert_bool("YES", true);
	assert_bool("true", true);
	assert_bool("True", true);
	assert_bool("on", true);
	assert_bool("ON", true);
	assert_bool("1", true);
	assert_bool("no", false);
	assert_bool("No", false);
	assert_bool("false", false);
	assert_bool("FALSE", false);
	assert_bool("off", false);
	assert_bool("oFf", false);
	assert_bool("0", false);
}

static void test_bool_rejects_others(void **state)
{
	static const char *const bad[] = {
		"",   "y",    "n",    "t",	"f",	"2",
		"01", " yes", "yes ", "enable", "nope", "truefalse"
	};
	bool b = true;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(value_bool(bad[i], &b), -EINVAL);
		assert_true(b);
	}
}

static void test_uint_range_edges(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(value_uint("0", 0, 100, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(value_uint("100", 0, 100, &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(value_uint("1", 1, 1, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(value_uint("18446744073709551615", 0, UINT64_MAX, &v),
			 0);
	assert_true(v == UINT64_MAX);
	v = 7;
	assert_int_equal(value_uint("101", 0, 100, &v), -ERANGE);
	assert_int_equal(value_uint("0", 1, 100, &v), -ERANGE);
	assert_int_equal(value_uint("18446744073709551616", 0, UINT64_MAX, &v),
			 -ERANGE);
	assert_int_equal(v, 7);
}

static void test_uint_rejects_sign_space_and_junk(void **state)
{
	static const char *const bad[] = { "",	  "+1",	 "-1",	 " 1",
					   "1 ",  "\t1", "1x",	 "0x1",
					   "1e3", "1.0", "1,000" };
	uint64_t v = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(value_uint(bad[i], 0, 100000, &v), -EINVAL);
	assert_int_equal(v, 7);
}

/* value_list() of s must give exactly the n items of want. */
static void assert_list(const char *s, const char *const *want, size_t n)
{
	char **items = NULL;
	size_t n_items = 99;

	assert_int_equal(value_list(s, &items, &n_items), 0);
	assert_int_equal(n_items, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(items[i], want[i]);
	value_list_free(items, n_items);
}

static void assert_list_fails(const char *s, int err)
{
	char **items = NULL;
	size_t n = 99;

	assert_int_equal(value_list(s, &items, &n), err);
	assert_null(items);
	assert_int_equal(n, 99);
}

static void test_list_separators(void **state)
{
	static const char *const abc[] = { "a", "b", "c" };

	(void)state;
	assert_list("a,b,c", abc, 3);
	assert_list("a, b, c", abc, 3);
	assert_list("a b c", abc, 3);
	assert_list("a\tb\tc", abc, 3);
	assert_list("a ,b\t, c", abc, 3);
	assert_list("  a, b c\t", abc, 3);
	assert_list("a, b,\tc", abc, 3);
}

static void test_list_trailing_comma_accepted(void **state)
{
	static const char *const ab[] = { "a", "b" };

	(void)state;
	assert_list("a, b,", ab, 2);
	assert_list("a, b, \t", ab, 2);
}

static void test_list_empty_items_rejected(void **state)
{
	(void)state;
	assert_list_fails(",a", -EINVAL);
	assert_list_fails(" , a", -EINVAL);
	assert_list_fails("a,,b", -EINVAL);
	assert_list_fails("a, ,b", -EINVAL);
	assert_list_fails("a,,", -EINVAL);
	assert_list_fails(",", -EINVAL);
}

static void test_list_empty_string_gives_no_items(void **state)
{
	(void)state;
	assert_list("", NULL, 0);
	assert_list(" \t ", NULL, 0);
}

static void test_list_keeps_other_characters(void **state)
{
	static const char *const want[] = { "x@y.com", "A;B", "é" };

	(void)state;
	assert_list("x@y.com A;B,é", want, 3);
}

/* "a a a ... a" with n items. */
static char *repeated_list(size_t n)
{
	char *s = malloc(2 * n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = 'a';
		s[2 * i + 1] = ',';
	}
	s[2 * n - 1] = '\0';
	return s;
}

static void test_list_max_items(void **state)
{
	char *max = repeated_list(VALUE_LIST_MAX);
	char *over = repeated_list(VALUE_LIST_MAX + 1);
	char **items = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(value_list(max, &items, &n), 0);
	assert_int_equal(n, VALUE_LIST_MAX);
	value_list_free(items, n);
	assert_list_fails(over, -E2BIG);
	free(max);
	free(over);
}

static void test_list_free_accepts_null(void **state)
{
	(void)state;
	value_list_free(NULL, 0);
}

static void assert_url_ok(const char *s, bool allow_local_http)
{
	const char *why = NULL;

	assert_int_equal(value_url(s, allow_local_http, &why), 0);
	assert_null(why);
}

static void assert_url_bad(const char *s, bool allow_local_http,
			   const char *want_why)
{
	const char *why = NULL;

	assert_int_equal(value_url(s, allow_local_http, &why), -EINVAL);
	assert_non_null(why);
	assert_string_equal(why, want_why);
}

static void test_url_https_with_port_and_path(void **state)
{
	(void)state;
	assert_url_ok("https://login.microsoftonline.com", false);
	assert_url_ok("https://login.microsoftonline.com/", false);
	assert_url_ok("HTTPS://graph.microsoft.com", false);
	assert_url_ok("https://graph.example.com:8443", false);
	assert_url_ok("https://graph.example.com:1/a/b", false);
	assert_url_ok("https://graph.example.com:65535/", false);
	assert_url_ok("https://127.0.0.1:8443", false);
	assert_url_ok("https://[::1]:8443/x", false);
}

static void test_url_local_http_only_when_allowed(void **state)
{
	static const char *const why =
		"plain http is only accepted for the managed identity "
		"endpoint on 169.254.169.254, 127.0.0.1 or localhost";
	static const char *const https = "plain http is not accepted here; "
					 "use https";

	(void)state;
	assert_url_ok("http://127.0.0.1", true);
	assert_url_ok("http://127.0.0.1:8080/token", true);
	assert_url_ok("http://localhost:8080", true);
	assert_url_ok("http://LOCALHOST", true);
	assert_url_ok("http://169.254.169.254", true);
	assert_url_ok("http://169.254.169.254/metadata/identity", true);
	assert_url_bad("http://127.0.0.1", false, https);
	assert_url_bad("http://localhost:8080", false, https);
	assert_url_bad("http://169.254.169.254", false, https);
	assert_url_bad("http://graph.microsoft.com", false, https);
	assert_url_bad("http://127.0.0.2", true, why);
	assert_url_bad("http://localhost.evil.com", true, why);
	assert_url_bad("http://graph.microsoft.com", true, why);
}

static void test_url_rejects_query_fragment_userinfo(void **state)
{
	static const char *const query =
		"a query or fragment is not allowed here";
	static const char *const user =
		"user names and passwords do not belong in the URL";

	(void)state;
	assert_url_bad("https://h.example.com/?a=1", false, query);
	assert_url_bad("https://h.example.com?a", false, query);
	assert_url_bad("https://h.example.com/x#frag", false, query);
	assert_url_bad("https://user:pw@h.example.com", false, user);
	assert_url_bad("https://user@h.example.com/", false, user);
	assert_url_bad("http://user@127.0.0.1", true, user);
}

static void test_url_rejects_bad_port_and_host(void **state)
{
	(void)state;
	assert_url_bad("https://h.example.com:", false, "malformed port");
	assert_url_bad("https://h.example.com:0", false, "malformed port");
	assert_url_bad("https://h.example.com:65536", false, "malformed port");
	assert_url_bad("https://h.example.com:-80", false, "malformed port");
	assert_url_bad("https://h.example.com:8o", false, "malformed port");
	assert_url_bad("https://h.example.com:12345678", false,
		       "malformed port");
	assert_url_bad("https://", false, "no host");
	assert_url_bad("https:///path", false, "no host");
	assert_url_bad("https://:443", false, "no host");
	assert_url_bad("https://[::1", false, "unterminated IPv6 address");
	assert_url_bad("https://h_x.example.com", false,
		       "the host holds a character URLs do not allow");
	assert_url_bad("https://h x", false,
		       "the host holds a character URLs do not allow");
}

static void test_url_rejects_other_schemes(void **state)
{
	static const char *const why = "use https://HOST[:PORT][/PATH]";

	(void)state;
	assert_url_bad("", false, why);
	assert_url_bad("login.microsoftonline.com", false, why);
	assert_url_bad("ftp://h.example.com", true, why);
	assert_url_bad("https:/h.example.com", false, why);
	assert_url_bad("httpsx://h.example.com", false, why);
}

static void test_proxy_schemes(void **state)
{
	static const char *const ok[] = {
		"http://proxy:3128",	  "https://proxy.example.com:443",
		"socks4://10.0.0.1:1080", "socks5://proxy:1080",
		"socks5h://proxy:1080",	  "HTTP://proxy",
	};
	const char *why = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(value_proxy(ok[i], &why), 0);
	assert_null(why);
}

static void test_proxy_rejects(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_int_equal(value_proxy("proxy:3128", &why), -EINVAL);
	assert_string_equal(why, "use http://HOST:PORT or socks5://HOST:PORT");
	assert_int_equal(value_proxy("ftp://proxy:21", &why), -EINVAL);
	assert_string_equal(why, "use http://HOST:PORT or socks5://HOST:PORT");
	assert_int_equal(value_proxy("http://u:p@proxy:3128", &why), -EINVAL);
	assert_string_equal(why,
			    "user names and passwords do not belong in the "
			    "URL");
	assert_int_equal(value_proxy("socks5://proxy:99999", &why), -EINVAL);
	assert_string_equal(why, "malformed port");
}

static void test_tenant_guid_and_domains(void **state)
{
	(void)state;
	assert_true(value_is_tenant("72f988bf-86f1-41af-91ab-2d7cd011db47"));
	assert_true(value_is_tenant("72F988BF-86F1-41AF-91AB-2D7CD011DB47"));
	assert_true(value_is_tenant("contoso.onmicrosoft.com"));
	assert_true(value_is_tenant("contoso.com"));
	assert_true(value_is_tenant("my-org.example.co.uk"));
	assert_true(value_is_tenant("x1.io"));
}

static void test_tenant_rejects_bad_labels(void **state)
{
	char label64[80];

	(void)state;
	memset(label64, 'a', 64);
	(void)snprintf(label64 + 64, sizeof(label64) - 64, ".com");
	assert_false(value_is_tenant(""));
	assert_false(value_is_tenant("contoso"));
	assert_false(value_is_tenant(".contoso.com"));
	assert_false(value_is_tenant("contoso.com."));
	assert_false(value_is_tenant("contoso..com"));
	assert_false(value_is_tenant("-contoso.com"));
	assert_false(value_is_tenant("contoso-.com"));
	assert_false(value_is_tenant("con_toso.com"));
	assert_false(value_is_tenant("con toso.com"));
	assert_false(value_is_tenant("contoso.com/x"));
	assert_false(value_is_tenant("72f988bf-86f1-41af-91ab-2d7cd011db4g"));
	assert_false(value_is_tenant(label64));
	label64[1] = '.'; /* now a 1-char and a 62-char label */
	assert_true(value_is_tenant(label64));
}

static void test_closest_within_two_edits(void **state)
{
	static const char *const keys[] = { "tenant_id", "client_id",
					    "authority", "graph" };

	(void)state;
	assert_string_equal(value_closest("tenantid", keys, 4), "tenant_id");
	assert_string_equal(value_closest("TENANT_ID", keys, 4), "tenant_id");
	assert_string_equal(value_closest("clientid_", keys, 4), "client_id");
	assert_string_equal(value_closest("grap", keys, 4), "graph");
	assert_string_equal(value_closest("graphs", keys, 4), "graph");
	assert_string_equal(value_closest("autority", keys, 4), "authority");
}

static void test_closest_none_when_far(void **state)
{
	static const char *const keys[] = { "tenant_id", "graph" };

	(void)state;
	assert_null(value_closest("colour", keys, 2));
	assert_null(value_closest("gr", keys, 2));
	assert_null(value_closest("tenant", keys, 2));
	assert_null(value_closest("graph", keys, 0));
}

static void test_closest_prefers_nearest(void **state)
{
	static const char *const keys[] = { "sku", "skus_x", "group" };

	(void)state;
	assert_string_equal(value_closest("skus", keys, 3), "sku");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_suffixes),
		cmocka_unit_test(test_duration_bare_seconds_and_zero),
		cmocka_unit_test(test_duration_malformed),
		cmocka_unit_test(test_duration_max_boundaries),
		cmocka_unit_test(test_duration_overflow),
		cmocka_unit_test(test_format_duration_picks_largest_exact_unit),
		cmocka_unit_test(test_format_duration_round_trips),
		cmocka_unit_test(test_format_duration_truncates_safely),
		cmocka_unit_test(test_bool_spellings_any_case),
		cmocka_unit_test(test_bool_rejects_others),
		cmocka_unit_test(test_uint_range_edges),
		cmocka_unit_test(test_uint_rejects_sign_space_and_junk),
		cmocka_unit_test(test_list_separators),
		cmocka_unit_test(test_list_trailing_comma_accepted),
		cmocka_unit_test(test_list_empty_items_rejected),
		cmocka_unit_test(test_list_empty_string_gives_no_items),
		cmocka_unit_test(test_list_keeps_other_characters),
		cmocka_unit_test(test_list_max_items),
		cmocka_unit_test(test_list_free_accepts_null),
		cmocka_unit_test(test_url_https_with_port_and_path),
		cmocka_unit_test(test_url_local_http_only_when_allowed),
		cmocka_unit_test(test_url_rejects_query_fragment_userinfo),
		cmocka_unit_test(test_url_rejects_bad_port_and_host),
		cmocka_unit_test(test_url_rejects_other_schemes),
		cmocka_unit_test(test_proxy_schemes),
		cmocka_unit_test(test_proxy_rejects),
		cmocka_unit_test(test_tenant_guid_and_domains),
		cmocka_unit_test(test_tenant_rejects_bad_labels),
		cmocka_unit_test(test_closest_within_two_edits),
		cmocka_unit_test(test_closest_none_when_far),
		cmocka_unit_test(test_closest_prefers_nearest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
