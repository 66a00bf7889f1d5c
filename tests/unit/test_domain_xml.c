/* Domain XML: golden files for every topology in tests/topologies x huge
 * pages (none, 2M) x InfiniBand (none, pf, vf where the node has an HCA),
 * plus feature cases; every XML must be accepted by libvirt's test driver
 * with schema validation.  SVM_REGEN_GOLDEN=1 rewrites the golden files
 * (review the diff) instead of comparing. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "domain_xml.h"
#include "guest_words.h"
#include "jobdir.h"
#include "jobplan.h"
#include "ib.h"
#include "log.h"
#include "netjob.h"
#include "topology.h"
#include "vmconf.h"
#include "testutil.h"

static char tmpdir[1024];
static char virt_error[1024];
static virConnectPtr test_conn;

static void virt_capture(void *data, virErrorPtr e)
{
	(void)data;
	snprintf(virt_error, sizeof(virt_error), "%s", e && e->message ? e->message : "?");
}

/* Case: topology, reserved_cpus (first core of each package), job CPUs. */
struct xcase {
	const char *name;	/* golden file name without .xml */
	const char *topology;
	const char *reserved;
	const char *cpus;	/* NULL: the whole node minus reserved */
	enum svm_hugepages hp;
	enum svm_ib ib;
	enum svm_domain_type type;
	int features;		/* 1: direct boot, shares, libvirt network;
				 * 2: disk boot with the agent medium */
};

static const struct {
	const char *file, *reserved;
	int hca;
} topologies[] = {
	{ "16amd64-8n2c-cpusets.xml", "0", 0 },
	{ "16em64t-4s2c2t.xml", "0,8,1,9,2,10,3,11", 0 },
	{ "16intel64-manyVFs.xml", "0,8", 0 },
	{ "192em64t-24n8c2t.xml", "0,192,8,200,16,208,24,216,32,224,40,232,48,240,56,248,64,256,72,264,80,272,88,280,96,288,104,296,112,304,120,312,128,320,136,328,144,336,152,344,160,352,168,360,176,368,184,376", 1 },
	{ "24em64t-2n6c2t-pci.xml", "0,12,1,13", 1 },
	{ "32em64t-2n8c2t-pci-normalio.xml", "0,16,8,24", 1 },
	{ "32em64t-2n8c2t-pci-wholeio.xml", "0,16,8,24", 1 },
	{ "96em64t-4n4d3ca2co-pci.xml", "0-3,24-27,48-51,72-75", 0 },
};

static const struct xcase extra_cases[] = {
	/* two whole cores of package 1; the HCA is on the other node */
	{ "24em64t-2n6c2t-pci-partial-ibpf", "24em64t-2n6c2t-pci.xml", "0,12", "1,13,3,15",
	  SVM_HUGEPAGES_NONE, SVM_IB_PF, SVM_DOMAIN_KVM, 0 },
	/* a ragged allocation: threads collapse */
	{ "32em64t-2n8c2t-pci-normalio-ragged", "32em64t-2n8c2t-pci-normalio.xml", "0", "1-3,17",
	  SVM_HUGEPAGES_2M, SVM_IB_NONE, SVM_DOMAIN_KVM, 0 },
	/* software emulation, 1G pages */
	{ "24em64t-2n6c2t-pci-qemu-hp1G", "24em64t-2n6c2t-pci.xml", "0,12,1,13", NULL,
	  SVM_HUGEPAGES_1G, SVM_IB_NONE, SVM_DOMAIN_QEMU, 0 },
	/* direct boot, working dir and shares, libvirt network */
	{ "16em64t-4s2c2t-features", "16em64t-4s2c2t.xml", "0,8", NULL,
	  SVM_HUGEPAGES_NONE, SVM_IB_NONE, SVM_DOMAIN_QEMU, 1 },
	/* the image's own boot loader, the host's agent on its medium */
	{ "16em64t-4s2c2t-agent-medium", "16em64t-4s2c2t.xml", "0,8", NULL,
	  SVM_HUGEPAGES_NONE, SVM_IB_NONE, SVM_DOMAIN_KVM, 2 },
};

