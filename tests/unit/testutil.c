/* The unit tests' shared helpers (testutil.h). */
#include "config.h"

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
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "testutil.h"

char testutil_errors[8192];
char testutil_last_error[1024];
char testutil_last_info[1024];

static void capture(enum svm_log_level level, const char *msg)
{
	if (level == SVM_LOG_ERROR) {
		if (strlen(testutil_errors) + strlen(msg) + 2 < sizeof(testutil_errors)) {
			strcat(testutil_errors, msg);
			strcat(testutil_errors, "\n");
		}
		snprintf(testutil_last_error, sizeof(testutil_last_error), "%s", msg);
	} else if (level == SVM_LOG_INFO) {
		snprintf(testutil_last_info, sizeof(testutil_last_info), "%s", msg);
	}
}

void testutil_log_capture(void)
{
	testutil_errors[0] = '\0';
	testutil_last_error[0] = '\0';
	testutil_last_info[0] = '\0';
	svm_log_init(capture, SVM_LOG_DEBUG);
}

static void quiet(enum svm_log_level level, const char *msg)
{
	(void)level;
	(void)msg;
}

void testutil_log_quiet(void)
{
	svm_log_init(quiet, SVM_LOG_ERROR);
}

int testutil_tmpdir(char *buf, size_t len, const char *name)
{
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(buf, len, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);

	if (n < 0 || (size_t)n >= len)
		return -1;
	return mkdtemp(buf) ? 0 : -1;
}

void testutil_rm_rf(const char *tree)
{
	char *argv[] = { "rm", "-rf", (char *)tree, NULL };
	int status = -1;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		execvp("rm", argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
}

void testutil_mkdirs(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	}
	mkdir(buf, 0755);
}

void testutil_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

void testutil_write_str(const char *path, const char *s)
{
	testutil_write_file(path, s, strlen(s));
}

char *testutil_read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	if (!f)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	assert_int_equal(fseek(f, 0, SEEK_SET), 0);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

const char *testutil_srcpath(const char *sub, const char *name)
{
	static char buf[2][PATH_MAX];
	static int k;

	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "%s/tests/%s/%s", SVM_SRCDIR, sub, name);
	return buf[k];
}
