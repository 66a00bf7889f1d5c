#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "rmtree.h"

/* Directory streams kept open while descending: below that, the levels
 * above are closed and reopened through ".." (checked by device and inode)
 * on the way back up, so a chain of any depth costs WINDOW fds. */
#define WINDOW 32
/* Deeper than this, the rest is left (logged): the level records cost
 * memory, up to a few hundred bytes each. */
#define MAX_DEPTH 100000
/* Entries that could not be removed are remembered so that a rescan skips
 * them; past this many the walk gives up. */
#define MAX_FAILED 4096
#define MAX_LOGGED 10
/* looks at an entry that keeps changing under us before giving up on it */
#define MAX_TRIES 100
/* scans of one directory (each after one that removed something) */
#define MAX_PASSES 1000
/* A child emptying a user's tree is killed after this long: the user can
 * stop it (same uid), or a live FUSE server of theirs could block it. */
#define CHILD_TIMEOUT_MS (300 * 1000)
/* the group a user's child gets when their directory is root's group */
#define NOGROUP ((gid_t)65534)

/* What we need to know of a directory entry, without following it and
 * without asking its file system (AT_STATX_DONT_SYNC: a FUSE server is
 * never consulted, so a user's live one cannot block root). */
struct ent {
	mode_t mode;
	uid_t uid;
	gid_t gid;
	dev_t dev;
	ino_t ino;
	uint64_t mnt;
	int has_mnt;
};

static int ent_stat(int dirfd, const char *name, struct ent *e)
{
	struct statx sx;
	struct stat st;
	int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | (*name ? 0 : AT_EMPTY_PATH);

	memset(e, 0, sizeof(*e));
	if (statx(dirfd, name, flags | AT_STATX_DONT_SYNC,
		  STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID | STATX_INO | STATX_MNT_ID,
		  &sx) == 0) {
		e->mode = sx.stx_mode;
		e->uid = sx.stx_uid;
		e->gid = sx.stx_gid;
		e->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
		e->ino = sx.stx_ino;
		e->has_mnt = (sx.stx_mask & STATX_MNT_ID) != 0;
		e->mnt = sx.stx_mnt_id;
		return 0;
	}
	if (errno != ENOSYS)
		return -1;
	if (fstatat(dirfd, name, &st, flags) < 0)
		return -1;
	e->mode = st.st_mode;
	e->uid = st.st_uid;
	e->gid = st.st_gid;
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	return 0;
}

struct ident {
	dev_t dev;
	ino_t ino;
};

struct walk {
	const char *top;	/* the tree's path, for messages */
	int as_root;		/* directories of other owners go to a child */
	struct ent top_ent;	/* the tree's mount: never left */
	int fault;		/* root's own part could not be removed */
	int left;		/* something of the user's stays */
	int stop;		/* give up the walk */
	int logged;
	struct ident *failed;	/* entries known to stay, skipped on rescans */
	size_t nfailed;
};

/* One directory on the way down. */
struct level {
	DIR *d;			/* NULL: closed to save fds, reopen via ".." */
	dev_t dev;
	ino_t ino;
	char *name;		/* its name in the level above (NULL at the top) */
	int removed;		/* entries removed in this pass: scan again */
	int passes;		/* scans so far */
	int failed;		/* something below stays: keep it */
};

static void complain(struct walk *w, size_t depth, const char *name, const char *why, int err)
{
	char safe[160];

	if (w->logged++ == MAX_LOGGED)
		svm_error("cannot remove more entries of %s: not naming them", w->top);
	if (w->logged > MAX_LOGGED)
		return;
	svm_error("cannot remove %s/%s%s: %s%s%s", w->top, depth > 1 ? ".../" : "",
		  svm_log_safe(name, safe, sizeof(safe)), why, err ? ": " : "",
		  err ? strerror(err) : "");
}

static int is_failed(const struct walk *w, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < w->nfailed; i++)
		if (w->failed[i].dev == dev && w->failed[i].ino == ino)
			return 1;
	return 0;
}

/* Entry INO of level L stays (its reason is logged elsewhere).  USERS:
 * because of what a user did (else, as root, a node fault). */
