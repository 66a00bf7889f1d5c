/* Descriptors a helper must not inherit (spawn.c): every fd is closed in
 * the child, however high, except those it is meant to keep. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "spawn.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_close_fds),
		cmocka_unit_test(test_close_fds_proc),
		cmocka_unit_test(test_spawn_closes_high_fds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
