#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hwloc.h>

#include "cpuset.h"
#include "agent_boot.h"
#include "domain_xml.h"
#include "guest_words.h"
#include "netjob.h"
#include "mounts.h"
#include "jobdir.h"
#include "image.h"
#include "log.h"
#include "parse.h"

/* Guests of this build's architecture only. */
#if defined(__aarch64__)
#define SVM_ARCH "aarch64"
#define SVM_MACHINE "virt"
#else
#define SVM_ARCH "x86_64"
#define SVM_MACHINE "q35"
#endif

#define SVM_MAX_SHARES (SVM_CONF_MAX_LIST + SVM_MAX_MOUNTS + 1)

struct share {
	const char *src;	/* host directory */
	const char *dst;	/* guest mount point */
	int readonly;
};

void svm_share_tag(unsigned index, const char *path, char *buf, size_t len)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		h = (h ^ *p) * 16777619u;
	snprintf(buf, len, "svm%u-%08" PRIx32, index, h);
}

int svm_split_memory(const struct svm_topology *topo, uint64_t mem_mib,
		     uint64_t page_mib, uint64_t *out)
{
	uint64_t units = mem_mib / page_mib, given = 0;

	for (unsigned c = 0; c < topo->n_cells; c++) {
		out[c] = units * topo->cells[c].n_pus / topo->n_vcpus;
		given += out[c];
	}
	for (unsigned c = 0; given < units; c = (c + 1) % topo->n_cells, given++)
		out[c]++;
	for (unsigned c = 0; c < topo->n_cells; c++) {
		if (out[c] == 0) {
			svm_error("guest memory of %" PRIu64 " MiB is too small for %u NUMA cells in %" PRIu64 " MiB pages",
				  mem_mib, topo->n_cells, page_mib);
			return -1;
		}
		out[c] *= page_mib;
	}
	return 0;
}

/* Writes S with XML's five special characters escaped. */
static void put_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* Paths go into XML attributes and the guest's kernel command line. */
static int path_ok(const char *what, const char *path, int for_guest)
{
	if (!path || path[0] != '/') {
		svm_error("%s '%s' is not an absolute path", what, path ? path : "");
		return 0;
	}
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			svm_error("%s %s has control characters", what, path);
			return 0;
		}
		if (for_guest && strchr(" :'\"\\", *p)) {
			svm_error("cannot share %s with the guest: its path has a blank, colon, quote or backslash",
				  path);
			return 0;
		}
	}
	return 1;
}

static int collect_shares(const struct svm_config *conf, const struct svm_job *job,
			  struct share *sh)
{
	int n = 0;

	for (int i = 0; i < conf->shared_paths.n; i++) {
		if (!path_ok("shared path", conf->shared_paths.path[i], 1))
			return -1;
		sh[n++] = (struct share){ conf->shared_paths.path[i], conf->shared_paths.path[i], 0 };
	}
	if (job->workdir) {
		int covered = 0;

		if (!path_ok("working directory", job->workdir, 1))
			return -1;
		for (int i = 0; i < n; i++)
			covered |= svm_path_under(job->workdir, sh[i].src);
		if (!covered)
			sh[n++] = (struct share){ job->workdir, job->workdir, 0 };
	}
	for (int i = 0; i < job->n_mounts && i < SVM_MAX_MOUNTS; i++) {
		if (!path_ok("mount source", job->mounts[i].src, 1) ||
		    !path_ok("mount point", job->mounts[i].dst, 1))
			return -1;
		sh[n++] = (struct share){ job->mounts[i].src, job->mounts[i].dst, job->mounts[i].readonly };
	}
	return n;
}

/* The start of guest setting K (guest_words.h): "slurmvm.KEY=". */
static void put_word(FILE *f, enum svm_gw_key k)
{
	fprintf(f, SVM_GW_PREFIX "%s=", svm_gw_words[k].key);
}

