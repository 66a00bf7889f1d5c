/* The request from submit to prolog (request.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "request.h"
#include "vmconf.h"

/* The longest VM_MOUNTS value. */
#define MOUNTS_MAX 8192

/* Each writes the value OPTS holds into BUF: 1, 0 when it holds none, -1
 * with ERR. */
static int put_image(const struct svm_options *o, char *buf, size_t len, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	snprintf(buf, len, "%s", o->image);
	return 1;
}

static int put_mem(const struct svm_options *o, char *buf, size_t len, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	snprintf(buf, len, "%llu", (unsigned long long)o->mem_mib);
	return o->mem_mib != 0;
}

static int put_hugepages(const struct svm_options *o, char *buf, size_t len, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	if (o->hugepages < 0)
		return 0;
	snprintf(buf, len, "%s", svm_hugepages_names[o->hugepages]);
	return 1;
}

static int put_ib(const struct svm_options *o, char *buf, size_t len, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	if (o->ib < 0)
		return 0;
	snprintf(buf, len, "%s", svm_ib_names[o->ib]);
	return 1;
}

static int put_mounts(const struct svm_options *o, char *buf, size_t len, char *err, size_t errlen)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int k = 0; k < o->n_mounts; k++) {
		const struct svm_mount *m = &o->mounts[k];
		int n;

		/* the separator: decoded, it would make two mounts of one */
		if (strchr(m->src, ',') || strchr(m->dst, ',')) {
			snprintf(err, errlen, "'%s:%s' has a comma, which cannot be passed to the prolog",
				 m->src, m->dst);
			return -1;
		}
		n = snprintf(buf + off, len - off, "%s%s:%s%s", k ? "," : "", m->src, m->dst,
			     m->readonly ? ":ro" : "");
		if (n < 0 || (size_t)n >= len - off) {
			snprintf(err, errlen, "the mounts are longer than %zu bytes in all", len - 1);
			return -1;
		}
		off += (size_t)n;
	}
	return o->n_mounts > 0;
}

const struct svm_request_var svm_request_vars[] = {
	{ "VM_IMAGE", "--vm-image", svm_opt_image, put_image, 0 },
	{ "VM_MEM", "--vm-mem", svm_opt_mem, put_mem, 0 },
	{ "VM_HUGEPAGES", "--vm-hugepages", svm_opt_hugepages, put_hugepages, 0 },
	{ "VM_IB", "--vm-ib", svm_opt_ib, put_ib, 0 },
	{ "VM_MOUNTS", "--vm-mount", svm_opt_mount, put_mounts, 1 },
};
const size_t svm_request_n_vars = sizeof(svm_request_vars) / sizeof(svm_request_vars[0]);

int svm_request_encode(const struct svm_options *opts, const char *image,
		       int (*put)(void *ctx, const char *name, const char *value), void *ctx,
		       char *err, size_t errlen)
{
	char buf[MOUNTS_MAX], why[512];

	err[0] = '\0';
	for (size_t i = 0; i < svm_request_n_vars; i++) {
		const struct svm_request_var *v = &svm_request_vars[i];
		int rc = v->format(opts, buf, sizeof(buf), why, sizeof(why));

		if (rc < 0) {
			snprintf(err, errlen, "%s: %s", v->opt, why);
			return -1;
		}
		if (rc && v->format == put_image && image)
			snprintf(buf, sizeof(buf), "%s", image);
		if (rc && put(ctx, v->name, buf) < 0)
			return -1;
	}
	return 0;
}

int svm_request_decode(struct svm_options *opts, const char *(*get)(void *ctx, const char *name),
		       void *ctx, char *err, size_t errlen)
{
	char why[512];

	svm_options_init(opts);
	err[0] = '\0';
	for (size_t i = 0; i < svm_request_n_vars; i++) {
		const struct svm_request_var *v = &svm_request_vars[i];
		const char *s = get(ctx, v->name);
		char buf[MOUNTS_MAX], *save = NULL;

		if (!s)
			continue;
		if (!v->list) {
			if (v->parse(opts, s, why, sizeof(why)) < 0)
				goto bad;
			continue;
		}
		if (!*s)
			continue;
		if (svm_strlcpy(buf, s, sizeof(buf)) < 0) {
			snprintf(err, errlen, "%s: too many or too long mounts", v->opt);
			return -1;
		}
		for (char *m = strtok_r(buf, ",", &save); m; m = strtok_r(NULL, ",", &save))
			if (v->parse(opts, m, why, sizeof(why)) < 0)
				goto bad;
		continue;
bad:
		snprintf(err, errlen, "%s: %s", v->opt, why);
		return -1;
	}
	return 0;
}
