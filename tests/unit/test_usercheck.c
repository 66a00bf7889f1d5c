/* The as-user checks of the request: path text, working directory, the
 * memory bound, and the child that runs them as the user with a deadline. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "asuser.h"
#include "testutil.h"
#include "usercheck.h"

static char err[1024];

static void text_ok(const char *path)
{
	err[0] = '\0';
	if (svm_path_text_check("working directory", path, err, sizeof(err)) != 0)
		fail_msg("refused %s: %s", path, err);
}

static void text_bad(const char *path, const char *want)
{
	err[0] = '\0';
	assert_int_equal(svm_path_text_check("working directory", path, err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

static void test_text(void **state)
{
	(void)state;
	text_ok("/home/u/run 1");
	text_ok("/home/u/caf\xc3\xa9");			/* é */
	text_ok("/home/u/\xe2\x82\xac");			/* € */
	text_ok("/home/u/\xf0\x9f\x98\x80");		/* U+1F600 */
	text_ok("/home/u/\xef\xbf\xbd");			/* U+FFFD */
	text_ok("");
	text_bad("/home/u/\xff", "the working directory /home/u/? has a name that is not UTF-8 text (byte 0xff): the guest cannot be given it");
	text_bad("/a\xc3", "the working directory /a? has a name that is not UTF-8 text (byte 0xc3): the guest cannot be given it");
	text_bad("/a\xc0\xaf", "the working directory /a?? has a name that is not UTF-8 text (byte 0xc0): the guest cannot be given it");	/* overlong '/' */
	text_bad("/a\xe0\x80\xaf", "the working directory /a??? has a name that is not UTF-8 text (byte 0xe0): the guest cannot be given it");
	text_bad("/a\xed\xa0\x80", "the working directory /a??? has a name that is not UTF-8 text (byte 0xed): the guest cannot be given it");	/* surrogate */
	text_bad("/a\xf4\x90\x80\x80", "the working directory /a???? has a name that is not UTF-8 text (byte 0xf4): the guest cannot be given it");	/* > U+10FFFF */
	text_bad("/a\xef\xbf\xbe", "the working directory /a??? has a name that is not UTF-8 text (byte 0xef): the guest cannot be given it");	/* U+FFFE */
	text_bad("/a\xc2\x85", "the working directory /a?? has a name that is not UTF-8 text (byte 0xc2): the guest cannot be given it");	/* C1 NEL */
	text_bad("/a\x80", "the working directory /a? has a name that is not UTF-8 text (byte 0x80): the guest cannot be given it");
	text_bad("/a\nb", "the working directory /a?b has a control character (0x0a) in its name: the guest cannot be given it");
	text_bad("/a\x1b[2J", "the working directory /a?[2J has a control character (0x1b) in its name: the guest cannot be given it");
	text_bad("/a\x7f", "the working directory /a? has a control character (0x7f) in its name: the guest cannot be given it");
	{
		char longp[600];

		memset(longp, 'x', sizeof(longp));
		longp[0] = '/';
		longp[598] = '\x01';
		longp[599] = '\0';
		assert_int_equal(svm_path_text_check("working directory", longp, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "x..."));
		assert_true(strlen(err) < 400);
	}
}