static void put_cmdline(FILE *f, const struct svm_config *conf, const struct svm_job *job,
			const struct share *sh, int n_sh)
{
	char tag[32];

	fputs("    <cmdline>", f);
	if (conf->kernel_cmdline[0]) {
		put_esc(f, conf->kernel_cmdline);
		fputc(' ', f);
	}
	put_word(f, SVM_GW_HOSTNAME);
	put_esc(f, job->node);
	for (int i = 0; i < n_sh; i++) {
		svm_share_tag((unsigned)i, sh[i].dst, tag, sizeof(tag));
		fputc(' ', f);
		put_word(f, SVM_GW_9P);
		fprintf(f, "%s:", tag);
		put_esc(f, sh[i].dst);
		if (sh[i].readonly)
			fputs(":ro", f);
	}
	if (job->ip) {
		fputc(' ', f);
		put_word(f, SVM_GW_IP);
		put_esc(f, job->ip);
	}
	fputs("</cmdline>\n", f);
}

static int put_sysinfo(FILE *f, const struct svm_config *conf, const struct svm_job *job,
		       const struct share *sh, int n_sh)
{
	char tag[32];

	fputs("  <sysinfo type='smbios'>\n    <oemStrings>\n", f);
	fputs("      <entry>", f);
	put_word(f, SVM_GW_JOB);
	fprintf(f, "%" PRIu32 "</entry>\n", job->id);
	fputs("      <entry>", f);
	put_word(f, SVM_GW_HOSTNAME);
	put_esc(f, job->node);
	fputs("</entry>\n", f);
	for (int i = 0; i < n_sh; i++) {
		svm_share_tag((unsigned)i, sh[i].dst, tag, sizeof(tag));
		fputs("      <entry>", f);
		put_word(f, SVM_GW_9P);
		fprintf(f, "%s:", tag);
		put_esc(f, sh[i].dst);
		fputs(sh[i].readonly ? ":ro</entry>\n" : "</entry>\n", f);
	}
	if (job->ip) {
		fputs("      <entry>", f);
		put_word(f, SVM_GW_IP);
		put_esc(f, job->ip);
		fputs("</entry>\n", f);
	}
	/* OEM only (guest_words.h): no length limit to keep in mind */
	if (job->ip && job->nodes) {
		fputs("      <entry>", f);
		put_word(f, SVM_GW_NODES);
		put_esc(f, job->nodes);
		fputs("</entry>\n", f);
	}
	if (job->agent_medium && svm_agent_boot_oem(f, conf->agent_port) < 0)
		return -1;
	fputs("    </oemStrings>\n  </sysinfo>\n", f);
	return 0;
}

static void put_cputune(FILE *f, const struct svm_topology *topo)
{
	fputs("  <cputune>\n", f);
	for (unsigned v = 0; v < topo->n_vcpus; v++) {
		const struct svm_topo_pu *pu = svm_topology_vcpu(topo, v, NULL);

		fprintf(f, "    <vcpupin vcpu='%u' cpuset='%u'/>\n", v, pu ? pu->os_index : 0);
	}
	fprintf(f, "    <emulatorpin cpuset='%s'/>\n", topo->emulator_cpus);
	fprintf(f, "    <iothreadpin iothread='1' cpuset='%s'/>\n", topo->emulator_cpus);
	fputs("  </cputune>\n", f);
}

/* The guest vCPU numbers of cell C as a list. */
static char *cell_vcpus(const struct svm_topo_cell *cell)
{
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	char *s = NULL;

	if (!set)
		return NULL;
	for (unsigned i = 0; i < cell->n_pus; i++)
		hwloc_bitmap_set(set, cell->pus[i].vcpu);
	s = svm_cpuset_format(set);
	hwloc_bitmap_free(set);
	return s;
}

static int put_numatune(FILE *f, const struct svm_topology *topo)
{
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	char *all = NULL;

	if (!set)
		return -1;
	for (unsigned c = 0; c < topo->n_cells; c++)
		hwloc_bitmap_set(set, topo->cells[c].host_node);
	all = svm_cpuset_format(set);
	hwloc_bitmap_free(set);
	if (!all)
		return -1;
	fputs("  <numatune>\n", f);
	fprintf(f, "    <memory mode='strict' nodeset='%s'/>\n", all);
	for (unsigned c = 0; c < topo->n_cells; c++)
		fprintf(f, "    <memnode cellid='%u' mode='strict' nodeset='%u'/>\n",
			c, topo->cells[c].host_node);
	fputs("  </numatune>\n", f);
	free(all);
	return 0;
}

