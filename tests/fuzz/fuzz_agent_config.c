/* libFuzzer target: the agent's guest configuration parsers on untrusted
 * bytes. The first byte picks the parser: the SMBIOS type 11 structure
 * (as /sys/firmware/dmi/entries/11-N/raw), the kernel command line, or one
 * value given to the address, share and host name parsers and to the
 * node list expander (alone and rendered into an /etc/hosts of the same
 * bytes). Whatever is accepted must be valid when checked again. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etc_hosts.h"
#include "guest_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct svm_gc *gc)
{
	const char *why;
	char spec[SVM_GC_TAG_MAX + SVM_GC_PATH_MAX + 8];
	struct svm_gc_share sh;

	if (gc->hostname[0] && svm_gc_valid_hostname(gc->hostname, &why) < 0)
		__builtin_trap();
	if (gc->has_ip && (gc->prefix < 1 || gc->prefix > 32))
		__builtin_trap();
	if (gc->n_shares > SVM_GC_MAX_SHARES)
		__builtin_trap();
	if (gc->nodes[0] && svm_eh_expand(gc->nodes, strlen(gc->nodes), NULL, NULL, &why) < 1)
		__builtin_trap();
	for (unsigned i = 0; i < gc->n_shares; i++) {
		strcpy(spec, gc->shares[i].tag);
		strcat(spec, ":");
		strcat(spec, gc->shares[i].path);
		if (svm_gc_parse_share(spec, &sh, &why) < 0 || strcmp(sh.path, gc->shares[i].path) != 0)
			__builtin_trap();
	}
}

/* Every name the expander gives is a valid host name. */
static int check_name(void *arg, const char *name, unsigned index)
{
	const char *why;

	(void)arg;
	if (index >= SVM_EH_MAX_NAMES || svm_gc_valid_hostname(name, &why) < 0)
		__builtin_trap();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct svm_gc gc;
	const char *why;
	char *s;

	if (size < 1)
		return 0;
	svm_gc_init(&gc);
	switch (data[0] % 3) {
	case 0:
		svm_gc_oem(&gc, data + 1, size - 1, NULL, NULL);
		break;
	case 1:
		svm_gc_cmdline(&gc, (const char *)data + 1, size - 1, NULL, NULL);
		break;
	default:
		s = malloc(size);
		if (!s)
			return 0;
		memcpy(s, data + 1, size - 1);
		s[size - 1] = '\0';
		{
			uint32_t ip;
			unsigned pfx;
			struct svm_gc_share sh;

			if (svm_gc_parse_ip(s, &ip, &pfx, &why) == 0 && (pfx < 1 || pfx > 32))
				__builtin_trap();
			if (svm_gc_parse_share(s, &sh, &why) == 0 && sh.path[0] != '/')
				__builtin_trap();
			svm_gc_valid_hostname(s, &why);
			{
				long n = svm_eh_expand(s, strlen(s), check_name, NULL, &why);
				size_t len;
				char *text = svm_eh_render(s, strlen(s), s, &len, &why);

				if (n > (long)SVM_EH_MAX_NAMES || (n >= 0) != (text != NULL) ||
				    (text && strlen(text) != len))
					__builtin_trap();
				free(text);
			}
			svm_gc_word(&gc, s, strlen(s), "fuzz", NULL, NULL);
		}
		free(s);
		break;
	}
	check(&gc);
	return 0;
}