static void keep(struct walk *w, struct level *L, ino_t ino, int users)
{
	struct ident *n;

	L->failed = 1;
	if (users || !w->as_root)
		w->left = 1;
	else
		w->fault = 1;
	if (w->nfailed >= MAX_FAILED ||
	    !(n = realloc(w->failed, (w->nfailed + 1) * sizeof(*n)))) {
		w->stop = 1;
		return;
	}
	w->failed = n;
	w->failed[w->nfailed++] = (struct ident){ L->dev, ino };
}

/* The same, saying why: NAME at DEPTH, WHY, ERR an errno or 0. */
static void fail(struct walk *w, struct level *L, size_t depth, ino_t ino, const char *name,
		 const char *why, int err, int users)
{
	complain(w, depth, name, why, err);
	keep(w, L, ino, users);
}

static int same_mount(const struct ent *a, const struct ent *b)
{
	return a->dev == b->dev && (!a->has_mnt || !b->has_mnt || a->mnt == b->mnt);
}

/* Opens the directory NAME of DFD that WANT describes: not through a link,
 * and only if it is still that directory.  The user's child makes its own
 * directories readable and writable again if they were made otherwise. */
static int open_dir(const struct walk *w, int dfd, const char *name, const struct ent *want)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
	struct ent got;
	int fd = openat(dfd, name, flags);

	if (fd < 0 && errno == EACCES && !w->as_root) {
		int pfd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (pfd >= 0) {
			char proc[64];

			/* chmod through the held fd, never through the name */
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
			if (ent_stat(pfd, "", &got) == 0 && got.dev == want->dev &&
			    got.ino == want->ino && got.uid == geteuid())
				chmod(proc, (got.mode & 07777) | 0700);
			fd = openat(pfd, ".", flags);
			close(pfd);
		}
		if (fd < 0)
			errno = EACCES;
	}
	if (fd < 0)
		return -1;
	if (ent_stat(fd, "", &got) < 0 || got.dev != want->dev || got.ino != want->ino ||
	    !same_mount(&got, &w->top_ent)) {
		close(fd);
		errno = ESTALE;
		return -1;
	}
	if (!w->as_root && got.uid == geteuid() && (got.mode & 0700) != 0700)
		fchmod(fd, (got.mode & 07777) | 0700);
	return fd;
}

static int empty_as_owner(const struct walk *w, int fd, const struct ent *e);

/* Handles the entry DE of the deepest level: removes it, or pushes it as a
 * new level to empty first. */
