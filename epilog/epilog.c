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

	svm_slurmdlog_init("slurm-vm-epilog", getenv("SLURM_CONF"),
			   getenv("SLURMD_NODENAME"), 0);
	if (svm_jobenv_read(&env, uerr, sizeof(uerr)) < 0)
		return 1;
	svm_slurmdlog_init("slurm-vm-epilog", env.slurm_conf, env.node, env.job);
	svm_jobenv_config_path(&env, conf_path, sizeof(conf_path));
	if (svm_config_load(&conf, conf_path, 0) < 0) {
		/* a job without a guest has nothing to undo: a broken vm.conf
		 * must not drain the node after every ordinary job */
		return env.vm ? 1 : 0;
	}
	if (svm_jobdir_init(&dir, &conf, env.job, env.node) < 0)
		return 1;
	/* A job without a guest left nothing here: stay cheap for it. */
	if (!env.vm && lstat(dir.state, &st) < 0 && lstat(dir.scratch, &st) < 0)
		return 0;
	if (svm_teardown(&conf, &dir, 0) < 0) {
		svm_error("could not remove everything of job %u on %s", env.job, env.node);
		return 1;
	}
	svm_verbose("guest of job %u on %s removed", env.job, env.node);
	return 0;
}
