/* Submit side: srun (local context), sbatch and salloc (allocator context).
 * Runs as the user, before anything is allocated, so a bad request fails
 * here with one line instead of in the prolog.  The checked values reach
 * the prolog through spank_job_control_setenv as SPANK_VM_* (request.h);
 * the prolog checks them again, since the user controls this side entirely. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "mounts.h"
#include "options.h"
#include "plugin.h"
#include "request.h"
#include "usercheck.h"

enum { OPT_IMAGE, OPT_MEM, OPT_HUGEPAGES, OPT_IB, OPT_MOUNT, OPT_COUNT };

static int opt_cb(int val, const char *optarg, int remote);

static struct spank_option vm_options[] = {
	{ "vm-image", "FILE",
	  "Run the job's tasks inside a virtual machine booted from the disk "
	  "image FILE (qcow2 or raw) on each node [env: SLURM_VM_IMAGE]",
	  1, OPT_IMAGE, opt_cb },
	{ "vm-mem", "SIZE",
	  "Memory of each node's guest, in MiB or with a K/M/G/T suffix "
	  "[env: SLURM_VM_MEM]",
	  1, OPT_MEM, opt_cb },
	{ "vm-hugepages", "none|2M|1G",
	  "Back guest memory with huge pages of this size [env: SLURM_VM_HUGEPAGES]",
	  1, OPT_HUGEPAGES, opt_cb },
	{ "vm-ib", "none|pf|vf",
	  "InfiniBand in the guest: none, the whole adapter (pf) or an SR-IOV "
	  "virtual function (vf) [env: SLURM_VM_IB]",
	  1, OPT_IB, opt_cb },
	{ "vm-mount", "SRC:DST[:ro]",
	  "Make host directory SRC visible at DST in the guests; repeatable, "
	  "within the directories the site allows [env: SLURM_VM_MOUNT, "
	  "comma-separated]",
	  1, OPT_MOUNT, opt_cb },
	SPANK_OPTIONS_TABLE_END
};

/* Parser, option name and environment variable of each option. */
static const struct {
	int (*parse)(struct svm_options *, const char *, char *, size_t);
	const char *env;
} opt_def[OPT_COUNT] = {
	[OPT_IMAGE] = { svm_opt_image, "SLURM_VM_IMAGE" },
	[OPT_MEM] = { svm_opt_mem, "SLURM_VM_MEM" },
	[OPT_HUGEPAGES] = { svm_opt_hugepages, "SLURM_VM_HUGEPAGES" },
	[OPT_IB] = { svm_opt_ib, "SLURM_VM_IB" },
	[OPT_MOUNT] = { svm_opt_mount, "SLURM_VM_MOUNT" },
};

/* Options given on the command line: their variables do not apply. */
static int given[OPT_COUNT];

/* A rejected request ends srun/sbatch/salloc here, before anything is
 * allocated, with our one line: returning an error would make Slurm add two
 * generic lines about the plugin stack.  Elsewhere (slurmstepd) never exit. */
static int submit_fail(void)
{
	spank_context_t ctx = spank_context();

	if (ctx == S_CTX_LOCAL || ctx == S_CTX_ALLOCATOR) {
		fflush(NULL);
		exit(1);
	}
	return -1;
}

static int opt_cb(int val, const char *optarg, int remote)
{
	char err[512];

	(void)remote;
	if (val < 0 || val >= OPT_COUNT)
		return -1;
	given[val] = 1;
	if (opt_def[val].parse(&svm_plugin.opts, optarg, err, sizeof(err)) < 0) {
		svm_error("--%s: %s", vm_options[val].name, err);
		svm_plugin.opt_error = 1;
		return submit_fail();
	}
	return 0;
}

int svm_options_register(spank_t sp)
{
	for (struct spank_option *o = vm_options; o->name; o++) {
		spank_err_t rc = spank_option_register(sp, o);

		if (rc != ESPANK_SUCCESS) {
			svm_error("cannot register option --%s: %s", o->name, spank_strerror(rc));
			return -1;
		}
	}
	return 0;
}