/* A fake sysfs where HCA function PF has 8 VFs PF+1.. (same bus). */
static void fake_vfs(const char *sysfs, const struct svm_topo_pci *h)
{
	char path[2 * PATH_MAX], target[64];
	int fd;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%04x:%02x:%02x.%u", sysfs,
		 h->domain, h->bus, h->dev, h->fn);
	testutil_mkdirs(path);
	strcat(path, "/sriov_numvfs");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "8\n", 2), 2);
	close(fd);
	for (unsigned i = 0; i < 8; i++) {
		unsigned devfn = h->dev * 8 + h->fn + 1 + i;

		snprintf(target, sizeof(target), "../%04x:%02x:%02x.%u", h->domain, h->bus,
			 devfn / 8, devfn % 8);
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", sysfs, target + 3);
		testutil_mkdirs(path);
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%04x:%02x:%02x.%u/virtfn%u", sysfs,
			 h->domain, h->bus, h->dev, h->fn, i);
		unlink(path);
		assert_int_equal(symlink(target, path), 0);
	}
}

/* The site config of the golden files: fixed paths, whatever the prefix. */
static void golden_config(struct svm_config *c, const struct xcase *x)
{
	svm_config_defaults(c);
	c->domain_type = x->type;
	snprintf(c->scratch_dir, sizeof(c->scratch_dir), "/var/lib/slurm-vm");
	snprintf(c->runtime_dir, sizeof(c->runtime_dir), "/run/slurm-vm");
	snprintf(c->reserved_cpus, sizeof(c->reserved_cpus), "%s", x->reserved);
	snprintf(c->network_name, sizeof(c->network_name), "svmbr0");
	if (x->features == 1) {
		c->network = SVM_NET_LIBVIRT;
		snprintf(c->network_name, sizeof(c->network_name), "slurm-vm");
		snprintf(c->kernel, sizeof(c->kernel), "/usr/lib/slurm-vm/vmlinuz");
		snprintf(c->initrd, sizeof(c->initrd), "/usr/lib/slurm-vm/initrd.img");
		snprintf(c->kernel_cmdline, sizeof(c->kernel_cmdline), "console=ttyS0 quiet");
		snprintf(c->emulator, sizeof(c->emulator), "/usr/bin/qemu-system-x86_64");
		c->shared_paths.n = 2;
		snprintf(c->shared_paths.path[0], PATH_MAX, "/shared");
		snprintf(c->shared_paths.path[1], PATH_MAX, "/apps");
	}
}

/* Builds the XML of case X as the prolog plans it (jobplan.h); stores the
 * topology in *TOPO (caller frees). */
static char *case_xml(const struct xcase *x, struct svm_topology **topo)
{
	static const struct svm_mount mounts[] = {
		{ "/home/alice/data", "/data", 1 },
		{ "/scratch/alice", "/scratch/alice", 0 },
	};
	struct svm_config conf, ibconf;
	struct svm_ib_choice ib;
	struct svm_options opts;
	struct svm_jobdir dir;
	struct svm_job job;
	struct svm_job_plan_buf plan;
	struct svm_plan_input in = {
		.node_index = 1,
		.uid = 1000,
		.gid = 1000,
		.image = "/home/alice/images/centos7-ofed.qcow2",
		.image_format = SVM_FMT_QCOW2,
		.opts = &opts,
		.ib = &ib,
	};
	char *xml;

	golden_config(&conf, x);
	svm_options_init(&opts);
	opts.mem_mib = 8192;
	opts.hugepages = (int)x->hp;
	/* an explicit medium: the default one is there only when installed */
	snprintf(conf.agent_medium, sizeof(conf.agent_medium), "none");
	if (x->features == 2) {
		in.workdir = "/home/alice/run";
		snprintf(conf.agent_medium, sizeof(conf.agent_medium),
			 "/usr/libexec/slurm-vm/slurm-vm-agent.img");
	}
	if (x->features == 1) {
		in.workdir = "/home/alice/run";
		opts.n_mounts = 2;
		memcpy(opts.mounts, mounts, sizeof(mounts));
		in.image_format = SVM_FMT_RAW;
		in.image = "/shared/images/app.raw";
		in.nodelist = "n[0-3],login1";	/* n1 is node 1 */
	}
	assert_int_equal(svm_topology_load(testutil_srcpath("topologies", x->topology), x->cpus, conf.reserved_cpus, topo), 0);
	assert_int_equal(svm_jobdir_init(&dir, &conf, 4242, "n1"), 0);
	assert_int_equal(svm_job_plan(&job, &plan, &conf, &dir, *topo, &in), 0);

	/* VFs from a fake sysfs, reserved under a temporary runtime dir */
	ibconf = conf;
	snprintf(ibconf.sysfs_root, sizeof(ibconf.sysfs_root), "%s/sys", tmpdir);
	snprintf(ibconf.runtime_dir, sizeof(ibconf.runtime_dir), "%s/run", tmpdir);
	if (x->ib == SVM_IB_VF)
		fake_vfs(ibconf.sysfs_root, &(*topo)->hcas[0]);
	assert_int_equal(svm_ib_select(*topo, &ibconf, x->ib, job.id, job.node, 1, NULL, NULL, &ib), 0);
	xml = svm_domain_xml(*topo, &conf, &job);
	if (!xml)
		print_error("%s: %s\n", x->name, testutil_last_error);
	assert_non_null(xml);
	if (ib.reserved)	/* a VF or, booked the same way, the PF */
		assert_int_equal(svm_ib_release(&ibconf, job.id, job.node), 1);
	return xml;
}

