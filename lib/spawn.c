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

static int kept(int fd, const int *keep, size_t nkeep)
{
	for (size_t i = 0; i < nkeep; i++)
		if (keep[i] == fd)
			return 1;
	return 0;
}

int svm_close_fds_proc(int from, const int *keep, size_t nkeep)
{
	char buf[4096];
	long n;
	int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return -1;
	/* getdents64 by hand: opendir() allocates, which a child of a
	 * threaded parent must not do.  Closing while reading is fine: the
	 * entries are the fd numbers, each looked at once. */
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct {
				unsigned long long ino;
				long long off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *de = (void *)(buf + off);
			char *end;
			long fd = strtol(de->name, &end, 10);

			off += de->reclen;
			if (*end || end == de->name || fd < from || fd == dfd || kept((int)fd, keep, nkeep))
				continue;
			close((int)fd);
		}
	}
	close(dfd);
	return n < 0 ? -1 : 0;
}

int svm_close_fds(int from, const int *keep, size_t nkeep)
{
	unsigned int lo = (unsigned int)from;
	struct rlimit rl;
	long max = 1 << 20;
	int sorted[16];
	size_t n = 0;

	/* the kept fds in order, each once, those below FROM dropped */
	for (size_t i = 0; i < nkeep; i++) {
		size_t j;

		if (keep[i] < from || kept(keep[i], sorted, n))
			continue;
		if (n == sizeof(sorted) / sizeof(sorted[0])) {
			errno = E2BIG;
			return -1;
		}
		for (j = n++; j > 0 && sorted[j - 1] > keep[i]; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = keep[i];
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned int)sorted[i] > lo && close_range(lo, (unsigned int)sorted[i] - 1, 0) < 0)
			goto fallback;
		lo = (unsigned int)sorted[i] + 1;
	}
	if (close_range(lo, ~0U, 0) < 0)
		goto fallback;
	return 0;
fallback:
	/* a kernel before 5.9 */
	if (svm_close_fds_proc(from, keep, nkeep) == 0)
		return 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY)
		max = (long)rl.rlim_max;
	for (long fd = from; fd < max; fd++)
		if (!kept((int)fd, keep, nkeep))
			close((int)fd);
	return 0;
}

/* Moves the calling process into the cgroup v2 directory DIR. */
static int join_cgroup(const char *dir)
{
	char path[4096];
	int fd, n = snprintf(path, sizeof(path), "%s/cgroup.procs", dir);

	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	n = (int)write(fd, "0", 1);
	close(fd);
	return n == 1 ? 0 : -1;
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
	/* errfd is close-on-exec; everything else but the kept fds goes */
	{
		int keep[18];
		size_t nkeep = 0;

		keep[nkeep++] = errfd;
		if (sp->keep_fd >= 0)
			keep[nkeep++] = sp->keep_fd;
		if (sp->n_keep_fds > sizeof(keep) / sizeof(keep[0]) - nkeep) {
			errno = E2BIG;
			goto fail;
		}
		for (size_t i = 0; i < sp->n_keep_fds; i++)
			keep[nkeep++] = sp->keep_fds[i];
		if (svm_close_fds(3, keep, nkeep) < 0)
			goto fail;
		for (size_t i = 1; i < nkeep; i++)
			if (fcntl(keep[i], F_SETFD, 0) < 0)
				goto fail;
	}
	if (sp->cgroup && join_cgroup(sp->cgroup) < 0)
		goto fail;
	if (sp->max_file_size) {
		struct rlimit fsz = { sp->max_file_size, sp->max_file_size };

		if (setrlimit(RLIMIT_FSIZE, &fsz) < 0)
			goto fail;
	}
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

int svm_spawn_try(const struct svm_spawn *sp, char *why, size_t len)
{
	struct svm_spawn copy = *sp;
	char msg[512] = "", st[32];
	int errpipe[2] = { -1, -1 }, status;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	if (len)
		why[0] = '\0';	/* a start failure is logged by svm_spawn_start */
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
	snprintf(why, len, "%s failed (%s)%s%s", sp->argv[0],
		 svm_spawn_status_str(status, st, sizeof(st)), msg[0] ? ": " : "", msg);
	return -1;
}

int svm_spawn_run(const struct svm_spawn *sp)
{
	char why[640];

	if (svm_spawn_try(sp, why, sizeof(why)) == 0)
		return 0;
	if (why[0])
		svm_error("%s", why);
	return -1;
}
