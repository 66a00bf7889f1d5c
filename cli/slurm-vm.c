/* slurm-vm: the admin command.  Dry runs of what the prolog does (the domain
 * XML of a job from a saved topology) and the image check users get at
 * submit time. */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain_xml.h"
#include "ib.h"
#include "image.h"
#include "jobdir.h"
#include "jobplan.h"
#include "log.h"
#include "netjob.h"
#include "netpeers.h"
#include "options.h"
#include "parse.h"
#include "prepare.h"
#include "topology.h"
#include "vmconf.h"

#define EXIT_USAGE 2

static const char usage_text[] =
	"Usage:\n"
	"  slurm-vm domain-xml --topology FILE --image FILE --job ID --uid N --gid N\n"
	"                      [--node NAME] [--config FILE] [--cpus LIST]\n"
	"                      [--reserved-cpus LIST] [--hugepages none|2M|1G]\n"
	"                      [--ib none|pf|vf|auto] [--mem MiB] [--domain-type kvm|qemu]\n"
	"                      [--sysfs DIR] [--image-format qcow2|raw] [--node-index N]\n"
	"                      [--nodelist LIST] [--workdir DIR] [--mount SRC:DST[:ro]]...\n"
	"      Print the libvirt domain XML the prolog would start for job ID on\n"
	"      node NAME (default: this host's short name), from the hwloc XML FILE\n"
	"      (default: vm.conf topology_xml, else this machine).  --cpus are the\n"
	"      host PUs Slurm gave the job (default: every allowed PU not in\n"
	"      reserved_cpus).  --ib vf shows the VF that would be reserved, without\n"
	"      reserving it.  Without --image-format the image is checked and its\n"
	"      format read from it.\n"
	"  slurm-vm image check FILE [--config FILE]\n"
	"      Exit 0 and print the format and size if FILE would be accepted as\n"
	"      a job image, else exit 1 with one line saying why.\n"
	"  slurm-vm network up|seal|down --job ID --node NAME --nodes LIST\n"
	"                   [--config FILE] [--addr NODE=A.B.C.D]...\n"
	"      As root: build (up), close to IPv6 (seal) or remove (down) this host's\n"
	"      part of the job network of job ID, as the prolog and epilog do, for\n"
	"      node NAME of the job's Slurm node list LIST.  --addr gives a node's\n"
	"      underlay address instead of resolving it (overlay_resolve).  Prints\n"
	"      the guest MTU after up.\n"
	"  slurm-vm image prepare [--agent PATH] [--force] [--verbose] [--config FILE] IN OUT\n"
	"      Write OUT, a new qcow2 copy of the Linux image IN with the guest agent\n"
	"      installed and started at boot (for images whose systemd is older than\n"
	"      256, or that have none).  Run it as yourself; IN is only read.  The\n"
	"      agent is <libexec_dir>/slurm-vm-agent unless --agent PATH; an existing\n"
	"      OUT is replaced only with --force.  Needs libguestfs (virt-customize).\n"
	"  slurm-vm --help | --version\n"
	"\n"
	"Settings not given come from the config (default: vm.conf beside $SLURM_CONF if\n"
	"there is one, else " SVM_DEFAULT_CONFIG ").\n"
	"Exit status: 0 success, 1 failure, 2 bad arguments.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("slurm-vm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see slurm-vm --help)\n", stderr);
	return EXIT_USAGE;
}

/* getopt's own messages are off: one line of ours per bad argument. */
static int bad_option(int c, char **argv)
{
	if (c == ':')
		return usage_error("option '%s' needs a value", argv[optind - 1]);
	return usage_error("unknown option '%s'", argv[optind - 1]);
}

/* --config PATH, else the vm.conf the prolog would read (a missing
 * built-in one means the defaults). */
static int load_config(const char *path, struct svm_config *conf)
{
	char buf[PATH_MAX];
	int rc = svm_config_path(path, getenv("SLURM_CONF"), buf, sizeof(buf));

	if (rc < 0) {
		svm_error("config path %s is too long", path);
		return -1;
	}
	return svm_config_load(conf, buf, rc == 1);
}

static int parse_id(const char *s, uint64_t max, uint64_t *out)
{
	return svm_parse_u64(s, 0, max, out);
}

