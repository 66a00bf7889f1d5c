/* The user's --vm-mount requests against what the site allows. */
#ifndef SVM_MOUNTS_H
#define SVM_MOUNTS_H

#include <stddef.h>

#include "options.h"
#include "vmconf.h"

/* Checks every mount of OPTS, with the rights of the calling process (run
 * it as the user): the source must be an existing directory lying, once
 * resolved, under one of CONF->allowed_mounts; it is replaced by its
 * resolved path.  The destination must be absolute and not "/".  Returns 0,
 * or -1 with one line in ERR. */
int svm_mounts_check(struct svm_options *opts, const struct svm_config *conf,
		     char *err, size_t errlen);

#endif
