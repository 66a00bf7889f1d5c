/* Work done as the job's user, for a root process, in a child that takes
 * the user's identity irreversibly: a user's file system (FUSE, a hung NFS
 * mount) can then hang or signal only that child, never root's process,
 * and a deadline bounds how long root waits. */
#ifndef SVM_ASUSER_H
#define SVM_ASUSER_H

#include <stddef.h>
#include <sys/types.h>

/* Runs FN(ARG, RES) in a child that has dropped to UID, GID and the groups
 * of USER (setgroups, setresgid, setresuid) before FN runs.  FN fills RES,
 * LEN bytes of plain data (no pointer the caller would follow), which the
 * child sends back through a pipe; the caller treats them as the user's
 * word.  The child is killed when it takes more than TIMEOUT_S seconds.
 * Returns FN's result (0 or -1) with RES as the child left it, or -1 with
 * one line in ERR when the child could not run FN to its end: *TIMED_OUT
 * (if given) is set to 1 when the deadline passed. */
int svm_as_user_run(uid_t uid, gid_t gid, const char *user, unsigned timeout_s,
		    int (*fn)(void *arg, void *res), void *arg, void *res, size_t len,
		    int *timed_out, char *err, size_t errlen);

#endif
