/* Removing a job's directory tree as root, safe against the job's user.
 * The user owns the scratch directory (and, in the state directory, the
 * socket directory) and may leave anything in it: symbolic links swapped in
 * during the walk, chains deeper than PATH_MAX, FIFOs, sockets, mount
 * points, directories they made unreadable. */
#ifndef SVM_RMTREE_H
#define SVM_RMTREE_H

#include <stddef.h>

/* Removes PATH and everything below it.  No path below PATH is ever
 * resolved: each step is relative to a held directory fd, nothing is
 * followed (no symbolic link, no mount point).  A directory owned by a
 * user is emptied by a child that took that user's identity for good, so
 * root never deletes inside it; root then removes the emptied entry from
 * its held parent.  Returns 0 when PATH is gone (or was never there), 1
 * when something the user left cannot be removed (a mount point, a tree
 * changed under the walk): logged, left in place, not a node fault; -1
 * after logging when root's own part could not be removed (a node fault). */
int svm_rmtree(const char *path);

/* The same for the entry NAME of the directory open at DIRFD; WHAT names
 * it in messages (a trusted path). */
int svm_rmtree_at(int dirfd, const char *name, const char *what);

#endif
