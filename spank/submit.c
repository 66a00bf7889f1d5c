/* Submit side: srun (local context), sbatch and salloc (allocator context).
 * Runs as the user, before anything is allocated, so a bad request fails
 * here with one line instead of in the prolog. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "options.h"
#include "plugin.h"

static int opt_image_cb(int val, const char *optarg, int remote);

static struct spank_option vm_options[] = {
	{ "vm-image", "FILE",
	  "Run the job's tasks inside a virtual machine booted from the disk "
	  "image FILE (qcow2 or raw) on each node [env: SLURM_VM_IMAGE]",
	  1, 0, opt_image_cb },
	SPANK_OPTIONS_TABLE_END
};

/* The environment variable behind each option, read when it is not given. */
static const struct {
	const char *env;
	int (*parse)(struct svm_options *, const char *, char *, size_t);
	const char *opt;
} env_defaults[] = {
	{ "SLURM_VM_IMAGE", svm_opt_image, "vm-image" },
};

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

static int report(const char *opt, int rc, const char *err)
{
	if (rc < 0) {
		svm_error("--%s: %s", opt, err);
		svm_plugin.opt_error = 1;
		return submit_fail();
	}
	return rc;
}

static int opt_image_cb(int val, const char *optarg, int remote)
{
	char err[512];

	(void)val;
	(void)remote;
	return report("vm-image", svm_opt_image(&svm_plugin.opts, optarg, err, sizeof(err)), err);
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

	for (size_t i = 0; i < sizeof(env_defaults) / sizeof(env_defaults[0]); i++) {
		const char *v = getenv(env_defaults[i].env);

		if (!v || !*v)
			continue;
		if (!strcmp(env_defaults[i].opt, "vm-image") && opts->image[0])
			continue;
		if (env_defaults[i].parse(opts, v, err, sizeof(err)) < 0) {
			svm_error("%s: %s", env_defaults[i].env, err);
			return -1;
		}
	}
	return 0;
}

/* Makes PATH absolute and checks, as the user, that it is a readable regular
 * file.  The prolog runs elsewhere, as root: it gets the resolved path. */
static int check_image(const char *path, char *abs, size_t abslen)
{
	struct stat st;
	char resolved[PATH_MAX];
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		svm_error("cannot open image %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		svm_error("cannot stat image %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		svm_error("image %s is not a regular file", path);
		return -1;
	}
	if (!realpath(path, resolved)) {
		svm_error("cannot resolve image path %s: %s", path, strerror(errno));
		return -1;
	}
	if (strlen(resolved) >= abslen) {
		svm_error("image path %s is too long", resolved);
		return -1;
	}
	strcpy(abs, resolved);
	return 0;
}

int svm_submit_post_opt(spank_t sp, struct svm_plugin *p)
{
	char abs[PATH_MAX];
	spank_err_t rc;

	if (p->opt_error)
		return submit_fail();
	if (apply_env_defaults(&p->opts) < 0)
		return submit_fail();
	if (!p->opts.image[0])
		return 0;	/* not a VM job: behave as if we were not here */
	if (check_image(p->opts.image, abs, sizeof(abs)) < 0)
		return submit_fail();
	rc = spank_job_control_setenv(sp, "VM_IMAGE", abs, 1);
	if (rc != ESPANK_SUCCESS) {
		svm_error("cannot pass the image to the prolog: %s", spank_strerror(rc));
		return submit_fail();
	}
	return 0;
}
