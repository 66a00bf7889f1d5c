/* One job's directory on one node (jobdir.c): the paths every program
 * derives from the job id and node name, the names refused before they
 * become paths or domain names, and the prolog's outcome as the plugin
 * reads it, on a real temporary directory. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "jobdir.h"
#include "parse.h"
#include "vmconf.h"
#include "testutil.h"

static char tmpdir[PATH_MAX - 64];
static struct svm_config conf;

static int setup(void **state)
{
	(void)state;
	testutil_log_capture();
	if (testutil_tmpdir(tmpdir, sizeof(tmpdir), "svm-test-jobdir") < 0)
		return -1;
	svm_config_defaults(&conf);
	snprintf(conf.runtime_dir, sizeof(conf.runtime_dir), "%s/run", tmpdir);
	snprintf(conf.scratch_dir, sizeof(conf.scratch_dir), "%s/scratch", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	testutil_rm_rf(tmpdir);
	return 0;
}

/* TMPDIR/SUB, in one of two buffers (two in one call). */
static const char *in_tmp(const char *sub)
{
	static char buf[2][PATH_MAX + 64];
	static int k;

	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, sub);
	return buf[k];
}

/* Both slurmd of a one-host cluster share the runtime directory: the
 * names carry job and node. */
static void test_paths(void **state)
{
	struct svm_jobdir d;

	(void)state;
	assert_int_equal(svm_jobdir_init(&d, &conf, 42, "n1"), 0);
	assert_int_equal(d.job, 42);
	assert_string_equal(d.node, "n1");
	assert_string_equal(d.state, in_tmp("run/42.n1"));
	assert_string_equal(d.agent_sock, in_tmp("run/42.n1/agent.sock"));
	assert_string_equal(d.relay_sock, in_tmp("run/42.n1/relay.sock"));
	assert_string_equal(d.scratch, in_tmp("scratch/42.n1"));
	assert_string_equal(d.domain, "svm-42-n1");
	assert_int_equal(d.user, 0);
	assert_string_equal(testutil_errors, "");

	/* the other node, the largest job id */
	assert_int_equal(svm_jobdir_init(&d, &conf, 4294967295u, "n2.cluster_a-3"), 0);
	assert_string_equal(d.state, in_tmp("run/4294967295.n2.cluster_a-3"));
	assert_string_equal(d.domain, "svm-4294967295-n2.cluster_a-3");
}

/* A node name becomes a path and a domain name: nothing that climbs out
 * or hides, and one line saying so. */
static void test_bad_names(void **state)
{
	static const char *const bad[] = { "", ".", "..", "../etc", "a/b", ".hidden", "-n",
					   "n 1", "n\n1", "n1;rm", "n\xc3\xa9" };
	char name65[66];
	struct svm_jobdir d;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("'%s'\n", bad[i]);
		assert_int_equal(svm_node_name_ok(bad[i]), 0);
		testutil_errors[0] = '\0';
		assert_int_equal(svm_jobdir_init(&d, &conf, 1, bad[i]), -1);
		/* nothing of the refused name is left to use */
		assert_string_equal(d.state, "");
		assert_string_equal(d.domain, "");
		assert_int_equal(strncmp(testutil_errors, "bad node name '", 15), 0);
		assert_int_equal(svm_domain_name(1, bad[i], d.domain, sizeof(d.domain)), -1);
	}
	assert_int_equal(svm_jobdir_init(&d, &conf, 1, NULL), -1);
	assert_string_equal(testutil_last_error, "bad node name ''");
	assert_int_equal(svm_domain_name(7, "../x", d.domain, sizeof(d.domain)), -1);
	assert_string_equal(testutil_last_error,
			    "node name '../x' is not a plain host name (letters, digits, '.', '_', '-')");

	/* 64 characters (a host name's limit) pass, 65 do not */
	memset(name65, 'a', 65);
	name65[64] = '\0';
	assert_int_equal(svm_node_name_ok(name65), 1);
	assert_int_equal(svm_jobdir_init(&d, &conf, 1, name65), 0);
	name65[64] = 'a';
	name65[65] = '\0';
	assert_int_equal(svm_node_name_ok(name65), 0);
	assert_int_equal(svm_jobdir_init(&d, &conf, 1, name65), -1);
}