static int cmd_image_prepare(int argc, char **argv)
{
	enum { O_AGENT = 256, O_FORCE, O_VERBOSE };
	static const struct option longopts[] = {
		{ "agent", required_argument, NULL, O_AGENT },
		{ "force", no_argument, NULL, O_FORCE },
		{ "verbose", no_argument, NULL, O_VERBOSE },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct svm_prepare_args a = { 0 };
	struct svm_config conf;
	const char *config = NULL;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
		switch (c) {
		case O_AGENT: a.agent = optarg; break;
		case O_FORCE: a.force = 1; break;
		case O_VERBOSE: a.verbose = 1; break;
		case 'c': config = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return bad_option(c, argv);
		}
	}
	if (optind + 2 != argc)
		return usage_error("%s", "image prepare takes IN and OUT");
	a.in = argv[optind];
	a.out = argv[optind + 1];
	if (!a.in[0] || !a.out[0])
		return usage_error("%s", "image prepare: IN and OUT must not be empty");
	if (load_config(config, &conf) < 0)
		return 1;
	return svm_prepare(&a, &conf) < 0 ? 1 : 0;
}

static int cmd_image(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct svm_config conf;
	struct svm_image_info info;
	const char *config = NULL;
	char err[1024];
	int c;

	if (argc > 1 && !strcmp(argv[1], "prepare"))
		return cmd_image_prepare(argc - 1, argv + 1);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return bad_option(c, argv);
		}
	}
	if (optind >= argc || strcmp(argv[optind], "check"))
		return usage_error("%s", "expected: image check FILE, or image prepare IN OUT");
	if (optind + 2 != argc)
		return usage_error("%s", "image check takes one FILE");
	if (load_config(config, &conf) < 0)
		return 1;
	if (svm_image_check(argv[optind + 1], &conf, &info, err, sizeof(err)) < 0) {
		svm_error("%s", err);
		return 1;
	}
	if (conf.image_dirs.n > 0) {
		char resolved[PATH_MAX];

		if (svm_image_resolve(argv[optind + 1], &conf, resolved, err, sizeof(err)) < 0) {
			svm_error("%s", err);
			return 1;
		}
	}
	if (info.format == SVM_FMT_QCOW2)
		printf("image %s: qcow2 version %u, virtual size %" PRIu64 " bytes: accepted\n",
		       argv[optind + 1], info.version, info.virtual_size);
	else
		printf("image %s: raw, virtual size %" PRIu64 " bytes: accepted\n",
		       argv[optind + 1], info.virtual_size);
	return 0;
}

struct dx_args {
	const char *topology, *image, *node, *config, *cpus, *reserved, *sysfs;
	const char *workdir, *nodelist;
	int have_job, have_uid, have_gid;
	uint64_t job, uid, gid, mem, node_index;
	int hugepages, ib, domain_type, format;
	struct svm_options opts;
};

