/* The plugin's arguments in plugstack.conf, parsed strictly: a typo there
 * must not silently fall back to defaults. */
#include "config.h"

#include <string.h>

#include "log.h"
#include "parse.h"
#include "plugin.h"

int svm_plugin_args(struct svm_plugin *p, int ac, char **av)
{
	for (int i = 0; i < ac; i++) {
		if (!strncmp(av[i], "config=", 7)) {
			const char *path = av[i] + 7;

			if (path[0] != '/' || svm_strlcpy(p->config_path, path,
							  sizeof(p->config_path)) < 0) {
				svm_error("plugstack.conf: config= needs an absolute path, got '%s'", path);
				return -1;
			}
			continue;
		}
		svm_error("plugstack.conf: unknown argument '%s' (known: config=PATH)", av[i]);
		return -1;
	}
	return 0;
}
