/* Boot to ready: the relay owns the guest's agent channel and tells us,
 * through a pipe, the moment the agent said READY.  A relay that exits
 * first (the guest died, the agent never answered) closes the pipe: we wake
 * up on that too, so there is no polling of the guest and no fixed sleep. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "log.h"
#include "prolog.h"
#include "spawn.h"

/* How often the wait asks slurmctld whether the job still runs. */
#define JOB_CHECK_MS 2000

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Why the guest's agent never answered, from its console (the guest
 * writes it: bounded reads, printable ASCII only): a hint when the console
 * tells (an old systemd, a login prompt without agent) and the last
 * non-empty line, into OUT as one line. */
static void console_reason(const struct svm_jobdir *dir, char *out, size_t len)
{
	static char head[256 * 1024];
	char path[PATH_MAX], tail[4096], last[200], hint[400];
	ssize_t nh = 0, nt = 0;
	off_t size;
	int fd;

	snprintf(out, len, "last console line: \"\"");
	if (svm_path_join(path, sizeof(path), dir->state, "console.log") < 0)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return;
	/* PID 1 says its version early in the boot; the last line is at the end */
	nh = pread(fd, head, sizeof(head), 0);
	size = lseek(fd, 0, SEEK_END);
	if (size > 0)
		nt = pread(fd, tail, sizeof(tail), size > (off_t)sizeof(tail) ? size - (off_t)sizeof(tail) : 0);
	close(fd);
	if (nh < 0)
		nh = 0;
	if (nt < 0)
		nt = 0;
	svm_console_last_line(tail, (size_t)nt, last, sizeof(last));
	if (svm_console_hint(head, (size_t)nh, hint, sizeof(hint)) ||
	    svm_console_hint(tail, (size_t)nt, hint, sizeof(hint)))
		snprintf(out, len, "%s; last console line: \"%s\"", hint, last);
	else
		snprintf(out, len, "last console line: \"%s\"", last);
}

int svm_prolog_wait_ready(const struct svm_jobenv *env, const struct svm_config *conf,
			  const struct svm_jobdir *dir, const char *agent_sock)
{
	char relay[PATH_MAX], listen_sock[PATH_MAX], logpath[PATH_MAX], fdstr[16],
	     timeout[16], pidstr[32];
	int pipefd[2] = { -1, -1 }, logfd = -1, rc = -1, status;
	long long deadline;
	pid_t pid;
	char c = 0;
	ssize_t n;

	if (svm_path_join(relay, sizeof(relay), conf->libexec_dir, "slurm-vm-relay") < 0 ||
	    svm_path_join(listen_sock, sizeof(listen_sock), dir->sock, "relay.sock") < 0 ||
	    svm_path_join(logpath, sizeof(logpath), dir->state, "relay.log") < 0) {
		svm_error("relay paths too long under %s", dir->state);
		return -1;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		svm_error("cannot create a pipe: %s", strerror(errno));
		return -1;
	}
	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
	snprintf(fdstr, sizeof(fdstr), "%d", pipefd[1]);
	snprintf(timeout, sizeof(timeout), "%u", conf->boot_timeout);
	{
		const char *argv[] = { relay, "--channel", agent_sock, "--listen", listen_sock,
				       "--ready-fd", fdstr, "--timeout", timeout, NULL };
		struct svm_spawn sp = {
			.argv = argv, .uid = env->uid, .gid = env->gid, .cwd = "/",
			.stdout_fd = logfd, .stderr_fd = logfd, .keep_fd = pipefd[1],
			.new_session = 1,
		};

		pid = svm_spawn_start(&sp);
	}
	close(pipefd[1]);
	if (logfd >= 0)
		close(logfd);
	if (pid < 0)
		goto out;
	snprintf(pidstr, sizeof(pidstr), "%ld\n", (long)pid);
	{
		char pidpath[PATH_MAX];
		int fd;

		if (svm_path_join(pidpath, sizeof(pidpath), dir->state, "relay.pid") == 0 &&
		    (fd = open(pidpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644)) >= 0) {
			if (write(fd, pidstr, strlen(pidstr)) < 0)
				svm_error("cannot write %s: %s", pidpath, strerror(errno));
			close(fd);
		}
	}
	/* The relay has its own timeout; ours is a margin above it. */
	deadline = mono_ms() + (long long)conf->boot_timeout * 1000 + 5000;
	for (;;) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		long long left = deadline - mono_ms();
		int r;

		if (left <= 0) {
			char why[700];

			console_reason(dir, why, sizeof(why));
			svm_error("the guest's agent was not ready within %u s (%s)", conf->boot_timeout, why);
			goto out;
		}
		/* every few seconds: has the job been cancelled (or hit its time
		 * limit) while its guest boots?  Then stop now, so that the
		 * epilog frees the node within seconds, not after boot_timeout */
		r = poll(&p, 1, (int)(left > JOB_CHECK_MS ? JOB_CHECK_MS : left));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			svm_error("cannot wait for the relay: %s", strerror(errno));
			goto out;
		}
		if (r == 0) {
			char state[64];

			if (svm_prolog_job_ended(env, state, sizeof(state))) {
				svm_error("job %u ended (%s) while its guest was booting", env->job, state);
				goto out;
			}
			continue;
		}
		do
			n = read(pipefd[0], &c, 1);
		while (n < 0 && errno == EINTR);
		break;
	}
	if (n == 1 && c == 'R') {
		rc = 0;
		goto out;
	}
	/* EOF: the relay gave up; its status and log say why */
	status = svm_spawn_wait(pid);
	{
		char st[32], why[700];

		svm_spawn_status_str(status, st, sizeof(st));
		console_reason(dir, why, sizeof(why));
		svm_error("the guest's agent never became ready: the guest stopped or did not answer within %u s (relay %s; %s)",
			  conf->boot_timeout, st, why);
	}
out:
	close(pipefd[0]);
	return rc;
}
