/* Running helper programs the careful way: fork + exec with a clean
 * environment, stdin from /dev/null, every other fd closed, privileges
 * dropped explicitly, and the child's status checked.  Never system(). */
#ifndef SVM_SPAWN_H
#define SVM_SPAWN_H

#include <sys/types.h>

struct svm_spawn {
	const char *const *argv;	/* argv[0] is an absolute path */
	const char *const *envp;	/* NULL: an empty environment */
	uid_t uid;			/* (uid_t)-1: keep ours */
	gid_t gid;
	const gid_t *groups;		/* supplementary groups after the drop */
	int ngroups;
	const char *cwd;		/* NULL: "/" */
	int stdout_fd;			/* -1: /dev/null */
	int stderr_fd;			/* -1: /dev/null */
	int keep_fd;			/* one more fd the child keeps, or -1 */
	const int *keep_fds;		/* and these n_keep_fds (NULL: none) */
	size_t n_keep_fds;
	int new_session;		/* setsid() in the child (daemons) */
	const char *cgroup;		/* cgroup v2 directory the child joins
					 * before it drops privileges, or NULL */
	unsigned long long max_file_size;	/* RLIMIT_FSIZE soft and hard,
						 * set as root; 0: unchanged */
};

/* Closes every fd from FROM up except the NKEEP in KEEP: close_range(2)
 * over the gaps, else a walk of /proc/self/fd, else a loop up to the fd
 * limit.  Safe between fork and exec (no allocation).  0, or -1 if an fd
 * may be left open. */
int svm_close_fds(int from, const int *keep, size_t nkeep);

/* The fallback of svm_close_fds that walks /proc/self/fd (for tests). */
int svm_close_fds_proc(int from, const int *keep, size_t nkeep);

/* Starts the program; returns its pid, or -1 after logging why. */
pid_t svm_spawn_start(const struct svm_spawn *sp);

/* Runs the program to completion.  Returns 0 if it exited 0, else -1 after
 * logging one line naming the program and its status; captured stderr (up
 * to a few hundred bytes, first line) is appended to the message. */
int svm_spawn_run(const struct svm_spawn *sp);

/* As svm_spawn_run, but the failure's line goes into WHY (LEN bytes) and
 * is not logged: for callers to whom some failures are no failure.  A
 * program that cannot be started at all is logged by svm_spawn_start and
 * leaves WHY empty. */
int svm_spawn_try(const struct svm_spawn *sp, char *why, size_t len);

/* Waits for PID; returns its wait status, or -1. */
int svm_spawn_wait(pid_t pid);

/* Describes a wait status ("exit 3", "signal 9") into BUF. */
const char *svm_spawn_status_str(int status, char *buf, size_t len);

#endif
