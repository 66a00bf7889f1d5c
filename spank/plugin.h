/* State and entry points shared by the files of the SPANK plugin. */
#ifndef SVM_PLUGIN_H
#define SVM_PLUGIN_H

#include <limits.h>
#include <slurm/spank.h>

#include "options.h"
#include "vmconf.h"

struct svm_plugin {
	char config_path[PATH_MAX];	/* plugstack argument config=, "": none */
	struct svm_options opts;	/* what the user asked for */
	int opt_error;			/* an option was rejected */
	struct svm_config conf;		/* loaded on first use */
	int conf_state;			/* 0 not loaded, 1 loaded, -1 broken */
	/* remote context */
	int vm_step;			/* this step's tasks run in the guest */
	char relay_sock[PATH_MAX];
	char exec_path[PATH_MAX];
	char cpumap[8192];		/* host PU of each vCPU */
};

/* The plugin's one state, set up in slurm_spank_init. */
extern struct svm_plugin svm_plugin;

/* Parses the plugstack.conf arguments; -1 after logging on a bad one. */
int svm_plugin_args(struct svm_plugin *p, int ac, char **av);

/* Registers the --vm-* options with Slurm. */
int svm_options_register(spank_t sp);

/* Loads the site config once; -1 (logged) if it is broken. */
int svm_plugin_config(struct svm_plugin *p);

/* Remote side, in each task as the user: run it in the guest. */
int svm_remote_task_init(spank_t sp, struct svm_plugin *p);

/* Submit side (srun, sbatch, salloc): checks the request as the user and
 * hands it to the prolog.  Returns 0 or -1 after one error line. */
int svm_submit_post_opt(spank_t sp, struct svm_plugin *p);

#endif
