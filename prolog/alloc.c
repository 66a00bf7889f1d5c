/* What Slurm allocated to the job on this node: its CPUs (the guest gets
 * those, not the whole node) and its memory.  Asked of slurmctld, as the
 * prolog's environment has only CPU counts. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

#include "log.h"
#include "prolog.h"
#include "topology.h"

int svm_prolog_job_alloc(const struct svm_jobenv *env, const struct svm_config *conf,
			 char **cpus, uint64_t *mem_mib)
{
	job_info_msg_t *msg = NULL;
	job_info_t *job;
	char abs[8192];
	int ncpus, rc = -1;

	*cpus = NULL;
	*mem_mib = 0;
	if (slurm_load_job(&msg, env->job, SHOW_DETAIL) != SLURM_SUCCESS || !msg ||
	    msg->record_count < 1) {
		svm_error("cannot get the allocation of job %u from slurmctld: %s", env->job,
			  slurm_strerror(slurm_get_errno()));
		goto out;
	}
	job = &msg->job_array[0];
	if (!job->job_resrcs ||
	    slurm_job_cpus_allocated_str_on_node(abs, sizeof(abs), job->job_resrcs, env->node) < 0) {
		svm_error("job %u has no CPUs on %s in slurmctld's record", env->job, env->node);
		goto out;
	}
	*cpus = svm_topology_slurm_cpus(conf->topology_xml[0] ? conf->topology_xml : NULL, abs);
	if (!*cpus)
		goto out;
	ncpus = slurm_job_cpus_allocated_on_node(job->job_resrcs, env->node);
	if (job->pn_min_memory & MEM_PER_CPU)
		*mem_mib = (job->pn_min_memory & ~MEM_PER_CPU) * (uint64_t)(ncpus > 0 ? ncpus : 1);
	else
		*mem_mib = job->pn_min_memory;
	svm_verbose("job %u has CPUs %s (Slurm's %s) and %llu MiB on %s", env->job, *cpus, abs,
		    (unsigned long long)*mem_mib, env->node);
	rc = 0;
out:
	if (msg)
		slurm_free_job_info_msg(msg);
	return rc;
}

int svm_prolog_job_ended(const struct svm_jobenv *env, char *state, size_t len)
{
	job_info_msg_t *msg = NULL;
	int ended = 0;

	state[0] = '\0';
	/* slurmctld busy or gone: say nothing, the boot goes on */
	if (slurm_load_job(&msg, env->job, SHOW_ALL) != SLURM_SUCCESS || !msg) {
		if (slurm_get_errno() == ESLURM_INVALID_JOB_ID) {
			snprintf(state, len, "gone");
			ended = 1;
		}
		goto out;
	}
	if (msg->record_count < 1)
		goto out;
	{
		uint32_t st = msg->job_array[0].job_state;

		static const char *const names[] = {
			[JOB_CANCELLED] = "cancelled", [JOB_COMPLETE] = "completed",
			[JOB_FAILED] = "failed", [JOB_TIMEOUT] = "time limit",
			[JOB_NODE_FAIL] = "node failure", [JOB_PREEMPTED] = "preempted",
			[JOB_BOOT_FAIL] = "boot failure", [JOB_DEADLINE] = "deadline",
			[JOB_OOM] = "out of memory",
		};
		uint32_t base = st & JOB_STATE_BASE;

		if (base > JOB_SUSPENDED || (st & JOB_COMPLETING)) {
			snprintf(state, len, "%s", base < sizeof(names) / sizeof(names[0]) && names[base]
				 ? names[base] : "completing");
			ended = 1;
		}
	}
out:
	if (msg)
		slurm_free_job_info_msg(msg);
	return ended;
}
