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
	if (svm_pci_parse(ib->bdf, &domain, &bus, &slot, &fn) < 0) {
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

/* Boots the guest.  Fills F on failure. */
static void boot(const struct svm_jobenv *env, const struct svm_config *conf,
		 const struct svm_jobdir *dir, struct failure *f)
{
	struct svm_options opts = env->opts;
	static struct request_check ic;
	struct svm_topology *topo = NULL;
	struct svm_ib_choice ib = { .mode = SVM_IB_NONE };
	struct svm_job job;
	static struct svm_job_plan_buf plan;
	char overlay[PATH_MAX];
	char qemu_img[] = "/usr/bin/qemu-img";
	char **argv = NULL;
	char *xml = NULL, *job_cpus = NULL;
	uint64_t job_mem = 0;
	virConnectPtr conn = NULL;
	virDomainPtr dom = NULL;
	double t0 = now();
	int hp, ibmode, node_fault;

	/* -- check: what the user asked for, as the user */
	if (svm_ib_user_allowed(conf, env->opts.ib, ic.err, sizeof(ic.err)) < 0) {
		fail(f, FAULT_USER, "%s", ic.err);
		goto out;
	}
	if (check_request(env, conf, &ic) < 0) {
		fail(f, FAULT_USER, "%s", ic.err);
		goto out;
	}
	for (int i = 0; i < opts.n_mounts && i < SVM_MAX_MOUNTS; i++)
		memcpy(opts.mounts[i].src, ic.mount_src[i], sizeof(opts.mounts[i].src));
	phase_done("check", &t0);

	/* -- overlay: a qcow2 over the user's image, made by the user */
	if (make_dir(dir->scratch, 0700, env->uid, env->gid) < 0 ||
	    svm_job_overlay(dir, overlay, sizeof(overlay)) < 0) {
		fail(f, FAULT_NODE, "cannot prepare the scratch directory %s", dir->scratch);
		goto out;
	}
	argv = svm_overlay_argv(qemu_img, ic.resolved, ic.info.format, ic.info.virtual_size, overlay);
	if (!argv) {
		fail(f, FAULT_NODE, "out of memory");
		goto out;
	}
	{
		struct svm_spawn sp = { .argv = (const char *const *)argv, .uid = env->uid,
					.gid = env->gid, .cwd = dir->scratch, .stdout_fd = -1,
					.stderr_fd = -1, .keep_fd = -1 };

		if (svm_spawn_run(&sp) < 0) {
			fail(f, FAULT_NODE, "cannot create the overlay of %s: %s", ic.resolved, last_error);
			goto out;
		}
	}
	phase_done("overlay", &t0);

	/* -- XML: the guest shaped like this node, on the job's CPUs */
	if (svm_prolog_job_alloc(env, conf, &job_cpus, &job_mem) < 0) {
		/* slurmctld busy or gone: fail this job, keep the node */
		fail(f, FAULT_USER, "cannot learn the job's CPUs on %s from slurmctld: %s", env->node,
		     last_error);
		goto out;
	}
	if (svm_topology_load(conf->topology_xml[0] ? conf->topology_xml : NULL, job_cpus,
			      conf->reserved_cpus, &topo) < 0) {
		fail(f, FAULT_NODE, "cannot read this node's topology: %s", last_error);
		goto out;
	}
	if (env->opts.mem_mib) {
		char why[512];

		/* more than the node holds would fail the start, or worse */
		if (svm_mem_check(env->opts.mem_mib, svm_topology_mem_mib(topo), conf->host_mem_reserve,
				  why, sizeof(why)) < 0) {
			fail(f, FAULT_USER, "%s", why);
			goto out;
		}
	}
	if (topo->emulator_shared)
		svm_verbose("no reserved_cpus and the job has every CPU (%s): QEMU's emulator threads share the job's CPUs",
			    topo->job_cpus);
	ibmode = env->opts.ib >= 0 ? env->opts.ib : (int)conf->ib;
	/* a reservation whose job slurmctld says is over is reclaimed */
	if (svm_ib_select(topo, conf, (enum svm_ib)ibmode, env->job, env->node, 1,
			  svm_prolog_job_alive, NULL, &ib) < 0) {
		/* asking for an adapter the node lacks is the user's request;
		 * one that other jobs hold is nobody's fault */
		fail(f, env->opts.ib >= 0 || ib.busy ? FAULT_USER : FAULT_NODE,
		     "cannot give the guest InfiniBand: %s", last_error);
		goto out;
	}
	{
		struct svm_plan_input in = {
			.node_index = (unsigned)node_index(env), .uid = env->uid, .gid = env->gid,
			.image = ic.resolved, .image_format = ic.info.format, .opts = &opts,
			.job_mem = job_mem, .workdir = env->workdir, .ib = &ib,
		};

		/* a path or bridge name too long: the admin's config */
		if (svm_job_plan(&job, &plan, conf, dir, topo, &in) < 0) {
			fail(f, FAULT_NODE, "%s", last_error);
			goto out;
		}
	}
	hp = (int)job.hugepages;
	if (hp != SVM_HUGEPAGES_NONE) {
		char why[512];

		if (hugepages_fit(conf, topo, job.mem_mib, (enum svm_hugepages)hp, why, sizeof(why)) < 0) {
			/* what the pool holds depends on other jobs: never the
			 * node's fault; the site chooses fail or fallback */
			if (conf->hugepages_short == SVM_HP_SHORT_FAIL || env->opts.hugepages >= 0) {
				fail(f, FAULT_USER, "not enough huge pages for the guest's %llu MiB: %s",
				     (unsigned long long)job.mem_mib, why);
				goto out;
			}
			svm_info("not enough huge pages (%s): the guest of job %u uses normal pages",
				 why, env->job);
			hp = SVM_HUGEPAGES_NONE;
		}
	}
	job.hugepages = (enum svm_hugepages)hp;
	/* -- network: the job's bridge (and overlay) on this host, before the
	 * XML, which carries its MTU */
	if (svm_netpeers_up(conf, env->job, env->nodelist, env->node, NULL, 0, &job.mtu) < 0) {
		fail(f, FAULT_NODE, "cannot create the job network: %s", last_error);
		goto out;
	}
	xml = svm_domain_xml(topo, conf, &job);
	if (!xml) {
		/* the memory the user asked for, a mount outside the allowed paths */
		fail(f, FAULT_USER, "%s", last_error);
		goto out;
	}
	write_file(dir->state, "domain.xml", xml, 0600);
	/* host PU of each vCPU, for slurm-vm-exec to translate Slurm's binding;
	 * the plugin reads it as the job user */
	{
		char map[8192];
		size_t off = 0;

		map[0] = '\0';
		for (unsigned v = 0; v < topo->n_vcpus && off < sizeof(map); v++) {
			const struct svm_topo_pu *pu = svm_topology_vcpu(topo, v, NULL);

			off += (size_t)snprintf(map + off, sizeof(map) - off, "%s%u", v ? "," : "",
						pu ? pu->os_index : 0);
		}
		if (off >= sizeof(map) || svm_state_write(dir->state, "cpumap", map, env->uid) < 0) {
			fail(f, FAULT_NODE, "cannot record the vCPU map of job %u", env->job);
			goto out;
		}
	}
	phase_done("xml", &t0);

	/* -- define/start */
	svm_libvirt_errors_to_log();
	conn = virConnectOpen(conf->libvirt_uri);
	if (!conn) {
		fail(f, FAULT_NODE, "cannot connect to libvirt at %s: %s", conf->libvirt_uri, last_error);
		goto out;
	}
	if (give_vfio(conn, conf, env, dir, &ib) < 0) {
		fail(f, FAULT_NODE, "cannot give the InfiniBand adapter to the guest: %s", last_error);
		goto out;
	}
	/* from here on the epilog must look for a domain to destroy */
	if (write_file(dir->state, "domain.started", dir->domain, 0600) < 0) {
		fail(f, FAULT_NODE, "cannot write to %s: %s", dir->state, last_error);
		goto out;
	}
	dom = virDomainCreateXML(conn, xml, 0);
	if (!dom) {
		/* the user may have changed the files since the check (a work
		 * dir removed): asked again, their answer decides whose fault */
		static struct request_check again;
		char why[1024];

		snprintf(why, sizeof(why), "%s", last_error);
		if (check_request(env, conf, &again) < 0)
			fail(f, FAULT_USER, "%s", again.err);
		else
			fail(f, FAULT_NODE, "cannot start the guest: %s", why);
		goto out;
	}
	if (svm_netjob_seal(conf, env->job) < 0) {
		fail(f, FAULT_NODE, "cannot seal the job network: %s", last_error);
		goto out;
	}
	/* libvirt binds the channel socket as root in root's state dir; the
	 * relay gets a connection to it, not the socket (prolog/ready.c) */
	phase_done("start", &t0);

	/* -- boot to ready */
	if (svm_prolog_wait_ready(env, conf, dir, &node_fault) < 0) {
		fail(f, node_fault ? FAULT_NODE : FAULT_USER, "%s", last_error);
		goto out;
	}
	phase_done("ready", &t0);
out:
	if (dom)
		virDomainFree(dom);
	if (conn)
		virConnectClose(conn);
	free(xml);
	svm_argv_free(argv);
	svm_topology_free(topo);
	free(job_cpus);
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
	svm_jobenv_config_path(&env, conf_path, sizeof(conf_path));
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

	if (uerr[0])
		fail(&f, FAULT_USER, "%s", uerr);
	else
		boot(&env, &conf, &dir, &f);

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
