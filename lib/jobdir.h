/* Where one job's guest on one node keeps its files.  Both slurmd of a test
 * cluster share one host, so every name carries the job id AND the node.
 *
 *   <runtime_dir>/                       root, 0711
 *   <runtime_dir>/<job>.<node>/          root, 0711: prolog state; nobody but
 *                                        root may list or write it
 *       outcome, cpumap                  root 0600, plus read for the job
 *                                        user (ACL): the plugin reads them
 *       relay.pid, relay.log,            root, 0600
 *       domain.xml, domain.started,
 *       vfio-group, console.log
 *       agent.sock                       root, 0600: QEMU's end of the agent
 *                                        channel; the prolog connects to it
 *                                        and hands the relay the connection
 *       relay.sock                       job user, 0600: where slurm-vm-exec
 *                                        connects; bound by the prolog, its
 *                                        listening fd handed to the relay
 *   <scratch_dir>/<job>.<node>/          job user, 0700
 *       overlay.qcow2                    the guest's disk over the user image
 *
 * The job user can write nothing in the runtime directory (on /run, where a
 * full filesystem breaks every job's state): the relay gets its sockets as
 * descriptors and its log as an fd with a size cap (see prolog/ready.c).
 */
#ifndef SVM_JOBDIR_H
#define SVM_JOBDIR_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmconf.h"

struct svm_jobdir {
	uint32_t job;
	char node[65];
	char state[PATH_MAX];	/* <runtime_dir>/<job>.<node> */
	char agent_sock[PATH_MAX];	/* state/agent.sock */
	char relay_sock[PATH_MAX];	/* state/relay.sock */
	char scratch[PATH_MAX];	/* <scratch_dir>/<job>.<node> */
	char domain[96];	/* libvirt domain name: svm-<job>-<node> */
	uid_t user;		/* the job user, the one reader of outcome and
				 * cpumap besides root (0 until the prolog sets it) */
};

/* The names of the two sockets in the state directory. */
#define SVM_AGENT_SOCK "agent.sock"
#define SVM_RELAY_SOCK "relay.sock"

/* 1 if NODE is a safe node name for file and domain names. */
int svm_node_name_ok(const char *node);

/* Fills DIR with the paths of JOB on NODE; -1 (logged) on a bad name. */
int svm_jobdir_init(struct svm_jobdir *dir, const struct svm_config *conf,
		    uint32_t job, const char *node);

/* Reads the small file DIR/NAME (not through a symbolic link) into BUF,
 * NUL-terminated.  Returns the bytes read, or -1 when it is missing or
 * empty. */
ssize_t svm_state_read(const char *dir, const char *name, char *buf, size_t len);

/* Writes TEXT to DIR/NAME, replacing it whole (a temporary and a rename),
 * mode 0600, readable by READER too unless READER is 0.  0, or -1 logged. */
int svm_state_write(const char *dir, const char *name, const char *text, uid_t reader);

/* The outcome the prolog leaves for the plugin, readable by DIR->user:
 * MSG NULL means success. */
int svm_outcome_write(const struct svm_jobdir *dir, const char *msg);

/* Reads the outcome: returns 1 when the prolog succeeded, 0 when it failed
 * (MSG holds its one-line reason), -1 when there is no outcome. */
int svm_outcome_read(const struct svm_jobdir *dir, char *msg, size_t len);

/* "svm-JOB-NODE" into BUF.  0, or -1 after logging (bad node name). */
int svm_domain_name(uint32_t job, const char *node, char *buf, size_t len);

#endif
