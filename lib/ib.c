#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ib.h"
#include "jobdir.h"
#include "log.h"
#include "parse.h"

/* snprintf into a path buffer; -1 when it does not fit. */
static int pathf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* More than any adapter offers (ConnectX: 127 per PF). */
#define SVM_MAX_VFS 1024

int svm_ib_pci_parse(const char *s, unsigned *domain, unsigned *bus,
		     unsigned *dev, unsigned *fn)
{
	unsigned d = 0, b, v, f;
	int n = 0;

	if (!s)
		return -1;
	if (sscanf(s, "%4x:%2x:%2x.%1u%n", &d, &b, &v, &f, &n) == 4 && (size_t)n == strlen(s)) {
		/* with domain */
	} else if (sscanf(s, "%2x:%2x.%1u%n", &b, &v, &f, &n) == 3 && (size_t)n == strlen(s)) {
		d = 0;
	} else {
		return -1;
	}
	if (v > 0x1f || f > 7)
		return -1;
	/* sscanf accepts signs and blanks: insist on hex digits only. */
	for (const char *p = s; *p; p++)
		if (!strchr("0123456789abcdefABCDEF:.", *p))
			return -1;
	*domain = d;
	*bus = b;
	*dev = v;
	*fn = f;
	return 0;
}

/* Reads a small sysfs attribute into BUF; -1 when absent or unreadable. */
static int read_attr(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Number of VFs the adapter PF (a BDF) has enabled under SYSFS_ROOT, 0 when
 * it has none or no SR-IOV. */
static int num_vfs(const char *sysfs_root, const char *pf)
{
	char path[PATH_MAX], buf[32];
	uint64_t n;

	if (pathf(path, sizeof(path), "%s/bus/pci/devices/%s/sriov_numvfs", sysfs_root, pf) < 0)
		return 0;
	if (read_attr(path, buf, sizeof(buf)) < 0 || svm_parse_u64(buf, 0, SVM_MAX_VFS, &n) < 0)
		return 0;
	return (int)n;
}

/* The BDF of virtual function I of PF, from the virtfnI link. */
static int vf_bdf(const char *sysfs_root, const char *pf, int i, char *bdf, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	unsigned d, b, v, f;
	ssize_t n;

	if (pathf(path, sizeof(path), "%s/bus/pci/devices/%s/virtfn%d", sysfs_root, pf, i) < 0)
		return -1;
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -1;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (svm_ib_pci_parse(base, &d, &b, &v, &f) < 0)
		return -1;
	snprintf(bdf, len, "%04x:%02x:%02x.%u", d, b, v, f);
	return 0;
}

int svm_ib_iommu_group(const char *sysfs_root, const char *bdf)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	uint64_t g;
	ssize_t n;

	if (pathf(path, sizeof(path), "%s/bus/pci/devices/%s/iommu_group", sysfs_root, bdf) < 0)
		n = -1, errno = ENAMETOOLONG;
	else
		n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		svm_error("cannot find the IOMMU group of PCI device %s: %s (is the IOMMU enabled?)",
			  bdf, strerror(errno));
		return -1;
	}
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (svm_parse_u64(base, 0, INT_MAX, &g) < 0) {
		svm_error("cannot find the IOMMU group of PCI device %s: odd link %s", bdf, target);
		return -1;
	}
	return (int)g;
}

/* Opens and locks RUNTIME/vf/lock, creating the directories.  Returns the
 * fd or -1 after logging. */
