/* The libvirt domain XML of a job's guest on one node: a pure function of
 * the topology model, the site config and the job's parameters, so it can
 * be tested byte for byte against golden files.
 *
 * What the XML guarantees (see topology.h for the mirroring rules):
 * - name svm-JOB-NODE: unique per job and node (two slurmd may share a host);
 * - one guest NUMA cell per host NUMA node holding job PUs, memory split in
 *   proportion to the cells' PUs (in whole huge pages when configured),
 *   numatune memnode strict per cell on its host node;
 * - vCPU i pinned to one host PU, no PU twice, cell k's vCPUs on host node
 *   k's PUs; emulator and I/O thread pinned to the reserved PUs, disjoint
 *   from every vCPU PU;
 * - host-passthrough CPU under kvm; under qemu (TCG) mode='maximum', every
 *   feature TCG emulates, with the same topology and cells;
 * - the disk is the per-job qcow2 overlay, its backing store (the user's
 *   image) spelled out with an explicit format and an empty backingStore
 *   after it, so libvirt and QEMU never probe a format or follow a backing
 *   file named inside the user's image;
 * - QEMU runs as UID:GID (static DAC label, relabel='no': libvirt changes the
 *   owner of no file; the prolog hands the overlay, runtime dir and, for
 *   InfiniBand, /dev/vfio/N to the job user);
 * - the working directory and shared paths are 9p filesystems
 *   (accessmode squash, driver path) served by QEMU itself, so every file
 *   the guest creates there belongs to the job user and guest root has only
 *   the job user's rights: squash, unlike passthrough, lets guest root
 *   create files (as the job user) instead of failing on the chown to 0.  virtiofs is faster, but libvirt starts
 *   virtiofsd as root without uid translation here, which would let guest
 *   root write as host root: not used.  The guest learns tag and mount point
 *   from "slurmvm.9p=TAG:PATH[:ro]" words on the kernel command line (direct
 *   boot) and the same strings in SMBIOS OEM strings (any boot);
 * - no USB, no graphics, no balloon. */
#ifndef SVM_DOMAIN_XML_H
#define SVM_DOMAIN_XML_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ib.h"
#include "options.h"
#include "topology.h"
#include "vmconf.h"

struct svm_job {
	uint32_t id;
	const char *node;		/* Slurm node name: letters, digits, . _ - */
	unsigned node_index;		/* this node's rank in the job (NIC MAC) */
	uid_t uid;
	gid_t gid;
	const char *image;		/* the user's image, checked, absolute */
	unsigned image_format;		/* SVM_FMT_QCOW2 or SVM_FMT_RAW */
	const char *overlay;		/* per-job qcow2 backed by IMAGE */
	uint64_t mem_mib;		/* guest memory, split across the cells */
	enum svm_hugepages hugepages;
	const struct svm_ib_choice *ib;	/* NULL or mode NONE: no adapter */
	const char *agent_socket;	/* unix socket of the agent channel */
	const char *console_log;	/* file for the serial console */
	enum svm_network network;
	const char *network_name;	/* bridge or libvirt network; NULL: the config's */
	const char *workdir;		/* job working directory, NULL: none */
	int n_mounts;			/* --vm-mount entries */
	const struct svm_mount *mounts;
	const char *ip;			/* job network address "A.B.C.D/N", or NULL */
	const char *nodes;		/* the job's node list (slurmvm.nodes, checked
					 * by the plan), or NULL */
	unsigned mtu;			/* guest NIC MTU, 0: the default */
	const char *agent_medium;	/* read-only disk with the host's agent and
					 * the credentials that start it (systemd
					 * 256+), or NULL: see agent_boot.h */
};

/* Returns the domain XML (the caller frees it), or NULL after logging one
 * line naming what is wrong (memory too small for the cells, a path that
 * cannot be passed to the guest, ...). */
char *svm_domain_xml(const struct svm_topology *topo, const struct svm_config *conf,
		     const struct svm_job *job);

/* Memory of each cell in MiB for a guest of MEM_MIB MiB on pages of
 * PAGE_MIB MiB: proportional to the cells' PUs, whole pages, every cell at
 * least one page, the total MEM_MIB rounded down to whole pages.  OUT has
 * topo->n_cells entries.  0, or -1 after logging when MEM_MIB is too small. */
int svm_split_memory(const struct svm_topology *topo, uint64_t mem_mib,
		     uint64_t page_mib, uint64_t *out);

/* The 9p tag of share number INDEX with guest path PATH: "svmI-HHHHHHHH". */
void svm_share_tag(unsigned index, const char *path, char *buf, size_t len);

#endif
