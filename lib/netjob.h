/* The job network on one host: a per-job Linux bridge joining the job's
 * guests on this host, and with network = overlay a kernel VXLAN device on
 * that bridge carrying the job's frames to its other hosts.  Everything is
 * derived from what Slurm gives every node (job id, node list, node name):
 * no central service, no daemon, no flooding.
 *
 *   bridge  <network_name><job hex>     "svm2a"    no address, no IPv6
 *   vxlan   <network_name>v<job hex>    "svmv2a"   VNI (job + offset) mod 2^24,
 *           local = this node's underlay address, nolearning, proxy ARP,
 *           one fdb entry (guest MAC -> peer) and one neighbour entry
 *           (guest IP -> MAC) per peer on another host.
 *
 * Both slurmd of a test cluster on one host share the bridge and the VXLAN
 * device: peers whose underlay address is this node's own are on this host,
 * reached through the bridge, and get no entries. */
#ifndef SVM_NETJOB_H
#define SVM_NETJOB_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "vmconf.h"

#define SVM_VXLAN_OVERHEAD 50	/* outer IPv4 20 + UDP 8 + VXLAN 8 + Ethernet 14 */
#define SVM_NET_IFNAMSIZ 16

/* One node of the job: its name, its rank in the node list (which picks
 * its guest's MAC and IP) and its underlay address. */
struct svm_peer {
	char node[65];
	unsigned rank;
	struct in_addr addr;
};

/* The job network's bridge on this host: network_name + job id in hex
 * ("svm2a" for job 42).  0, or -1 after logging. */
int svm_netjob_bridge_name(const struct svm_config *conf, uint32_t job, char *buf, size_t len);

/* The job network address of the guest of the job's node number INDEX:
 * link-local 169.254.0.0/16, one address per node.  Each job has its own
 * network segment, so every job can use the same plan. */
void svm_netjob_guest_ip(unsigned node_index, char *buf, size_t len);

/* The VNI of JOB: (job + overlay_vni_offset) mod 2^24. */
uint32_t svm_netjob_vni(const struct svm_config *conf, uint32_t job);

/* The bridge and VXLAN device names of JOB into BR and VX (each
 * SVM_NET_IFNAMSIZ bytes).  0, or -1 after logging. */
int svm_netjob_names(const struct svm_config *conf, uint32_t job, char *br, char *vx);

/* The MAC of the guest of rank RANK in JOB, "52:jj:jj:jj:rr:rr" (locally
 * administered unicast), into BUF (at least 18 bytes). */
void svm_netjob_guest_mac(uint32_t job, unsigned rank, char *buf, size_t len);

/* The job network address of rank RANK without prefix length ("169.254.1.2"),
 * the same plan as svm_netjob_guest_ip. */
void svm_netjob_guest_addr(unsigned rank, char *buf, size_t len);

/* The `bridge -batch` text (FDB, one "fdb replace" line per peer on another
 * host) or the `ip -batch` text (NEIGH, one "neigh replace" line per such
 * peer) for VX.  SELF is the index of this node in PEERS.  Returns a string
 * the caller frees, or NULL on out of memory. */
enum svm_batch { SVM_BATCH_FDB, SVM_BATCH_NEIGH };
char *svm_netjob_batch(enum svm_batch which, const char *vx, uint32_t job,
		       const struct svm_peer *peers, size_t n, size_t self);

/* Finds the VXLAN device holding VNI on UDP PORT in the `ip -d -o link show
 * type vxlan` output TEXT: 1 with its name in NAME (SVM_NET_IFNAMSIZ bytes),
 * 0 if none does. */
int svm_netjob_vni_holder(const char *text, uint32_t vni, unsigned port, char *name);

/* Builds this host's part of JOB's network.  For network = bridge only the
 * bridge (PEERS may be NULL); for overlay also the VXLAN device and every
 * peer's entries.  Idempotent, and safe while the job's other node on this
 * host does the same.  *MTU gets the guest NIC's MTU (0: leave the
 * default).  0, or -1 after logging one line (a node fault: VNI held by
 * another device, underlay address not on this host, ip failing). */
int svm_netjob_up(const struct svm_config *conf, uint32_t job, const struct svm_peer *peers,
		  size_t n, size_t self, unsigned *mtu);

/* What network = auto is for a job whose N nodes have the underlay
 * addresses PEERS (NULL: unknown): SVM_NET_OVERLAY when they are on more
 * than one host (two addresses or more, none loopback), SVM_NET_BRIDGE
 * otherwise (a job on one host; nodes sharing one machine, as the local
 * test cluster's). */
enum svm_network svm_netjob_auto(const struct svm_peer *peers, size_t n);

/* Turns IPv6 off on every port of JOB's bridge (the guests' tap devices,
 * once libvirt has attached them), so no host address reaches a guest.
 * 0, or -1 after logging. */
int svm_netjob_seal(const struct svm_config *conf, uint32_t job);

/* Removes JOB's bridge and VXLAN device once no guest port is left on the
 * bridge (the job's other guest on this host may still run).  Idempotent.
 * 0, or -1 after logging. */
int svm_netjob_down(const struct svm_config *conf, uint32_t job);

#endif
