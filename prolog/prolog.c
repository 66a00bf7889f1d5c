/* slurm-vm-prolog: run by slurmd as root when a job is allocated
 * (PrologFlags=Alloc), once per job and node.  For a job with --vm-image it
 * boots the node's guest, shaped like the host, and waits until the guest
 * agent is ready.
 *
 * Failures are sorted by whose they are.  Slurm drains a node whose prolog
 * exits non-zero, so a failure caused by the user (a bad image, a guest
 * that does not boot) is recorded in the job's outcome file for the plugin
 * to report on the user's stderr, and the prolog exits 0: the job fails,
 * the node stays in service.  A node fault (libvirtd down, a device error)
 * is recorded too, and drains the node with a reason naming the cause. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <slurm/slurm.h>

#include "asuser.h"
#include "basedir.h"
#include "cpulist.h"
#include "domain_xml.h"
#include "ib.h"
#include "image.h"
#include "jobdir.h"
#include "jobenv.h"
#include "jobplan.h"
#include "log.h"
#include "mounts.h"
#include "netjob.h"
#include "netpeers.h"
#include "parse.h"
#include "prolog.h"
#include "slurmdlog.h"
#include "spawn.h"
#include "teardown.h"
#include "topology.h"
#include "usercheck.h"
#include "vmconf.h"

/* The failure being handled: whose it is and what to tell. */
struct failure {
	enum { FAULT_NONE, FAULT_USER, FAULT_NODE } who;
	char msg[1024];
};

static void __attribute__((format(printf, 3, 4)))
fail(struct failure *f, int who, const char *fmt, ...)
{
	va_list ap;

	if (f->who != FAULT_NONE)
		return;	/* the first cause is the one to report */
	f->who = who;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}

/* Library errors are logged as they happen; the last one becomes the
 * failure message when the caller has nothing more precise. */
static char last_error[1024];
static svm_log_sink next_sink;

