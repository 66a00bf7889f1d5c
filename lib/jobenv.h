/* What slurmd tells the prolog and epilog about the job, from their
 * environment.  Slurm's own variables are trusted; the SPANK_VM_* ones
 * come from the user's srun/sbatch and are checked like any user input. */
#ifndef SVM_JOBENV_H
#define SVM_JOBENV_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "options.h"

struct svm_jobenv {
	uint32_t job;
	uid_t uid;
	gid_t gid;
	char node[65];
	/* Optional values, any length, "" when unset (never NULL once read);
	 * freed by svm_jobenv_free. */
	char *user;
	char *workdir;
	char *nodelist;			/* the job's nodes, Slurm hostlist */
	char *slurm_conf;		/* slurmd's slurm.conf */
	int vm;				/* the job asked for a guest */
	struct svm_options opts;	/* SPANK_VM_* parsed */
};

/* Reads the environment into ENV.  Returns 0, or -1 after logging when a
 * Slurm variable is missing or malformed (a node fault).  User values that
 * do not parse are reported in USER_ERR (one line) with 0 returned and
 * ENV->vm set, so the caller records them for the user instead of failing
 * the node. */
int svm_jobenv_read(struct svm_jobenv *env, char *user_err, size_t errlen);

/* Frees what svm_jobenv_read allocated (also after it failed); ENV may be
 * NULL. */
void svm_jobenv_free(struct svm_jobenv *env);

#endif