/* libvirt's own parser and schema must accept it. */
static void check_libvirt(const struct xcase *x, const char *xml)
{
	virDomainPtr dom;

	virt_error[0] = '\0';
	dom = virDomainDefineXMLFlags(test_conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
	if (!dom)
		print_error("%s: libvirt rejects the XML: %s\n", x->name, virt_error);
	assert_non_null(dom);
	assert_int_equal(virDomainUndefine(dom), 0);
	virDomainFree(dom);
}

/* What the XML must say, read back from the XML text itself. */
static void check_xml_text(const struct xcase *x, const struct svm_topology *t, const char *xml)
{
	char want[256];

	for (unsigned v = 0; v < t->n_vcpus; v++) {
		const struct svm_topo_pu *pu = svm_topology_vcpu(t, v, NULL);

		assert_non_null(pu);
		snprintf(want, sizeof(want), "<vcpupin vcpu='%u' cpuset='%u'/>", v, pu->os_index);
		assert_non_null(strstr(xml, want));
	}
	snprintf(want, sizeof(want), "<emulatorpin cpuset='%s'/>", t->emulator_cpus);
	assert_non_null(strstr(xml, want));
	for (unsigned c = 0; c < t->n_cells; c++) {
		snprintf(want, sizeof(want), "<memnode cellid='%u' mode='strict' nodeset='%u'/>",
			 c, t->cells[c].host_node);
		assert_non_null(strstr(xml, want));
	}
	snprintf(want, sizeof(want), "<topology sockets='%u' dies='1' cores='%u' threads='%u'/>",
		 t->sockets, t->cores, t->threads);
	assert_non_null(strstr(xml, want));
	assert_non_null(strstr(xml, "<name>svm-4242-n1</name>"));
	assert_non_null(strstr(xml, "<label>+1000:+1000</label>"));
	assert_non_null(strstr(xml, "<memballoon model='none'/>"));
	assert_null(strstr(xml, "<graphics"));
	assert_null(strstr(xml, "<video"));
	if (x->type == SVM_DOMAIN_KVM) {
		assert_non_null(strstr(xml, "<domain type='kvm'>"));
		assert_non_null(strstr(xml, "mode='host-passthrough'"));
	} else {
		assert_non_null(strstr(xml, "<domain type='qemu'>"));
		assert_null(strstr(xml, "host-passthrough"));
	}
	assert_int_equal(strstr(xml, "<hostdev") != NULL, x->ib != SVM_IB_NONE);
	assert_int_equal(strstr(xml, "<hugepages>") != NULL, x->hp != SVM_HUGEPAGES_NONE);
}

static void run_case(const struct xcase *x)
{
	struct svm_topology *t = NULL;
	char golden[PATH_MAX];
	char *xml, *want;

	print_message("%s\n", x->name);
	xml = case_xml(x, &t);
	check_xml_text(x, t, xml);
	check_libvirt(x, xml);
	snprintf(golden, sizeof(golden), "%s.xml", testutil_srcpath("golden", x->name));
	if (getenv("SVM_REGEN_GOLDEN") && !strcmp(getenv("SVM_REGEN_GOLDEN"), "1")) {
		FILE *f = fopen(golden, "we");

		assert_non_null(f);
		fputs(xml, f);
		assert_int_equal(fclose(f), 0);
	} else {
		want = testutil_read_file(golden);
		if (!want)
			print_error("missing golden file %s (SVM_REGEN_GOLDEN=1 creates it)\n", golden);
		assert_non_null(want);
		if (strcmp(want, xml))
			print_error("%s differs from the generated XML:\n%s\n", golden, xml);
		assert_string_equal(want, xml);
		free(want);
	}
	free(xml);
	svm_topology_free(t);
}

static int setup_group(void **state)
{
	(void)state;
	testutil_log_capture();
	if (testutil_tmpdir(tmpdir, sizeof(tmpdir), "svm-test-xml") < 0)
		return -1;
	virSetErrorFunc(NULL, virt_capture);
	test_conn = virConnectOpen("test:///default");
	return test_conn ? 0 : -1;
}

static int teardown_group(void **state)
{
	(void)state;
	virConnectClose(test_conn);
	testutil_rm_rf(tmpdir);
	return 0;
}

static void test_golden_matrix(void **state)
{
	static const enum svm_hugepages hps[] = { SVM_HUGEPAGES_NONE, SVM_HUGEPAGES_2M };
	static const enum svm_ib ibs[] = { SVM_IB_NONE, SVM_IB_PF, SVM_IB_VF };

	(void)state;
	for (size_t i = 0; i < sizeof(topologies) / sizeof(topologies[0]); i++) {
		for (size_t h = 0; h < 2; h++) {
			for (size_t b = 0; b < (topologies[i].hca ? 3u : 1u); b++) {
				char name[128];
				struct xcase x = {
					.name = name,
					.topology = topologies[i].file,
					.reserved = topologies[i].reserved,
					.hp = hps[h],
					.ib = ibs[b],
					.type = SVM_DOMAIN_KVM,
				};

				snprintf(name, sizeof(name), "%.*s-hp%s-ib%s",
					 (int)(strlen(topologies[i].file) - 4), topologies[i].file,
					 svm_hugepages_names[hps[h]], svm_ib_names[ibs[b]]);
				run_case(&x);
			}
		}
	}
}

/* The text of XML between the first OPEN and the CLOSE after it. */
static char *section(const char *xml, const char *open, const char *close)
{
	const char *a = strstr(xml, open), *b;

	assert_non_null(a);
	a += strlen(open);
	b = strstr(a, close);
	assert_non_null(b);
	return strndup(a, (size_t)(b - a));
}

/* Each slurmvm.* word of TEXT (each after SEP) is in the list; returns the keys seen, one bit each. */
static unsigned words_in(const char *text, const char *sep)
{
	unsigned seen = 0;
	char pat[32];

	snprintf(pat, sizeof(pat), "%s" SVM_GW_PREFIX, sep);
	for (const char *p = text; (p = strstr(p, pat)); ) {
		const char *key = p + strlen(pat), *eq = strchr(key, '=');
		int k;

		assert_non_null(eq);
		k = svm_gw_lookup(key, (size_t)(eq - key));
		if (k < 0)
			print_error("a guest setting not in guest_words.h: %.40s\n", key);
		assert_true(k >= 0);
		seen |= 1u << k;
		p = eq;
	}
	return seen;
}

/* The prolog writes each guest setting of the list where the list says,
 * and nothing else named slurmvm.* (the agent would skip it). */
static void test_guest_words(void **state)
{
	struct svm_topology *t = NULL;
	char *xml, *cmd, *oem, *cmd1;
	unsigned want_cmd = 0, want_oem = 0;

	(void)state;
	for (int k = 0; k < SVM_GW_N; k++) {
		if (svm_gw_words[k].where & SVM_GW_CMDLINE)
			want_cmd |= 1u << k;
		if (svm_gw_words[k].where & SVM_GW_OEM)
			want_oem |= 1u << k;
	}
	/* direct boot, shares and a job network address */
	xml = case_xml(&extra_cases[3], &t);
	cmd = section(xml, "<cmdline>", "</cmdline>");
	oem = section(xml, "<oemStrings>", "</oemStrings>");
	cmd1 = malloc(strlen(cmd) + 2);
	assert_non_null(cmd1);
	sprintf(cmd1, " %s", cmd);
	assert_int_equal(words_in(cmd1, " "), want_cmd);
	assert_int_equal(words_in(oem, "<entry>"), want_oem);
	free(cmd1);
	free(cmd);
	free(oem);
	free(xml);
	svm_topology_free(t);
}

static void test_golden_extra(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(extra_cases) / sizeof(extra_cases[0]); i++)
		run_case(&extra_cases[i]);
}

