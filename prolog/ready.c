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
#include "relayproc.h"
#include "safefs.h"
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

/* The relay may write this much into relay.log, on /run: RLIMIT_FSIZE,
 * set by root, so the relay (the job user's process) cannot raise it.  The
 * relay itself stops well below (1 MiB, rate-limited), see exec/relay.c. */
#define RELAY_LOG_MAX (2ULL * 1024 * 1024)

/* Hands the relay everything as descriptors, so that it never needs a
 * path in the runtime directory and the job user can write nothing there:
 * the connection to QEMU's agent channel (made here, as root: the socket
 * stays root's, 0600), the socket slurm-vm-exec connects to (bound here in
 * root's directory, then given to the user), and the log (root's file,
 * opened here).  Each is found by name in the held state directory fd and
 * checked to be what it should, never followed through a link. */
int svm_prolog_wait_ready(const struct svm_jobenv *env, const struct svm_config *conf,
			  const struct svm_jobdir *dir, int *node_fault)
{
	char relay[PATH_MAX], cgroup[PATH_MAX], fdstr[16], chanstr[16], lstr[16], timeout[16];
	int pipefd[2] = { -1, -1 }, logfd = -1, statefd = -1, chan = -1, lfd = -1, rc = -1,
	    status, have_cg;
	long long deadline;
	pid_t pid = -1;
	char c = 0;
	ssize_t n;

	*node_fault = 1;
	if (svm_path_join(relay, sizeof(relay), conf->libexec_dir, "slurm-vm-relay") < 0) {
		svm_error("relay path too long under %s", conf->libexec_dir);
		return -1;
	}
	have_cg = svm_relay_cgroup_path(dir, cgroup, sizeof(cgroup));
	if (have_cg < 0)
		return -1;
	/* a relay of an earlier, interrupted prolog of this job goes first */
	if (svm_relay_stop(dir) < 0 || (have_cg && svm_relay_cgroup_make(cgroup) < 0))
		return -1;
	if (!have_cg)
		svm_verbose("no cgroup v2 on this host: the epilog can stop the relay but not what it starts");
	statefd = svm_dir_open(dir->state);
	if (statefd < 0)
		return -1;
	if (svm_sock_hand_at(statefd, SVM_AGENT_SOCK, 0, 0, 0600) < 0 ||
	    (chan = svm_unix_connect_at(statefd, SVM_AGENT_SOCK)) < 0 ||
	    (lfd = svm_unix_listen_at(statefd, SVM_RELAY_SOCK, 128)) < 0 ||
	    svm_sock_hand_at(statefd, SVM_RELAY_SOCK, env->uid, env->gid, 0600) < 0)
		goto out;
	logfd = openat(statefd, "relay.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (logfd < 0) {
		svm_error("cannot open %s/relay.log: %s", dir->state, strerror(errno));
		goto out;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		svm_error("cannot create a pipe: %s", strerror(errno));
		goto out;
	}
	snprintf(fdstr, sizeof(fdstr), "%d", pipefd[1]);
	snprintf(chanstr, sizeof(chanstr), "%d", chan);
	snprintf(lstr, sizeof(lstr), "%d", lfd);
	snprintf(timeout, sizeof(timeout), "%u", conf->boot_timeout);
	{
		const char *argv[] = { relay, "--channel-fd", chanstr, "--listen-fd", lstr,
				       "--ready-fd", fdstr, "--timeout", timeout, NULL };
		const int keep[] = { chan, lfd, pipefd[1] };
		struct svm_spawn sp = {
			.argv = argv, .uid = env->uid, .gid = env->gid, .cwd = "/",
			.stdout_fd = logfd, .stderr_fd = logfd, .keep_fd = -1,
			.keep_fds = keep, .n_keep_fds = 3, .new_session = 1,
			.cgroup = have_cg ? cgroup : NULL, .max_file_size = RELAY_LOG_MAX,
		};

		pid = svm_spawn_start(&sp);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	if (pid < 0)
		goto out;
	if (svm_relay_record(dir, pid, env->uid) < 0)
		goto out;
	*node_fault = 0;
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
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (logfd >= 0)
		close(logfd);
	if (chan >= 0)
		close(chan);
	if (lfd >= 0)
		close(lfd);
	if (statefd >= 0)
		close(statefd);
	return rc;
}
