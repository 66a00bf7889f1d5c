#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "parse.h"
#include "relayproc.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define STOP_WAIT_MS 5000

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int is_cgroup2(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC;
}

int svm_relay_cgroup_path(const struct svm_jobdir *dir, char *buf, size_t len)
{
	const char *base = is_cgroup2("/sys/fs/cgroup") ? "/sys/fs/cgroup" :
			   is_cgroup2("/sys/fs/cgroup/unified") ? "/sys/fs/cgroup/unified" : NULL;
	int n;

	if (!base)
		return 0;
	n = snprintf(buf, len, "%s/slurm-vm/%u.%s", base, dir->job, dir->node);
	if (n < 0 || (size_t)n >= len) {
		svm_error("cgroup path too long for job %u on %s", dir->job, dir->node);
		return -1;
	}
	return 1;
}

int svm_relay_cgroup_make(const char *path)
{
	char parent[PATH_MAX];
	char *slash;

	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	if ((mkdir(parent, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(path, 0755) < 0 && errno != EEXIST)) {
		svm_error("cannot create the relay's cgroup %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The start time of process PID (clock ticks since boot, field 22 of
 * /proc/PID/stat) and its real uid.  0, or -1 if there is no such process. */
static int proc_identity(pid_t pid, unsigned long long *start, uid_t *uid)
{
	char path[64], buf[1024], *p;
	unsigned long u;
	ssize_t n;
	int fd, field;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: count from the
	 * last ')', which ends it; field 3 (state) follows */
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -1;
	*start = strtoull(p + 1, NULL, 10);
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	*uid = (uid_t)-1;
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "Uid: %lu", &u) == 1) {
			*uid = (uid_t)u;
			break;
		}
	fclose(f);
	return *uid == (uid_t)-1 ? -1 : 0;
}

int svm_relay_record(const struct svm_jobdir *dir, pid_t pid, uid_t uid)
{
	unsigned long long start;
	uid_t now_uid;
	char text[96];

	if (proc_identity(pid, &start, &now_uid) < 0) {
		svm_error("cannot read the identity of the relay (pid %ld)", (long)pid);
		return -1;
	}
	snprintf(text, sizeof(text), "%ld %llu %u\n", (long)pid, start, (unsigned)uid);
	return svm_state_write(dir->state, "relay.pid", text, 0);
}

/* Pids in the cgroup DIR into PIDS (at most MAX); the count, or -1. */
static int cgroup_pids(const char *dir, pid_t *pids, int max)
{
	char path[PATH_MAX + 16];
	long pid;
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (n < max && fscanf(f, "%ld", &pid) == 1)
		pids[n++] = (pid_t)pid;
	fclose(f);
	return n;
}

static int kill_cgroup(const char *dir)
{
	char path[PATH_MAX + 16];
	pid_t pids[256];
	int fd, n = 0, waited;

	snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			svm_error("cannot write %s: %s", path, strerror(errno));
		close(fd);
	}
	for (waited = 0; waited <= STOP_WAIT_MS; waited += 50) {
		n = cgroup_pids(dir, pids, (int)(sizeof(pids) / sizeof(pids[0])));
		if (n <= 0)
			break;
		/* without cgroup.kill (Linux < 5.14): each member; a process
		 * listed in cgroup.procs is in the cgroup, so this never hits
		 * another job's process unless the pid was reused within these
		 * few milliseconds by a process moved into this cgroup */
		if (fd < 0)
			for (int i = 0; i < n; i++)
				kill(pids[i], SIGKILL);
		sleep_ms(50);
	}
	if (n > 0) {
		svm_error("%d processes of the relay's cgroup %s survived SIGKILL for %d s", n, dir,
			  STOP_WAIT_MS / 1000);
		return -1;
	}
	if (rmdir(dir) < 0 && errno != ENOENT) {
		svm_error("cannot remove the relay's cgroup %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The relay recorded in relay.pid, if that pid still is the process we
 * started (same start time, same uid): signalled through a pidfd, which
 * names one process and never a later holder of its pid. */
static int kill_recorded(const struct svm_jobdir *dir)
{
	unsigned long long start, now_start;
	uid_t uid, now_uid;
	char buf[96], path[PATH_MAX];
	unsigned u;
	long pid;
	int pfd, rc = 0;

	if (svm_state_read(dir->state, "relay.pid", buf, sizeof(buf)) < 0)
		return 0;
	if (sscanf(buf, "%ld %llu %u", &pid, &start, &u) != 3 || pid <= 1)
		goto done;
	uid = (uid_t)u;
	pfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pfd < 0)
		goto done;	/* gone */
	{
		struct pollfd p = { .fd = pfd, .events = POLLIN };

		/* identity read after the pidfd was taken, and the process the
		 * pidfd names still running: the /proc entry read was its */
		if (proc_identity((pid_t)pid, &now_start, &now_uid) == 0 &&
		    now_start == start && now_uid == uid && poll(&p, 1, 0) == 0) {
			syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
			if (poll(&p, 1, STOP_WAIT_MS) != 1) {
				svm_error("the relay (pid %ld) survived SIGKILL for %d s", pid,
					  STOP_WAIT_MS / 1000);
				rc = -1;
			}
		}
	}
	close(pfd);
done:
	if (rc == 0 && svm_path_join(path, sizeof(path), dir->state, "relay.pid") == 0)
		unlink(path);
	return rc;
}

int svm_relay_stop(const struct svm_jobdir *dir)
{
	char cg[PATH_MAX];
	struct stat st;
	int rc = 0, have;

	have = svm_relay_cgroup_path(dir, cg, sizeof(cg));
	if (have == 1 && lstat(cg, &st) == 0 && kill_cgroup(cg) < 0)
		rc = -1;
	if (kill_recorded(dir) < 0)
		rc = -1;
	return rc;
}
