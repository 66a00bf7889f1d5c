#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parse.h"

static void test_u64(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(svm_parse_u64("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(svm_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	v = 7;
	assert_int_equal(svm_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -1);
	assert_int_equal(svm_parse_u64("", 0, 10, &v), -1);
	assert_int_equal(svm_parse_u64("-1", 0, 10, &v), -1);
	assert_int_equal(svm_parse_u64("+1", 0, 10, &v), -1);
	assert_int_equal(svm_parse_u64(" 1", 0, 10, &v), -1);
	assert_int_equal(svm_parse_u64("11", 0, 10, &v), -1);
	assert_int_equal(svm_parse_u64("4", 5, 10, &v), -1);
	assert_int_equal(v, 7);
}

static void test_size(void **state)
{
	uint64_t b = 0;

	(void)state;
	assert_int_equal(svm_parse_size("512", 1ULL << 20, &b), 0);
	assert_true(b == 512ULL << 20);
	assert_int_equal(svm_parse_size("4G", 1ULL << 20, &b), 0);
	assert_true(b == 4ULL << 30);
	assert_int_equal(svm_parse_size("4GiB", 1, &b), 0);
	assert_true(b == 4ULL << 30);
	assert_int_equal(svm_parse_size("4gb", 1, &b), 0);
	assert_true(b == 4ULL << 30);
	assert_int_equal(svm_parse_size("2k", 1, &b), 0);
	assert_true(b == 2048);
	assert_int_equal(svm_parse_size("10B", 1ULL << 20, &b), 0);
	assert_true(b == 10);
	b = 99;
	assert_int_equal(svm_parse_size("", 1, &b), -1);
	assert_int_equal(svm_parse_size("G", 1, &b), -1);
	assert_int_equal(svm_parse_size("1X", 1, &b), -1);
	assert_int_equal(svm_parse_size("1GG", 1, &b), -1);
	assert_int_equal(svm_parse_size("1.5G", 1, &b), -1);
	assert_int_equal(svm_parse_size("-1G", 1, &b), -1);
	assert_int_equal(svm_parse_size("17179869184T", 1, &b), -1);	/* overflow */
	assert_int_equal(svm_parse_size("99999999999999999999999999999999999", 1, &b), -1);
	assert_true(b == 99);
}

static void test_enum(void **state)
{
	static const char *const names[] = { "none", "2M", "1G", NULL };

	(void)state;
	assert_int_equal(svm_parse_enum("1G", names), 2);
	assert_int_equal(svm_parse_enum("1g", names), -1);
	assert_int_equal(svm_parse_enum("", names), -1);
}

static void test_strip_copy_dotdot(void **state)
{
	char buf[] = "  \t key = v \n";
	char small[4];

	(void)state;
	assert_string_equal(svm_strstrip(buf), "key = v");
	assert_int_equal(svm_strlcpy(small, "abc", sizeof(small)), 0);
	assert_string_equal(small, "abc");
	assert_int_equal(svm_strlcpy(small, "abcd", sizeof(small)), -1);
	assert_string_equal(small, "abc");
	assert_true(svm_path_has_dotdot("/a/../b"));
	assert_true(svm_path_has_dotdot("/a/.."));
	assert_true(svm_path_has_dotdot(".."));
	assert_false(svm_path_has_dotdot("/a/..b/c"));
	assert_false(svm_path_has_dotdot("/a/b../c"));
	assert_false(svm_path_has_dotdot("/a/b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_enum),
		cmocka_unit_test(test_strip_copy_dotdot),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
