/* slurm-vm image prepare IN OUT: makes a Linux image whose systemd is
 * older than 256 (or that has no systemd) start the guest agent itself.
 * OUT is a new standalone qcow2 (qemu-img convert of IN); libguestfs'
 * virt-customize, inside its own appliance guest and with no network,
 * puts the host's static agent into it, a unit (or an inittab line) that
 * starts it at boot, the udev link for its port and the virtio and 9p
 * drivers in the initramfs where the image lacks them.  IN is only ever
 * read, and the host kernel never mounts the image's filesystems.  Runs
 * as the user who asks (root is fine too). */
#ifndef SVM_PREPARE_H
#define SVM_PREPARE_H

#include <stddef.h>

#include "vmconf.h"

/* Where the agent goes in the image, and the script that init respawns
 * where there is no systemd. */
#define SVM_PREPARE_AGENT "/usr/local/sbin/slurm-vm-agent"
#define SVM_PREPARE_AGENT_START "/usr/local/sbin/slurm-vm-agent-start"

struct svm_prepare_args {
	const char *in, *out;
	const char *agent;	/* NULL: <libexec_dir>/slurm-vm-agent */
	int force;		/* replace an existing OUT */
	int verbose;		/* show virt-customize's progress */
};

/* The shell script virt-customize --run executes in the image, for the
 * agent on the virtio-serial PORT.  Malloc'd (the caller frees), or NULL
 * after logging (a port that cannot go into a unit). */
char *svm_prepare_script(const char *port);

/* The virt-customize argv that customizes DISK (qcow2) with the AGENT
 * file of the host and the guest SCRIPT.  NULL-terminated, malloc'd (free
 * with svm_argv_free), NULL when out of memory. */
char **svm_prepare_customize_argv(const char *virt_customize, const char *disk,
				  const char *agent, const char *script, int verbose);

/* The environment for libguestfs: a clean one with HOME, TMPDIR, PATH,
 * LIBGUESTFS_BACKEND=direct and the few libguestfs/supermin settings the
 * user had (GETENV is getenv, or a test's), force_tcg when CONF says the
 * site runs guests under TCG, and LIBGUESTFS_PATH set to APPLIANCE (a
 * fixed appliance) when not NULL and the user set none.  Malloc'd array
 * of malloc'd strings (free with svm_argv_free), NULL when out of memory. */
char **svm_prepare_env(const struct svm_config *conf, const char *appliance,
		       const char *(*get)(const char *name));

/* From the stderr TEXT of a failed virt-customize or qemu-img, the line
 * that says why: the WHY of the last "slurm-vm-prepare: error: WHY" line
 * (the guest script's own), else of the last "PROG: error: WHY" line, else
 * the last non-empty line that is not an indented hint.
 * Fills OUT (may be empty). */
void svm_prepare_pick_error(const char *text, char *out, size_t len);

/* Does it all; prints "slurm-vm: prepared OUT in N s" on success.  0, or
 * -1 after logging one line. */
int svm_prepare(const struct svm_prepare_args *a, const struct svm_config *conf);

#endif