/* Fills options not given on the command line from SLURM_VM_* variables. */
static int apply_env_defaults(struct svm_options *opts)
{
	char err[512];

	for (int i = 0; i < OPT_COUNT; i++) {
		const char *v = getenv(opt_def[i].env);

		if (given[i] || !v || !*v)
			continue;
		if (i == OPT_MOUNT) {
			char buf[8192], *save = NULL;

			if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf)) {
				svm_error("%s: longer than %zu bytes", opt_def[i].env, sizeof(buf) - 1);
				return -1;
			}
			for (char *m = strtok_r(buf, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
				if (svm_opt_mount(opts, m, err, sizeof(err)) < 0) {
					svm_error("%s: %s", opt_def[i].env, err);
					return -1;
				}
			}
			continue;
		}
		if (opt_def[i].parse(opts, v, err, sizeof(err)) < 0) {
			svm_error("%s: %s", opt_def[i].env, err);
			return -1;
		}
	}
	return 0;
}

static int pass(void *ctx, const char *name, const char *value)
{
	spank_err_t rc = spank_job_control_setenv(ctx, name, value, 1);

	if (rc != ESPANK_SUCCESS) {
		svm_error("cannot pass %s to the prolog: %s", name, spank_strerror(rc));
		return -1;
	}
	return 0;
}

/* Hands the checked request to the prolog (request.h). */
static int pass_request(spank_t sp, const struct svm_options *o, const char *image)
{
	char err[1024];

	if (svm_request_encode(o, image, pass, sp, err, sizeof(err)) < 0) {
		if (err[0])
			svm_error("%s", err);
		return -1;
	}
	return 0;
}

int svm_submit_post_opt(spank_t sp, struct svm_plugin *p)
{
	struct svm_image_info info;
	char resolved[PATH_MAX], err[1024];

	if (p->opt_error)
		return submit_fail();
	if (apply_env_defaults(&p->opts) < 0)
		return submit_fail();
	if (!p->opts.image[0]) {
		if (p->opts.mem_mib || p->opts.hugepages >= 0 || p->opts.ib >= 0 || p->opts.n_mounts) {
			svm_error("--vm-mem, --vm-hugepages, --vm-ib and --vm-mount need --vm-image");
			return submit_fail();
		}
		return 0;	/* not a VM job: behave as if we were not here */
	}
	if (svm_plugin_config(p) < 0)
		return submit_fail();
	if (svm_config_ib_allowed(&p->conf, p->opts.ib, err, sizeof(err)) < 0) {
		svm_error("%s", err);
		return submit_fail();
	}
	/* we run as the user: the checks see what the user may see; the
	 * prolog makes them again, with the working directory */
	if (svm_path_text_check("image", p->opts.image, err, sizeof(err)) < 0 ||
	    svm_image_resolve(p->opts.image, &p->conf, resolved, err, sizeof(err)) < 0 ||
	    svm_path_text_check("image", resolved, err, sizeof(err)) < 0 ||
	    svm_image_check(resolved, &p->conf, &info, err, sizeof(err)) < 0) {
		svm_error("%s", err);
		return submit_fail();
	}
	if (svm_mounts_check(&p->opts, &p->conf, err, sizeof(err)) < 0) {
		svm_error("--vm-mount: %s", err);
		return submit_fail();
	}
	for (int i = 0; i < p->opts.n_mounts; i++) {
		if (svm_path_text_check("mount source", p->opts.mounts[i].src, err, sizeof(err)) < 0 ||
		    svm_path_text_check("mount point", p->opts.mounts[i].dst, err, sizeof(err)) < 0) {
			svm_error("--vm-mount: %s", err);
			return submit_fail();
		}
	}
	if (pass_request(sp, &p->opts, resolved) < 0)
		return submit_fail();
	return 0;
}
