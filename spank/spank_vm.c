/* The SPANK entry points of slurm-vm.  They only dispatch on the context;
 * the work of each context lives in its own file. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "plugin.h"

SPANK_PLUGIN(slurm-vm, 1);

struct svm_plugin svm_plugin = {
	.opt_error = 0,
	.conf_state = 0,
};

int svm_plugin_config(struct svm_plugin *p)
{
	char path[PATH_MAX];

	/* the file the prolog reads, unless plugstack.conf names one */
	if (p->conf_state == 0) {
		if (svm_config_path(p->config_path[0] ? p->config_path : NULL, getenv("SLURM_CONF"),
				    path, sizeof(path)) < 0 ||
		    svm_config_load(&p->conf, path, 0) < 0)
			p->conf_state = -1;
		else
			p->conf_state = 1;
	}
	return p->conf_state > 0 ? 0 : -1;
}

/* Library messages go to Slurm's log: the user's stderr in srun/sbatch, the
 * slurmd/slurmstepd log on the node.  Slurm adds its own prefix. */
static void spank_sink(enum svm_log_level level, const char *msg)
{
	switch (level) {
	case SVM_LOG_ERROR:
		slurm_error("slurm-vm: %s", msg);
		break;
	case SVM_LOG_INFO:
		slurm_info("slurm-vm: %s", msg);
		break;
	case SVM_LOG_VERBOSE:
		slurm_verbose("slurm-vm: %s", msg);
		break;
	default:
		slurm_debug("slurm-vm: %s", msg);
		break;
	}
}

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	svm_log_init(spank_sink, SVM_LOG_DEBUG);
	svm_options_init(&svm_plugin.opts);
	if (svm_plugin_args(&svm_plugin, ac, av) < 0)
		return -1;
	switch (spank_context()) {
	case S_CTX_REMOTE:
		/* as root, while vm.conf is surely readable; a broken one only
		 * matters to VM jobs (see remote.c) */
		svm_plugin_config(&svm_plugin);
		return svm_options_register(sp);
	case S_CTX_LOCAL:
	case S_CTX_ALLOCATOR:
		return svm_options_register(sp);
	default:
		return 0;
	}
}

int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	switch (spank_context()) {
	case S_CTX_LOCAL:
	case S_CTX_ALLOCATOR:
		return svm_submit_post_opt(sp, &svm_plugin);
	default:
		return 0;
	}
}

int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (spank_context() != S_CTX_REMOTE)
		return 0;
	return svm_remote_task_init(sp, &svm_plugin);
}