/* A runtime directory so long the paths do not fit: refused, not cut. */
static void test_too_long(void **state)
{
	struct svm_jobdir d;
	char buf[8];

	(void)state;
	memset(conf.runtime_dir, 'r', sizeof(conf.runtime_dir) - 1);
	conf.runtime_dir[0] = '/';
	conf.runtime_dir[sizeof(conf.runtime_dir) - 1] = '\0';
	assert_int_equal(svm_jobdir_init(&d, &conf, 42, "n1"), -1);
	assert_string_equal(testutil_last_error, "runtime or scratch path too long for job 42 on n1");

	assert_int_equal(svm_path_join(buf, sizeof(buf), "/ab", "cde"), 0);
	assert_string_equal(buf, "/ab/cde");
	assert_int_equal(svm_path_join(buf, sizeof(buf), "/ab", "cdef"), -1);
}

static void make_state(struct svm_jobdir *d)
{
	assert_int_equal(svm_jobdir_init(d, &conf, 42, "n1"), 0);
	testutil_mkdirs(d->state);
}

/* What the plugin tells the user comes from the outcome the prolog left:
 * success, the prolog's one line, or that there is none. */
static void test_outcome(void **state)
{
	struct svm_jobdir d;
	char msg[1300], big[1500], *text;

	(void)state;
	make_state(&d);
	snprintf(msg, sizeof(msg), "untouched");
	assert_int_equal(svm_outcome_read(&d, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "untouched");

	assert_int_equal(svm_outcome_write(&d, NULL), 0);
	assert_int_equal(svm_outcome_read(&d, msg, sizeof(msg)), 1);
	text = testutil_read_file(in_tmp("run/42.n1/outcome"));
	assert_string_equal(text, "ok\n");
	free(text);

	assert_int_equal(svm_outcome_write(&d, "cannot open image /home/u/x.qcow2: No such file or directory"), 0);
	assert_int_equal(svm_outcome_read(&d, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "cannot open image /home/u/x.qcow2: No such file or directory");
	/* replaced whole, no temporary left */
	assert_int_equal(access(in_tmp("run/42.n1/outcome.tmp"), F_OK), -1);

	/* a message too long for the file is cut, still one line */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(svm_outcome_write(&d, big), 0);
	assert_int_equal(svm_outcome_read(&d, msg, sizeof(msg)), 0);
	assert_true(strlen(msg) > 1000);
	assert_int_equal(strspn(msg, "x"), strlen(msg));

	/* anything else in the file is said to be unreadable */
	testutil_write_str(in_tmp("run/42.n1/outcome"), "garbage\n");
	assert_int_equal(svm_outcome_read(&d, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "unreadable prolog outcome 'garbage'");
	/* an empty one is no outcome */
	testutil_write_str(in_tmp("run/42.n1/outcome"), "");
	assert_int_equal(svm_outcome_read(&d, msg, sizeof(msg)), -1);
}

/* A link planted where a state file goes is neither followed when it is
 * read nor written through: the file it names stays as it was. */
static void test_state_links(void **state)
{
	struct svm_jobdir d;
	char buf[64], *text;
	struct stat st;

	(void)state;
	make_state(&d);
	testutil_write_str(in_tmp("victim"), "precious\n");
	assert_int_equal(symlink(in_tmp("victim"), in_tmp("run/42.n1/outcome")), 0);
	assert_int_equal(svm_state_read(d.state, "outcome", buf, sizeof(buf)), -1);
	assert_int_equal(svm_outcome_read(&d, buf, sizeof(buf)), -1);
	/* written: the link is replaced by the file, the target untouched */
	assert_int_equal(svm_outcome_write(&d, NULL), 0);
	assert_int_equal(lstat(in_tmp("run/42.n1/outcome"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	text = testutil_read_file(in_tmp("victim"));
	assert_string_equal(text, "precious\n");
	free(text);
	/* a link in the temporary's place fails the write, one line logged */
	assert_int_equal(symlink(in_tmp("victim"), in_tmp("run/42.n1/cpumap.tmp")), 0);
	assert_int_equal(svm_state_write(d.state, "cpumap", "0-3", 0), -1);
	assert_non_null(strstr(testutil_last_error, "cannot write "));
	assert_non_null(strstr(testutil_last_error, "/run/42.n1/cpumap.tmp: "));
	text = testutil_read_file(in_tmp("victim"));
	assert_string_equal(text, "precious\n");
	free(text);
	/* state_read reads at most LEN - 1 bytes, NUL-terminated */
	assert_int_equal(svm_state_write(d.state, "relay.pid", "123456\n", 0), 0);
	assert_int_equal(svm_state_read(d.state, "relay.pid", buf, 4), 3);
	assert_string_equal(buf, "123");
	assert_int_equal(svm_state_read(d.state, "relay.pid", buf, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outcome, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_links, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
