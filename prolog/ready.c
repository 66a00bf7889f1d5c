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

#include "log.h"
#include "prolog.h"
#include "spawn.h"

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The last non-empty line the guest printed on its console, made safe to
 * show (the guest writes it: printable ASCII only, bounded), or "". */
static void console_tail(const struct svm_jobdir *dir, char *out, size_t len)
{
	char path[PATH_MAX], buf[4096];
	ssize_t n = 0;
	off_t size;
	size_t o = 0;
	int fd;

	out[0] = '\0';
	if (svm_path_join(path, sizeof(path), dir->state, "console.log") < 0)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > 0 && lseek(fd, size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0, SEEK_SET) >= 0)
		n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	{
		char *line = strrchr(buf, '\n');

		line = line ? line + 1 : buf;
		for (; *line && o + 1 < len; line++)
			out[o++] = (*line >= 0x20 && *line < 0x7f) ? *line : '?';
		out[o] = '\0';
	}
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
			char last[200];

			console_tail(dir, last, sizeof(last));
			svm_error("the guest's agent was not ready within %u s (last console line: \"%s\")",
				  conf->boot_timeout, last);
			goto out;
		}
		r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			svm_error("cannot wait for the relay: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			continue;
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
		char st[32];

		char last[200];

		svm_spawn_status_str(status, st, sizeof(st));
		console_tail(dir, last, sizeof(last));
		svm_error("the guest's agent never became ready: the guest stopped or did not answer within %u s (relay %s; last console line: \"%s\")",
			  conf->boot_timeout, st, last);
	}
out:
	close(pipefd[0]);
	return rc;
}
