/* svm_rmtree on real trees, as root (skipped otherwise): a job user's
 * scratch tree is emptied with that user's rights only, nothing outside it
 * is touched, and depth, FIFOs, sockets and mount points do not fail it. */
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
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "rmtree.h"
#include "testutil.h"

/* not in /etc/passwd: the removal needs only the number */
#define USER_UID 42424
#define USER_GID 42425

static char base[64];		/* root's 0700 dir: the job user cannot reach it by path */
static char tree[128];		/* base/job: the user's tree */
static char outside[128];	/* base/outside: root's, a link target */

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	testutil_log_capture();
	snprintf(base, sizeof(base), "/tmp/svm-rmtree.XXXXXX");
	assert_non_null(mkdtemp(base));
	snprintf(tree, sizeof(tree), "%s/job", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	assert_int_equal(mkdir(outside, 0755), 0);
	return 0;
}

static int teardown(void **state)
{
	char path[256];

	(void)state;
	if (geteuid() != 0)
		return 0;
	snprintf(path, sizeof(path), "%s/secret", outside);
	unlink(path);
	rmdir(outside);
	rmdir(base);
	return 0;
}

#define NEED_ROOT() do { if (geteuid() != 0) skip(); } while (0)

/* Creates NAME in DFD (a directory when MODE says so) owned by UID:GID. */
static void make(int dfd, const char *name, mode_t mode, uid_t uid, gid_t gid)
{
	if (S_ISDIR(mode))
		assert_int_equal(mkdirat(dfd, name, mode & 07777), 0);
	else if (S_ISREG(mode))
		assert_int_equal(close(openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY, mode & 07777)), 0);
	else
		assert_int_equal(mknodat(dfd, name, mode, 0), 0);
	assert_int_equal(fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW), 0);
}

static int open_sub(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);

	assert_true(fd >= 0);
	return fd;
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* The user's tree: files, directories, a symbolic link to root's directory
 * outside (holding a root file), a FIFO and a socket, a directory the user
 * made unreadable. */