static void test_workdir(void **state)
{
	char dir[PATH_MAX], want[PATH_MAX + 128];

	(void)state;
	assert_int_equal(testutil_tmpdir(dir, sizeof(dir), "svm-test-wd"), 0);
	assert_int_equal(svm_workdir_check(dir, err, sizeof(err)), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(svm_workdir_check(dir, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "the job's working directory %s is gone: No such file or directory", dir);
	assert_string_equal(err, want);
	assert_int_equal(svm_workdir_check("/etc/passwd", err, sizeof(err)), -1);
	assert_string_equal(err, "cannot open the job's working directory /etc/passwd: Not a directory");
}

static void test_mem(void **state)
{
	(void)state;
	assert_int_equal(svm_mem_check(1024, 8192, 1024, err, sizeof(err)), 0);
	assert_int_equal(svm_mem_check(7168, 8192, 1024, err, sizeof(err)), 0);
	assert_int_equal(svm_mem_check(7169, 8192, 1024, err, sizeof(err)), -1);
	assert_string_equal(err, "--vm-mem: 7169 MiB is more than this node can give a guest: 7168 MiB (the job's NUMA nodes hold 8192 MiB, the host keeps 1024)");
	/* the reserve larger than the node: nothing to give */
	assert_int_equal(svm_mem_check(256, 512, 1024, err, sizeof(err)), -1);
	assert_string_equal(err, "--vm-mem: 256 MiB is more than this node can give a guest: 0 MiB (the job's NUMA nodes hold 512 MiB, the host keeps 1024)");
	assert_int_equal(svm_mem_check(UINT64_MAX, UINT64_MAX, 0, err, sizeof(err)), 0);
}

/* What the child saw, sent back. */
struct who {
	unsigned uid, euid, gid, regained, ngroups;
	char note[64];
};

static int who_cb(void *arg, void *res)
{
	struct who *w = res;

	(void)arg;
	w->uid = (unsigned)getuid();
	w->euid = (unsigned)geteuid();
	w->gid = (unsigned)getgid();
	w->regained = setuid(0) == 0;
	w->ngroups = (unsigned)getgroups(0, NULL);
	snprintf(w->note, sizeof(w->note), "hello");
	return 0;
}

static int fail_cb(void *arg, void *res)
{
	(void)arg;
	snprintf(res, 64, "the image is bad");
	return -1;
}

static int hang_cb(void *arg, void *res)
{
	(void)arg;
	(void)res;
	for (;;)
		pause();
	return 0;
}

static int die_cb(void *arg, void *res)
{
	(void)arg;
	(void)res;
	raise(SIGSEGV);
	return 0;
}

#define NEED_ROOT() do { if (geteuid() != 0) { print_message("not root: skipped\n"); skip(); } } while (0)

static void test_as_user(void **state)
{
	struct who w = { .uid = 99 };
	char res[64] = "";
	int to = -1;
	time_t t0;

	(void)state;
	NEED_ROOT();
	/* the child runs as the user, for good, and the answer comes back */
	assert_int_equal(svm_as_user_run(65534, 65534, "nobody", 5, who_cb, NULL, &w, sizeof(w),
					 &to, err, sizeof(err)), 0);
	assert_int_equal(to, 0);
	assert_int_equal(w.uid, 65534);
	assert_int_equal(w.euid, 65534);
	assert_int_equal(w.gid, 65534);
	assert_int_equal(w.regained, 0);
	assert_string_equal(w.note, "hello");
	/* and the caller is still root */
	assert_int_equal(geteuid(), 0);

	/* a failing check: -1, and its message in the result */
	assert_int_equal(svm_as_user_run(65534, 65534, "nobody", 5, fail_cb, NULL, res, sizeof(res),
					 &to, err, sizeof(err)), -1);
	assert_string_equal(res, "the image is bad");

	/* a check that hangs is killed at the deadline */
	t0 = time(NULL);
	err[0] = '\0';
	assert_int_equal(svm_as_user_run(65534, 65534, "nobody", 1, hang_cb, NULL, res, sizeof(res),
					 &to, err, sizeof(err)), -1);
	assert_int_equal(to, 1);
	assert_true(time(NULL) - t0 <= 3);
	assert_string_equal(err, "the checks of the job's files took longer than 1 s (a file system that does not answer?)");

	/* a check that dies */
	assert_int_equal(svm_as_user_run(65534, 65534, "nobody", 5, die_cb, NULL, res, sizeof(res),
					 &to, err, sizeof(err)), -1);
	assert_int_equal(to, 0);
	assert_string_equal(err, "the checks of the job's files were killed by signal 11");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_workdir),
		cmocka_unit_test(test_mem),
		cmocka_unit_test(test_as_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