/* kvm and qemu differ in the domain type and the CPU mode only. */
static void test_kvm_qemu_identical(void **state)
{
	struct xcase x = { "kq", "24em64t-2n6c2t-pci.xml", "0,12,1,13", NULL,
			   SVM_HUGEPAGES_2M, SVM_IB_PF, SVM_DOMAIN_KVM, 0 };
	struct svm_topology *t1 = NULL, *t2 = NULL;
	char *kvm, *qemu, *p;

	(void)state;
	kvm = case_xml(&x, &t1);
	kvm = realloc(kvm, strlen(kvm) + 2);
	assert_non_null(kvm);
	x.type = SVM_DOMAIN_QEMU;
	qemu = case_xml(&x, &t2);
	p = strstr(kvm, "<domain type='kvm'>");
	assert_non_null(p);
	memmove(p + 19, p + 18, strlen(p + 18) + 1);
	memcpy(p, "<domain type='qemu'", 19);
	p = strstr(kvm, "mode='host-passthrough'");
	assert_non_null(p);
	memcpy(p, "mode='maximum'", 14);
	memmove(p + 14, p + 23, strlen(p + 23) + 1);
	assert_string_equal(kvm, qemu);
	free(kvm);
	free(qemu);
	svm_topology_free(t1);
	svm_topology_free(t2);
}