static int cmd_domain_xml(int argc, char **argv)
{
	enum { O_TOPO = 256, O_IMAGE, O_JOB, O_UID, O_GID, O_NODE, O_CONFIG, O_CPUS,
	       O_RESERVED, O_HUGE, O_IB, O_MEM, O_TYPE, O_SYSFS, O_FORMAT, O_INDEX,
	       O_WORKDIR, O_MOUNT, O_NODELIST };
	static const struct option longopts[] = {
		{ "topology", required_argument, NULL, O_TOPO },
		{ "image", required_argument, NULL, O_IMAGE },
		{ "job", required_argument, NULL, O_JOB },
		{ "uid", required_argument, NULL, O_UID },
		{ "gid", required_argument, NULL, O_GID },
		{ "node", required_argument, NULL, O_NODE },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "reserved-cpus", required_argument, NULL, O_RESERVED },
		{ "hugepages", required_argument, NULL, O_HUGE },
		{ "ib", required_argument, NULL, O_IB },
		{ "mem", required_argument, NULL, O_MEM },
		{ "domain-type", required_argument, NULL, O_TYPE },
		{ "sysfs", required_argument, NULL, O_SYSFS },
		{ "image-format", required_argument, NULL, O_FORMAT },
		{ "node-index", required_argument, NULL, O_INDEX },
		{ "nodelist", required_argument, NULL, O_NODELIST },
		{ "workdir", required_argument, NULL, O_WORKDIR },
		{ "mount", required_argument, NULL, O_MOUNT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const format_names[] = { "qcow2", "raw", NULL };
	struct dx_args a = { .hugepages = -1, .ib = -1, .domain_type = -1, .format = -1 };
	struct svm_topology *topo = NULL;
	struct svm_ib_choice ib;
	struct svm_config conf;
	struct svm_job job;
	struct svm_job_plan_buf plan;
	struct svm_plan_input in;
	char host[256], err[1024];
	struct svm_jobdir dir;
	char *xml = NULL;
	int c, ret = 1;

	svm_options_init(&a.opts);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case O_TOPO: a.topology = optarg; break;
		case O_IMAGE: a.image = optarg; break;
		case O_NODE: a.node = optarg; break;
		case O_CONFIG: a.config = optarg; break;
		case O_CPUS: a.cpus = optarg; break;
		case O_RESERVED: a.reserved = optarg; break;
		case O_SYSFS: a.sysfs = optarg; break;
		case O_WORKDIR: a.workdir = optarg; break;
		case O_NODELIST: a.nodelist = optarg; break;
		case O_JOB:
			if (parse_id(optarg, UINT32_MAX, &a.job) < 0)
				return usage_error("--job '%s' is not a job id", optarg);
			a.have_job = 1;
			break;
		case O_UID:
			if (parse_id(optarg, UINT32_MAX - 1, &a.uid) < 0)
				return usage_error("--uid '%s' is not a uid", optarg);
			a.have_uid = 1;
			break;
		case O_GID:
			if (parse_id(optarg, UINT32_MAX - 1, &a.gid) < 0)
				return usage_error("--gid '%s' is not a gid", optarg);
			a.have_gid = 1;
			break;
		case O_INDEX:
			if (parse_id(optarg, 65535, &a.node_index) < 0)
				return usage_error("--node-index '%s' is not a number 0-65535", optarg);
			break;
		case O_MEM:
			if (svm_parse_size(optarg, 1ULL << 20, &a.mem) < 0 || a.mem < (1ULL << 20))
				return usage_error("--mem '%s' is not a size in MiB (e.g. 4096 or 4G)", optarg);
			a.mem >>= 20;
			break;
		case O_HUGE:
			if ((a.hugepages = svm_parse_enum(optarg, svm_hugepages_names)) < 0)
				return usage_error("--hugepages '%s' is not none, 2M or 1G", optarg);
			break;
		case O_IB:
			if ((a.ib = svm_parse_enum(optarg, svm_ib_names)) < 0)
				return usage_error("--ib '%s' is not none, pf, vf or auto", optarg);
			break;
		case O_TYPE:
			if ((a.domain_type = svm_parse_enum(optarg, svm_domain_type_names)) < 0)
				return usage_error("--domain-type '%s' is not kvm or qemu", optarg);
			break;
		case O_FORMAT:
			if ((a.format = svm_parse_enum(optarg, format_names)) < 0)
				return usage_error("--image-format '%s' is not qcow2 or raw", optarg);
			break;
		case O_MOUNT:
			if (svm_opt_mount(&a.opts, optarg, err, sizeof(err)) < 0)
				return usage_error("--mount %s", err);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return bad_option(c, argv);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!a.image)
		return usage_error("%s", "domain-xml needs --image FILE");
	if (!a.have_job || !a.have_uid || !a.have_gid)
		return usage_error("%s", "domain-xml needs --job ID --uid N --gid N");
	if (a.image[0] != '/')
		return usage_error("--image '%s' is not an absolute path", a.image);
	if (!a.node) {
		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		host[strcspn(host, ".")] = '\0';
		a.node = host;
	}

	if (load_config(a.config, &conf) < 0)
		goto out;
	if (a.domain_type >= 0)
		conf.domain_type = a.domain_type;
	if (a.sysfs && svm_strlcpy(conf.sysfs_root, a.sysfs, sizeof(conf.sysfs_root)) < 0)
		return usage_error("--sysfs '%s' is too long", a.sysfs);
	if (a.reserved && svm_strlcpy(conf.reserved_cpus, a.reserved, sizeof(conf.reserved_cpus)) < 0)
		return usage_error("--reserved-cpus '%s' is too long", a.reserved);
	if (a.format < 0) {
		struct svm_image_info info;

		if (svm_image_check(a.image, &conf, &info, err, sizeof(err)) < 0) {
			svm_error("%s", err);
			goto out;
		}
		a.format = info.format == SVM_FMT_QCOW2 ? 0 : 1;
	}

	if (svm_topology_load(a.topology ? a.topology : conf.topology_xml[0] ? conf.topology_xml : NULL,
			      a.cpus, conf.reserved_cpus, &topo) < 0)
		goto out;
	if (svm_ib_select(topo, &conf, a.ib >= 0 ? (enum svm_ib)a.ib : conf.ib, (uint32_t)a.job,
			  a.node, 0, NULL, NULL, &ib) < 0)
		goto out;
	/* the plan the prolog would start for this job on this node */
	a.opts.mem_mib = a.mem;
	a.opts.hugepages = a.hugepages;
	in = (struct svm_plan_input){
		.node_index = (unsigned)a.node_index,
		.uid = (uid_t)a.uid,
		.gid = (gid_t)a.gid,
		.image = a.image,
		.image_format = a.format == 0 ? SVM_FMT_QCOW2 : SVM_FMT_RAW,
		.opts = &a.opts,
		.workdir = a.workdir,
		.ib = &ib,
		.nodelist = a.nodelist,
	};
	if (svm_jobdir_init(&dir, &conf, (uint32_t)a.job, a.node) < 0 ||
	    svm_job_plan(&job, &plan, &conf, &dir, topo, &in) < 0)
		goto out;
	xml = svm_domain_xml(topo, &conf, &job);
	if (!xml)
		goto out;
	fputs(xml, stdout);
	ret = fflush(stdout) == 0 ? 0 : 1;
out:
	free(xml);
	svm_topology_free(topo);
	return ret;
}

