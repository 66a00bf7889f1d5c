/* Helpers run the careful way (spawn.c): every fd is closed in the child,
 * however high, except those it is meant to keep; the environment, stdin,
 * directory, identity and limits are the ones asked for; a failure is one
 * line naming the program, its status and the first line it wrote. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "spawn.h"
#include "testutil.h"

/* An fd at number AT, not close-on-exec; skips the test if the fd limit
 * does not reach that high. */
static int fd_at(int at)
{
	int fd = open("/dev/null", O_RDONLY);

	assert_true(fd >= 0);
	if (dup2(fd, at) != at) {
		close(fd);
		return -1;
	}
	close(fd);
	return at;
}

static int is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* In a forked child (the helpers run between fork and exec): closes all
 * but KEEP, then reports which of the fds in WATCH are open as a bitmask
 * exit status. */
static int child_close(int (*fn)(int, const int *, size_t), const int *keep, size_t nkeep,
		       const int *watch, int nwatch)
{
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int mask = 0;

		if (fn(3, keep, nkeep) < 0)
			_exit(255);
		for (int i = 0; i < nwatch; i++)
			if (is_open(watch[i]))
				mask |= 1 << i;
		_exit(mask);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void run_close(int (*fn)(int, const int *, size_t))
{
	struct rlimit rl;
	int a, b, c, d;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max < 3000)
		skip();
	rl.rlim_cur = 3000;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	a = fd_at(10);
	b = fd_at(11);
	c = fd_at(1500);
	d = fd_at(2999);
	{
		const int keep[] = { 2999, 11 };
		const int watch[] = { 0, 1, 2, a, b, c, d };

		/* 0-2 stay (below FROM), 11 and 2999 are kept, 10 and 1500 go */
		assert_int_equal(child_close(fn, keep, 2, watch, 7), 0x1 | 0x2 | 0x4 | 0x10 | 0x40);
		/* nothing kept */
		assert_int_equal(child_close(fn, NULL, 0, watch, 7), 0x7);
	}
	close(a);
	close(b);
	close(c);
	close(d);
}

static void test_close_fds(void **state)
{
	(void)state;
	run_close(svm_close_fds);
}

static void test_close_fds_proc(void **state)
{
	(void)state;
	run_close(svm_close_fds_proc);
}

/* A helper started while an fd beyond the current soft limit is open (the
 * limit was lowered after it was opened) does not inherit it. */
static void test_spawn_closes_high_fds(void **state)
{
	const char *argv[] = { "/bin/sh", "-c", "test ! -e /proc/self/fd/1500 && test -e /proc/self/fd/40", NULL };
	struct rlimit rl, low;
	struct svm_spawn sp = { .argv = argv, .uid = (uid_t)-1, .stdout_fd = -1,
				.stderr_fd = -1, .keep_fd = -1 };
	const int keep[] = { 40 };
	int fd;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max < 2000)
		skip();
	low = rl;
	low.rlim_cur = 2000;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	fd = fd_at(1500);
	assert_int_equal(fd_at(40), 40);
	low.rlim_cur = 1024;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	sp.keep_fds = keep;
	sp.n_keep_fds = 1;
	assert_int_equal(svm_spawn_run(&sp), 0);
	close(fd);
	close(40);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

/* Runs /bin/sh -c SCRIPT with SP's settings, its stdout into OUT. */
static int sh_out(struct svm_spawn *sp, const char *script, char *out, size_t len)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	int pfd[2], rc;
	ssize_t n, used = 0;

	assert_int_equal(pipe(pfd), 0);
	sp->argv = argv;
	sp->stdout_fd = pfd[1];
	rc = svm_spawn_run(sp);
	close(pfd[1]);
	while ((n = read(pfd[0], out + used, len - 1 - (size_t)used)) > 0)
		used += n;
	out[used] = '\0';
	close(pfd[0]);
	return rc;
}

#define SPAWN_DEFAULTS { .uid = (uid_t)-1, .stdout_fd = -1, .stderr_fd = -1, .keep_fd = -1 }

/* The child gets only the environment given, stdin from /dev/null, "/"
 * unless told otherwise, and default signal handling. */
static void test_child_setup(void **state)
{
	static const char *const env[] = { "A=1", "PATH=/usr/bin:/bin", NULL };
	struct svm_spawn sp = SPAWN_DEFAULTS;
	char out[512];
	int in[2], saved, rc;

	(void)state;
	testutil_log_capture();
	setenv("SVM_TEST_LEAK", "secret", 1);
	assert_int_equal(sh_out(&sp, "env | grep -v '^PWD=' | grep -v '^SHLVL=' | grep -v '^_=' | sort; pwd", out, sizeof(out)), 0);
	/* sh's own PWD, SHLVL, _ aside: nothing of ours */
	assert_string_equal(out, "/\n");
	sp.envp = env;
	assert_int_equal(sh_out(&sp, "echo \"$A:$PATH:${SVM_TEST_LEAK-unset}\"", out, sizeof(out)), 0);
	assert_string_equal(out, "1:/usr/bin:/bin:unset\n");
	sp.envp = NULL;
	sp.cwd = "/tmp";
	/* our stdin has data; the child's has none */
	assert_int_equal(pipe(in), 0);
	assert_int_equal(write(in[1], "leak\n", 5), 5);
	close(in[1]);
	saved = dup(0);
	assert_int_equal(dup2(in[0], 0), 0);
	rc = sh_out(&sp, "pwd; wc -c", out, sizeof(out));
	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
	close(in[0]);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "/tmp\n0\n");
	/* SIGTERM ignored here is not ignored there */
	signal(SIGTERM, SIG_IGN);
	assert_int_equal(sh_out(&sp, "kill -TERM $$; echo survived", out, sizeof(out)), -1);
	signal(SIGTERM, SIG_DFL);
	assert_string_equal(out, "");
	assert_string_equal(testutil_last_error, "/bin/sh failed (signal 15)");
	unsetenv("SVM_TEST_LEAK");
}

