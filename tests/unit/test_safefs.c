/* Root's descriptor-based file work in the runtime directory (safefs.c)
 * and the bounded relay log (loglimit.c), on a real temporary directory. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>

#include "jobdir.h"
#include "log.h"
#include "loglimit.h"
#include "safefs.h"
#include "testutil.h"

static char dir[64];
static int dfd = -1;

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/svm-safefs.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	dfd = svm_dir_open(dir);
	return dfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	const char *names[] = { "s", "l", "f", "lnk", "sl", "outcome", "cpumap", NULL };

	(void)state;
	for (int i = 0; names[i]; i++)
		unlinkat(dfd, names[i], 0);
	close(dfd);
	rmdir(dir);
	return 0;
}

/* A listening socket bound at DIR/NAME by path, as libvirt does. */
static int bound(const char *name)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir, name);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void test_hand_socket(void **state)
{
	struct stat st;
	int s = bound("s");

	(void)state;
	assert_int_equal(svm_sock_hand_at(dfd, "s", getuid(), getgid(), 0600), 0);
	assert_int_equal(fstatat(dfd, "s", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(svm_sock_hand_at(dfd, "s", getuid(), getgid(), 0640), 0);
	assert_int_equal(fstatat(dfd, "s", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	close(s);
}

/* The attack: the socket renamed away, a symlink to a file put in its
 * place.  The file must keep its mode (and owner). */
static void test_hand_refuses_symlink(void **state)
{
	char target[128];
	struct stat before, after;
	int fd;

	(void)state;
	testutil_log_quiet();
	fd = openat(dfd, "f", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0604);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0604), 0);
	close(fd);
	snprintf(target, sizeof(target), "%s/f", dir);
	assert_int_equal(symlinkat(target, dfd, "lnk"), 0);
	assert_int_equal(stat(target, &before), 0);
	errno = 0;
	assert_int_equal(svm_sock_hand_at(dfd, "lnk", 65534, 65534, 0600), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(stat(target, &after), 0);
	assert_int_equal(after.st_mode, before.st_mode);
	assert_int_equal(after.st_uid, before.st_uid);
	assert_int_equal(after.st_gid, before.st_gid);
	/* nor the file itself: it is no socket */
	errno = 0;
	assert_int_equal(svm_sock_hand_at(dfd, "f", 65534, 65534, 0600), -1);
	assert_int_equal(errno, ENOTSOCK);
	assert_int_equal(stat(target, &after), 0);
	assert_int_equal(after.st_mode, before.st_mode);
	assert_int_equal(after.st_uid, before.st_uid);
	/* missing */
	assert_int_equal(svm_sock_hand_at(dfd, "nothing", 0, 0, 0600), -1);
	svm_log_init(NULL, SVM_LOG_ERROR);
}

static void test_connect_at(void **state)
{
	char target[128];
	int s = bound("s"), c, a;

	(void)state;
	c = svm_unix_connect_at(dfd, "s");
	assert_true(c >= 0);
	a = accept(s, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(write(c, "x", 1), 1);
	{
		char b = 0;

		assert_int_equal(read(a, &b, 1), 1);
		assert_int_equal(b, 'x');
	}
	close(a);
	close(c);
	/* a symlink to a real socket is still refused */
	snprintf(target, sizeof(target), "%s/s", dir);
	assert_int_equal(symlinkat(target, dfd, "sl"), 0);
	testutil_log_quiet();
	errno = 0;
	assert_int_equal(svm_unix_connect_at(dfd, "sl"), -1);
	assert_int_equal(errno, ELOOP);
	svm_log_init(NULL, SVM_LOG_ERROR);
	unlinkat(dfd, "sl", 0);
	close(s);
}

static void test_listen_at(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int l, c, fd;

	(void)state;
	l = svm_unix_listen_at(dfd, "l", 4);
	assert_true(l >= 0);
	assert_int_equal(fstatat(dfd, "l", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/l", dir);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(c);
	close(l);
	/* a stale socket is replaced, a file is not */
	l = svm_unix_listen_at(dfd, "l", 4);
	assert_true(l >= 0);
	close(l);
	fd = openat(dfd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	close(fd);
	testutil_log_quiet();
	assert_int_equal(svm_unix_listen_at(dfd, "f", 4), -1);
	svm_log_init(NULL, SVM_LOG_ERROR);
	assert_int_equal(fstatat(dfd, "f", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
}

/* outcome and cpumap: root's, mode 0600 plus read for the job user */
static void test_state_write_grant(void **state)
{
	uint8_t acl[128];
	struct stat st;
	char path[128];
	ssize_t n;

	(void)state;
	assert_int_equal(svm_state_write(dir, "cpumap", "0,1", 0), 0);
	snprintf(path, sizeof(path), "%s/cpumap", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(svm_state_write(dir, "cpumap", "2,3", 4242), 0);
	assert_int_equal(stat(path, &st), 0);
	n = getxattr(path, "system.posix_acl_access", acl, sizeof(acl));
	if (n < 0 && (errno == EOPNOTSUPP || errno == ENOTSUP)) {
		/* no ACLs on this filesystem: the reader's, read-only */
		assert_int_equal(st.st_uid, 4242);
		assert_int_equal(st.st_mode & 07777, 0400);
	} else {
		/* owner rw, user 4242 r, group and others nothing */
		assert_int_equal(n, 4 + 5 * 8);
		assert_int_equal(st.st_uid, getuid());
		assert_int_equal(st.st_mode & 07777, 0640);
		assert_int_equal(acl[12], 0x02);	/* ACL_USER */
		assert_int_equal(acl[14], 4);
		assert_int_equal(acl[16] | acl[17] << 8, 4242);
	}
	{
		char buf[16];

		assert_int_equal(svm_state_read(dir, "cpumap", buf, sizeof(buf)), 3);
		assert_string_equal(buf, "2,3");
	}
}

static void test_loglimit(void **state)
{
	struct svm_loglimit l = { .line_max = 80, .burst = 3, .per_sec = 2, .total_max = 400 };
	char out[81], big[300];
	size_t n, total = 0;

	(void)state;
	/* control characters and newlines of the guest's become '?' */
	n = svm_loglimit_line(&l, 1000, "a\nb\033[2Jc", out, sizeof(out));
	assert_int_equal(n, 9);
	assert_string_equal(out, "a?b?[2Jc\n");
	/* long lines are cut, the newline kept */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = svm_loglimit_line(&l, 1000, big, out, sizeof(out));
	assert_int_equal(n, 80);
	assert_int_equal(out[79], '\n');
	/* the burst is 3: the fourth line at once is dropped */
	assert_true(svm_loglimit_line(&l, 1000, "three", out, sizeof(out)) > 0);
	assert_int_equal(svm_loglimit_line(&l, 1000, "four", out, sizeof(out)), 0);
	assert_int_equal(svm_loglimit_line(&l, 1100, "five", out, sizeof(out)), 0);
	/* half a second later one more is allowed, and says what was lost */
	n = svm_loglimit_line(&l, 1600, "six", out, sizeof(out));
	assert_true(n > 0);
	assert_string_equal(out, "(2 lines dropped) six\n");
	/* the total: one closing line, then silence, never above 400 */
	total = 9 + 80 + 6 + n;
	for (long long t = 2000; t < 100000; t += 1000) {
		n = svm_loglimit_line(&l, t, big, out, sizeof(out));
		total += n;
	}
	assert_true(total <= 400);
	assert_int_equal(l.closed, 1);
	assert_int_equal(svm_loglimit_line(&l, 200000, "more", out, sizeof(out)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hand_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hand_refuses_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_at, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_at, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_write_grant, setup, teardown),
		cmocka_unit_test(test_loglimit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