static int cmd_network(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "job", required_argument, NULL, 'j' },
		{ "node", required_argument, NULL, 'n' },
		{ "nodes", required_argument, NULL, 'N' },
		{ "addr", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *node = NULL, *nodes = NULL;
	const char *over[argc > 0 ? argc : 1];	/* at most one --addr per argument */
	struct svm_config conf;
	size_t n_over = 0;
	uint64_t job = 0;
	unsigned mtu;
	int c, have_job = 0, ret = 1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:j:n:N:a:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'j':
			if (parse_id(optarg, UINT32_MAX, &job) < 0)
				return usage_error("--job '%s' is not a job id", optarg);
			have_job = 1;
			break;
		case 'n': node = optarg; break;
		case 'N': nodes = optarg; break;
		case 'a':
			if (!strchr(optarg, '='))
				return usage_error("--addr '%s' is not NODE=A.B.C.D", optarg);
			over[n_over++] = optarg;
			break;
		default: return bad_option(c, argv);
		}
	}
	if (optind + 1 != argc)
		return usage_error("%s", "expected: network up|seal|down");
	if (!have_job)
		return usage_error("%s", "network needs --job");
	if (strcmp(argv[optind], "up") && strcmp(argv[optind], "down") && strcmp(argv[optind], "seal"))
		return usage_error("unknown network command '%s'", argv[optind]);
	if (!strcmp(argv[optind], "up") && (!node || !nodes))
		return usage_error("%s", "network up needs --node and --nodes");
	if (load_config(config, &conf) < 0)
		goto out;
	if (!strcmp(argv[optind], "down"))
		ret = svm_netjob_down(&conf, (uint32_t)job) < 0 ? 1 : 0;
	else if (!strcmp(argv[optind], "seal"))
		ret = svm_netjob_seal(&conf, (uint32_t)job) < 0 ? 1 : 0;
	else if (svm_netpeers_up(&conf, (uint32_t)job, nodes, node, over, n_over, &mtu) == 0) {
		printf("mtu %u\n", mtu);
		ret = 0;
	}
out:
	return ret;
}

int main(int argc, char **argv)
{
	svm_log_init(NULL, SVM_LOG_INFO);
	if (argc < 2)
		return usage_error("%s", "missing command");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("slurm-vm %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "domain-xml"))
		return cmd_domain_xml(argc - 1, argv + 1);
	if (!strcmp(argv[1], "image"))
		return cmd_image(argc - 1, argv + 1);
	if (!strcmp(argv[1], "network"))
		return cmd_network(argc - 1, argv + 1);
	return usage_error("unknown command '%s'", argv[1]);
}