static int lock_vf_dir(const char *runtime, char *dir, size_t len)
{
	char path[PATH_MAX];
	int fd;

	if (pathf(dir, len, "%s/vf", runtime) < 0) {
		svm_error("runtime_dir %s is too long", runtime);
		return -1;
	}
	if (mkdir(runtime, 0755) < 0 && errno != EEXIST) {
		svm_error("cannot create runtime directory %s: %s", runtime, strerror(errno));
		return -1;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		svm_error("cannot create VF reservation directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (pathf(path, sizeof(path), "%s/lock", dir) < 0) {
		svm_error("runtime_dir %s is too long", runtime);
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		svm_error("cannot open VF lock file %s: %s", path, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			svm_error("cannot lock VF lock file %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Reads the owner of the reservation file PATH.  1 with JOB/NODE filled,
 * 0 when there is no such file, -1 when it is unreadable or malformed. */
static int read_owner(const char *path, uint32_t *job, char *node, size_t len)
{
	char buf[160], nd[80];
	unsigned long j;
	int n = 0;

	if (read_attr(path, buf, sizeof(buf)) < 0)
		return errno == ENOENT ? 0 : -1;
	if (sscanf(buf, "job=%lu node=%79s%n", &j, nd, &n) != 2 || (size_t)n != strlen(buf) ||
	    j > UINT32_MAX || !svm_node_name_ok(nd) || strlen(nd) >= len)
		return -1;
	*job = (uint32_t)j;
	strcpy(node, nd);
	return 1;
}

/* Writes PATH = "job=JOB node=NODE" atomically; fails with EEXIST if taken. */
static int write_owner(const char *path, uint32_t job, const char *node)
{
	char tmp[PATH_MAX + 32], buf[128];
	int fd, len, ret = -1;

	if (pathf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) < 0)
		return -1;
	len = snprintf(buf, sizeof(buf), "job=%" PRIu32 " node=%s\n", job, node);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, buf, (size_t)len) == len && fsync(fd) == 0)
		ret = link(tmp, path);
	close(fd);
	unlink(tmp);
	return ret;
}

/* Removes the reservation PATH of function BDF held by (OJOB, ONODE), a job
 * the liveness check said is gone, and says so in the log.  0 or -1. */
static int reclaim(const char *path, const char *what, const char *bdf, uint32_t ojob,
		   const char *onode, uint32_t job, const char *node)
{
	svm_info("%s %s was held by job %" PRIu32 " on %s, which is no longer running: reclaimed for job %" PRIu32 " on %s",
		 what, bdf, ojob, onode, job, node);
	if (unlink(path) < 0 && errno != ENOENT) {
		svm_error("cannot remove stale reservation %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* 1 when the reservation owner (OJOB, ONODE) is still running: without a
 * callback, or when it cannot tell, every owner is. */
static int owner_runs(svm_vf_alive_fn alive, void *arg, uint32_t ojob, const char *onode)
{
	return !alive || alive(ojob, onode, arg) != 0;
}

/* Whether the whole function PF is held by someone else's running job:
 * then none of its VFs may be taken either.  With RESERVE a stale PF
 * reservation is removed.  1 held (BUSY says by whom), 0 not, -1 errors. */
static int pf_held(const char *dir, const char *pf, uint32_t job, const char *node,
		   int reserve, svm_vf_alive_fn alive, void *arg, char *busy, size_t blen)
{
	char path[PATH_MAX], onode[80];
	uint32_t ojob;
	int r;

	if (pathf(path, sizeof(path), "%s/%s", dir, pf) < 0)
		return -1;
	r = read_owner(path, &ojob, onode, sizeof(onode));
	if (r == 0 || (r == 1 && ojob == job && !strcmp(onode, node)))
		return 0;
	if (r < 0) {
		snprintf(busy, blen, "its reservation file vf/%s is unreadable", pf);
		return 1;
	}
	if (owner_runs(alive, arg, ojob, onode)) {
		snprintf(busy, blen, "job %" PRIu32 " on %s holds the whole adapter", ojob, onode);
		return 1;
	}
	if (reserve && reclaim(path, "InfiniBand adapter", pf, ojob, onode, job, node) < 0)
		return -1;
	return 0;
}

/* Finds (and with RESERVE takes) a free VF of PF.  1 with BDF filled when
 * one was found, 0 when every VF is taken (BUSY says why), -1 on errors. */
static int take_vf(const struct svm_config *conf, const char *dir, const char *pf,
		   uint32_t job, const char *node, int reserve,
		   svm_vf_alive_fn alive, void *arg, char *bdf, size_t len,
		   char *busy, size_t blen)
{
	int n = num_vfs(conf->sysfs_root, pf);
	int first_free = -1;
	char cand[16];
	int held = pf_held(dir, pf, job, node, reserve, alive, arg, busy, blen);

	if (held != 0)
		return held < 0 ? -1 : 0;
	snprintf(busy, blen, "%d VFs enabled, all reserved", n);
	/* A VF this (job, node) already holds wins: the prolog may run again. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < n; i++) {
			char path[PATH_MAX], onode[80];
			uint32_t ojob;
			int r;

			if (vf_bdf(conf->sysfs_root, pf, i, cand, sizeof(cand)) < 0)
				continue;
			if (pathf(path, sizeof(path), "%s/%s", dir, cand) < 0)
				continue;
			r = read_owner(path, &ojob, onode, sizeof(onode));
			if (pass == 0) {
				if (r == 1 && ojob == job && !strcmp(onode, node)) {
					snprintf(bdf, len, "%s", cand);
					return 1;
				}
				if (r == 0 && first_free < 0)
					first_free = i;
				continue;
			}
			/* pass 1: no free VF; look for owners that are gone */
			if (r != 1 || owner_runs(alive, arg, ojob, onode))
				continue;
			if (!reserve) {
				snprintf(bdf, len, "%s", cand);
				return 1;
			}
			if (reclaim(path, "VF", cand, ojob, onode, job, node) < 0)
				return -1;
			if (write_owner(path, job, node) < 0) {
				svm_error("cannot reserve VF %s in %s: %s", cand, dir, strerror(errno));
				return -1;
			}
			snprintf(bdf, len, "%s", cand);
			return 1;
		}
		if (pass == 0 && first_free >= 0) {
			char path[PATH_MAX];

			if (vf_bdf(conf->sysfs_root, pf, first_free, cand, sizeof(cand)) < 0)
				return -1;
			if (pathf(path, sizeof(path), "%s/%s", dir, cand) < 0)
				return -1;
			if (reserve && write_owner(path, job, node) < 0) {
				svm_error("cannot reserve VF %s in %s: %s", cand, dir, strerror(errno));
				return -1;
			}
			snprintf(bdf, len, "%s", cand);
			return 1;
		}
	}
	return 0;
}

/* Takes (with RESERVE) the whole function PF for (JOB, NODE), booked like
 * a VF: free when neither it nor any of its VFs is held by another job
 * that still runs, since passing it through takes its VFs away too.
 * Stale reservations in the way are reclaimed.  1 when taken, 0 when busy
 * (BUSY says by whom), -1 on errors. */
static int take_pf(const struct svm_config *conf, const char *dir, const char *pf,
		   uint32_t job, const char *node, int reserve,
		   svm_vf_alive_fn alive, void *arg, char *busy, size_t blen)
{
	int n = num_vfs(conf->sysfs_root, pf);
	char path[PATH_MAX], onode[80], cand[16];
	uint32_t ojob;
	int r;

	if (pathf(path, sizeof(path), "%s/%s", dir, pf) < 0)
		return -1;
	r = read_owner(path, &ojob, onode, sizeof(onode));
	if (r == 1 && ojob == job && !strcmp(onode, node))
		return 1;	/* a prolog run again: already ours */
	r = pf_held(dir, pf, job, node, 0, alive, arg, busy, blen);
	if (r != 0)
		return r < 0 ? -1 : 0;
	/* first look, then reclaim: nothing is removed for a PF not taken */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < n; i++) {
			char vpath[PATH_MAX];

			if (vf_bdf(conf->sysfs_root, pf, i, cand, sizeof(cand)) < 0 ||
			    pathf(vpath, sizeof(vpath), "%s/%s", dir, cand) < 0)
				continue;
			r = read_owner(vpath, &ojob, onode, sizeof(onode));
			if (r == 0 || (r == 1 && ojob == job && !strcmp(onode, node)))
				continue;
			if (pass == 1) {
				if (reclaim(vpath, "VF", cand, ojob, onode, job, node) < 0)
					return -1;
				continue;
			}
			if (r < 0) {
				snprintf(busy, blen, "the reservation file vf/%s of its VF is unreadable", cand);
				return 0;
			}
			if (owner_runs(alive, arg, ojob, onode)) {
				snprintf(busy, blen, "job %" PRIu32 " on %s holds its VF %s", ojob, onode, cand);
				return 0;
			}
		}
		if (!reserve)
			return 1;
		if (pass == 0 && pf_held(dir, pf, job, node, 1, alive, arg, busy, blen) != 0)
			return -1;
	}
	if (write_owner(path, job, node) < 0) {
		svm_error("cannot reserve InfiniBand adapter %s in %s: %s", pf, dir, strerror(errno));
		return -1;
	}
	return 1;
}

static void hca_bdf(const struct svm_topo_pci *h, char *buf, size_t len)
{
	snprintf(buf, len, "%04x:%02x:%02x.%u", h->domain, h->bus, h->dev, h->fn);
}

/* Adapters in order of preference: on a job cell (in cell order), then the
 * rest.  Fills ORDER with indexes into topo->hcas. */
static void hca_order(const struct svm_topology *topo, unsigned *order)
{
	unsigned k = 0;

	for (unsigned c = 0; c < topo->n_cells; c++)
		for (unsigned i = 0; i < topo->n_hcas; i++)
			if (topo->hcas[i].cell == (int)c)
				order[k++] = i;
	for (unsigned i = 0; i < topo->n_hcas; i++)
		if (topo->hcas[i].cell < 0)
			order[k++] = i;
}

int svm_ib_select(const struct svm_topology *topo, const struct svm_config *conf,
		  enum svm_ib mode, uint32_t job, const char *node, int reserve,
		  svm_vf_alive_fn alive, void *arg, struct svm_ib_choice *out)
{
	unsigned *order = NULL;
	char dir[PATH_MAX], first_pf[16], busy[256] = "";
	int lock = -1, ret = -1;

	memset(out, 0, sizeof(*out));
	out->mode = SVM_IB_NONE;
	out->host_node = -1;
	if (mode == SVM_IB_NONE)
		return 0;
	if (!svm_node_name_ok(node)) {
		svm_error("node name '%s' is not a plain host name", node ? node : "");
		return -1;
	}
	if (topo->n_hcas == 0) {
		if (mode == SVM_IB_AUTO)
			return 0;
		svm_error("ib=%s requested but this node has no InfiniBand adapter", svm_ib_names[mode]);
		return -1;
	}
	order = calloc(topo->n_hcas, sizeof(*order));
	if (!order) {
		svm_error("cannot choose an InfiniBand adapter: %s", strerror(ENOMEM));
		return -1;
	}
	hca_order(topo, order);
	hca_bdf(&topo->hcas[order[0]], first_pf, sizeof(first_pf));
	if (mode == SVM_IB_AUTO)
		mode = num_vfs(conf->sysfs_root, first_pf) > 0 ? SVM_IB_VF : SVM_IB_PF;
	if (reserve) {
		lock = lock_vf_dir(conf->runtime_dir, dir, sizeof(dir));
		if (lock < 0)
			goto out;
	} else {
		if (pathf(dir, sizeof(dir), "%s/vf", conf->runtime_dir) < 0) {
			svm_error("runtime_dir %s is too long", conf->runtime_dir);
			goto out;
		}
	}
	for (unsigned k = 0; k < topo->n_hcas; k++) {
		const struct svm_topo_pci *h = &topo->hcas[order[k]];
		char pf[16], bdf[16], why[256];
		int r;

		hca_bdf(h, pf, sizeof(pf));
		why[0] = '\0';
		if (mode == SVM_IB_PF) {
			r = take_pf(conf, dir, pf, job, node, reserve, alive, arg, why, sizeof(why));
			snprintf(bdf, sizeof(bdf), "%s", pf);
		} else {
			r = take_vf(conf, dir, pf, job, node, reserve, alive, arg, bdf, sizeof(bdf),
				    why, sizeof(why));
		}
		if (r < 0)
			goto out;
		if (r == 0) {
			if (k == 0)
				snprintf(busy, sizeof(busy), "%s", why);
			continue;
		}
		out->mode = mode;
		snprintf(out->hca, sizeof(out->hca), "%s", h->name);
		snprintf(out->pf, sizeof(out->pf), "%s", pf);
		snprintf(out->bdf, sizeof(out->bdf), "%s", bdf);
		out->host_node = h->host_node;
		out->reserved = reserve;
		ret = 0;
		goto out;
	}
	out->busy = 1;
	if (mode == SVM_IB_PF)
		svm_error("ib=pf requested but InfiniBand adapter %s (%s) is in use: %s",
			  topo->hcas[order[0]].name, first_pf, busy);
	else
		svm_error("ib=vf requested but no free SR-IOV VF on %s (%s): %s",
			  topo->hcas[order[0]].name, first_pf, busy);
out:
	if (lock >= 0)
		close(lock);
	free(order);
	return ret;
}

int svm_ib_release(const struct svm_config *conf, uint32_t job, const char *node)
{
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *d = NULL;
	int lock = -1, n = 0, ret = -1;
	struct stat st;

	if (!svm_node_name_ok(node)) {
		svm_error("node name '%s' is not a plain host name", node ? node : "");
		return -1;
	}
	if (pathf(dir, sizeof(dir), "%s/vf", conf->runtime_dir) < 0) {
		svm_error("runtime_dir %s is too long", conf->runtime_dir);
		return -1;
	}
	if (stat(dir, &st) < 0 && errno == ENOENT)
		return 0;
	lock = lock_vf_dir(conf->runtime_dir, dir, sizeof(dir));
	if (lock < 0)
		goto out;
	d = opendir(dir);
	if (!d) {
		svm_error("cannot read VF reservation directory %s: %s", dir, strerror(errno));
		goto out;
	}
	while ((e = readdir(d))) {
		char path[PATH_MAX], onode[80];
		unsigned dm, b, v, f;
		uint32_t ojob;

		if (svm_ib_pci_parse(e->d_name, &dm, &b, &v, &f) < 0)
			continue;
		if (pathf(path, sizeof(path), "%s/%s", dir, e->d_name) < 0)
			continue;
		if (read_owner(path, &ojob, onode, sizeof(onode)) != 1 ||
		    ojob != job || strcmp(onode, node))
			continue;
		if (unlink(path) < 0 && errno != ENOENT) {
			svm_error("cannot release VF reservation %s: %s", path, strerror(errno));
			goto out;
		}
		n++;
	}
	ret = n;
out:
	if (d)
		closedir(d);
	if (lock >= 0)
		close(lock);
	return ret;
}
