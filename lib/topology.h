/* The host as the guest should see it: hwloc's view of this node (or of a
 * saved hwloc XML), cut down to the PUs Slurm gave the job, as a plain C
 * model that the domain XML generator and the tests read without hwloc.
 *
 * Mirroring rules (see svm_topology_load):
 * - one cell per host NUMA node that holds job PUs, in hwloc's logical
 *   order; a topology without NUMA information is one cell (host node 0);
 * - a job PU whose local NUMA node is not allowed (cgroup cpuset.mems
 *   without it) joins the first cell: all its memory is remote anyway;
 * - vCPUs follow the host PUs in hwloc's logical order (package, core,
 *   thread), so vCPU i is job PU i and the guest numbering follows the host;
 * - guest threads per core = job PUs per core, cores per socket = job cores
 *   per package, sockets = packages holding job PUs, when each count is the
 *   same everywhere.  When the allocation is ragged (a core with one of its
 *   two threads, packages with different numbers of job cores), the level
 *   that differs collapses: threads to 1 (each PU its own core), sockets to
 *   1 (every core in one socket).  sockets * cores * threads is always the
 *   vCPU count, which libvirt requires.
 * - InfiniBand HCAs are hwloc OpenFabrics OS devices whose PCI function is
 *   an InfiniBand controller (class 0x0207) or made by Mellanox/NVIDIA
 *   (vendor 0x15b3); verbs devices of Ethernet NICs (Cisco usNIC) are not. */
#ifndef SVM_TOPOLOGY_H
#define SVM_TOPOLOGY_H

#include <stdint.h>

struct svm_topo_pu {
	unsigned os_index;	/* host PU number (the kernel's CPU number) */
	unsigned vcpu;		/* the guest vCPU pinned to it */
	unsigned package;	/* position of its package among the job's */
	unsigned core;		/* position of its core in that package */
	unsigned thread;	/* position in its core */
	int local;		/* 0: its own NUMA node is not allowed */
};

struct svm_topo_cell {
	unsigned host_node;	/* host NUMA node os index */
	uint64_t memory;	/* bytes local to that node */
	unsigned n_pus;
	struct svm_topo_pu *pus;
};

struct svm_topo_pci {
	char name[32];		/* verbs device: mlx5_0 */
	unsigned domain, bus, dev, fn;
	unsigned vendor, device, class_id;
	int host_node;		/* host NUMA node os index, -1: unknown */
	int cell;		/* the job cell on that node, -1: none */
};

struct svm_topology {
	unsigned n_cells;
	struct svm_topo_cell *cells;
	unsigned n_vcpus;
	unsigned sockets, cores, threads;	/* guest CPU topology */
	char *job_cpus;		/* host PUs of the vCPUs, "2-15" */
	char *emulator_cpus;	/* host PUs for emulator and I/O threads */
	int emulator_shared;	/* 1: none was free, they share the job's PUs */
	char *host_cpus;	/* every allowed PU of the host */
	int numa_info;		/* 0: the topology had no NUMA information */
	unsigned n_hcas;
	struct svm_topo_pci *hcas;
};

/* Loads the topology of this machine (XML NULL) or of the hwloc XML file
 * XML, restricted to its allowed cpuset and to the PUs in the list CPUS
 * (host PU numbers, "0-3,8-11"; NULL: every allowed PU not in RESERVED).
 * RESERVED is the reserved_cpus list for emulator and I/O threads ("" or
 * NULL: every allowed PU the job does not have, or the job's own PUs when
 * it has them all: emulator_shared says so); it must not overlap the job's
 * PUs and must leave the job at least one PU.  On success stores a model the
 * caller frees with svm_topology_free and returns 0; else logs one line and
 * returns -1. */
int svm_topology_load(const char *xml, const char *cpus, const char *reserved,
		      struct svm_topology **out);

/* Frees TOPO and everything it holds; TOPO may be NULL. */
void svm_topology_free(struct svm_topology *topo);

/* Slurm's abstract CPU ids of a job on this node ("0-3", as in scontrol
 * show job -d) as host PU numbers: Slurm counts the usable PUs socket by
 * socket, core by core, thread by thread, which is hwloc's logical order.
 * Returns a list the caller frees, or NULL after logging. */
char *svm_topology_slurm_cpus(const char *xml, const char *abstract);

/* The vCPU's PU, or NULL when VCPU is out of range. */
const struct svm_topo_pu *svm_topology_vcpu(const struct svm_topology *topo,
					    unsigned vcpu, unsigned *cell);

/* Memory of the job's cells in MiB (what the node could give the guest). */
uint64_t svm_topology_mem_mib(const struct svm_topology *topo);

#endif
