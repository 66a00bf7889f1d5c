#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mounts.h"
#include "parse.h"

int svm_mounts_check(struct svm_options *opts, const struct svm_config *conf,
		     char *err, size_t errlen)
{
	for (int i = 0; i < opts->n_mounts; i++) {
		struct svm_mount *m = &opts->mounts[i];
		char resolved[PATH_MAX];
		struct stat st;
		int ok = 0;

		if (conf->allowed_mounts.n == 0) {
			snprintf(err, errlen, "%s: this site allows no user mounts (allowed_mounts in vm.conf)",
				 m->src);
			return -1;
		}
		if (!realpath(m->src, resolved) || stat(resolved, &st) < 0) {
			snprintf(err, errlen, "cannot open %s: %s", m->src, strerror(errno));
			return -1;
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "%s is not a directory", m->src);
			return -1;
		}
		for (int k = 0; k < conf->allowed_mounts.n && !ok; k++)
			ok = svm_path_under(resolved, conf->allowed_mounts.path[k]);
		if (!ok) {
			snprintf(err, errlen, "%s (%s) is not under a directory the site allows (allowed_mounts)",
				 m->src, resolved);
			return -1;
		}
		if (m->dst[0] != '/' || !strcmp(m->dst, "/") || svm_path_has_dotdot(m->dst)) {
			snprintf(err, errlen, "%s: the guest path must be absolute, not / and without '..'",
				 m->dst);
			return -1;
		}
		memcpy(m->src, resolved, strlen(resolved) + 1);
	}
	return 0;
}
