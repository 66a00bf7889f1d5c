#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basedir.h"

int svm_base_dir(const char *key, const char *path, char *err, size_t len)
{
	struct stat st;
	int fd, created = 0;

	if (mkdir(path, 0711) == 0) {
		created = 1;
	} else if (errno != EEXIST) {
		snprintf(err, len, "cannot create %s %s: %s", key, path, strerror(errno));
		return -1;
	}
	/* O_NOFOLLOW: a symlink in place of the directory is refused, not
	 * followed to wherever it points */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			snprintf(err, len, "%s %s is not a directory (a symlink or a file)", key, path);
		else
			snprintf(err, len, "cannot open %s %s: %s", key, path, strerror(errno));
		return -1;
	}
	/* one we just made is ours: a umask must not have left it open */
	if ((created && fchmod(fd, 0711) < 0) || fstat(fd, &st) < 0) {
		snprintf(err, len, "cannot stat %s %s: %s", key, path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (st.st_uid != 0) {
		snprintf(err, len, "%s %s is owned by uid %u, not root", key, path, (unsigned)st.st_uid);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, len, "%s %s has mode %04o: it must not be writable by group or others",
			 key, path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	/* job users reach their own entries below it by name (the relay
	 * socket, the overlay QEMU opens as them) */
	if (!(st.st_mode & S_IXOTH)) {
		snprintf(err, len, "%s %s has mode %04o: job users must be able to pass through it (o+x)",
			 key, path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}
