#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "usercheck.h"

/* Length (1-4) of the well-formed UTF-8 sequence at P that encodes a
 * character allowed in a path we hand on, or 0.  Reads no byte past a NUL. */
static size_t utf8_ok(const unsigned char *p)
{
	uint32_t cp;
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (p[0] < 0x80)
		return p[0] >= 0x20 && p[0] != 0x7f ? 1 : 0;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
		if (p[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		if (p[0] == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
		if (p[0] == 0xf0)
			lo = 0x90;	/* overlong */
		if (p[0] == 0xf4)
			hi = 0x8f;	/* past U+10FFFF */
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		unsigned char min = i == 1 ? lo : 0x80, max = i == 1 ? hi : 0xbf;

		if (p[i] < min || p[i] > max)	/* a NUL ends it here too */
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp <= 0x9f)			/* C1 controls */
		return 0;
	if (cp == 0xfffe || cp == 0xffff)	/* not characters to XML */
		return 0;
	return n;
}

/* PATH for a message: printable ASCII, '?' for anything else, at most 200
 * characters. */
static void shown(char *dst, size_t size, const char *path)
{
	size_t k = 0;

	for (const unsigned char *p = (const unsigned char *)path; *p && k + 4 < size; p++) {
		if (k == 200) {
			memcpy(dst + k, "...", 3);
			k += 3;
			break;
		}
		dst[k++] = *p >= 0x20 && *p < 0x7f ? (char)*p : '?';
	}
	dst[k] = '\0';
}

int svm_path_text_check(const char *what, const char *path, char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *)path;
	char name[256];

	while (*p) {
		size_t n = utf8_ok(p);

		if (n == 0) {
			shown(name, sizeof(name), path);
			if (*p < 0x20 || *p == 0x7f)
				snprintf(err, errlen, "the %s %s has a control character (0x%02x) in its name: the guest cannot be given it",
					 what, name, *p);
			else
				snprintf(err, errlen, "the %s %s has a name that is not UTF-8 text (byte 0x%02x): the guest cannot be given it",
					 what, name, *p);
			return -1;
		}
		p += n;
	}
	return 0;
}

int svm_workdir_check(const char *dir, char *err, size_t errlen)
{
	char name[256];
	int fd;

	shown(name, sizeof(name), dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			snprintf(err, errlen, "the job's working directory %s is gone: %s", name, strerror(errno));
		else
			snprintf(err, errlen, "cannot open the job's working directory %s: %s", name, strerror(errno));
		return -1;
	}
	if (faccessat(fd, ".", X_OK, 0) < 0) {
		snprintf(err, errlen, "cannot enter the job's working directory %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int svm_mem_check(uint64_t want_mib, uint64_t have_mib, uint64_t reserve_mib,
		  char *err, size_t errlen)
{
	uint64_t can = have_mib > reserve_mib ? have_mib - reserve_mib : 0;

	if (want_mib <= can)
		return 0;
	snprintf(err, errlen, "--vm-mem: %" PRIu64 " MiB is more than this node can give a guest: %" PRIu64 " MiB (the job's NUMA nodes hold %" PRIu64 " MiB, the host keeps %" PRIu64 ")",
		 want_mib, can, have_mib, reserve_mib);
	return -1;
}