/* What the admin reads when a helper fails. */
static void test_failures(void **state)
{
	const char *rel[] = { "sh", "-c", "true", NULL };
	const char *missing[] = { "/nonexistent/helper", NULL };
	struct svm_spawn sp = SPAWN_DEFAULTS;
	char out[64], st[32];

	(void)state;
	testutil_log_capture();
	assert_int_equal(sh_out(&sp, "echo 'qemu-img: Could not open x' >&2; echo more >&2; exit 3", out, sizeof(out)), -1);
	assert_string_equal(testutil_last_error, "/bin/sh failed (exit 3): qemu-img: Could not open x");
	/* silent failure: no colon, no empty message */
	assert_int_equal(sh_out(&sp, "exit 1", out, sizeof(out)), -1);
	assert_string_equal(testutil_last_error, "/bin/sh failed (exit 1)");
	/* much on stderr: drained, the first line kept, no hang */
	assert_int_equal(sh_out(&sp, "echo first >&2; head -c 300000 /dev/zero | tr '\\0' x >&2; exit 2", out, sizeof(out)), -1);
	assert_string_equal(testutil_last_error, "/bin/sh failed (exit 2): first");

	sp.argv = rel;
	assert_int_equal(svm_spawn_run(&sp), -1);
	assert_string_equal(testutil_last_error, "cannot run sh: not an absolute path");
	sp.argv = missing;
	assert_int_equal(svm_spawn_start(&sp), -1);
	assert_string_equal(testutil_last_error, "cannot run /nonexistent/helper: No such file or directory");
	sp.cwd = "/nonexistent";
	assert_int_equal(sh_out(&sp, "true", out, sizeof(out)), -1);
	assert_string_equal(testutil_last_error, "cannot run /bin/sh: No such file or directory");

	assert_string_equal(svm_spawn_status_str(-1, st, sizeof(st)), "lost");
	assert_string_equal(svm_spawn_status_str(0, st, sizeof(st)), "exit 0");
	assert_string_equal(svm_spawn_status_str(9, st, sizeof(st)), "signal 9");
}

/* svm_spawn_try: the failure's line comes back to the caller, unlogged. */
static void test_try(void **state)
{
	const char *fail[] = { "/bin/sh", "-c", "echo 'RTNETLINK answers: File exists' >&2; exit 2", NULL };
	const char *ok[] = { "/bin/sh", "-c", "true", NULL };
	struct svm_spawn sp = SPAWN_DEFAULTS;
	char why[128] = "untouched";

	(void)state;
	testutil_log_capture();
	sp.argv = ok;
	assert_int_equal(svm_spawn_try(&sp, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	sp.argv = fail;
	assert_int_equal(svm_spawn_try(&sp, why, sizeof(why)), -1);
	assert_string_equal(why, "/bin/sh failed (exit 2): RTNETLINK answers: File exists");
	assert_string_equal(testutil_errors, "");
}

/* The file size limit is the child's: a helper cannot fill the disk. */
static void test_file_size_limit(void **state)
{
	struct svm_spawn sp = SPAWN_DEFAULTS;
	char dir[PATH_MAX], script[PATH_MAX + 128], out[64];
	struct stat st;

	(void)state;
	testutil_log_capture();
	assert_int_equal(testutil_tmpdir(dir, sizeof(dir), "svm-test-spawn"), 0);
	snprintf(script, sizeof(script), "trap '' XFSZ; head -c 8192 /dev/zero > %s/f", dir);
	sp.max_file_size = 4096;
	assert_int_equal(sh_out(&sp, script, out, sizeof(out)), -1);
	snprintf(script, sizeof(script), "%s/f", dir);
	assert_int_equal(stat(script, &st), 0);
	assert_int_equal(st.st_size, 4096);
	testutil_rm_rf(dir);
}

/* As root: the helper runs as the user asked, with the groups asked, and
 * cannot become root again. */
static void test_drop(void **state)
{
	const gid_t groups[] = { 42426 };
	struct svm_spawn sp = SPAWN_DEFAULTS;
	char out[128];

	(void)state;
	if (geteuid() != 0)
		skip();
	testutil_log_capture();
	sp.uid = 42424;
	sp.gid = 42425;
	assert_int_equal(sh_out(&sp, "echo $(id -u) $(id -g) $(id -G)", out, sizeof(out)), 0);
	assert_string_equal(out, "42424 42425 42425\n");
	sp.groups = groups;
	sp.ngroups = 1;
	assert_int_equal(sh_out(&sp, "echo $(id -G)", out, sizeof(out)), 0);
	assert_string_equal(out, "42425 42426\n");
	/* root's own files are out of reach */
	assert_int_equal(sh_out(&sp, "cat /etc/shadow", out, sizeof(out)), -1);
	assert_non_null(strstr(testutil_last_error, "/bin/sh failed (exit 1): "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_close_fds),
		cmocka_unit_test(test_close_fds_proc),
		cmocka_unit_test(test_spawn_closes_high_fds),
		cmocka_unit_test(test_child_setup),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_try),
		cmocka_unit_test(test_file_size_limit),
		cmocka_unit_test(test_drop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