static void test_user_tree(void **state)
{
	char secret[256];
	struct stat st;
	int top, sub;

	(void)state;
	NEED_ROOT();
	snprintf(secret, sizeof(secret), "%s/secret", outside);
	assert_int_equal(close(open(secret, O_CREAT | O_WRONLY, 0600)), 0);
	make(AT_FDCWD, tree, S_IFDIR | 0700, USER_UID, USER_GID);
	top = open_sub(AT_FDCWD, tree);
	make(top, "overlay.qcow2", S_IFREG | 0600, USER_UID, USER_GID);
	make(top, "fifo", S_IFIFO | 0600, USER_UID, USER_GID);
	make(top, "agent.sock", S_IFSOCK | 0600, USER_UID, USER_GID);
	make(top, "a", S_IFDIR | 0755, USER_UID, USER_GID);
	sub = open_sub(top, "a");
	make(sub, "b", S_IFDIR | 0755, USER_UID, USER_GID);
	make(sub, "file\nwith newline", S_IFREG | 0644, USER_UID, USER_GID);
	assert_int_equal(symlinkat(outside, sub, "to-outside"), 0);
	assert_int_equal(fchownat(sub, "to-outside", USER_UID, USER_GID, AT_SYMLINK_NOFOLLOW), 0);
	make(sub, "locked", S_IFDIR | 0000, USER_UID, USER_GID);
	close(sub);
	assert_int_equal(symlinkat(secret, top, "secret"), 0);
	close(top);

	assert_int_equal(svm_rmtree(tree), 0);
	assert_false(exists(tree));
	assert_int_equal(lstat(secret, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_string_equal(testutil_errors, "");
}

/* The user swaps directories d<i> of their tree with links l<i> to root's
 * directory (holding a root file of the same name as theirs) as fast as
 * they can during the removal: root's file survives, the tree goes. */
static void test_swapping_user(void **state)
{
	char secret[256], name[32];
	struct stat st;
	pid_t pid;
	int top, sub, status, rc;

	(void)state;
	NEED_ROOT();
	snprintf(secret, sizeof(secret), "%s/secret", outside);
	assert_int_equal(close(open(secret, O_CREAT | O_WRONLY, 0600)), 0);
	make(AT_FDCWD, tree, S_IFDIR | 0700, USER_UID, USER_GID);
	top = open_sub(AT_FDCWD, tree);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		make(top, name, S_IFDIR | 0700, USER_UID, USER_GID);
		sub = open_sub(top, name);
		make(sub, "secret", S_IFREG | 0600, USER_UID, USER_GID);
		for (int f = 0; f < 20; f++) {
			snprintf(name, sizeof(name), "f%d", f);
			make(sub, name, S_IFREG | 0600, USER_UID, USER_GID);
		}
		close(sub);
		snprintf(name, sizeof(name), "l%d", i);
		assert_int_equal(symlinkat(outside, top, name), 0);
		assert_int_equal(fchownat(top, name, USER_UID, USER_GID, AT_SYMLINK_NOFOLLOW), 0);
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		time_t end = time(NULL) + 20;

		if (setresgid(USER_GID, USER_GID, USER_GID) < 0 || setresuid(USER_UID, USER_UID, USER_UID) < 0)
			_exit(2);
		while (time(NULL) < end && fstat(top, &st) == 0 && st.st_nlink > 0)
			for (int i = 0; i < 40; i++) {
				char d[16], l[16];

				snprintf(d, sizeof(d), "d%d", i);
				snprintf(l, sizeof(l), "l%d", i);
				renameat2(top, d, top, l, RENAME_EXCHANGE);
			}
		_exit(0);
	}
	usleep(100 * 1000);
	rc = svm_rmtree(tree);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
	close(top);
	assert_int_equal(lstat(secret, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(rc, 0);
	assert_false(exists(tree));
}

/* A root directory inside the user's tree stays: the user could not remove
 * it, so neither does the removal (it runs as the user, not as root). */
static void test_runs_as_the_user(void **state)
{
	char path[256];
	int top, sub;

	(void)state;
	NEED_ROOT();
	make(AT_FDCWD, tree, S_IFDIR | 0700, USER_UID, USER_GID);
	top = open_sub(AT_FDCWD, tree);
	make(top, "mine", S_IFREG | 0600, USER_UID, USER_GID);
	make(top, "roots", S_IFDIR | 0755, 0, 0);
	sub = open_sub(top, "roots");
	make(sub, "kept\nfake: log line", S_IFREG | 0600, 0, 0);
	close(sub);
	close(top);

	assert_int_equal(svm_rmtree(tree), 1);
	snprintf(path, sizeof(path), "%s/roots/kept\nfake: log line", tree);
	assert_true(exists(path));
	snprintf(path, sizeof(path), "%s/mine", tree);
	assert_false(exists(path));
	assert_non_null(strstr(testutil_errors, "cannot remove "));
	/* one line, the name escaped */
	assert_non_null(strstr(testutil_errors, "/job/.../kept\\x0afake: log line: unlink: Permission denied\n"));
	assert_null(strstr(testutil_errors, "\nfake"));

	/* root's own cleanup of this test */
	snprintf(path, sizeof(path), "%s/roots/kept\nfake: log line", tree);
	unlink(path);
	snprintf(path, sizeof(path), "%s/roots", tree);
	rmdir(path);
	rmdir(tree);
}

/* Builds a chain of LEVELS directories named NAME below DFD, owned by
 * UID:GID. */
static void chain(int dfd, const char *name, int levels, uid_t uid, gid_t gid)
{
	int fd = dup(dfd);

	for (int i = 0; i < levels; i++) {
		int next;

		make(fd, name, S_IFDIR | 0700, uid, gid);
		next = open_sub(fd, name);
		close(fd);
		fd = next;
	}
	make(fd, "bottom", S_IFREG | 0600, uid, gid);
	close(fd);
}

/* Deeper than PATH_MAX: 30 levels of 200-byte names, and 3000 levels of
 * short ones (more than the walk keeps open). */
static void test_deep(void **state)
{
	char name[201];
	int top;

	(void)state;
	NEED_ROOT();
	memset(name, 'x', 200);
	name[200] = '\0';
	make(AT_FDCWD, tree, S_IFDIR | 0700, USER_UID, USER_GID);
	top = open_sub(AT_FDCWD, tree);
	chain(top, name, 30, USER_UID, USER_GID);
	chain(top, "d", 3000, USER_UID, USER_GID);
	close(top);

	assert_int_equal(svm_rmtree(tree), 0);
	assert_false(exists(tree));
	assert_string_equal(testutil_errors, "");
}

/* The same as root's own tree (no user to drop to). */
static void test_deep_root(void **state)
{
	int top;

	(void)state;
	NEED_ROOT();
	make(AT_FDCWD, tree, S_IFDIR | 0755, 0, 0);
	top = open_sub(AT_FDCWD, tree);
	chain(top, "d", 3000, 0, 0);
	close(top);

	assert_int_equal(svm_rmtree(tree), 0);
	assert_false(exists(tree));
}

/* The state directory: root's, with the user's socket directory in it. */
static void test_state_dir(void **state)
{
	int top, sub;

	(void)state;
	NEED_ROOT();
	make(AT_FDCWD, tree, S_IFDIR | 0755, 0, 0);
	top = open_sub(AT_FDCWD, tree);
	make(top, "outcome", S_IFREG | 0644, 0, 0);
	make(top, "sock", S_IFDIR | 0700, USER_UID, USER_GID);
	sub = open_sub(top, "sock");
	make(sub, "agent.sock", S_IFSOCK | 0600, USER_UID, USER_GID);
	make(sub, "relay.sock", S_IFSOCK | 0600, 0, 0);
	assert_int_equal(symlinkat(outside, sub, "d"), 0);
	chain(sub, "d2", 10, USER_UID, USER_GID);
	close(sub);
	close(top);

	assert_int_equal(svm_rmtree(tree), 0);
	assert_false(exists(tree));
	assert_true(exists(outside));
	assert_string_equal(testutil_errors, "");
}

/* A mount point in the user's tree is not crossed and stays, with what is
 * mounted there; the rest goes, and it is not a node fault (1, not -1). */
static void test_mount_point(void **state)
{
	char mnt[256], inside[300];
	int top;

	(void)state;
	NEED_ROOT();
	make(AT_FDCWD, tree, S_IFDIR | 0700, USER_UID, USER_GID);
	top = open_sub(AT_FDCWD, tree);
	make(top, "mnt", S_IFDIR | 0755, USER_UID, USER_GID);
	make(top, "other", S_IFREG | 0600, USER_UID, USER_GID);
	close(top);
	snprintf(mnt, sizeof(mnt), "%s/mnt", tree);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m,mode=0777") < 0) {
		print_message("cannot mount a tmpfs here (%s): skipped\n", strerror(errno));
		rmdir(mnt);
		snprintf(inside, sizeof(inside), "%s/other", tree);
		unlink(inside);
		rmdir(tree);
		skip();
	}
	snprintf(inside, sizeof(inside), "%s/kept", mnt);
	assert_int_equal(close(open(inside, O_CREAT | O_WRONLY, 0600)), 0);

	assert_int_equal(svm_rmtree(tree), 1);
	assert_true(exists(inside));
	snprintf(inside, sizeof(inside), "%s/other", tree);
	assert_false(exists(inside));
	assert_non_null(strstr(testutil_errors, "/job/mnt: a mount point, left in place"));

	assert_int_equal(umount(mnt), 0);
	rmdir(mnt);
	rmdir(tree);
}

static void test_missing(void **state)
{
	(void)state;
	NEED_ROOT();
	assert_int_equal(svm_rmtree(tree), 0);
	assert_string_equal(testutil_errors, "");
}

static void test_log_safe(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(svm_log_safe("a\nb\\c'\x7f\xc3\xa9", buf, sizeof(buf)),
			    "a\\x0ab\\x5cc\\x27\\x7f\\xc3\\xa9");
	assert_string_equal(svm_log_safe("0123456789012345678901234567890123456789", buf, sizeof(buf)),
			    "0123456789012345678901234567...");
	assert_true(strlen(buf) < sizeof(buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_user_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swapping_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runs_as_the_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deep_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mount_point, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test(test_log_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