static int put_cpu(FILE *f, const struct svm_config *conf, const struct svm_topology *topo,
		   const uint64_t *cell_mib)
{
	if (conf->domain_type == SVM_DOMAIN_KVM)
		fputs("  <cpu mode='host-passthrough' check='none' migratable='off'>\n", f);
	else
		fputs("  <cpu mode='maximum' check='none' migratable='off'>\n", f);
	fprintf(f, "    <topology sockets='%u' dies='1' cores='%u' threads='%u'/>\n",
		topo->sockets, topo->cores, topo->threads);
	fputs("    <numa>\n", f);
	for (unsigned c = 0; c < topo->n_cells; c++) {
		char *cpus = cell_vcpus(&topo->cells[c]);

		if (!cpus)
			return -1;
		fprintf(f, "      <cell id='%u' cpus='%s' memory='%" PRIu64 "' unit='MiB'/>\n",
			c, cpus, cell_mib[c]);
		free(cpus);
	}
	fputs("    </numa>\n  </cpu>\n", f);
	return 0;
}

static void put_disk(FILE *f, const struct svm_job *job)
{
	fputs("    <disk type='file' device='disk'>\n", f);
	fputs("      <driver name='qemu' type='qcow2' iothread='1'/>\n", f);
	fputs("      <source file='", f);
	put_esc(f, job->overlay);
	fputs("'/>\n", f);
	fputs("      <backingStore type='file'>\n", f);
	fprintf(f, "        <format type='%s'/>\n", svm_image_format_name(job->image_format));
	fputs("        <source file='", f);
	put_esc(f, job->image);
	fputs("'/>\n        <backingStore/>\n      </backingStore>\n", f);
	fputs("      <target dev='vda' bus='virtio'/>\n    </disk>\n", f);
	if (job->agent_medium) {
		/* after the image's disk, so the image's root stays vda */
		fputs("    <disk type='file' device='disk'>\n", f);
		fputs("      <driver name='qemu' type='raw'/>\n      <source file='", f);
		put_esc(f, job->agent_medium);
		fputs("'/>\n      <target dev='vdz' bus='virtio'/>\n      <readonly/>\n", f);
		fputs("      <serial>" SVM_AGENT_MEDIUM_SERIAL "</serial>\n    </disk>\n", f);
	}
}

static void put_shares(FILE *f, const struct share *sh, int n_sh)
{
	char tag[32];

	for (int i = 0; i < n_sh; i++) {
		svm_share_tag((unsigned)i, sh[i].dst, tag, sizeof(tag));
		fputs("    <filesystem type='mount' accessmode='squash'>\n", f);
		fputs("      <driver type='path'/>\n      <source dir='", f);
		put_esc(f, sh[i].src);
		fprintf(f, "'/>\n      <target dir='%s'/>\n", tag);
		if (sh[i].readonly)
			fputs("      <readonly/>\n", f);
		fputs("    </filesystem>\n", f);
	}
}

static void put_interface(FILE *f, const struct svm_config *conf, const struct svm_job *job)
{
	const char *name = job->network_name ? job->network_name : conf->network_name;
	int bridge = svm_net_bridged(job->network);
	char mac[24];

	if (job->network == SVM_NET_NONE)
		return;
	fprintf(f, "    <interface type='%s'>\n", bridge ? "bridge" : "network");
	/* 0x52: locally administered unicast; then job id (24 bits), node rank. */
	svm_netjob_guest_mac(job->id, job->node_index, mac, sizeof(mac));
	fprintf(f, "      <mac address='%s'/>\n", mac);
	fprintf(f, "      <source %s='", bridge ? "bridge" : "network");
	put_esc(f, name);
	fputs("'/>\n      <model type='virtio'/>\n", f);
	/* the VXLAN header's room: virtio tells the guest driver, libvirt the tap */
	if (job->mtu)
		fprintf(f, "      <mtu size='%u'/>\n", job->mtu);
	fputs("    </interface>\n", f);
}

