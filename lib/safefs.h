/* Root's file work in the job's runtime directory, done on descriptors:
 * every helper takes a directory fd the caller holds and a single name in
 * it, never follows a symbolic link, and checks the type of what it found
 * on the very inode it then changes (O_PATH), so a rename or a symlink
 * swapped in between two calls cannot redirect root to another file. */
#ifndef SVM_SAFEFS_H
#define SVM_SAFEFS_H

#include <sys/types.h>

/* Opens DIR as a directory, not through a symbolic link.  Returns the
 * close-on-exec fd (the caller closes it), or -1 after logging why. */
int svm_dir_open(const char *dir);

/* Gives the unix socket NAME in DIRFD to UID:GID with MODE.  Refuses (-1,
 * logged, errno ELOOP or ENOTSOCK) a symbolic link or anything that is
 * not a socket.  0 on success. */
int svm_sock_hand_at(int dirfd, const char *name, uid_t uid, gid_t gid, mode_t mode);

/* Connects a close-on-exec stream socket to the unix socket NAME in DIRFD,
 * refusing a symbolic link or a non-socket.  Returns the fd, or -1 after
 * logging why (errno set). */
int svm_unix_connect_at(int dirfd, const char *name);

/* Binds a close-on-exec listening stream socket as NAME in DIRFD (a stale
 * socket of that name is replaced, anything else refused), mode 0600.
 * Returns the fd, or -1 after logging why. */
int svm_unix_listen_at(int dirfd, const char *name, int backlog);

/* Lets UID (besides the owner) read the open file FD and nobody else: a
 * POSIX ACL entry, so the owner stays root and the reader cannot change
 * the file.  Where the filesystem has no ACLs, the file is given to UID
 * with mode 0400 instead.  UID 0: nothing to do.  0, or -1 logged. */
int svm_fd_grant_read(int fd, uid_t uid);

#endif
