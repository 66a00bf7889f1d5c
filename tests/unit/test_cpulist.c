/* CPU lists and the CPU map (lib/cpulist.h): the prolog writes the map
 * with svm_cpulist_format, the plugin checks it and slurm-vm-exec reads it
 * with svm_cpulist_parse; both directions are tested here. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cpulist.h"

static void test_parse(void **state)
{
	uint32_t v[8];

	(void)state;
	assert_int_equal(svm_cpulist_parse("0-3,8", v, 8), 5);
	assert_int_equal(v[0], 0);
	assert_int_equal(v[3], 3);
	assert_int_equal(v[4], 8);
	assert_int_equal(svm_cpulist_parse("7", v, 8), 1);
	assert_int_equal(v[0], 7);
	/* the order written is kept: a CPU map is in vCPU order */
	assert_int_equal(svm_cpulist_parse("6,2,4-5", v, 8), 4);
	assert_int_equal(v[0], 6);
	assert_int_equal(v[1], 2);
	assert_int_equal(v[3], 5);
	assert_int_equal(svm_cpulist_parse("0-7", v, 8), 8);
	assert_int_equal(svm_cpulist_parse("0-8", v, 8), -1);		/* over MAX */
	assert_int_equal(svm_cpulist_parse("0-65535", v, 8), -1);
	assert_int_equal(svm_cpulist_parse("65535", v, 8), 1);
	assert_int_equal(svm_cpulist_parse("65536", v, 8), -1);
	assert_int_equal(svm_cpulist_parse("99999999999", v, 8), -1);
	const char *bad[] = { "", "3-1", "1,", ",1", "1 2", "-1", "1--2", "0x1", "a", "1-", "1,,2", NULL };
	for (int i = 0; bad[i]; i++)
		assert_int_equal(svm_cpulist_parse(bad[i], v, 8), -1);
	assert_int_equal(svm_cpulist_parse(NULL, v, 8), -1);
}

static int count(void *arg, unsigned lo, unsigned hi)
{
	*(unsigned *)arg += hi - lo + 1;
	return 0;
}

static void test_ranges(void **state)
{
	unsigned n = 0;

	(void)state;
	assert_int_equal(svm_cpulist_ranges("0-65535,3", count, &n), 0);
	assert_int_equal(n, 65537);
	assert_int_equal(svm_cpulist_ranges("1,2-3", NULL, NULL), 0);
	assert_int_equal(svm_cpulist_ranges("1,2-", NULL, NULL), -1);
}

static void test_format(void **state)
{
	const uint32_t v[] = { 0, 1, 2, 3, 8, 10, 11 };
	const uint32_t map[] = { 4, 5, 0, 1, 9, 7 };
	uint32_t back[8];
	char buf[64];

	(void)state;
	assert_int_equal(svm_cpulist_format(v, 7, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0-3,8,10-11");
	assert_int_equal(svm_cpulist_format(v, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(svm_cpulist_format(v + 4, 1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "8");
	/* a CPU map: vCPU order, parsed back entry for entry */
	assert_int_equal(svm_cpulist_format(map, 6, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "4-5,0-1,9,7");
	assert_int_equal(svm_cpulist_parse(buf, back, 8), 6);
	assert_memory_equal(back, map, sizeof(map));
	/* too small: -1 and nothing half written */
	assert_int_equal(svm_cpulist_format(v, 7, buf, 11), -1);
	assert_string_equal(buf, "");
	assert_int_equal(svm_cpulist_format(v, 7, buf, 12), 0);
	assert_int_equal(svm_cpulist_format(v, 7, buf, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