static int put_hostdev(FILE *f, const struct svm_ib_choice *ib)
{
	unsigned d, b, s, fn;

	if (!ib || ib->mode == SVM_IB_NONE)
		return 0;
	if (svm_ib_pci_parse(ib->bdf, &d, &b, &s, &fn) < 0) {
		svm_error("InfiniBand function '%s' is not a PCI address", ib->bdf);
		return -1;
	}
	fputs("    <hostdev mode='subsystem' type='pci' managed='yes'>\n      <source>\n", f);
	fprintf(f, "        <address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/>\n",
		d, b, s, fn);
	fputs("      </source>\n    </hostdev>\n", f);
	return 0;
}

static void put_chardevs(FILE *f, const struct svm_config *conf, const struct svm_job *job)
{
	fputs("    <serial type='file'>\n      <source path='", f);
	put_esc(f, job->console_log);
	fputs("'/>\n      <target port='0'/>\n    </serial>\n", f);
	fputs("    <channel type='unix'>\n      <source mode='bind' path='", f);
	put_esc(f, job->agent_socket);
	fputs("'/>\n      <target type='virtio' name='", f);
	put_esc(f, conf->agent_port);
	fputs("'/>\n    </channel>\n", f);
}

static int job_ok(const struct svm_config *conf, const struct svm_job *job)
{
	if (!path_ok("image", job->image, 0) || !path_ok("overlay", job->overlay, 0) ||
	    !path_ok("agent socket", job->agent_socket, 0) ||
	    !path_ok("console log", job->console_log, 0) ||
	    (job->agent_medium && !path_ok("agent medium", job->agent_medium, 0)))
		return 0;
	if (job->image_format != SVM_FMT_QCOW2 && job->image_format != SVM_FMT_RAW) {
		svm_error("image %s has no known format", job->image);
		return 0;
	}
	if (!conf->agent_port[0]) {
		svm_error("agent_port is empty in the config");
		return 0;
	}
	if (conf->kernel[0] && !path_ok("kernel", conf->kernel, 0))
		return 0;
	if (conf->initrd[0] && !path_ok("initrd", conf->initrd, 0))
		return 0;
	if (conf->emulator[0] && !path_ok("emulator", conf->emulator, 0))
		return 0;
	if (job->network != SVM_NET_NONE && !(job->network_name ? *job->network_name : conf->network_name[0])) {
		svm_error("network is %s but no network name is set",
			  job->network == SVM_NET_LIBVIRT ? "libvirt" : "bridge, overlay or auto");
		return 0;
	}
	return 1;
}

