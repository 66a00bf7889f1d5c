#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobenv.h"
#include "jobdir.h"
#include "log.h"
#include "parse.h"
#include "request.h"
#include "vmconf.h"

static int get_u32(const char *name, uint32_t *out)
{
	const char *v = getenv(name);
	uint64_t n;

	if (!v || svm_parse_u64(v, 0, UINT32_MAX - 1, &n) < 0) {
		svm_error("%s is %s in the prolog environment", name,
			  v ? "not a number" : "not set");
		return -1;
	}
	*out = (uint32_t)n;
	return 0;
}

/* A copy of the variable NAME in *OUT, "" when it is not set: optional
 * values of any length, never a reason to fail. */
static int get_str(const char *name, char **out)
{
	const char *v = getenv(name);

	*out = strdup(v ? v : "");
	if (!*out) {
		svm_error("cannot copy %s: out of memory", name);
		return -1;
	}
	return 0;
}

static int get_node(struct svm_jobenv *env)
{
	const char *v = getenv("SLURMD_NODENAME");

	if (!v) {
		svm_error("SLURMD_NODENAME is not set in the prolog environment");
		return -1;
	}
	if (!svm_node_name_ok(v)) {
		svm_error("SLURMD_NODENAME is not a usable node name");
		return -1;
	}
	strcpy(env->node, v);	/* svm_node_name_ok: at most 64 bytes */
	return 0;
}

void svm_jobenv_free(struct svm_jobenv *env)
{
	if (!env)
		return;
	free(env->user);
	free(env->workdir);
	free(env->nodelist);
	free(env->slurm_conf);
	env->user = env->workdir = env->nodelist = env->slurm_conf = NULL;
}

/* The request's variable NAME as slurmd passes it. */
static const char *request_var(void *ctx, const char *name)
{
	char var[64];

	(void)ctx;
	snprintf(var, sizeof(var), "%s%s", SVM_REQUEST_PREFIX, name);
	return getenv(var);
}

int svm_jobenv_read(struct svm_jobenv *env, char *user_err, size_t errlen)
{
	uint32_t uid, gid;

	memset(env, 0, sizeof(*env));
	svm_options_init(&env->opts);
	user_err[0] = '\0';
	if (get_u32("SLURM_JOB_ID", &env->job) < 0 ||
	    get_u32("SLURM_JOB_UID", &uid) < 0 ||
	    get_u32("SLURM_JOB_GID", &gid) < 0 ||
	    get_node(env) < 0 ||
	    get_str("SLURM_JOB_USER", &env->user) < 0 ||
	    get_str("SLURM_JOB_WORK_DIR", &env->workdir) < 0 ||
	    get_str("SLURM_NODELIST", &env->nodelist) < 0 ||
	    get_str("SLURM_CONF", &env->slurm_conf) < 0)
		return -1;
	env->uid = (uid_t)uid;
	env->gid = (gid_t)gid;
	if (!request_var(NULL, "VM_IMAGE"))
		return 0;
	env->vm = 1;
	/* a bad value is the user's: reported in USER_ERR, not a failure */
	svm_request_decode(&env->opts, request_var, NULL, user_err, errlen);
	return 0;
}
