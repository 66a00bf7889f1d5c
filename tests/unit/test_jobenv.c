/* What the prolog and epilog read of slurmd's environment: optional values
 * of any length are kept whole, and never a reason to fail (a large job's
 * node list passes 4096 bytes; failing would drain every node of it). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jobenv.h"
#include "log.h"
#include "vmconf.h"
#include "testutil.h"

static int setup(void **state)
{
	(void)state;
	testutil_log_capture();
	clearenv();
	setenv("SLURM_JOB_ID", "42", 1);
	setenv("SLURM_JOB_UID", "1000", 1);
	setenv("SLURM_JOB_GID", "1000", 1);
	setenv("SLURMD_NODENAME", "n1", 1);
	return 0;
}

/* "n[1-3],m0001,m0002,...": a hostlist longer than LEN bytes */
static char *long_nodelist(size_t len)
{
	char *s = malloc(len + 16);
	size_t n;

	if (!s)
		fail();
	memcpy(s, "n[1-3]", 7);
	n = 6;
	for (int i = 1; n < len; i++)
		n += (size_t)sprintf(s + n, ",m%05d", i);
	return s;
}

static void test_long_values(void **state)
{
	struct svm_jobenv env;
	char uerr[256], *nodes = long_nodelist(20000), workdir[6000];

	(void)state;
	memset(workdir, 'w', sizeof(workdir) - 1);
	workdir[0] = '/';
	workdir[sizeof(workdir) - 1] = '\0';
	setenv("SLURM_NODELIST", nodes, 1);
	setenv("SLURM_JOB_WORK_DIR", workdir, 1);
	assert_int_equal(svm_jobenv_read(&env, uerr, sizeof(uerr)), 0);
	assert_string_equal(env.nodelist, nodes);
	assert_string_equal(env.workdir, workdir);
	assert_string_equal(env.user, "");
	assert_string_equal(env.node, "n1");
	assert_int_equal(env.vm, 0);
	assert_string_equal(testutil_errors, "");
	svm_jobenv_free(&env);

	/* the same for a VM job */
	setenv("SPANK_VM_IMAGE", "/home/u/img.qcow2", 1);
	assert_int_equal(svm_jobenv_read(&env, uerr, sizeof(uerr)), 0);
	assert_int_equal(env.vm, 1);
	assert_string_equal(uerr, "");
	assert_string_equal(env.nodelist, nodes);
	svm_jobenv_free(&env);
	svm_jobenv_free(NULL);
	free(nodes);
}

static void test_unset_values(void **state)
{
	struct svm_jobenv env;
	char uerr[256];

	(void)state;
	assert_int_equal(svm_jobenv_read(&env, uerr, sizeof(uerr)), 0);
	assert_string_equal(env.nodelist, "");
	assert_string_equal(env.workdir, "");
	assert_string_equal(env.slurm_conf, "");
	svm_jobenv_free(&env);
}

/* A bad node name fails (a Slurm value), without echoing it into the log:
 * it could hold a newline. */
static void test_bad_node(void **state)
{
	struct svm_jobenv env;
	char uerr[256];

	(void)state;
	setenv("SLURMD_NODENAME", "n1\nfake line", 1);
	assert_int_equal(svm_jobenv_read(&env, uerr, sizeof(uerr)), -1);
	assert_string_equal(testutil_errors, "SLURMD_NODENAME is not a usable node name\n");
	svm_jobenv_free(&env);
}

/* The request as slurmd passes it: SPANK_VM_*, a bad value the user's. */
static void test_request(void **state)
{
	struct svm_jobenv env;
	char uerr[256];

	(void)state;
	setenv("SPANK_VM_IMAGE", "/home/u/img.qcow2", 1);
	setenv("SPANK_VM_MEM", "2048", 1);
	setenv("SPANK_VM_MOUNTS", "/home/u/d:/d:ro,/s:/s", 1);
	assert_int_equal(svm_jobenv_read(&env, uerr, sizeof(uerr)), 0);
	assert_string_equal(uerr, "");
	assert_int_equal(env.vm, 1);
	assert_string_equal(env.opts.image, "/home/u/img.qcow2");
	assert_int_equal(env.opts.mem_mib, 2048);
	assert_int_equal(env.opts.n_mounts, 2);
	assert_string_equal(env.opts.mounts[0].src, "/home/u/d");
	assert_int_equal(env.opts.mounts[0].readonly, 1);
	assert_string_equal(env.opts.mounts[1].dst, "/s");
	svm_jobenv_free(&env);
	setenv("SPANK_VM_HUGEPAGES", "3M", 1);
	assert_int_equal(svm_jobenv_read(&env, uerr, sizeof(uerr)), 0);
	assert_int_equal(env.vm, 1);
	assert_int_equal(strncmp(uerr, "--vm-hugepages: ", 16), 0);
	assert_string_equal(testutil_errors, "");
	svm_jobenv_free(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_long_values, setup),
		cmocka_unit_test_setup(test_unset_values, setup),
		cmocka_unit_test_setup(test_bad_node, setup),
		cmocka_unit_test_setup(test_request, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
