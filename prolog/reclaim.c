/* What jobs that no longer exist left on this node: a state or scratch
 * directory, or a domain (running or only defined) under their names, left
 * when an epilog never ran or died half-way (a slurmd crash, a reboot that
 * wiped the runtime directory but not the scratch directory or libvirt's
 * persistent domains).  Each such job is asked of slurmctld; one that no
 * longer runs here is torn down as its epilog would, and the slurmd log
 * says so.  One that may still run, or when slurmctld cannot be asked, is
 * left alone. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "jobdir.h"
#include "log.h"
#include "parse.h"
#include "prolog.h"
#include "teardown.h"

#define MAX_STALE 64

struct found {
	uint32_t job[MAX_STALE];
	int n;
};

/* "<job><sep><node>" with the job in decimal: its job, else 0. */
static uint32_t job_of(const char *name, char sep, const char *node)
{
	char *end;
	unsigned long j;

	if (name[0] < '1' || name[0] > '9')
		return 0;
	errno = 0;
	j = strtoul(name, &end, 10);
	if (errno || j > UINT32_MAX || *end != sep || strcmp(end + 1, node) != 0)
		return 0;
	return (uint32_t)j;
}

static void add(struct found *f, uint32_t job, uint32_t self)
{
	if (!job || job == self)
		return;
	for (int i = 0; i < f->n; i++)
		if (f->job[i] == job)
			return;
	if (f->n < MAX_STALE)
		f->job[f->n++] = job;
}

/* The admin's directory PATH for reading, never through a link; NULL if
 * there is none. */
static DIR *open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d)
		close(fd);
	return d;
}

/* The entries <job>.<node> of the admin's directory DIR. */
static void scan_dir(const char *dir, const char *node, uint32_t self, struct found *f)
{
	DIR *d = open_dir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		add(f, job_of(e->d_name, '.', node), self);
	closedir(d);
}

/* The InfiniBand reservations of lib/ib.c, <runtime_dir>/vf/<bdf> holding
 * "job=J node=N": one a job left without any other trace counts too. */
static void scan_vf(const struct svm_config *conf, const char *node, uint32_t self,
		    struct found *f)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *e;

	if (svm_path_join(path, sizeof(path), conf->runtime_dir, "vf") < 0 || !(d = open_dir(path)))
		return;
	while ((e = readdir(d))) {
		char buf[128], onode[80];
		unsigned long ojob;
		ssize_t n;
		int rfd;

		if (e->d_name[0] == '.')
			continue;
		rfd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (rfd < 0)
			continue;
		n = read(rfd, buf, sizeof(buf) - 1);
		close(rfd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (sscanf(buf, "job=%lu node=%79s", &ojob, onode) == 2 && ojob <= UINT32_MAX &&
		    strcmp(onode, node) == 0)
			add(f, (uint32_t)ojob, self);
	}
	closedir(d);
}

/* The domains svm-<job>-<node>, active or only defined. */
static void scan_domains(const struct svm_config *conf, const char *node, uint32_t self,
			 struct found *f)
{
	virConnectPtr conn;
	virDomainPtr *doms = NULL;
	int n;

	svm_libvirt_errors_to_log();
	conn = virConnectOpen(conf->libvirt_uri);
	if (!conn)
		return;	/* the prolog itself says so when it needs libvirt */
	n = virConnectListAllDomains(conn, &doms, 0);
	for (int i = 0; i < n; i++) {
		const char *name = virDomainGetName(doms[i]);

		if (name && strncmp(name, "svm-", 4) == 0)
			add(f, job_of(name + 4, '-', node), self);
		virDomainFree(doms[i]);
	}
	free(doms);
	virConnectClose(conn);
}

int svm_prolog_reclaim(const struct svm_config *conf, uint32_t self, const char *node)
{
	struct found f = { .n = 0 };
	int rc = 0;

	scan_dir(conf->runtime_dir, node, self, &f);
	scan_dir(conf->scratch_dir, node, self, &f);
	scan_vf(conf, node, self, &f);
	scan_domains(conf, node, self, &f);
	for (int i = 0; i < f.n; i++) {
		struct svm_jobdir dir;

		if (svm_prolog_job_alive(f.job[i], node, NULL) != 0)
			continue;	/* may still run here, or cannot tell */
		if (svm_jobdir_init(&dir, conf, f.job[i], node) < 0)
			continue;
		if (svm_teardown(conf, &dir, 0) < 0) {
			svm_error("cannot remove everything job %" PRIu32 " left on %s", f.job[i], node);
			rc = -1;
			continue;
		}
		svm_info("job %" PRIu32 " no longer runs on %s (slurmctld) but had left its guest's domain or files here: removed",
			 f.job[i], node);
	}
	return rc;
}