static void test_memory_split(void **state)
{
	struct svm_topology *t = NULL;
	uint64_t mib[3];

	(void)state;
	/* 16amd64: cells of 8 (incl. PUs without allowed node), 1 and 1 PUs... */
	assert_int_equal(svm_topology_load(testutil_srcpath("topologies", "16amd64-8n2c-cpusets.xml"), NULL, "0", &t), 0);
	assert_int_equal(t->n_cells, 3);
	assert_int_equal(svm_split_memory(t, 9000, 1, mib), 0);
	assert_true(mib[0] + mib[1] + mib[2] == 9000);
	assert_true(mib[0] == 7000 && mib[1] == 1000 && mib[2] == 1000);
	assert_int_equal(svm_split_memory(t, 9000, 2, mib), 0);
	assert_true(mib[0] + mib[1] + mib[2] == 9000 && mib[0] % 2 == 0 && mib[1] % 2 == 0);
	assert_int_equal(svm_split_memory(t, 4096, 1024, mib), -1);
	assert_string_equal(testutil_last_error, "guest memory of 4096 MiB is too small for 3 NUMA cells in 1024 MiB pages");
	assert_int_equal(svm_split_memory(t, 9216, 1024, mib), 0);
	assert_true(mib[0] == 7168 && mib[1] == 1024 && mib[2] == 1024);
	svm_topology_free(t);
}

