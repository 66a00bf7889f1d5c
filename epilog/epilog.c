/* slurm-vm-epilog: run by slurmd as root after every job on the node.
 * Destroys the job's guest and removes every trace of it.  Idempotent: safe
 * after a failed or half-done prolog, after a crash, and when run twice.
 * Exits non-zero (slurmd then drains the node) only when something could
 * not be undone, which is a node fault, never a user's. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jobdir.h"
#include "jobenv.h"
#include "log.h"
#include "slurmdlog.h"
#include "teardown.h"
#include "vmconf.h"

int main(void)
{
	struct svm_jobenv env;
	struct svm_config conf;
	struct svm_jobdir dir;
	struct stat st;
	char conf_path[PATH_MAX], uerr[512];
	/* The job asked for a guest; otherwise only leftovers of one make it
	 * ours.  Until we know, nothing about a job fails the epilog: it runs
	 * after every job of the node. */
	int vm = getenv("SPANK_VM_IMAGE") != NULL, rc = 0;

	svm_slurmdlog_init("slurm-vm-epilog", getenv("SLURM_CONF"),
			   getenv("SLURMD_NODENAME"), 0);
	if (svm_jobenv_read(&env, uerr, sizeof(uerr)) < 0) {
		rc = vm;
		goto out;
	}
	svm_slurmdlog_init("slurm-vm-epilog", env.slurm_conf, env.node, env.job);
	svm_config_path(NULL, env.slurm_conf, conf_path, sizeof(conf_path));
	if (svm_config_load(&conf, conf_path, 0) < 0) {
		/* a job without a guest has nothing to undo: a broken vm.conf
		 * must not drain the node after every ordinary job */
		rc = vm;
		goto out;
	}
	if (svm_jobdir_init(&dir, &conf, env.job, env.node) < 0) {
		rc = vm;
		goto out;
	}
	/* A job without a guest left nothing here: stay cheap for it. */
	if (!vm && lstat(dir.state, &st) < 0 && lstat(dir.scratch, &st) < 0)
		goto out;
	if (svm_teardown(&conf, &dir, 0) < 0) {
		svm_error("could not remove everything of job %u on %s", env.job, env.node);
		rc = 1;
		goto out;
	}
	svm_verbose("guest of job %u on %s removed", env.job, env.node);
out:
	svm_jobenv_free(&env);
	return rc;
}
