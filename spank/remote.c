/* Remote side (slurmstepd): every task of a step of a VM job runs inside
 * this node's guest.  The prolog booted the guest and left an outcome; here
 * we report a failed boot to the user, and point each task at
 * slurm-vm-exec, which runs the task's argv in the guest.
 *
 * The task is redirected by replacing argv[0] with slurm-vm-exec and
 * passing the original argv[0] in SLURM_VM_EXEC_ARGV0, rather than by
 * exec'ing from here: Slurm then still runs the TaskProlog, sets TMPDIR and
 * the user's limits, and execs the task itself, exactly as for a native
 * job, and the PMI fd and CPU binding it set up are inherited. */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <slurm/slurm.h>

#include "cpulist.h"
#include "jobdir.h"
#include "log.h"
#include "parse.h"
#include "plugin.h"

/* Slurm's special step ids (slurm.h): these run on the host, not in the
 * guest; the batch script's srun steps go to the guest. */
static int step_runs_on_host(uint32_t stepid)
{
	return stepid == SLURM_BATCH_SCRIPT || stepid == SLURM_EXTERN_CONT ||
	       stepid == SLURM_INTERACTIVE_STEP || stepid == SLURM_PENDING_STEP;
}

/* The prolog's CPU map (cpulist.h): the host PU under each vCPU. */
static int read_cpumap(const struct svm_jobdir *dir, char *buf, size_t len)
{
	if (svm_state_read(dir->state, "cpumap", buf, len) < 0)
		return -1;
	return svm_cpulist_ranges(buf, NULL, NULL);
}

/* In the task process, as the user, just before Slurm execs the task: only
 * now does the task's environment name this node (SLURMD_NODENAME), and
 * both slurmd of a test cluster share one host.  Finds this node's guest,
 * fails the task with the prolog's message if it did not boot, and turns
 * the task into slurm-vm-exec.  The state directory and its files are
 * root's; the prolog lets the job user (and nobody else) read the outcome
 * and the cpumap, but not forge them. */
static int find_guest(spank_t sp, struct svm_plugin *p)
{
	struct svm_jobdir dir;
	char node[65], msg[1100];
	uint32_t job = 0, stepid = 0;
	int rc;

	if (spank_get_item(sp, S_JOB_ID, &job) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_STEPID, &stepid) != ESPANK_SUCCESS) {
		svm_error("cannot get the job and step ids from Slurm");
		return -1;
	}
	if (spank_getenv(sp, "SLURMD_NODENAME", node, sizeof(node)) != ESPANK_SUCCESS) {
		svm_error("job %u: SLURMD_NODENAME is not set in the task's environment", job);
		return -1;
	}
	if (p->conf_state < 0) {
		/* an admin's broken vm.conf must not break ordinary jobs */
		return p->opts.image[0] ? -1 : 0;
	}
	if (svm_jobdir_init(&dir, &p->conf, job, node) < 0)
		return -1;
	rc = svm_outcome_read(&dir, msg, sizeof(msg));
	if (rc < 0) {
		if (!p->opts.image[0])
			return 0;	/* not a VM job */
		svm_error("no guest was prepared for job %u on %s: is the slurm-vm prolog configured (Prolog= and PrologFlags=Alloc)?",
			  job, node);
		return -1;
	}
	if (rc == 0) {
		svm_error("%s", msg);
		return -1;
	}
	if (step_runs_on_host(stepid))
		return 0;
	if (svm_strlcpy(p->relay_sock, dir.relay_sock, sizeof(p->relay_sock)) < 0 ||
	    svm_path_join(p->exec_path, sizeof(p->exec_path), p->conf.libexec_dir,
			  "slurm-vm-exec") < 0) {
		svm_error("job %u: runtime path too long", job);
		return -1;
	}
	if (read_cpumap(&dir, p->cpumap, sizeof(p->cpumap)) < 0) {
		svm_error("job %u: cannot read the guest's vCPU map in %s", job, dir.state);
		return -1;
	}
	p->vm_step = 1;
	return 0;
}

/* As the user, in the task process just before Slurm execs the task. */
int svm_remote_task_init(spank_t sp, struct svm_plugin *p)
{
	char **argv = NULL;
	char *exec_path;
	int argc = 0;

	if (find_guest(sp, p) < 0)
		return -1;
	if (!p->vm_step)
		return 0;
	if (spank_get_item(sp, S_JOB_ARGV, &argc, &argv) != ESPANK_SUCCESS ||
	    argc < 1 || !argv || !argv[0]) {
		svm_error("cannot get the task's command line from Slurm");
		return -1;
	}
	if (access(p->exec_path, X_OK) < 0) {
		svm_error("cannot run %s: it is missing or not executable", p->exec_path);
		return -1;
	}
	if (spank_setenv(sp, "SLURM_VM_EXEC_ARGV0", argv[0], 1) != ESPANK_SUCCESS ||
	    spank_setenv(sp, "SLURM_VM_SOCKET", p->relay_sock, 1) != ESPANK_SUCCESS ||
	    spank_setenv(sp, "SLURM_VM_CPUMAP", p->cpumap, 1) != ESPANK_SUCCESS) {
		svm_error("cannot set the environment of slurm-vm-exec");
		return -1;
	}
	exec_path = strdup(p->exec_path);
	if (!exec_path) {
		svm_error("out of memory");
		return -1;
	}
	/* the task process is ours alone: the old argv[0] is Slurm's memory */
	argv[0] = exec_path;
	return 0;
}
