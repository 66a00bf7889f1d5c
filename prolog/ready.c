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
#include "parse.h"
#include "prolog.h"
#include "relayproc.h"
#include "safefs.h"
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