static void test_bad_jobs(void **state)
{
	struct xcase x = { "bad", "24em64t-2n6c2t-pci.xml", "0,12,1,13", NULL,
			   SVM_HUGEPAGES_NONE, SVM_IB_NONE, SVM_DOMAIN_KVM, 0 };
	struct svm_mount quote = { "/home/a'b", "/home/a'b", 0 };
	struct svm_config conf;
	struct svm_topology *t = NULL;
	struct svm_job job = {
		.id = 7, .node = "n1", .uid = 1, .gid = 1,
		.image = "/i.qcow2", .image_format = SVM_FMT_QCOW2, .overlay = "/o.qcow2",
		.mem_mib = 1024, .agent_socket = "/run/a.sock", .console_log = "/run/c.log",
	};
	char name[64], *xml;

	(void)state;
	golden_config(&conf, &x);
	assert_int_equal(svm_topology_load(testutil_srcpath("topologies", x.topology), NULL, conf.reserved_cpus, &t), 0);
	job.n_mounts = 1;
	job.mounts = &quote;
	assert_null(svm_domain_xml(t, &conf, &job));
	assert_string_equal(testutil_last_error, "cannot share /home/a'b with the guest: its path has a blank, colon, quote or backslash");
	job.n_mounts = 0;
	job.node = "n1;rm";
	assert_null(svm_domain_xml(t, &conf, &job));
	assert_string_equal(testutil_last_error, "node name 'n1;rm' is not a plain host name (letters, digits, '.', '_', '-')");
	job.node = "n1";
	job.image = "/a\nb";
	assert_null(svm_domain_xml(t, &conf, &job));
	/* the log escapes it: one line */
	assert_string_equal(testutil_last_error, "image /a\\nb has control characters");
	/* the XML escapes what it must */
	job.image = "/home/a&b<c>.qcow2";
	xml = svm_domain_xml(t, &conf, &job);
	assert_non_null(xml);
	assert_non_null(strstr(xml, "<source file='/home/a&amp;b&lt;c&gt;.qcow2'/>"));
	free(xml);
	assert_int_equal(svm_domain_name(42, "n2", name, sizeof(name)), 0);
	assert_string_equal(name, "svm-42-n2");
	assert_int_equal(svm_domain_name(42, "n2/../x", name, sizeof(name)), -1);
	{
		struct svm_jobdir dir;

		assert_int_equal(svm_jobdir_init(&dir, &conf, 42, "n2"), 0);
		assert_string_equal(dir.domain, "svm-42-n2");
		assert_string_equal(dir.state, "/run/slurm-vm/42.n2");
		assert_string_equal(dir.agent_sock, "/run/slurm-vm/42.n2/agent.sock");
		assert_string_equal(dir.relay_sock, "/run/slurm-vm/42.n2/relay.sock");
		assert_string_equal(dir.scratch, "/var/lib/slurm-vm/42.n2");
		assert_int_equal(svm_jobdir_init(&dir, &conf, 42, ".."), -1);
		assert_int_equal(svm_jobdir_init(&dir, &conf, 42, "a/b"), -1);
	}
	svm_share_tag(3, "/home/alice/run", name, sizeof(name));
	assert_int_equal(strncmp(name, "svm3-", 5), 0);
	assert_int_equal(strlen(name), 13);
	svm_topology_free(t);
}

