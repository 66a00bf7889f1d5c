#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asuser.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The child: drop, run, report.  Never returns. */
static void __attribute__((noreturn))
child(int fd, uid_t uid, gid_t gid, const gid_t *groups, int ngroups,
      int (*fn)(void *, void *), void *arg, void *res, size_t len)
{
	unsigned char rc;
	sigset_t all;

	/* the parent's handlers and mask are not the child's business */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* dies with the prolog rather than outliving it */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (setgroups((size_t)ngroups, groups) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		_exit(120);
	/* irreversible: no way back to root */
	if (uid != 0 && (setresuid(0, 0, 0) == 0 || seteuid(0) == 0))
		_exit(121);
	memset(res, 0, len);
	rc = fn(arg, res) == 0 ? 0 : 1;
	if (write_all(fd, &rc, 1) < 0 || write_all(fd, res, len) < 0)
		_exit(122);
	_exit(0);
}

int svm_as_user_run(uid_t uid, gid_t gid, const char *user, unsigned timeout_s,
		    int (*fn)(void *arg, void *res), void *arg, void *res, size_t len,
		    int *timed_out, char *err, size_t errlen)
{
	gid_t groups[256];
	int ngroups = (int)(sizeof(groups) / sizeof(groups[0]));
	int pfd[2] = { -1, -1 }, status = 0, ret = -1, reaped = 0;
	unsigned char *buf = NULL;
	size_t got = 0, want = len + 1;
	int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
	pid_t pid;

	if (timed_out)
		*timed_out = 0;
	if (getgrouplist(user && *user ? user : "nobody", gid, groups, &ngroups) < 0)
		ngroups = 0;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot start the checks as uid %u: %s", (unsigned)uid, strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot start the checks as uid %u: %s", (unsigned)uid, strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(pfd[0]);
		child(pfd[1], uid, gid, groups, ngroups, fn, arg, res, len);
	}
	close(pfd[1]);
	pfd[1] = -1;
	/* after the fork: the child owns no heap memory of ours (a leak
	 * checker in the child would count it) */
	buf = malloc(want);
	if (!buf) {
		snprintf(err, errlen, "cannot wait for the checks as uid %u: %s", (unsigned)uid, strerror(ENOMEM));
		kill(pid, SIGKILL);
		goto reap;
	}
	while (got < want) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t n;
		int r;

		if (left <= 0)
			break;
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot wait for the checks as uid %u: %s", (unsigned)uid,
				 strerror(errno));
			kill(pid, SIGKILL);
			goto reap;
		}
		if (r == 0)
			continue;
		n = read(pfd[0], buf + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* the child is gone */
		got += (size_t)n;
	}
	if (got < want && now_ms() >= deadline) {
		kill(pid, SIGKILL);
		if (timed_out)
			*timed_out = 1;
		snprintf(err, errlen, "the checks of the job's files took longer than %u s (a file system that does not answer?)",
			 timeout_s);
		goto reap;
	}
	if (waitpid(pid, &status, 0) == pid)
		reaped = 1;
	if (!reaped || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || got < want) {
		if (reaped && WIFSIGNALED(status))
			snprintf(err, errlen, "the checks of the job's files were killed by signal %d",
				 WTERMSIG(status));
		else if (reaped && WIFEXITED(status) && WEXITSTATUS(status) == 120)
			snprintf(err, errlen, "cannot take the identity of uid %u", (unsigned)uid);
		else
			snprintf(err, errlen, "the checks of the job's files ended without an answer");
		goto out;
	}
	memcpy(res, buf + 1, len);
	ret = buf[0] == 0 ? 0 : -1;
	goto out;
reap:
	/* a child in an uninterruptible wait (hung NFS) may not die at once:
	 * wait a moment, then leave it; it dies when it wakes */
	for (int i = 0; i < 20 && !reaped; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			reaped = 1;
		else
			usleep(50000);
	}
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	free(buf);
	return ret;
}
