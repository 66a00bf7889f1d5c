/* The plan of a job's guest on one node: the struct svm_job that
 * svm_domain_xml() turns into XML, from the site config, the job's state
 * directory, the node's topology and what the request and Slurm say.  The
 * prolog starts what it plans; `slurm-vm domain-xml` and the golden files
 * print the same plan, so they test what the prolog starts.
 *
 * The plan decides:
 * - memory: the user's --vm-mem, else the job's --mem on this node, else
 *   vm.conf default_mem, else what the job's cells hold less
 *   host_mem_reserve;
 * - huge pages: the user's --vm-hugepages, else vm.conf hugepages (the
 *   prolog may fall back to none when the pool is short);
 * - the paths: overlay in the scratch directory, agent socket and console
 *   log in the state directory (jobdir.h);
 * - the network: the job's bridge for bridge and overlay, the guest address
 *   from the node's rank unless network = none, and with it the job's node
 *   list for the guests' /etc/hosts when it is plain enough to pass (a
 *   list too long or with other characters: no names, one log line, the
 *   job runs); the MTU is the one the job network came up with, which only
 *   the prolog knows (0 here: the default);
 * - the agent medium of vm.conf (agent_boot.h). */
#ifndef SVM_JOBPLAN_H
#define SVM_JOBPLAN_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "domain_xml.h"
#include "ib.h"
#include "jobdir.h"
#include "options.h"
#include "topology.h"
#include "vmconf.h"

/* What the plan is made from besides config, directory and topology. */
struct svm_plan_input {
	unsigned node_index;		/* this node's rank in the job */
	uid_t uid;
	gid_t gid;
	const char *image;		/* the user's image, checked, absolute */
	unsigned image_format;		/* SVM_FMT_QCOW2 or SVM_FMT_RAW */
	const struct svm_options *opts;	/* --vm-mem, --vm-hugepages, --vm-mount
					 * (sources resolved) */
	uint64_t job_mem;		/* the job's --mem on this node, 0: none */
	const char *workdir;		/* NULL or "": none */
	const struct svm_ib_choice *ib;	/* the adapter chosen, or NULL */
	const char *nodelist;		/* the job's nodes as Slurm gives them
					 * (SLURM_NODELIST), NULL: unknown */
};

/* The strings the plan points to; lives as long as the job it fills. */
struct svm_job_plan_buf {
	char overlay[PATH_MAX];
	char console[PATH_MAX];
	char medium[PATH_MAX];
	char bridge[16];
	char ip[32];
};

/* The overlay's path in DIR's scratch directory into BUF.  0, or -1 after
 * logging. */
int svm_job_overlay(const struct svm_jobdir *dir, char *buf, size_t len);

/* Fills JOB (its strings in BUF) for job DIR->job on node DIR->node.
 * 0, or -1 after logging one line (a path too long, a bridge name too
 * long): the node's fault, never the user's. */
int svm_job_plan(struct svm_job *job, struct svm_job_plan_buf *buf,
		 const struct svm_config *conf, const struct svm_jobdir *dir,
		 const struct svm_topology *topo, const struct svm_plan_input *in);

#endif
