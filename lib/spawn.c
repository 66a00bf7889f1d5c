#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "spawn.h"

/* Closes every fd from 3 up, except KEEP1 and KEEP2. */
static void close_other_fds(int keep1, int keep2)
{
	struct rlimit rl;
	int max = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < 65536)
		max = (int)rl.rlim_cur;
	for (int fd = 3; fd < max; fd++)
		if (fd != keep1 && fd != keep2)
			close(fd);
}

/* Runs in the child: on any failure writes errno to ERRFD and exits 127. */
static void child(const struct svm_spawn *sp, int errfd)
{
	static const char *const empty_env[] = { NULL };
	int devnull, err;
	sigset_t all;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	if (sp->new_session)
		setsid();
	devnull = open("/dev/null", O_RDWR);
	if (devnull < 0)
		goto fail;
	if (dup2(devnull, 0) < 0 ||
	    dup2(sp->stdout_fd >= 0 ? sp->stdout_fd : devnull, 1) < 0 ||
	    dup2(sp->stderr_fd >= 0 ? sp->stderr_fd : devnull, 2) < 0)
		goto fail;
	/* errfd is close-on-exec; everything else but keep_fd goes */
	close_other_fds(errfd, sp->keep_fd);
	if (sp->keep_fd >= 0)
		fcntl(sp->keep_fd, F_SETFD, 0);
	if (sp->uid != (uid_t)-1) {
		if (setgroups((size_t)(sp->groups ? sp->ngroups : 0), sp->groups) < 0 ||
		    setresgid(sp->gid, sp->gid, sp->gid) < 0 ||
		    setresuid(sp->uid, sp->uid, sp->uid) < 0)
			goto fail;
		/* the drop must be irreversible */
		if (sp->uid != 0 && setuid(0) == 0) {
			errno = EPERM;
			goto fail;
		}
	}
	if (chdir(sp->cwd ? sp->cwd : "/") < 0)
		goto fail;
	execve(sp->argv[0], (char *const *)sp->argv,
	       (char *const *)(sp->envp ? sp->envp : empty_env));
fail:
	err = errno;
	if (write(errfd, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

pid_t svm_spawn_start(const struct svm_spawn *sp)
{
	int pipefd[2], err = 0;
	ssize_t n;
	pid_t pid;

	if (!sp->argv || !sp->argv[0] || sp->argv[0][0] != '/') {
		svm_error("cannot run %s: not an absolute path",
			  sp->argv && sp->argv[0] ? sp->argv[0] : "(null)");
		return -1;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		svm_error("cannot run %s: pipe: %s", sp->argv[0], strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		svm_error("cannot run %s: fork: %s", sp->argv[0], strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		close(pipefd[0]);
		child(sp, pipefd[1]);
	}
	close(pipefd[1]);
	/* exec succeeded iff the close-on-exec pipe closes without data */
	do {
		n = read(pipefd[0], &err, sizeof(err));
	} while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n == (ssize_t)sizeof(err)) {
		svm_error("cannot run %s: %s", sp->argv[0], strerror(err));
		svm_spawn_wait(pid);
		return -1;
	}
	return pid;
}

int svm_spawn_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return status;
}

const char *svm_spawn_status_str(int status, char *buf, size_t len)
{
	if (status < 0)
		snprintf(buf, len, "lost");
	else if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "status 0x%x", (unsigned)status);
	return buf;
}

int svm_spawn_run(const struct svm_spawn *sp)
{
	struct svm_spawn copy = *sp;
	char msg[512] = "", st[32];
	int errpipe[2] = { -1, -1 }, status;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	/* capture stderr unless the caller took it */
	if (copy.stderr_fd < 0 && pipe2(errpipe, O_CLOEXEC) == 0)
		copy.stderr_fd = errpipe[1];
	pid = svm_spawn_start(&copy);
	if (errpipe[1] >= 0)
		close(errpipe[1]);
	if (pid < 0) {
		if (errpipe[0] >= 0)
			close(errpipe[0]);
		return -1;
	}
	if (errpipe[0] >= 0) {
		char drain[4096];

		/* keep the start of the message, drain the rest */
		while ((n = read(errpipe[0], used < sizeof(msg) - 1 ? msg + used : drain,
				 used < sizeof(msg) - 1 ? sizeof(msg) - 1 - used : sizeof(drain))) != 0) {
			if (n < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			if (used < sizeof(msg) - 1)
				used += (size_t)n;
		}
		msg[used] = '\0';
		close(errpipe[0]);
		msg[strcspn(msg, "\n")] = '\0';
	}
	status = svm_spawn_wait(pid);
	if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	svm_error("%s failed (%s)%s%s", sp->argv[0],
		  svm_spawn_status_str(status, st, sizeof(st)), msg[0] ? ": " : "", msg);
	return -1;
}
