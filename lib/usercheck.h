/* Checks of the user's request that look at the system: run them as the
 * user (the plugin at submit, a child of the prolog that dropped to the
 * user before the guest starts), so that what QEMU, running as the user,
 * would refuse fails the job with one line instead of failing the start. */
#ifndef SVM_USERCHECK_H
#define SVM_USERCHECK_H

#include <stddef.h>
#include <stdint.h>

/* 0 if PATH is text that the guest's definition (libvirt XML) and the
 * messages can carry: UTF-8, shortest form, no surrogate, no control
 * character (C0, DEL, C1) and no XML non-character.  Else -1 with one line
 * in ERR naming WHAT ("working directory") and PATH shown printable. */
int svm_path_text_check(const char *what, const char *path, char *err, size_t errlen);

/* DIR, the job's working directory that the guest shares, is a directory
 * the caller can open and search (QEMU's 9p server opens it as the user
 * when the guest starts).  0, or -1 with one line in ERR. */
int svm_workdir_check(const char *dir, char *err, size_t errlen);

/* WANT_MIB, the guest memory the user asked for (--vm-mem), against what
 * the node can give: HAVE_MIB that the job's NUMA nodes hold, less
 * RESERVE_MIB the host keeps.  0, or -1 with one line in ERR. */
int svm_mem_check(uint64_t want_mib, uint64_t have_mib, uint64_t reserve_mib,
		  char *err, size_t errlen);

#endif
