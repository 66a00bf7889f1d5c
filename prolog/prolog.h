/* Parts of slurm-vm-prolog in files of their own. */
#ifndef SVM_PROLOG_H
#define SVM_PROLOG_H

#include <stdint.h>

#include <slurm/slurm.h>

#include "jobdir.h"
#include "jobenv.h"
#include "vmconf.h"

/* Starts the job's relay (as the job user, in a cgroup of its own) on the
 * guest's agent channel and waits, event-driven, until the guest agent says
 * ready or the boot_timeout passes or the guest dies.  Records the relay in
 * the state directory.  Returns 0, or -1 after logging why, with
 * *NODE_FAULT 1 when the node failed and 0 when the guest did. */
int svm_prolog_wait_ready(const struct svm_jobenv *env, const struct svm_config *conf,
			  const struct svm_jobdir *dir, int *node_fault);

/* The job's CPUs on this node as host PU numbers (*CPUS, the caller frees
 * it) and its memory in MiB (0: not limited).  0, or -1 after logging. */
int svm_prolog_job_alloc(const struct svm_jobenv *env, const struct svm_config *conf,
			 char **cpus, uint64_t *mem_mib);

/* 1 if slurmctld says the job has ended or is ending (cancelled, timed
 * out, ...), with its state in STATE; 0 while it runs or when slurmctld
 * cannot be asked.  A prolog waiting for a guest stops waiting then. */
int svm_prolog_job_ended(const struct svm_jobenv *env, char *state, size_t len);

/* The liveness check the prolog gives svm_ib_select: 1 when slurmctld
 * says job JOB still runs on NODE (or is booting, or its epilog there is
 * still to come), 0 when it has ended or slurmctld no longer knows it, -1
 * when slurmctld cannot be asked (the reservation is then kept). */
int svm_prolog_job_alive(uint32_t job, const char *node, void *arg);

/* The decision of svm_prolog_job_alive on slurmctld's answer MSG, for the
 * unit tests: 1 running on NODE, 0 not. */
int svm_job_record_alive(const job_info_msg_t *msg, uint32_t job, const char *node);

/* Tears down what jobs other than SELF left on NODE (state or scratch
 * directory, domain) when slurmctld says they no longer run there, logging
 * each.  0, or -1 when something could not be removed (logged). */
int svm_prolog_reclaim(const struct svm_config *conf, uint32_t self, const char *node);

#endif
