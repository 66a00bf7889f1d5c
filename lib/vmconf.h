/* The site configuration, vm.conf: one "key = value" per line, '#' starts a
 * comment.  Read by the plugin, the prolog/epilog and the CLI.  Unknown keys
 * and bad values are errors that name the file and line. */
#ifndef SVM_VMCONF_H
#define SVM_VMCONF_H

#include <limits.h>
#include <stdint.h>

#define SVM_CONF_MAX_LIST 16
#define SVM_DEFAULT_CONFIG SVM_SYSCONFDIR "/slurm/vm.conf"

enum svm_domain_type { SVM_DOMAIN_KVM, SVM_DOMAIN_QEMU };
enum svm_hugepages { SVM_HUGEPAGES_NONE, SVM_HUGEPAGES_2M, SVM_HUGEPAGES_1G };
enum svm_hugepages_short { SVM_HP_SHORT_FAIL, SVM_HP_SHORT_FALLBACK };
enum svm_ib { SVM_IB_NONE, SVM_IB_PF, SVM_IB_VF, SVM_IB_AUTO };
enum svm_network { SVM_NET_NONE, SVM_NET_BRIDGE, SVM_NET_LIBVIRT, SVM_NET_OVERLAY, SVM_NET_AUTO };

/* True for the networks made of a per-job bridge on each host (bridge,
 * overlay, and auto, which is one of them per job). */
static inline int svm_net_bridged(enum svm_network n)
{
	return n == SVM_NET_BRIDGE || n == SVM_NET_OVERLAY || n == SVM_NET_AUTO;
}
enum svm_overlay_resolve { SVM_RESOLVE_NODEADDR, SVM_RESOLVE_NAME };
enum svm_image_format { SVM_FMT_QCOW2 = 1 << 0, SVM_FMT_RAW = 1 << 1 };

struct svm_pathlist {
	int n;
	char path[SVM_CONF_MAX_LIST][PATH_MAX];
};

struct svm_config {
	char libvirt_uri[256];
	enum svm_domain_type domain_type;
	char emulator[PATH_MAX];	/* empty: libvirt's default */
	char scratch_dir[PATH_MAX];	/* per-job overlays */
	char runtime_dir[PATH_MAX];	/* sockets, prolog outcome, VF locks */
	struct svm_pathlist image_dirs;	/* empty: any image the user can read */
	unsigned image_formats;		/* SVM_FMT_* bits */
	uint64_t max_image_size;	/* bytes, virtual size cap */
	char reserved_cpus[256];	/* host PUs for emulator and I/O threads */
	uint64_t host_mem_reserve;	/* MiB left to the host */
	uint64_t default_mem;		/* MiB, 0: all the node can give */
	enum svm_hugepages hugepages;
	enum svm_hugepages_short hugepages_short;
	enum svm_ib ib;
	unsigned ib_allowed;		/* 1 << SVM_IB_*: what --vm-ib may ask */
	char sysfs_root[PATH_MAX];	/* "/sys"; a fake tree in tests */
	char kernel[PATH_MAX];		/* direct boot, optional */
	char initrd[PATH_MAX];
	char kernel_cmdline[1024];
	unsigned boot_timeout;		/* seconds */
	unsigned check_timeout;		/* seconds for the as-user checks */
	enum svm_network network;
	char network_name[64];		/* libvirt network, or bridge name prefix */
	unsigned overlay_port;		/* UDP port of the job VXLAN (4789) */
	uint32_t overlay_vni_offset;	/* VNI = (job id + offset) mod 2^24 */
	unsigned overlay_mtu;		/* guest MTU, 0: underlay MTU - 50 */
	enum svm_overlay_resolve overlay_resolve;	/* how a peer's underlay address is found */
	char overlay_name_suffix[64];	/* resolve NODE+suffix (overlay_resolve = name) */
	struct svm_pathlist shared_paths;
	struct svm_pathlist allowed_mounts;	/* where --vm-mount sources may be */
	char topology_xml[PATH_MAX];	/* empty: the live machine */
	char agent_port[64];		/* virtio-serial port name */
	char libexec_dir[PATH_MAX];	/* slurm-vm-exec, slurm-vm-relay */
	char agent_medium[PATH_MAX];	/* "": libexec_dir's, "none": no medium */
};

/* Where the vm.conf of this node is, the one lookup of the plugin, prolog,
 * epilog and CLI: GIVEN if not NULL (plugstack config=, slurm-vm
 * --config); else "vm.conf" in the directory of SLURM_CONF (slurm.conf's
 * path, used only if absolute) when that file exists; else
 * SVM_DEFAULT_CONFIG.  Writes it to BUF[LEN].  Returns 1 for the built-in
 * default (which a caller may allow to be missing), 0 for the others, -1
 * if GIVEN does not fit. */
int svm_config_path(const char *given, const char *slurm_conf, char *buf, size_t len);

/* Fills CONF with the built-in defaults. */
void svm_config_defaults(struct svm_config *conf);

/* Parses the file PATH into CONF (defaults first).  A missing file is an
 * error unless ALLOW_MISSING.  Returns 0, or -1 after logging one line. */
int svm_config_load(struct svm_config *conf, const char *path, int allow_missing);

/* Applies one "key = value" line (already stripped of comments) to CONF.
 * On error returns -1 and writes a message of at most ERRLEN bytes to ERR. */
int svm_config_set(struct svm_config *conf, const char *key, const char *value,
		   char *err, size_t errlen);

/* Parses the whole text BUF (NUL-terminated); NAME labels error messages. */
int svm_config_parse(struct svm_config *conf, const char *name, const char *buf);

/* The agent medium the guests get (agent_boot.h): agent_medium, else
 * <libexec_dir>/slurm-vm-agent.img when that file exists; NULL for none.
 * Returns BUF or NULL. */
const char *svm_config_agent_medium(const struct svm_config *conf, char *buf, size_t len);

/* Whether the user may ask for InfiniBand MODE (--vm-ib; -1: not given)
 * on this site (ib_allowed).  Returns 0, or -1 with the one line to show
 * the user in ERR. */
int svm_config_ib_allowed(const struct svm_config *conf, int mode, char *err, size_t errlen);

extern const char *const svm_hugepages_names[];
extern const char *const svm_ib_names[];
extern const char *const svm_domain_type_names[];

#endif