static void entry(struct walk *w, struct level **lv, size_t *cap, size_t *depth,
		  const struct dirent *de)
{
	struct level *L = &(*lv)[*depth - 1];
	const char *name = de->d_name;
	int dfd = dirfd(L->d), fd, rc;
	struct ent e;

	if (is_failed(w, L->dev, de->d_ino)) {
		L->failed = 1;
		return;
	}
	/* most entries are files: no stat needed, unlinkat follows nothing */
	if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) {
		if (unlinkat(dfd, name, 0) == 0) {
			L->removed++;
			return;
		}
		if (errno == ENOENT)
			return;
		if (errno != EISDIR) {
			fail(w, L, *depth, de->d_ino, name, errno == EBUSY ? "a mount point, left in place"
					  : "unlink", errno == EBUSY ? 0 : errno, errno == EBUSY);
			return;
		}
	}
	/* The user may swap the entry for another between our looks at it
	 * (a directory for a link, say): look again, a bounded number of
	 * times; each look removes a link or empties a directory. */
	for (int tries = 0;; tries++) {
		if (ent_stat(dfd, name, &e) < 0) {
			if (errno != ENOENT)
				fail(w, L, *depth, de->d_ino, name, "stat", errno, errno == ENOTCONN);
			return;
		}
		/* Never cross a mount: a user's FUSE mount dies with their
		 * processes and its mount point is theirs to clean; root
		 * unmounting what users mounted is not our business.  It stays,
		 * logged, and the epilog still succeeds: a user's doing never
		 * drains the node. */
		if (!same_mount(&e, &w->top_ent)) {
			fail(w, L, *depth, de->d_ino, name, "a mount point, left in place", 0, 1);
			return;
		}
		if (!S_ISDIR(e.mode)) {
			if (unlinkat(dfd, name, 0) == 0)
				L->removed++;
			else if (errno == EISDIR && tries < MAX_TRIES)
				continue;
			else if (errno != ENOENT)
				fail(w, L, *depth, de->d_ino, name, "unlink", errno, errno == EBUSY);
			return;
		}
		fd = open_dir(w, dfd, name, &e);
		if (fd >= 0)
			break;
		if (errno == ENOENT)
			return;
		if ((errno == ESTALE || errno == ELOOP || errno == ENOTDIR) && tries < MAX_TRIES)
			continue;
		fail(w, L, *depth, de->d_ino, name,
		     errno == ESTALE ? "it changed during removal" : "open", errno == ESTALE ? 0 : errno,
		     errno == ESTALE || errno == ELOOP || errno == ENOTDIR);
		return;
	}
	if (w->as_root && e.uid != 0) {
		/* a user's directory in root's tree (the socket dir) */
		rc = empty_as_owner(w, fd, &e);
		close(fd);
		if (rc < 0)
			fail(w, L, *depth, de->d_ino, name, "cannot empty it as its owner", 0, rc == -1);
		else if (unlinkat(dfd, name, AT_REMOVEDIR) == 0)
			L->removed++;
		else if (errno != ENOENT)
			fail(w, L, *depth, de->d_ino, name, "rmdir", errno, 1);
		return;
	}
	if (*depth >= MAX_DEPTH) {
		close(fd);
		fail(w, L, *depth, de->d_ino, name, "deeper than 100000 levels, left in place", 0, 1);
		return;
	}
	if (*depth == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct level *n = realloc(*lv, ncap * sizeof(*n));

		if (!n) {
			close(fd);
			fail(w, L, *depth, de->d_ino, name, "out of memory", 0, 0);
			w->stop = 1;
			return;
		}
		*lv = n;
		*cap = ncap;
		L = &(*lv)[*depth - 1];
	}
	L = &(*lv)[*depth];
	*L = (struct level){ .dev = e.dev, .ino = e.ino, .name = strdup(name) };
	L->d = L->name ? fdopendir(fd) : NULL;
	if (!L->d) {
		close(fd);
		free(L->name);
		fail(w, &(*lv)[*depth - 1], *depth, de->d_ino, name, "out of memory", 0, 0);
		w->stop = 1;
		return;
	}
	(*depth)++;
	/* keep the fds of the top and of the WINDOW deepest levels */
	if (*depth > WINDOW + 1) {
		struct level *old = &(*lv)[*depth - 1 - WINDOW];

		if (old->d) {
			closedir(old->d);
			old->d = NULL;
		}
	}
}

/* Removes the emptied directory of L from DFD under its name, if the name
 * still is that directory (the user may have renamed it meanwhile; then
 * the caller scans again).  0, or -1 with errno. */
