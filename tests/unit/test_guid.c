/*
 * test_guid: parsing, formatting, comparing and hashing GUIDs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy/guid.h"

#define LOWER "6fd2c87f-b296-42f0-b197-1e91e994b900"
#define UPPER "6FD2C87F-B296-42F0-B197-1E91E994B900"
#define MIXED "6Fd2C87f-b296-42F0-B197-1e91E994b900"

static const struct guid expected = { { 0x6f, 0xd2, 0xc8, 0x7f, 0xb2, 0x96,
					0x42, 0xf0, 0xb1, 0x97, 0x1e, 0x91,
					0xe9, 0x94, 0xb9, 0x00 } };

static struct guid parse(const char *s)
{
	struct guid g;

	assert_int_equal(guid_parse(s, &g), 0);
	return g;
}

static void test_parse_lower_upper_mixed(void **state)
{
	struct guid a = parse(LOWER), b = parse(UPPER), c = parse(MIXED);

	(void)state;
	assert_memory_equal(a.b, expected.b, 16);
	assert_memory_equal(b.b, expected.b, 16);
	assert_memory_equal(c.b, expected.b, 16);
}

static void test_parse_rejects_bad_shapes(void **state)
{
	static const char *const bad[] = {
		"",
		"6fd2c87f",
		"6fd2c87fb29642f0b1971e91e994b900",
		"{6fd2c87f-b296-42f0-b197-1e91e994b900}",
		"6fd2c87f-b296-42f0-b197-1e91e994b90",
		"6fd2c87f-b296-42f0-b197-1e91e994b9000",
		"6fd2c87f-b296-42f0-b1971-e91e994b900",
		"6fd2c87fb-296-42f0-b197-1e91e994b900",
		"6fd2c87f-b296-42f0-b197-1e91e994b900 ",
		" 6fd2c87f-b296-42f0-b197-1e91e994b900",
		"6fd2c87f_b296_42f0_b197_1e91e994b900",
		"6fd2c87f-b296-42f0-b197--e91e994b900",
	};
	struct guid g = expected;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(guid_is_shaped(bad[i]));
		assert_int_equal(guid_parse(bad[i], &g), -EINVAL);
	}
	assert_memory_equal(g.b, expected.b, 16);
}

static void test_parse_rejects_bad_hex(void **state)
{
	static const char *const bad[] = {
		"6fd2c87g-b296-42f0-b197-1e91e994b900",
		"6fd2c87f-b296-42f0-b197-1e91e994b90z",
		"x6d2c87f-b296-42f0-b197-1e91e994b900",
		"6fd2c87f-b2 6-42f0-b197-1e91e994b900",
		"6fd2c87f-b296-42f0-b197-1e91e994b9+0",
	};
	struct guid g = expected;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(guid_is_shaped(bad[i]));
		assert_int_equal(guid_parse(bad[i], &g), -EINVAL);
	}
	assert_memory_equal(g.b, expected.b, 16);
}

static void test_format_is_lower_case(void **state)
{
	char out[GUID_STRLEN + 1];
	struct guid g = parse(UPPER);

	(void)state;
	guid_format(&g, out);
	assert_string_equal(out, LOWER);
}

static void test_format_parse_round_trip(void **state)
{
	char out[GUID_STRLEN + 1];
	struct guid g, back;

	(void)state;
	for (int i = 0; i < 16; i++)
		g.b[i] = (uint8_t)(i * 17 + 3);
	guid_format(&g, out);
	assert_string_equal(out, "03142536-4758-697a-8b9c-adbecfe0f102");
	back = parse(out);
	assert_true(guid_equal(&g, &back));
}

static void test_equal_and_null(void **state)
{
	struct guid a = parse(LOWER), b = parse(MIXED);
	struct guid c = parse("6fd2c87f-b296-42f0-b197-1e91e994b901");
	struct guid zero = parse("00000000-0000-0000-0000-000000000000");

	(void)state;
	assert_true(guid_equal(&a, &b));
	assert_false(guid_equal(&a, &c));
	assert_true(guid_is_null(&zero));
	assert_false(guid_is_null(&a));
}

static void test_hash_same_for_same_id(void **state)
{
	struct guid a = parse(LOWER), b = parse(UPPER);

	(void)state;
	assert_true(guid_hash(&a) == guid_hash(&b));
}

static void test_hash_differs_for_different_ids(void **state)
{
	struct guid a = parse(LOWER);
	uint64_t h = guid_hash(&a);

	(void)state;
	/* Flip each bit in turn: every single-bit change moves the hash. */
	for (int bit = 0; bit < 128; bit++) {
		struct guid b = a;

		b.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_false(guid_hash(&b) == h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_lower_upper_mixed),
		cmocka_unit_test(test_parse_rejects_bad_shapes),
		cmocka_unit_test(test_parse_rejects_bad_hex),
		cmocka_unit_test(test_format_is_lower_case),
		cmocka_unit_test(test_format_parse_round_trip),
		cmocka_unit_test(test_equal_and_null),
		cmocka_unit_test(test_hash_same_for_same_id),
		cmocka_unit_test(test_hash_differs_for_different_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
