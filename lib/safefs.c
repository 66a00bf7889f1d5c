#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "log.h"
#include "safefs.h"

int svm_dir_open(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		svm_error("cannot open directory %s: %s", dir, strerror(errno));
	return fd;
}

/* An O_PATH fd on the socket NAME in DIRFD: -1 with errno ELOOP for a
 * symbolic link, ENOTSOCK for anything else that is not a socket. */
static int open_sock_path(int dirfd, const char *name)
{
	struct stat st;
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		close(fd);
		errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTSOCK;
		return -1;
	}
	return fd;
}

/* "/proc/self/fd/N": a path to the very inode FD holds. */
static void fd_path(int fd, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

int svm_sock_hand_at(int dirfd, const char *name, uid_t uid, gid_t gid, mode_t mode)
{
	char path[64];
	int fd = open_sock_path(dirfd, name), rc = -1;

	if (fd < 0) {
		svm_error("cannot hand the socket %s to uid %u: %s", name, (unsigned)uid,
			  errno == ELOOP ? "it is a symbolic link" :
			  errno == ENOTSOCK ? "it is not a socket" : strerror(errno));
		return -1;
	}
	/* chmod on an O_PATH fd goes through /proc, which resolves to the
	 * inode the fd holds, not to a name */
	fd_path(fd, path, sizeof(path));
	if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0 || chmod(path, mode) < 0) {
		svm_error("cannot hand the socket %s to uid %u: %s", name, (unsigned)uid,
			  strerror(errno));
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

int svm_unix_connect_at(int dirfd, const char *name)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int pfd = open_sock_path(dirfd, name), fd = -1, e;

	if (pfd < 0) {
		e = errno;
		svm_error("cannot connect to %s: %s", name,
			  e == ELOOP ? "it is a symbolic link" :
			  e == ENOTSOCK ? "it is not a socket" : strerror(e));
		errno = e;
		return -1;
	}
	fd_path(pfd, sun.sun_path, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		e = errno;
		svm_error("cannot connect to %s: %s", name, strerror(e));
		if (fd >= 0)
			close(fd);
		fd = -1;
		errno = e;
	}
	close(pfd);
	return fd;
}

int svm_unix_listen_at(int dirfd, const char *name, int backlog)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, n, rc;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			svm_error("cannot listen on %s: it exists and is not a socket", name);
			return -1;
		}
		unlinkat(dirfd, name, 0);
	}
	/* bind() wants a path: the directory's fd in /proc stands for it */
	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "/proc/self/fd/%d/%s", dirfd, name);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		svm_error("cannot listen on %s: name too long", name);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		svm_error("cannot create a socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0 || listen(fd, backlog) < 0) {
		svm_error("cannot listen on %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The kernel's POSIX ACL xattr (linux/posix_acl_xattr.h): a version word,
 * then entries sorted by tag, all little-endian. */
#define ACL_XATTR_VERSION 2
enum { ACL_T_USER_OBJ = 0x01, ACL_T_USER = 0x02, ACL_T_GROUP_OBJ = 0x04,
       ACL_T_MASK = 0x10, ACL_T_OTHER = 0x20 };

static size_t acl_put(uint8_t *p, unsigned tag, unsigned perm, uint32_t id)
{
	p[0] = (uint8_t)tag;
	p[1] = (uint8_t)(tag >> 8);
	p[2] = (uint8_t)perm;
	p[3] = (uint8_t)(perm >> 8);
	for (int i = 0; i < 4; i++)
		p[4 + i] = (uint8_t)(id >> (8 * i));
	return 8;
}

int svm_fd_grant_read(int fd, uid_t uid)
{
	uint8_t acl[4 + 5 * 8];
	size_t n = 0;

	if (uid == 0)
		return 0;
	acl[n++] = ACL_XATTR_VERSION;
	acl[n++] = 0;
	acl[n++] = 0;
	acl[n++] = 0;
	n += acl_put(acl + n, ACL_T_USER_OBJ, 6, UINT32_MAX);
	n += acl_put(acl + n, ACL_T_USER, 4, (uint32_t)uid);
	n += acl_put(acl + n, ACL_T_GROUP_OBJ, 0, UINT32_MAX);
	n += acl_put(acl + n, ACL_T_MASK, 4, UINT32_MAX);
	n += acl_put(acl + n, ACL_T_OTHER, 0, UINT32_MAX);
	if (fsetxattr(fd, "system.posix_acl_access", acl, n, 0) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOTSUP) {
		svm_error("cannot let uid %u read a state file: %s", (unsigned)uid, strerror(errno));
		return -1;
	}
	/* no ACLs here: the reader owns it, read-only; it sits in root's
	 * directory, so it can be neither replaced nor moved */
	if (fchown(fd, uid, (gid_t)-1) < 0 || fchmod(fd, 0400) < 0) {
		svm_error("cannot let uid %u read a state file: %s", (unsigned)uid, strerror(errno));
		return -1;
	}
	return 0;
}