/* The plan's choices, the ones the prolog and slurm-vm domain-xml share. */
static void test_plan(void **state)
{
	struct xcase x = { "plan", "24em64t-2n6c2t-pci.xml", "0,12,1,13", NULL,
			   SVM_HUGEPAGES_NONE, SVM_IB_NONE, SVM_DOMAIN_KVM, 0 };
	struct svm_config conf;
	struct svm_topology *t = NULL;
	struct svm_options opts;
	struct svm_jobdir dir;
	struct svm_job job;
	struct svm_job_plan_buf plan;
	struct svm_plan_input in = { .node_index = 300, .uid = 5, .gid = 6, .image = "/i.qcow2",
				     .image_format = SVM_FMT_QCOW2, .opts = &opts, .workdir = "" };

	(void)state;
	golden_config(&conf, &x);
	snprintf(conf.agent_medium, sizeof(conf.agent_medium), "none");
	svm_options_init(&opts);
	assert_int_equal(svm_topology_load(testutil_srcpath("topologies", x.topology), NULL, conf.reserved_cpus, &t), 0);
	assert_int_equal(svm_jobdir_init(&dir, &conf, 0x2a, "n2"), 0);
	/* memory: the node's (18421 + 18431 MiB) less host_mem_reserve ... */
	assert_int_equal(svm_job_plan(&job, &plan, &conf, &dir, t, &in), 0);
	assert_int_equal(job.mem_mib, 18421 + 18431 - 1024);
	/* ... else default_mem, else the job's --mem, else --vm-mem */
	conf.default_mem = 4096;
	assert_int_equal(svm_job_plan(&job, &plan, &conf, &dir, t, &in), 0);
	assert_int_equal(job.mem_mib, 4096);
	in.job_mem = 3000;
	assert_int_equal(svm_job_plan(&job, &plan, &conf, &dir, t, &in), 0);
	assert_int_equal(job.mem_mib, 3000);
	opts.mem_mib = 2000;
	assert_int_equal(svm_job_plan(&job, &plan, &conf, &dir, t, &in), 0);
	assert_int_equal(job.mem_mib, 2000);
	/* huge pages: --vm-hugepages over the config */
	conf.hugepages = SVM_HUGEPAGES_2M;
	assert_int_equal(job.hugepages, SVM_HUGEPAGES_NONE);
	assert_int_equal(svm_job_plan(&job, &plan, &conf, &dir, t, &in), 0);
	assert_int_equal(job.hugepages, SVM_HUGEPAGES_2M);
	opts.hugepages = SVM_HUGEPAGES_1G;
	assert_int_equal(svm_job_plan(&job, &plan, &conf, &dir, t, &in), 0);
	assert_int_equal(job.hugepages, SVM_HUGEPAGES_1G);
	/* paths from the job's directories, the bridge and address */
	assert_int_equal(job.id, 0x2a);
	assert_string_equal(job.node, "n2");
	assert_string_equal(job.overlay, "/var/lib/slurm-vm/42.n2/overlay.qcow2");
	assert_string_equal(job.agent_socket, "/run/slurm-vm/42.n2/agent.sock");
	assert_string_equal(job.console_log, "/run/slurm-vm/42.n2/console.log");
	assert_string_equal(job.network_name, "svmbr02a");
	assert_string_equal(job.ip, "169.254.2.47/16");
	assert_null(job.workdir);
	assert_null(job.agent_medium);
	assert_int_equal(job.mtu, 0);
	assert_null(job.nodes);
	/* the node list for the guests' /etc/hosts; one the agent could not
	 * take: no names, one line, the job runs */
	in.nodelist = "n[1-2,10],gpu[01-03]";
	assert_int_equal(svm_job_plan(&job, &plan, &conf, &dir, t, &in), 0);
	assert_string_equal(job.nodes, "n[1-2,10],gpu[01-03]");
	testutil_last_info[0] = '\0';
	in.nodelist = "n[1-2] x";
	assert_int_equal(svm_job_plan(&job, &plan, &conf, &dir, t, &in), 0);
	assert_null(job.nodes);
	assert_string_equal(testutil_last_info, "the node list of job 42 is not of letters, digits and ._-,[]: its guests get no host names for the job's nodes");
	{
		static char big[SVM_GW_NODES_MAX + 2];

		memset(big, 'a', sizeof(big) - 1);
		in.nodelist = big;
		assert_int_equal(svm_job_plan(&job, &plan, &conf, &dir, t, &in), 0);
		assert_null(job.nodes);
		assert_string_equal(testutil_last_info, "the node list of job 42 is longer than 16384 bytes: its guests get no host names for the job's nodes");
		big[SVM_GW_NODES_MAX] = '\0';
		assert_int_equal(svm_job_plan(&job, &plan, &conf, &dir, t, &in), 0);
		assert_ptr_equal(job.nodes, big);
	}
	in.nodelist = "n[1-2]";
	/* no network: no address; libvirt network: the config's name */
	conf.network = SVM_NET_NONE;
	assert_int_equal(svm_job_plan(&job, &plan, &conf, &dir, t, &in), 0);
	assert_null(job.ip);
	assert_null(job.nodes);
	assert_null(job.network_name);
	conf.network = SVM_NET_LIBVIRT;
	in.workdir = "/home/u/run";
	assert_int_equal(svm_job_plan(&job, &plan, &conf, &dir, t, &in), 0);
	assert_null(job.network_name);
	assert_non_null(job.ip);
	assert_string_equal(job.workdir, "/home/u/run");
	svm_topology_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_matrix),
		cmocka_unit_test(test_golden_extra),
		cmocka_unit_test(test_guest_words),
		cmocka_unit_test(test_kvm_qemu_identical),
		cmocka_unit_test(test_memory_split),
		cmocka_unit_test(test_bad_jobs),
		cmocka_unit_test(test_plan),
	};

	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
