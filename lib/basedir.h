/* The admin's base directories (runtime_dir, scratch_dir): root works in
 * them on every job, so they must be root's and closed to others.  They
 * belong to the admin, who may have chosen a mode (0711 on a scratch
 * area): slurm-vm creates one that is missing and otherwise only looks. */
#ifndef SVM_BASEDIR_H
#define SVM_BASEDIR_H

#include <stddef.h>

/* Creates the directory PATH (root, 0711) when it does not exist; an
 * existing one must be a directory, not a symlink, owned by root, and
 * writable by neither group nor others, and is never changed.  Returns 0,
 * or -1 with the cause, naming KEY (the vm.conf key) and PATH, in ERR. */
int svm_base_dir(const char *key, const char *path, char *err, size_t len);

#endif
