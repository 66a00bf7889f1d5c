/* InfiniBand for the guest: which HCA function to pass through, and the
 * bookkeeping that gives each job its own SR-IOV virtual function.
 *
 * HCAs come from the topology model (hwloc's OpenFabrics devices, which
 * hwloc reads from /sys/class/infiniband).  VFs come from sysfs:
 * SYSFS/bus/pci/devices/PF/sriov_numvfs and the virtfnN links.
 *
 * Reservation: every reservation and release holds an exclusive flock on
 * RUNTIME_DIR/vf/lock, and a reserved function, VF or whole adapter (PF),
 * has an owner file RUNTIME_DIR/vf/BDF reading "job=ID node=NAME", created
 * by link() so it is whole or absent.  A PF is free only when none of its
 * VFs is reserved, and no VF of a reserved PF is handed out: passing the
 * PF through takes the VFs with it.  A reservation naming another (job,
 * node) is taken over only when the caller's liveness callback says that
 * job is gone (a crashed prolog or an epilog that never ran); without a
 * callback, or when it cannot tell, every owner counts as alive.  The same
 * (job, node) reserving again gets its own function back, so a retried
 * prolog does not leak.  svm_ib_release frees both kinds.
 *
 * QEMU runs as the job user with DAC relabeling off, so the prolog must hand
 * the VFIO group device of the function (/dev/vfio/N, N from
 * svm_ib_iommu_group) to the job user after binding it to vfio-pci, and the
 * epilog must give it back to root. */
#ifndef SVM_IB_H
#define SVM_IB_H

#include <stdint.h>

#include "topology.h"
#include "vmconf.h"

struct svm_ib_choice {
	enum svm_ib mode;	/* what was chosen: NONE, PF or VF */
	char hca[32];		/* verbs name of the adapter: mlx5_0 */
	char pf[16];		/* the adapter's PCI function, 0000:05:00.0 */
	char bdf[16];		/* the function given to the guest */
	int host_node;		/* the adapter's host NUMA node, -1: unknown */
	int reserved;		/* 1: BDF (a VF or the PF) is reserved for the job */
	int busy;		/* on failure, 1: every candidate is another job's */
};

/* 1 when job JOB on node NODE still runs, 0 when it is gone, -1 unknown
 * (treated as running). */
typedef int (*svm_vf_alive_fn)(uint32_t job, const char *node, void *arg);

/* Chooses the function for MODE (none, pf, vf, auto: vf when the adapter has
 * VFs, else pf) on the adapters of TOPO, the ones on the job's NUMA nodes
 * first.  With RESERVE set, reserves the VF or PF for (JOB, NODE) under
 * CONF->runtime_dir, reclaiming reservations of jobs ALIVE(ARG) says are
 * gone; without RESERVE only reports the function that would be taken
 * (dry run).  Returns 0 with OUT filled (mode NONE when MODE is none,
 * or auto on a node without adapter), or -1 after logging one line. */
int svm_ib_select(const struct svm_topology *topo, const struct svm_config *conf,
		  enum svm_ib mode, uint32_t job, const char *node, int reserve,
		  svm_vf_alive_fn alive, void *arg, struct svm_ib_choice *out);

/* Releases every VF and PF reserved for (JOB, NODE).  Returns how many were
 * released (0 when none: safe to call twice), or -1 after logging. */
int svm_ib_release(const struct svm_config *conf, uint32_t job, const char *node);

/* The IOMMU group of the PCI function BDF, or -1 after logging. */
int svm_ib_iommu_group(const char *sysfs_root, const char *bdf);

/* Parses a PCI address "0000:05:00.1" (domain optional).  0 or -1. */
int svm_ib_pci_parse(const char *s, unsigned *domain, unsigned *bus,
		     unsigned *dev, unsigned *fn);

#endif
