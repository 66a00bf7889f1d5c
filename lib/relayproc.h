/* The relay's life outside the prolog: where it is contained and how the
 * epilog ends it.
 *
 * The relay runs as the job user, started by the prolog before the job has
 * any Slurm cgroup (and with proctrack/linuxproc there is none at all), so
 * Slurm's own containment never sees it.  It gets a cgroup v2 of its own,
 * <cgroup2 mount>/slurm-vm/<job>.<node>, made by root (a user cannot move a
 * process out of it: that needs write access to cgroup.procs of a common
 * ancestor, which is root's).  The spawn helper moves the child into it
 * before it drops privileges, so the relay and anything it ever starts are
 * in there.  The epilog kills the cgroup whole (cgroup.kill, or SIGKILL to
 * each member on kernels before 5.14), waits until it is empty, and
 * removes it: no pid is involved, so a reused pid cannot hit another job.
 *
 * On a host without cgroup v2 (no cgroup2 at /sys/fs/cgroup or
 * /sys/fs/cgroup/unified) only the relay itself can be stopped: relay.pid
 * records its pid, start time and uid, and the epilog signals it through a
 * pidfd after checking all three. */
#ifndef SVM_RELAYPROC_H
#define SVM_RELAYPROC_H

#include <stddef.h>
#include <sys/types.h>

#include "jobdir.h"

/* The relay's cgroup for DIR into BUF: 1 when this host has cgroup v2,
 * 0 when it has none, -1 (logged) when the path does not fit. */
int svm_relay_cgroup_path(const struct svm_jobdir *dir, char *buf, size_t len);

/* Creates the cgroup PATH (root's, mode 0755) and its parent.  0, or -1
 * after logging. */
int svm_relay_cgroup_make(const char *path);

/* Records PID (the relay just started, our child) in DIR's relay.pid with
 * its start time and UID.  0, or -1 after logging. */
int svm_relay_record(const struct svm_jobdir *dir, pid_t pid, uid_t uid);

/* Ends the relay of DIR and everything in its cgroup, removes the cgroup
 * and relay.pid.  Nothing to stop is success.  0, or -1 after logging when
 * something survived. */
int svm_relay_stop(const struct svm_jobdir *dir);

#endif
