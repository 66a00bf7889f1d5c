/* The request from the submit side to the prolog: the user's checked --vm-*
 * values, which the plugin (spank/submit.c) hands to slurmd with
 * spank_job_control_setenv(NAME) and the prolog and epilog find in their
 * environment as SPANK_<NAME> (jobenv.c).  One table says, for each value,
 * its variable, its option and its parser; svm_request_encode writes the
 * variables from the options, svm_request_decode reads them back, so what
 * the prolog gets is what the plugin checked.
 *
 *   VM_IMAGE      the image, resolved to an absolute path (its presence
 *                 makes the job a VM job)
 *   VM_MEM        MiB, decimal; absent: the default
 *   VM_HUGEPAGES  none|2M|1G; absent: the site's
 *   VM_IB         none|pf|vf|auto; absent: the site's
 *   VM_MOUNTS     SRC:DST[:ro] entries joined with commas (no path holds a
 *                 comma: the options refuse one); absent: none
 *
 * The prolog checks every value again: the user controls the submit side. */
#ifndef SVM_REQUEST_H
#define SVM_REQUEST_H

#include <stddef.h>

#include "options.h"

/* What slurmd puts before each name. */
#define SVM_REQUEST_PREFIX "SPANK_"

struct svm_request_var {
	const char *name;	/* without the prefix: "VM_IMAGE" */
	const char *opt;	/* the option it carries: "--vm-image" */
	int (*parse)(struct svm_options *, const char *, char *, size_t);
	/* the value OPTS holds into BUF: 1, 0 when none, -1 with ERR */
	int (*format)(const struct svm_options *, char *buf, size_t len, char *err, size_t errlen);
	int list;		/* 1: several values joined with commas */
};

extern const struct svm_request_var svm_request_vars[];
extern const size_t svm_request_n_vars;

/* Calls PUT(CTX, NAME, VALUE) for each value OPTS holds, in table order,
 * with IMAGE as VM_IMAGE (NULL: OPTS->image).  Returns 0; -1 with one line
 * in ERR (naming the option) when a value cannot travel (a mount with a
 * comma, the mounts too long), or with PUT's -1 (ERR "", PUT logged). */
int svm_request_encode(const struct svm_options *opts, const char *image,
		       int (*put)(void *ctx, const char *name, const char *value), void *ctx,
		       char *err, size_t errlen);

/* Fills OPTS (reset first) from the values GET(CTX, NAME) returns (NULL:
 * not set).  Returns 0, or -1 with the first bad value in ERR as
 * "--vm-OPTION: why". */
int svm_request_decode(struct svm_options *opts, const char *(*get)(void *ctx, const char *name),
		       void *ctx, char *err, size_t errlen);

#endif
