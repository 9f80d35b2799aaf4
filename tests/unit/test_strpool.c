/*
 * test_strpool: interned strings are stored once, stay put while the
 * table grows, and need not come NUL-terminated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "policy/strpool.h"

static void test_same_string_same_pointer(void **state)
{
	struct strpool p = { 0 };
	const char *a = strpool_intern(&p, "sales-e3", 8);
	const char *b = strpool_intern(&p, "sales-e3", 8);
	const char *c = strpool_intern(&p, "sales-e5", 8);

	(void)state;
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, c);
	assert_string_equal(a, "sales-e3");
	assert_string_equal(c, "sales-e5");
	assert_int_equal(p.n, 2);
	strpool_clear(&p);
	assert_int_equal(p.n, 0);
	assert_null(p.slots);
}

static void test_length_not_nul(void **state)
{
	struct strpool p = { 0 };
	const char *a = strpool_intern(&p, "sales-e3 and more", 8);
	const char *empty = strpool_intern(&p, "x", 0);

	(void)state;
	assert_string_equal(a, "sales-e3");
	assert_ptr_equal(a, strpool_intern(&p, "sales-e3", 8));
	assert_string_equal(empty, "");
	/* A prefix is another string. */
	assert_ptr_not_equal(strpool_intern(&p, "sales", 5), a);
	strpool_clear(&p);
}

static void test_pointers_survive_growth(void **state)
{
	struct strpool p = { 0 };
	const char *first[1000];
	char name[32];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		int len = snprintf(name, sizeof(name), "rule-%d", i);

		first[i] = strpool_intern(&p, name, (size_t)len);
		assert_non_null(first[i]);
	}
	assert_int_equal(p.n, 1000);
	assert_true(p.cap >= 2000); /* at most half full */
	for (int i = 0; i < 1000; i++) {
		int len = snprintf(name, sizeof(name), "rule-%d", i);

		assert_ptr_equal(strpool_intern(&p, name, (size_t)len),
				 first[i]);
		assert_string_equal(first[i], name);
	}
	assert_int_equal(p.n, 1000);
	strpool_clear(&p);
	strpool_clear(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_string_same_pointer),
		cmocka_unit_test(test_length_not_nul),
		cmocka_unit_test(test_pointers_survive_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