static void remember_sink(enum svm_log_level level, const char *msg)
{
	if (level == SVM_LOG_ERROR)
		snprintf(last_error, sizeof(last_error), "%s", msg);
	next_sink(level, msg);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Logs the phase that just ended with its duration, at verbose level. */
static void phase_done(const char *phase, double *t0)
{
	double t = now();

	svm_verbose("phase %s took %.3f s", phase, t - *t0);
	*t0 = t;
}

/* Creates DIR (mode MODE) owned by UID:GID, or fixes an existing one made by
 * an earlier, interrupted prolog of the same job. */
static int make_dir(const char *dir, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;

	if (mkdir(dir, mode) < 0 && errno != EEXIST) {
		svm_error("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		svm_error("%s is not a directory", dir);
		return -1;
	}
	if (chown(dir, uid, gid) < 0 || chmod(dir, mode) < 0) {
		svm_error("cannot set owner and mode of %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The request as the prolog got it, for the as-user child. */
struct request_in {
	const struct svm_jobenv *env;
	const struct svm_config *conf;
};

/* What the child sends back: plain data, and the user's word. */
struct request_check {
	char resolved[PATH_MAX];
	struct svm_image_info info;
	char mount_src[SVM_MAX_MOUNTS][PATH_MAX];
	char err[1024];
};

/* The user's image, mounts and working directory, checked again and as
 * the user: SPANK_VM_* come from the user's side, which the user controls,
 * and the files may have changed since the submit.  What QEMU (as the
 * user) would refuse is refused here, with one line. */
static int check_request_cb(void *arg, void *res)
{
	const struct request_in *in = arg;
	struct request_check *c = res;
	struct svm_options opts = in->env->opts;
	char err[1024];

	if (svm_path_text_check("image", opts.image, c->err, sizeof(c->err)) < 0 ||
	    svm_image_resolve(opts.image, in->conf, c->resolved, c->err, sizeof(c->err)) < 0 ||
	    svm_path_text_check("image", c->resolved, c->err, sizeof(c->err)) < 0 ||
	    svm_image_check(c->resolved, in->conf, &c->info, c->err, sizeof(c->err)) < 0)
		return -1;
	if (in->env->workdir[0] &&
	    (svm_path_text_check("working directory", in->env->workdir, c->err, sizeof(c->err)) < 0 ||
	     svm_workdir_check(in->env->workdir, c->err, sizeof(c->err)) < 0))
		return -1;
	if (svm_mounts_check(&opts, in->conf, err, sizeof(err)) < 0) {
		snprintf(c->err, sizeof(c->err), "--vm-mount: %.1000s", err);
		return -1;
	}
	for (int i = 0; i < opts.n_mounts && i < SVM_MAX_MOUNTS; i++) {
		if (svm_path_text_check("mount source", opts.mounts[i].src, c->err, sizeof(c->err)) < 0 ||
		    svm_path_text_check("mount point", opts.mounts[i].dst, c->err, sizeof(c->err)) < 0)
			return -1;
		memcpy(c->mount_src[i], opts.mounts[i].src, sizeof(c->mount_src[i]));
	}
	return 0;
}

/* Runs check_request_cb in a child that is the job user and nothing else,
 * within check_timeout: a user's FUSE or hung NFS mount can stall only
 * that child.  Fills C; 0, or -1 with the user's line in C->err. */
static int check_request(const struct svm_jobenv *env, const struct svm_config *conf,
			 struct request_check *c)
{
	struct request_in in = { .env = env, .conf = conf };
	char err[1024];

	if (svm_as_user_run(env->uid, env->gid, env->user, conf->check_timeout, check_request_cb,
			    &in, c, sizeof(*c), NULL, err, sizeof(err)) < 0) {
		c->err[sizeof(c->err) - 1] = '\0';
		if (!c->err[0])
			snprintf(c->err, sizeof(c->err), "%s", err);
		return -1;
	}
	c->resolved[sizeof(c->resolved) - 1] = '\0';
	for (int i = 0; i < SVM_MAX_MOUNTS; i++)
		c->mount_src[i][PATH_MAX - 1] = '\0';
	if (c->info.format != SVM_FMT_QCOW2 && c->info.format != SVM_FMT_RAW) {
		snprintf(c->err, sizeof(c->err), "the checks of image %.900s gave no format", env->opts.image);
		return -1;
	}
	return 0;
}

static int write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX];
	size_t len = strlen(text);
	int fd, rc = -1;

	if (svm_path_join(path, sizeof(path), dir, name) < 0)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		svm_error("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	if (write(fd, text, len) == (ssize_t)len)
		rc = 0;
	else
		svm_error("cannot write %s: %s", path, strerror(errno));
	close(fd);
	return rc;
}

static int node_index(const struct svm_jobenv *env)
{
	hostlist_t hl;
	int i;

	if (!env->nodelist[0])
		return 0;
	hl = slurm_hostlist_create(env->nodelist);
	if (!hl)
		return 0;
	i = slurm_hostlist_find(hl, env->node);
	slurm_hostlist_destroy(hl);
	return i < 0 ? 0 : i;
}

/* Free huge pages of SIZE_KIB on host NUMA node NODE, or -1 if unknown. */
static long free_hugepages(const struct svm_config *conf, unsigned node, uint64_t size_kib)
{
	char path[PATH_MAX + 128], buf[32];
	FILE *f;
	long n = -1;

	snprintf(path, sizeof(path), "%s/devices/system/node/node%u/hugepages/hugepages-%llukB/free_hugepages",
		 conf->sysfs_root, node, (unsigned long long)size_kib);
	f = fopen(path, "re");
	if (!f) {
		/* no NUMA in sysfs: the one global pool */
		snprintf(path, sizeof(path), "%s/kernel/mm/hugepages/hugepages-%llukB/free_hugepages",
			 conf->sysfs_root, (unsigned long long)size_kib);
		f = fopen(path, "re");
	}
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		n = strtol(buf, NULL, 10);
	fclose(f);
	return n;
}

/* Checks that each cell's memory fits in the huge page pool of its host
 * node.  Returns 0, or -1 with the shortage described in MSG. */
static int hugepages_fit(const struct svm_config *conf, const struct svm_topology *topo,
			 uint64_t mem_mib, enum svm_hugepages hp, char *msg, size_t len)
{
	uint64_t page_kib = hp == SVM_HUGEPAGES_1G ? 1048576 : 2048;
	uint64_t *cell_mib = calloc(topo->n_cells, sizeof(*cell_mib));
	int rc = -1;

	if (!cell_mib) {
		snprintf(msg, len, "out of memory");
		return -1;
	}
	if (svm_split_memory(topo, mem_mib, page_kib / 1024, cell_mib) < 0) {
		snprintf(msg, len, "%.400s", last_error);
		goto out;
	}
	for (unsigned k = 0; k < topo->n_cells; k++) {
		uint64_t need = cell_mib[k] * 1024 / page_kib;
		long have = free_hugepages(conf, topo->cells[k].host_node, page_kib);

		if (have < 0 || (uint64_t)have < need) {
			snprintf(msg, len, "host NUMA node %u has %ld free %s huge pages, the guest needs %llu",
				 topo->cells[k].host_node, have < 0 ? 0 : have,
				 svm_hugepages_names[hp], (unsigned long long)need);
			goto out;
		}
	}
	rc = 0;
out:
	free(cell_mib);
	return rc;
}

/* QEMU runs as the job user with DAC relabelling off, so the adapter's
 * function must be bound to vfio-pci before the domain starts and its VFIO
 * group device handed to the job user; the epilog hands it back (the group
 * number is recorded in the state dir).  Not exercised on this project's
 * test machine, which has no IOMMU group to give. */
static int give_vfio(virConnectPtr conn, const struct svm_config *conf,
		     const struct svm_jobenv *env, const struct svm_jobdir *dir,
		     const struct svm_ib_choice *ib)
{
	unsigned domain, bus, slot, fn;
	char name[64], path[64], group_str[16];
	virNodeDevicePtr dev;
	int group, rc;

	if (ib->mode == SVM_IB_NONE)
		return 0;
	if (svm_ib_pci_parse(ib->bdf, &domain, &bus, &slot, &fn) < 0) {
		svm_error("bad PCI address %s", ib->bdf);
		return -1;
	}
	snprintf(name, sizeof(name), "pci_%04x_%02x_%02x_%x", domain, bus, slot, fn);
	dev = virNodeDeviceLookupByName(conn, name);
	if (!dev) {
		svm_error("libvirt does not know PCI device %s (%s)", ib->bdf, name);
		return -1;
	}
	rc = virNodeDeviceDetachFlags(dev, "vfio", 0);
	virNodeDeviceFree(dev);
	if (rc < 0) {
		svm_error("cannot bind PCI device %s to vfio-pci", ib->bdf);
		return -1;
	}
	group = svm_ib_iommu_group(conf->sysfs_root, ib->bdf);
	if (group < 0)
		return -1;
	/* Recorded before the handover, so the epilog takes the group back
	 * even if the prolog dies right after the chown. */
	snprintf(group_str, sizeof(group_str), "%d\n", group);
	if (write_file(dir->state, "vfio-group", group_str, 0600) < 0)
		return -1;
	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	if (chown(path, env->uid, env->gid) < 0) {
		svm_error("cannot hand %s to uid %u: %s", path, (unsigned)env->uid, strerror(errno));
		return -1;
	}
	return 0;
}

/* The boot, in steps.  Each step returns 0, or -1 with its one line in
 * B->why.  Whose fault that failure is, the user's (the job fails, the
 * node stays up) or the node's (it is drained with the line), is the
 * step's column in boot_steps[]; the steps that can only tell from what
 * they found (FAULT_SEEN) set B->who, which is the node's unless they say
 * otherwise. */
struct boot {
	const struct svm_jobenv *env;
	const struct svm_config *conf;
	const struct svm_jobdir *dir;
	const char *uerr;		/* the request's decoding error, or "" */
	struct svm_options opts;	/* with the mount sources as checked */
	struct request_check ic;
	struct svm_topology *topo;
	struct svm_ib_choice ib;
	struct svm_job job;
	struct svm_job_plan_buf plan;
	char overlay[PATH_MAX];
	char **argv;
	char *xml, *job_cpus;
	uint64_t job_mem;
	virConnectPtr conn;
	virDomainPtr dom;
	int who;			/* FAULT_SEEN steps: whose, as they found */
	char why[1024];
};

static int __attribute__((format(printf, 2, 3)))
why(struct boot *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->why, sizeof(b->why), fmt, ap);
	va_end(ap);
	return -1;
}

/* -- check: what the user asked for, as the user */
static int step_request(struct boot *b)
{
	return b->uerr[0] ? why(b, "%s", b->uerr) : 0;
}

static int step_ib_allowed(struct boot *b)
{
	if (svm_config_ib_allowed(b->conf, b->env->opts.ib, b->ic.err, sizeof(b->ic.err)) < 0)
		return why(b, "%s", b->ic.err);
	return 0;
}

static int step_check(struct boot *b)
{
	if (check_request(b->env, b->conf, &b->ic) < 0)
		return why(b, "%s", b->ic.err);
	for (int i = 0; i < b->opts.n_mounts && i < SVM_MAX_MOUNTS; i++)
		memcpy(b->opts.mounts[i].src, b->ic.mount_src[i], sizeof(b->opts.mounts[i].src));
	return 0;
}

/* -- overlay: a qcow2 over the user's image, made by the user */
static int step_scratch(struct boot *b)
{
	if (make_dir(b->dir->scratch, 0700, b->env->uid, b->env->gid) < 0 ||
	    svm_job_overlay(b->dir, b->overlay, sizeof(b->overlay)) < 0)
		return why(b, "cannot prepare the scratch directory %s", b->dir->scratch);
	return 0;
}

static int step_overlay(struct boot *b)
{
	char qemu_img[] = "/usr/bin/qemu-img";
	struct svm_spawn sp = { .uid = b->env->uid, .gid = b->env->gid, .cwd = b->dir->scratch,
				.stdout_fd = -1, .stderr_fd = -1, .keep_fd = -1 };

	b->argv = svm_image_overlay_argv(qemu_img, b->ic.resolved, b->ic.info.format, b->ic.info.virtual_size,
				   b->overlay);
	if (!b->argv)
		return why(b, "out of memory");
	sp.argv = (const char *const *)b->argv;
	if (svm_spawn_run(&sp) < 0)
		return why(b, "cannot create the overlay of %s: %s", b->ic.resolved, last_error);
	return 0;
}

/* -- XML: the guest shaped like this node, on the job's CPUs */
static int step_alloc(struct boot *b)
{
	if (svm_prolog_job_alloc(b->env, b->conf, &b->job_cpus, &b->job_mem) < 0)
		return why(b, "cannot learn the job's CPUs on %s from slurmctld: %s", b->env->node,
			   last_error);
	return 0;
}

static int step_topology(struct boot *b)
{
	const struct svm_config *conf = b->conf;

	if (svm_topology_load(conf->topology_xml[0] ? conf->topology_xml : NULL, b->job_cpus,
			      conf->reserved_cpus, &b->topo) < 0)
		return why(b, "cannot read this node's topology: %s", last_error);
	return 0;
}

/* More than the node holds would fail the start, or worse.  Then a note
 * on where QEMU's own threads run. */
static int step_memory(struct boot *b)
{
	char w[512];

	if (b->env->opts.mem_mib &&
	    svm_mem_check(b->env->opts.mem_mib, svm_topology_mem_mib(b->topo), b->conf->host_mem_reserve,
			  w, sizeof(w)) < 0)
		return why(b, "%s", w);
	if (b->topo->emulator_shared)
		svm_verbose("no reserved_cpus and the job has every CPU (%s): QEMU's emulator threads share the job's CPUs",
			    b->topo->job_cpus);
	return 0;
}

/* Asking for an adapter the node lacks is the user's request; one that
 * other jobs hold is nobody's fault, so not the node's either.  A
 * reservation whose job slurmctld says is over is reclaimed. */
static int step_ib(struct boot *b)
{
	int ibmode = b->env->opts.ib >= 0 ? b->env->opts.ib : (int)b->conf->ib;

	if (svm_ib_select(b->topo, b->conf, (enum svm_ib)ibmode, b->env->job, b->env->node, 1,
			  svm_prolog_job_alive, NULL, &b->ib) < 0) {
		b->who = b->env->opts.ib >= 0 || b->ib.busy ? FAULT_USER : FAULT_NODE;
		return why(b, "cannot give the guest InfiniBand: %s", last_error);
	}
	return 0;
}

/* A path or bridge name too long: the admin's config. */
static int step_plan(struct boot *b)
{
	struct svm_plan_input in = {
		.node_index = (unsigned)node_index(b->env), .uid = b->env->uid, .gid = b->env->gid,
		.image = b->ic.resolved, .image_format = b->ic.info.format, .opts = &b->opts,
		.job_mem = b->job_mem, .workdir = b->env->workdir, .ib = &b->ib,
		.nodelist = b->env->nodelist,
	};

	if (svm_job_plan(&b->job, &b->plan, b->conf, b->dir, b->topo, &in) < 0)
		return why(b, "%s", last_error);
	return 0;
}

/* What the pool holds depends on other jobs: never the node's fault; the
 * site chooses fail or fallback. */
static int step_hugepages(struct boot *b)
{
	int hp = (int)b->job.hugepages;

	if (hp != SVM_HUGEPAGES_NONE) {
		char w[512];

		if (hugepages_fit(b->conf, b->topo, b->job.mem_mib, (enum svm_hugepages)hp, w, sizeof(w)) < 0) {
			if (b->conf->hugepages_short == SVM_HP_SHORT_FAIL || b->env->opts.hugepages >= 0)
				return why(b, "not enough huge pages for the guest's %llu MiB: %s",
					   (unsigned long long)b->job.mem_mib, w);
			svm_info("not enough huge pages (%s): the guest of job %u uses normal pages",
				 w, b->env->job);
			hp = SVM_HUGEPAGES_NONE;
		}
	}
	b->job.hugepages = (enum svm_hugepages)hp;
	return 0;
}

/* The job's bridge (and overlay) on this host, before the XML, which
 * carries its MTU. */
static int step_network(struct boot *b)
{
	if (svm_netpeers_up(b->conf, b->env->job, b->env->nodelist, b->env->node, NULL, 0, &b->job.mtu) < 0)
		return why(b, "cannot create the job network: %s", last_error);
	return 0;
}

/* Refused: the memory the user asked for, a mount outside the allowed
 * paths. */
static int step_xml(struct boot *b)
{
	b->xml = svm_domain_xml(b->topo, b->conf, &b->job);
	if (!b->xml)
		return why(b, "%s", last_error);
	write_file(b->dir->state, "domain.xml", b->xml, 0600);
	return 0;
}

/* The host PU of each vCPU, for slurm-vm-exec to translate Slurm's
 * binding; the plugin reads it as the job user. */
static int step_cpumap(struct boot *b)
{
	char map[8192];
	uint32_t *pus = calloc(b->topo->n_vcpus + 1, sizeof(*pus));
	int bad = !pus;

	for (unsigned v = 0; pus && v < b->topo->n_vcpus; v++) {
		const struct svm_topo_pu *pu = svm_topology_vcpu(b->topo, v, NULL);

		pus[v] = pu ? pu->os_index : 0;
	}
	bad = bad || svm_cpulist_format(pus, b->topo->n_vcpus, map, sizeof(map)) < 0;
	free(pus);
	if (bad || svm_state_write(b->dir->state, "cpumap", map, b->env->uid) < 0)
		return why(b, "cannot record the vCPU map of job %u", b->env->job);
	return 0;
}

/* -- define/start */
static int step_libvirt(struct boot *b)
{
	b->conn = svm_libvirt_open(b->conf->libvirt_uri);
	if (!b->conn)
		return why(b, "cannot connect to libvirt at %s: %s", b->conf->libvirt_uri, last_error);
	return 0;
}

static int step_vfio(struct boot *b)
{
	if (give_vfio(b->conn, b->conf, b->env, b->dir, &b->ib) < 0)
		return why(b, "cannot give the InfiniBand adapter to the guest: %s", last_error);
	return 0;
}

/* From here on the epilog must look for a domain to destroy. */
static int step_started(struct boot *b)
{
	if (write_file(b->dir->state, "domain.started", b->dir->domain, 0600) < 0)
		return why(b, "cannot write to %s: %s", b->dir->state, last_error);
	return 0;
}

/* libvirtd or virtlogd restarting under the create (an upgrade, an admin,
 * systemd's Restart=) fails it with an RPC error: libvirtd's connection
 * closed ("End of file while reading data", "client socket is closed") or
 * virtlogd's socket not there ("Failed to connect socket to
 * .../virtlogd-sock").  That is no node fault yet, and a drain for it was
 * wrong: the create is tried again, on a connection opened again if it
 * died, for at most START_WAIT_MS in all (inside the minute vm.conf.5
 * asks between check_timeout + boot_timeout and PrologEpilogTimeout).  Any other error
 * is libvirt's or QEMU's answer to this guest (the XML, memory, the
 * image) and final at once.  A create whose answer was lost may have
 * started the guest (libvirtd finds it again when it comes back): it is
 * looked up before each new try, so no second one is started (libvirt
 * refuses a second domain of the name anyway), and domain.started, written
 * before the first try, has the epilog destroy whatever is left. */
#define START_WAIT_MS 20000
#define START_STEP_MS 500

static void libvirt_quiet(void *arg, virErrorPtr err)
{
	(void)arg;
	(void)err;
}

/* After a step, the job's domain if a lost create did start it (in B->dom),
 * else a live connection in B->conn to try on, or none yet (NULL). */
static void start_again(struct boot *b)
{
	struct timespec ts = { 0, START_STEP_MS * 1000000L };
	virDomainPtr dom;

	nanosleep(&ts, NULL);
	if (b->conn && virConnectIsAlive(b->conn) != 1) {
		virConnectClose(b->conn);
		b->conn = NULL;
	}
	if (!b->conn)
		b->conn = virConnectOpen(b->conf->libvirt_uri);
	if (!b->conn)
		return;
	dom = virDomainLookupByName(b->conn, b->dir->domain);
	if (dom && virDomainIsActive(dom) == 1)
		b->dom = dom;
	else if (dom)
		virDomainFree(dom);
}

/* Creates the domain, again while the daemons are away (above), quietly
 * but for one line when they went and one on how it ended.  0, or -1 with
 * libvirt's last error logged and in W, and *AWAY set when the daemons
 * were still away at the end of the wait. */
static int start_domain(struct boot *b, char *w, size_t len, int *away)
{
	double t0 = now();
	int tries = 0, gone = 0, found = 0;

	*away = 0;
	virSetErrorFunc(NULL, libvirt_quiet);
	while (!b->dom) {
		virError err;

		if (b->conn) {
			b->dom = virDomainCreateXML(b->conn, b->xml, 0);
			tries++;
			if (b->dom)
				break;
		}
		/* copied: virConnectIsAlive resets the last error */
		memset(&err, 0, sizeof(err));
		virCopyLastError(&err);
		snprintf(w, len, "%s", err.message ? err.message : "libvirt gave no reason");
		*away = err.domain == VIR_FROM_RPC || !b->conn || virConnectIsAlive(b->conn) != 1;
		virResetError(&err);
		if (!*away || now() - t0 >= START_WAIT_MS / 1000.0)
			break;
		if (!gone)
			svm_info("libvirtd or virtlogd went away during the domain create of %s (%s): retrying for up to %d s",
				 b->dir->domain, w, START_WAIT_MS / 1000);
		gone = 1;
		start_again(b);
		found = b->dom != NULL;
	}
	svm_libvirt_errors_to_log();
	if (!b->dom) {
		if (!*away)
			svm_error("libvirt: %s", w);	/* as libvirt's own lines are */
		return -1;
	}
	if (gone)
		svm_info(found ? "the domain create of %s had gone through: found it running after %.1f s, %d tries" :
			 "the domain create of %s went through after %.1f s, %d tries",
			 b->dir->domain, now() - t0, tries);
	return 0;
}

/* The user may have changed the files since the check (a work dir
 * removed): asked again, their answer decides whose fault. */
static int step_start(struct boot *b)
{
	static struct request_check again;
	char w[1024];
	int away;

	if (start_domain(b, w, sizeof(w), &away) == 0)
		return 0;
	if (away)
		return why(b, "cannot start the guest: libvirtd or virtlogd did not come back within %d s: %s",
			   START_WAIT_MS / 1000, w);
	if (check_request(b->env, b->conf, &again) < 0) {
		b->who = FAULT_USER;
		return why(b, "%s", again.err);
	}
	b->who = FAULT_NODE;
	return why(b, "cannot start the guest: libvirt: %s", w);
}

/* libvirt binds the channel socket as root in root's state dir; the relay
 * gets a connection to it, not the socket (prolog/ready.c). */
static int step_seal(struct boot *b)
{
	if (svm_netjob_seal(b->conf, b->env->job) < 0)
		return why(b, "cannot seal the job network: %s", last_error);
	return 0;
}

/* -- boot to ready: the wait says whether the node or the guest failed */
static int step_ready(struct boot *b)
{
	int node_fault;

	if (svm_prolog_wait_ready(b->env, b->conf, b->dir, &node_fault) < 0) {
		b->who = node_fault ? FAULT_NODE : FAULT_USER;
		return why(b, "%s", last_error);
	}
	return 0;
}

/* Whose fault a step's failure is.  FAULT_SEEN: the step decides from
 * what it found (its comment says how), in B->who. */
enum { FAULT_SEEN = FAULT_NODE + 1 };

static const struct boot_step {
	const char *phase;	/* "phase PHASE took" is logged after its last step */
	int (*run)(struct boot *b);
	int who;
} boot_steps[] = {
	{ "check",   step_request,    FAULT_USER },	/* the request as decoded */
	{ "check",   step_ib_allowed, FAULT_USER },	/* --vm-ib against the site's policy */
	{ "check",   step_check,      FAULT_USER },	/* image, mounts, work dir, as the user */
	{ "overlay", step_scratch,    FAULT_NODE },	/* the admin's scratch_dir */
	{ "overlay", step_overlay,    FAULT_NODE },	/* qemu-img on an image that passed the check */
	{ "xml",     step_alloc,      FAULT_USER },	/* slurmctld busy or gone: fail this job, keep the node */
	{ "xml",     step_topology,   FAULT_NODE },
	{ "xml",     step_memory,     FAULT_USER },	/* --vm-mem more than the node holds */
	{ "xml",     step_ib,         FAULT_SEEN },	/* the user's if asked for or busy, else the node's */
	{ "xml",     step_plan,       FAULT_NODE },	/* a name too long: the admin's vm.conf */
	{ "xml",     step_hugepages,  FAULT_USER },	/* the pool depends on other jobs */
	{ "xml",     step_network,    FAULT_NODE },
	{ "xml",     step_xml,        FAULT_USER },	/* memory or a mount the XML refuses */
	{ "xml",     step_cpumap,     FAULT_NODE },
	{ "start",   step_libvirt,    FAULT_NODE },
	{ "start",   step_vfio,       FAULT_NODE },
	{ "start",   step_started,    FAULT_NODE },
	{ "start",   step_start,      FAULT_SEEN },	/* the user's if the request fails its check again */
	{ "start",   step_seal,       FAULT_NODE },
	{ "ready",   step_ready,      FAULT_SEEN },	/* the node's if the relay or libvirt failed, else the guest's */
};

/* Boots the guest, step by step, until one fails.  Fills F on failure. */
static void boot(const struct svm_jobenv *env, const struct svm_config *conf,
		 const struct svm_jobdir *dir, const char *uerr, struct failure *f)
{
	static struct boot b;
	const size_t n = sizeof(boot_steps) / sizeof(boot_steps[0]);
	double t0 = now();

	/* static: the request check and the plan are large; one boot per run */
	b.env = env;
	b.conf = conf;
	b.dir = dir;
	b.uerr = uerr;
	b.opts = env->opts;
	b.ib.mode = SVM_IB_NONE;
	for (size_t i = 0; i < n; i++) {
		const struct boot_step *s = &boot_steps[i];

		b.who = FAULT_NODE;
		if (s->run(&b) < 0) {
			fail(f, s->who == FAULT_SEEN ? b.who : s->who, "%s", b.why);
			break;
		}
		if (i + 1 == n || strcmp(boot_steps[i + 1].phase, s->phase) != 0)
			phase_done(s->phase, &t0);
	}
	if (b.dom)
		virDomainFree(b.dom);
	if (b.conn)
		virConnectClose(b.conn);
	free(b.xml);
	svm_argv_free(b.argv);
	svm_topology_free(b.topo);
	free(b.job_cpus);
}

/* Drains this node with REASON through slurmctld.  0 or -1. */
static int drain(const struct svm_jobenv *env, const char *reason)
{
	update_node_msg_t msg;
	char node[sizeof(env->node)], why[256], line[200];

	slurm_init_update_node_msg(&msg);
	snprintf(node, sizeof(node), "%s", env->node);
	/* the reason may quote a user's path: keep it one line */
	svm_log_escape(line, sizeof(line), reason);
	snprintf(why, sizeof(why), "slurm-vm: %s", line);
	msg.node_names = node;
	msg.node_state = NODE_STATE_DRAIN;
	msg.reason = why;
	msg.reason_uid = 0;
	return slurm_update_node(&msg) == SLURM_SUCCESS ? 0 : -1;
}

int main(void)
{
	struct svm_jobenv env;
	struct svm_config conf;
	struct svm_jobdir dir;
	struct failure f = { .who = FAULT_NONE };
	char conf_path[PATH_MAX], uerr[1024];

	/* not a VM job: nothing to do, as fast as possible */
	if (!getenv("SPANK_VM_IMAGE"))
		return 0;
	slurm_init(NULL);
	svm_slurmdlog_init("slurm-vm-prolog", getenv("SLURM_CONF"), getenv("SLURMD_NODENAME"), 0);
	if (svm_jobenv_read(&env, uerr, sizeof(uerr)) < 0)
		return 1;
	svm_slurmdlog_init("slurm-vm-prolog", env.slurm_conf, env.node, env.job);
	next_sink = svm_log_current_sink();
	svm_log_init(remember_sink, svm_log_current_level());
	svm_config_path(NULL, env.slurm_conf, conf_path, sizeof(conf_path));
	if (svm_config_load(&conf, conf_path, 0) < 0)
		return 1;	/* the admin's config: a node fault */
	if (svm_jobdir_init(&dir, &conf, env.job, env.node) < 0)
		return 1;
	/* the admin's directories: created if missing, else only checked */
	if (svm_base_dir("runtime_dir", conf.runtime_dir, f.msg, sizeof(f.msg)) < 0 ||
	    svm_base_dir("scratch_dir", conf.scratch_dir, f.msg, sizeof(f.msg)) < 0) {
		svm_error("node fault for job %u on %s: %s", env.job, env.node, f.msg);
		drain(&env, f.msg);
		return 1;
	}
	/* root's, searchable: the job user reaches outcome, cpumap and
	 * relay.sock by name, lists nothing and writes nothing */
	if (make_dir(dir.state, 0711, 0, 0) < 0)
		return 1;
	dir.user = env.uid;
	/* an epilog that never ran or died half-way (a crash, a reboot): what
	 * its job left is this node's to remove, never this job's to fail on */
	svm_prolog_reclaim(&conf, env.job, env.node);
	svm_verbose("booting the guest of job %u on %s from %s", env.job, env.node, env.opts.image);

	boot(&env, &conf, &dir, uerr, &f);

	if (f.who == FAULT_NONE) {
		if (svm_outcome_write(&dir, NULL) < 0)
			return 1;
		svm_info("guest of job %u on %s is ready", env.job, env.node);
		return 0;
	}
	/* Take down what was started; the state dir keeps the outcome. */
	svm_teardown(&conf, &dir, 1);
	svm_outcome_write(&dir, f.msg);
	if (f.who == FAULT_USER) {
		svm_info("job %u on %s failed for a reason of the user's: %s", env.job, env.node, f.msg);
		return 0;
	}
	svm_error("node fault for job %u on %s: %s", env.job, env.node, f.msg);
	if (drain(&env, f.msg) == 0)
		return 0;	/* drained with our reason; the job fails with the outcome */
	return 1;
}