static int rmdir_same(int dfd, const struct level *L)
{
	for (int tries = 0; tries < MAX_TRIES; tries++) {
		struct ent e;

		if (ent_stat(dfd, L->name, &e) < 0)
			return errno == ENOENT ? 0 : -1;
		if (e.dev != L->dev || e.ino != L->ino)
			continue;
		if (unlinkat(dfd, L->name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		if (errno != ENOTDIR && errno != ENOTEMPTY && errno != EEXIST)
			return -1;
	}
	return 0;
}

/* The deepest level is done: back to its parent (reopened through ".." if
 * it was closed) and remove it there unless something below stays. */
static void leave(struct walk *w, struct level *lv, size_t *depth)
{
	struct level *L = &lv[*depth - 1], *P = &lv[*depth - 2];

	if (!P->d) {
		int fd = openat(dirfd(L->d), "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct ent e;

		if (fd < 0 || ent_stat(fd, "", &e) < 0 || e.dev != P->dev || e.ino != P->ino ||
		    !(P->d = fdopendir(fd))) {
			if (fd >= 0)
				close(fd);
			complain(w, *depth, L->name, "the tree changed during removal", 0);
			w->left = 1;
			w->stop = 1;
			return;
		}
	}
	closedir(L->d);
	L->d = NULL;
	if (L->failed) {
		/* what stays below is logged already */
		keep(w, P, L->ino, 1);
	} else if (rmdir_same(dirfd(P->d), L) < 0) {
		fail(w, P, *depth - 1, L->ino, L->name, "rmdir", errno, errno == EBUSY);
	} else {
		/* gone, or renamed by the user: the next scan finds it */
		P->removed++;
	}
	free(L->name);
	(*depth)--;
}

/* Empties the directory open at FD (it stays; the caller removes it). */
static void walk(struct walk *w, int fd)
{
	struct level *lv = calloc(64, sizeof(*lv));
	size_t cap = 64, depth = 0;
	int d0;

	if (!lv || (d0 = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		svm_error("cannot remove %s: %s", w->top, strerror(errno));
		w->fault = 1;
		free(lv);
		return;
	}
	lv[0].d = fdopendir(d0);
	if (!lv[0].d || ent_stat(d0, "", &w->top_ent) < 0) {
		svm_error("cannot remove %s: %s", w->top, strerror(errno));
		w->fault = 1;
		if (lv[0].d)
			closedir(lv[0].d);
		else
			close(d0);
		free(lv);
		return;
	}
	lv[0].dev = w->top_ent.dev;
	lv[0].ino = w->top_ent.ino;
	depth = 1;
	while (depth > 0 && !w->stop) {
		struct level *L = &lv[depth - 1];
		struct dirent *de;

		errno = 0;
		de = readdir(L->d);
		if (de) {
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				entry(w, &lv, &cap, &depth, de);
			continue;
		}
		if (errno) {
			complain(w, depth, L->name ? L->name : ".", "read", errno);
			L->failed = 1;
			if (w->as_root)
				w->fault = 1;
			else
				w->left = 1;
		} else if (L->removed && ++L->passes < MAX_PASSES) {
			/* what a scan sees of entries removed during it is up to
			 * the file system: scan until nothing more goes */
			L->removed = 0;
			rewinddir(L->d);
			continue;
		}
		if (depth == 1)
			break;
		leave(w, lv, &depth);
	}
	for (size_t i = 0; i < depth; i++) {
		if (lv[i].d)
			closedir(lv[i].d);
		free(lv[i].name);
	}
	free(lv);
}

/* The child's log goes to root through a pipe: as the user it could not
 * open slurmd's log file. */
static int child_log_fd = -1;

static void pipe_sink(enum svm_log_level level, const char *msg)
{
	char line[1100];
	int n = snprintf(line, sizeof(line), "%d%s\n", (int)level, msg);

	if (n > 0 && write(child_log_fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line)) < 0)
		errno = 0;
}

static void child(const struct walk *w, int fd, int logfd, uid_t uid, gid_t gid)
{
	struct walk cw = { .top = w->top };
	int tfd = fcntl(fd, F_DUPFD, 10), lfd = fcntl(logfd, F_DUPFD, 10);

	/* only the tree and the log pipe: no fd of root's stays with us */
	if (tfd < 0 || lfd < 0 || dup2(tfd, 3) < 0 || dup2(lfd, 4) < 0)
		_exit(3);
	close_range(5, ~0U, 0);
	child_log_fd = 4;
	svm_log_init(pipe_sink, svm_log_current_level());
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		svm_error("cannot take the identity of uid %u to remove %s: %s", (unsigned)uid,
			  w->top, strerror(errno));
		_exit(3);
	}
	/* irreversible: no way back to root from here */
	if (setuid(0) == 0 || seteuid(0) == 0) {
		svm_error("could return to root after dropping to uid %u", (unsigned)uid);
		_exit(3);
	}
	{
		struct stat st;

		/* the user may have locked their own top directory */
		if (fstat(3, &st) == 0 && st.st_uid == uid && (st.st_mode & 0700) != 0700)
			fchmod(3, (st.st_mode & 07777) | 0700);
	}
	walk(&cw, 3);
	free(cw.failed);
	_exit(cw.fault || cw.left ? 1 : 0);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Logs the child's lines, as untrusted text: one line each, printable. */
static void relay_log(char *buf, size_t n)
{
	buf[n] = '\0';
	for (char *line = buf, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
		for (char *p = line; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
				*p = '?';
		if (line[0] >= '0' && line[0] <= '3')
			svm_log((enum svm_log_level)(line[0] - '0'), "%s", line + 1);
	}
}

/* Empties the user's directory open at FD as its owner, in a child that
 * dropped to the owner's uid and group, no supplementary groups.  Returns
 * 0 when it is empty, -1 when something stays because of the user (or the
 * user killed or stopped the child), -2 on a node fault. */
static int empty_as_owner(const struct walk *w, int fd, const struct ent *e)
{
	char buf[8192], tmp[1024];
	size_t n = 0;
	long deadline = now_ms() + CHILD_TIMEOUT_MS;
	int p[2], status, timed_out = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		svm_error("cannot remove %s: pipe: %s", w->top, strerror(errno));
		return -2;
	}
	pid = fork();
	if (pid < 0) {
		svm_error("cannot remove %s: fork: %s", w->top, strerror(errno));
		close(p[0]);
		close(p[1]);
		return -2;
	}
	if (pid == 0) {
		close(p[0]);
		child(w, fd, p[1], e->uid, e->gid ? e->gid : NOGROUP);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		long left = deadline - now_ms();
		ssize_t k;
		int r;

		if (left <= 0) {
			kill(pid, SIGKILL);
			timed_out = 1;
			break;
		}
		r = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
		if (r <= 0)
			continue;
		k = read(p[0], tmp, sizeof(tmp));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (n + (size_t)k < sizeof(buf)) {
			memcpy(buf + n, tmp, (size_t)k);
			n += (size_t)k;
		}
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = -1;
			break;
		}
	relay_log(buf, n);
	if (timed_out) {
		svm_error("cannot remove %s: its removal as uid %u took over %d s", w->top,
			  (unsigned)e->uid, CHILD_TIMEOUT_MS / 1000);
		return -1;
	}
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 3)
		return -2;
	if (status == -1 || !WIFEXITED(status))
		svm_error("cannot remove %s: its removal as uid %u was killed", w->top,
			  (unsigned)e->uid);
	return -1;
}

int svm_rmtree_at(int dirfd, const char *name, const char *what)
{
	struct walk w = { .top = what, .as_root = 1 };
	struct ent pe, e;
	int fd, rc;

	if (ent_stat(dirfd, "", &pe) < 0) {
		svm_error("cannot remove %s: %s", what, strerror(errno));
		return -1;
	}
	if (ent_stat(dirfd, name, &e) < 0) {
		if (errno == ENOENT)
			return 0;
		svm_error("cannot remove %s: %s", what, strerror(errno));
		return errno == ENOTCONN ? 1 : -1;
	}
	if (!same_mount(&pe, &e)) {
		svm_error("cannot remove %s: a mount point, left in place", what);
		return 1;
	}
	if (!S_ISDIR(e.mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT) {
			svm_error("cannot remove %s: %s", what, strerror(errno));
			return -1;
		}
		return 0;
	}
	w.top_ent = e;
	fd = open_dir(&w, dirfd, name, &e);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		svm_error("cannot remove %s: %s", what, strerror(errno));
		return -1;
	}
	if (e.uid != 0) {
		/* the user's tree: emptied as the user, never by root */
		rc = empty_as_owner(&w, fd, &e);
		if (rc == -1)
			w.left = 1;
		else if (rc < 0)
			w.fault = 1;
	} else {
		walk(&w, fd);
		free(w.failed);
	}
	close(fd);
	if (w.fault)
		return -1;
	if (w.left)
		return 1;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
		svm_error("cannot remove %s: %s", what, strerror(errno));
		/* a user's tree may have been refilled by another of their jobs */
		return e.uid != 0 && errno == ENOTEMPTY ? 1 : -1;
	}
	return 0;
}

int svm_rmtree(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *parent;
	int dfd, rc;

	if (!slash || !slash[1]) {
		svm_error("cannot remove %s: not a path to an entry of a directory", path);
		return -1;
	}
	parent = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	if (!parent) {
		svm_error("cannot remove %s: out of memory", path);
		return -1;
	}
	/* the parent is the admin's runtime or scratch dir: trusted */
	dfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(parent);
	if (dfd < 0) {
		if (errno == ENOENT)
			return 0;
		svm_error("cannot remove %s: cannot open its directory: %s", path, strerror(errno));
		return -1;
	}
	rc = svm_rmtree_at(dfd, slash + 1, path);
	close(dfd);
	return rc;
}
