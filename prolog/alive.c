/* Whether the job behind an InfiniBand reservation still runs on its node,
 * asked of slurmctld: the reservation of a job whose epilog never ran (a
 * slurmd crash, a reboot) is reclaimed, and one of a job that may still
 * run never is.  When slurmctld cannot be asked, the owner counts as
 * running. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

#include "log.h"
#include "prolog.h"

int svm_job_record_alive(const job_info_msg_t *msg, uint32_t job, const char *node)
{
	const job_info_t *j = NULL;
	hostlist_t hl;
	int found;

	for (uint32_t i = 0; msg && i < msg->record_count; i++)
		if (msg->job_array[i].job_id == job)
			j = &msg->job_array[i];
	if (!j)
		return 0;	/* slurmctld no longer knows it */
	/* running, suspended, booting, or its epilog still to come */
	if (!(j->job_state & (JOB_COMPLETING | JOB_CONFIGURING)) &&
	    (j->job_state & JOB_STATE_BASE) != JOB_RUNNING &&
	    (j->job_state & JOB_STATE_BASE) != JOB_SUSPENDED)
		return 0;	/* ended, or pending again after a requeue */
	if (!j->nodes || !*j->nodes)
		return 1;	/* cannot tell where: assume here */
	hl = slurm_hostlist_create(j->nodes);
	if (!hl)
		return 1;
	found = slurm_hostlist_find(hl, node) >= 0;
	slurm_hostlist_destroy(hl);
	return found;
}

int svm_prolog_job_alive(uint32_t job, const char *node, void *arg)
{
	job_info_msg_t *msg = NULL;
	int rc;

	(void)arg;
	if (slurm_load_job(&msg, job, SHOW_ALL) != SLURM_SUCCESS) {
		int err = slurm_get_errno();

		if (err == ESLURM_INVALID_JOB_ID)
			return 0;
		svm_info("cannot ask slurmctld whether job %u still runs on %s (%s): what it holds here is kept",
			 job, node, slurm_strerror(err));
		return -1;
	}
	rc = svm_job_record_alive(msg, job, node);
	slurm_free_job_info_msg(msg);
	return rc;
}
