#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mounts.h"
#include "options.h"
#include "parse.h"
#include "vmconf.h"

static void test_image(void **state)
{
	struct svm_options o;
	char err[256];
	char longpath[PATH_MAX + 10];

	(void)state;
	svm_options_init(&o);
	assert_int_equal(svm_opt_image(&o, "/shared/app.qcow2", err, sizeof(err)), 0);
	assert_string_equal(o.image, "/shared/app.qcow2");
	assert_int_equal(svm_opt_image(&o, "", err, sizeof(err)), -1);
	assert_string_equal(err, "empty image path");
	assert_int_equal(svm_opt_image(&o, "a\nb", err, sizeof(err)), -1);
	assert_string_equal(err, "image path must not contain a newline or a comma");
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(svm_opt_image(&o, longpath, err, sizeof(err)), -1);
	assert_string_equal(o.image, "/shared/app.qcow2");
}

static void test_mem(void **state)
{
	struct svm_options o;
	char err[256];

	(void)state;
	svm_options_init(&o);
	assert_int_equal(svm_opt_mem(&o, "2048", err, sizeof(err)), 0);
	assert_int_equal(o.mem_mib, 2048);
	assert_int_equal(svm_opt_mem(&o, "8G", err, sizeof(err)), 0);
	assert_int_equal(o.mem_mib, 8192);
	assert_int_equal(svm_opt_mem(&o, "1000K", err, sizeof(err)), -1);
	assert_int_equal(svm_opt_mem(&o, "32", err, sizeof(err)), -1);
	assert_string_equal(err, "'32' is less than the 64 MiB a guest needs");
	assert_int_equal(svm_opt_mem(&o, "lots", err, sizeof(err)), -1);
	assert_string_equal(err, "'lots' is not a memory size in MiB or with a K/M/G/T suffix");
	assert_int_equal(o.mem_mib, 8192);
}

static void test_enums(void **state)
{
	struct svm_options o;
	char err[256];

	(void)state;
	svm_options_init(&o);
	assert_int_equal(o.hugepages, -1);
	assert_int_equal(o.ib, -1);
	assert_int_equal(svm_opt_hugepages(&o, "1G", err, sizeof(err)), 0);
	assert_int_equal(o.hugepages, SVM_HUGEPAGES_1G);
	assert_int_equal(svm_opt_hugepages(&o, "2m", err, sizeof(err)), -1);
	assert_string_equal(err, "'2m' is not one of none|2M|1G");
	assert_int_equal(svm_opt_ib(&o, "vf", err, sizeof(err)), 0);
	assert_int_equal(o.ib, SVM_IB_VF);
	assert_int_equal(svm_opt_ib(&o, "auto", err, sizeof(err)), -1);
	assert_string_equal(err, "'auto' is not one of none|pf|vf");
}

static void test_mount(void **state)
{
	struct svm_options o;
	char err[256];

	(void)state;
	svm_options_init(&o);
	assert_int_equal(svm_opt_mount(&o, "/scratch/me:/data", err, sizeof(err)), 0);
	assert_int_equal(svm_opt_mount(&o, "/ref:/ref:ro", err, sizeof(err)), 0);
	assert_int_equal(o.n_mounts, 2);
	assert_string_equal(o.mounts[0].src, "/scratch/me");
	assert_string_equal(o.mounts[0].dst, "/data");
	assert_false(o.mounts[0].readonly);
	assert_true(o.mounts[1].readonly);
	assert_int_equal(svm_opt_mount(&o, "/a", err, sizeof(err)), -1);
	assert_string_equal(err, "'/a' is not SRC:DST[:ro] with absolute paths");
	assert_int_equal(svm_opt_mount(&o, "a:/b", err, sizeof(err)), -1);
	assert_int_equal(svm_opt_mount(&o, "/a:b", err, sizeof(err)), -1);
	assert_int_equal(svm_opt_mount(&o, "/a:/b:rx", err, sizeof(err)), -1);
	assert_int_equal(svm_opt_mount(&o, "/a:/b:ro:x", err, sizeof(err)), -1);
	assert_int_equal(svm_opt_mount(&o, ":/b", err, sizeof(err)), -1);
	assert_int_equal(svm_opt_mount(&o, "/a/../etc:/b", err, sizeof(err)), -1);
	assert_string_equal(err, "'/a/../etc:/b': paths must not contain '..'");
	assert_int_equal(o.n_mounts, 2);
	for (int i = 2; i < SVM_MAX_MOUNTS; i++)
		assert_int_equal(svm_opt_mount(&o, "/x:/y", err, sizeof(err)), 0);
	assert_int_equal(svm_opt_mount(&o, "/x:/y", err, sizeof(err)), -1);
	assert_string_equal(err, "more than 16 mounts");
}

static void test_mounts_check(void **state)
{
	struct svm_options o;
	struct svm_config c;
	char err[512];

	(void)state;
	svm_config_defaults(&c);
	svm_options_init(&o);
	assert_int_equal(svm_opt_mount(&o, "/tmp/:/data", err, sizeof(err)), 0);
	/* the site allows nothing by default */
	assert_int_equal(svm_mounts_check(&o, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "/tmp/: this site allows no user mounts (allowed_mounts in vm.conf)");
	assert_int_equal(svm_config_set(&c, "allowed_mounts", "/usr:/tm", err, sizeof(err)), 0);
	/* /tmp is not under /tm: a prefix is not a parent */
	assert_int_equal(svm_mounts_check(&o, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "/tmp/ (/tmp) is not under a directory the site allows (allowed_mounts)");
	assert_int_equal(svm_config_set(&c, "allowed_mounts", "/tmp", err, sizeof(err)), 0);
	assert_int_equal(svm_mounts_check(&o, &c, err, sizeof(err)), 0);
	assert_string_equal(o.mounts[0].src, "/tmp");
	svm_options_init(&o);
	assert_int_equal(svm_opt_mount(&o, "/tmp/no-such-dir-here:/d", err, sizeof(err)), 0);
	assert_int_equal(svm_mounts_check(&o, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "cannot open /tmp/no-such-dir-here: No such file or directory");
	svm_options_init(&o);
	assert_int_equal(svm_opt_mount(&o, "/tmp:/", err, sizeof(err)), 0);
	assert_int_equal(svm_mounts_check(&o, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "/: the guest path must be absolute, not / and without '..'");
	assert_true(svm_path_under("/home/a", "/home"));
	assert_true(svm_path_under("/home", "/home"));
	assert_false(svm_path_under("/homes", "/home"));
	assert_true(svm_path_under("/x", "/"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image),
		cmocka_unit_test(test_mem),
		cmocka_unit_test(test_enums),
		cmocka_unit_test(test_mount),
		cmocka_unit_test(test_mounts_check),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