char *svm_domain_xml(const struct svm_topology *topo, const struct svm_config *conf,
		     const struct svm_job *job)
{
	static const uint64_t page_kib[] = { 0, 2048, 1048576 };
	struct share sh[SVM_MAX_SHARES];
	uint64_t *cell_mib = NULL;
	uint64_t page_mib = job->hugepages == SVM_HUGEPAGES_NONE ? 1 : page_kib[job->hugepages] / 1024;
	char name[128];
	char *xml = NULL;
	size_t xml_len = 0;
	FILE *f = NULL;
	int n_sh, failed = 1;

	if (svm_domain_name(job->id, job->node, name, sizeof(name)) < 0 || !job_ok(conf, job))
		goto out;
	if (topo->n_cells == 0 || topo->n_vcpus == 0) {
		svm_error("the topology gives the job no CPU");
		goto out;
	}
	n_sh = collect_shares(conf, job, sh);
	if (n_sh < 0)
		goto out;
	cell_mib = calloc(topo->n_cells, sizeof(*cell_mib));
	if (!cell_mib || !(f = open_memstream(&xml, &xml_len))) {
		svm_error("cannot build the domain XML of %s: %s", name, strerror(errno));
		goto out;
	}
	if (svm_split_memory(topo, job->mem_mib, page_mib, cell_mib) < 0)
		goto out;

	fprintf(f, "<domain type='%s'>\n", conf->domain_type == SVM_DOMAIN_KVM ? "kvm" : "qemu");
	fprintf(f, "  <name>%s</name>\n", name);
	fprintf(f, "  <title>slurm-vm job %" PRIu32 " on ", job->id);
	put_esc(f, job->node);
	fputs("</title>\n", f);
	fputs("  <metadata>\n", f);
	fprintf(f, "    <svm:job xmlns:svm='urn:slurm-vm:job:1' id='%" PRIu32 "' node='", job->id);
	put_esc(f, job->node);
	fprintf(f, "' uid='%lu' gid='%lu'/>\n", (unsigned long)job->uid, (unsigned long)job->gid);
	fputs("  </metadata>\n", f);
	fprintf(f, "  <memory unit='MiB'>%" PRIu64 "</memory>\n", job->mem_mib / page_mib * page_mib);
	if (job->hugepages != SVM_HUGEPAGES_NONE)
		fprintf(f, "  <memoryBacking>\n    <hugepages>\n      <page size='%" PRIu64 "' unit='KiB' nodeset='0-%u'/>\n    </hugepages>\n  </memoryBacking>\n",
			page_kib[job->hugepages], topo->n_cells - 1);
	fprintf(f, "  <vcpu placement='static'>%u</vcpu>\n", topo->n_vcpus);
	fputs("  <iothreads>1</iothreads>\n", f);
	put_cputune(f, topo);
	if (put_numatune(f, topo) < 0)
		goto nomem;
	if (put_sysinfo(f, conf, job, sh, n_sh) < 0)
		goto out;
	fprintf(f, "  <os>\n    <type arch='%s' machine='%s'>hvm</type>\n", SVM_ARCH, SVM_MACHINE);
	if (conf->kernel[0]) {
		fputs("    <kernel>", f);
		put_esc(f, conf->kernel);
		fputs("</kernel>\n", f);
		if (conf->initrd[0]) {
			fputs("    <initrd>", f);
			put_esc(f, conf->initrd);
			fputs("</initrd>\n", f);
		}
		put_cmdline(f, conf, job, sh, n_sh);
	} else {
		fputs("    <boot dev='hd'/>\n", f);
	}
	fputs("    <smbios mode='sysinfo'/>\n  </os>\n", f);
	fputs("  <features>\n    <acpi/>\n    <apic/>\n  </features>\n", f);
	if (put_cpu(f, conf, topo, cell_mib) < 0)
		goto nomem;
	fputs("  <clock offset='utc'/>\n", f);
	fputs("  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>destroy</on_reboot>\n  <on_crash>destroy</on_crash>\n", f);
	fputs("  <devices>\n", f);
	if (conf->emulator[0]) {
		fputs("    <emulator>", f);
		put_esc(f, conf->emulator);
		fputs("</emulator>\n", f);
	}
	put_disk(f, job);
	put_shares(f, sh, n_sh);
	put_interface(f, conf, job);
	if (put_hostdev(f, job->ib) < 0)
		goto out;
	put_chardevs(f, conf, job);
	fputs("    <controller type='usb' model='none'/>\n", f);
	fputs("    <memballoon model='none'/>\n", f);
	fputs("  </devices>\n", f);
	fprintf(f, "  <seclabel type='static' model='dac' relabel='no'>\n    <label>+%lu:+%lu</label>\n  </seclabel>\n",
		(unsigned long)job->uid, (unsigned long)job->gid);
	fputs("</domain>\n", f);
	if (ferror(f))
		goto nomem;
	failed = 0;
	goto out;
nomem:
	svm_error("cannot build the domain XML of %s: %s", name, strerror(ENOMEM));
out:
	if (f)
		fclose(f);
	free(cell_mib);
	if (failed) {
		free(xml);
		return NULL;
	}
	return xml;
}
