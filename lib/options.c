#include "config.h"

#include <stdio.h>
#include <string.h>

#include "options.h"
#include "parse.h"
#include "vmconf.h"

/* A guest smaller than this does not boot a Linux kernel. */
#define SVM_MIN_MEM_MIB 64

void svm_options_init(struct svm_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->hugepages = -1;
	opts->ib = -1;
}

int svm_opt_image(struct svm_options *opts, const char *v, char *err, size_t errlen)
{
	if (!v || !*v) {
		snprintf(err, errlen, "empty image path");
		return -1;
	}
	if (strchr(v, '\n') || strchr(v, ',')) {
		/* the path travels in Slurm's environment and in domain XML */
		snprintf(err, errlen, "image path must not contain a newline or a comma");
		return -1;
	}
	if (svm_strlcpy(opts->image, v, sizeof(opts->image)) < 0) {
		snprintf(err, errlen, "image path longer than %zu bytes", sizeof(opts->image) - 1);
		return -1;
	}
	return 0;
}

int svm_opt_mem(struct svm_options *opts, const char *v, char *err, size_t errlen)
{
	uint64_t bytes;

	if (svm_parse_size(v, 1ULL << 20, &bytes) < 0 || bytes % (1ULL << 20)) {
		snprintf(err, errlen, "'%s' is not a memory size in MiB or with a K/M/G/T suffix", v ? v : "");
		return -1;
	}
	if ((bytes >> 20) < SVM_MIN_MEM_MIB) {
		snprintf(err, errlen, "'%s' is less than the %d MiB a guest needs", v, SVM_MIN_MEM_MIB);
		return -1;
	}
	opts->mem_mib = bytes >> 20;
	return 0;
}

static int opt_enum(int *dst, const char *v, const char *const *names,
		    char *err, size_t errlen)
{
	int i = svm_parse_enum(v, names);
	size_t off;

	if (i >= 0) {
		*dst = i;
		return 0;
	}
	off = (size_t)snprintf(err, errlen, "'%s' is not one of", v ? v : "");
	for (int k = 0; names[k] && off < errlen; k++)
		off += (size_t)snprintf(err + off, errlen - off, "%s%s", k ? "|" : " ", names[k]);
	return -1;
}

int svm_opt_hugepages(struct svm_options *opts, const char *v, char *err, size_t errlen)
{
	return opt_enum(&opts->hugepages, v, svm_hugepages_names, err, errlen);
}

int svm_opt_ib(struct svm_options *opts, const char *v, char *err, size_t errlen)
{
	/* "auto" is for the admin's config, not a user choice */
	static const char *const user_ib[] = { "none", "pf", "vf", NULL };

	return opt_enum(&opts->ib, v, user_ib, err, errlen);
}

/* Accepts "/src:/dst" and "/src:/dst:ro" (or ":rw"). */
int svm_opt_mount(struct svm_options *opts, const char *v, char *err, size_t errlen)
{
	struct svm_mount m = { .readonly = 0 };
	const char *c1, *c2;
	size_t srclen, dstlen;

	if (opts->n_mounts >= SVM_MAX_MOUNTS) {
		snprintf(err, errlen, "more than %d mounts", SVM_MAX_MOUNTS);
		return -1;
	}
	if (!v || !(c1 = strchr(v, ':')))
		goto bad;
	c2 = strchr(c1 + 1, ':');
	srclen = (size_t)(c1 - v);
	dstlen = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
	if (c2) {
		if (!strcmp(c2 + 1, "ro"))
			m.readonly = 1;
		else if (strcmp(c2 + 1, "rw"))
			goto bad;
	}
	if (srclen == 0 || dstlen == 0 || v[0] != '/' || c1[1] != '/' ||
	    srclen >= PATH_MAX || dstlen >= PATH_MAX || strchr(v, ','))
		goto bad;
	memcpy(m.src, v, srclen);
	memcpy(m.dst, c1 + 1, dstlen);
	if (svm_path_has_dotdot(m.src) || svm_path_has_dotdot(m.dst)) {
		snprintf(err, errlen, "'%s': paths must not contain '..'", v);
		return -1;
	}
	opts->mounts[opts->n_mounts++] = m;
	return 0;
bad:
	snprintf(err, errlen, "'%s' is not SRC:DST[:ro] with absolute paths", v ? v : "");
	return -1;
}
