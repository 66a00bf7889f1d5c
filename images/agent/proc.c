/* The processes the agent runs (proc.h): the request checked, the child
 * set up as the user (ids, limits, CPUs, terminal, directory) and exec'd,
 * its exit collected and its exec failure reported. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"
#include "channel.h"
#include "guest_setup.h"
#include "proc.h"

extern char **environ;

struct proc *proc_find(uint32_t id)
{
	size_t i;

	for (i = 0; i < ag.nprocs; i++)
		if (ag.procs[i]->id == id && ag.procs[i]->gen == ag.gen)
			return ag.procs[i];
	return NULL;
}

struct proc *proc_new(uint32_t id)
{
	struct proc *p;
	int s;

	if (ag.nprocs >= MAX_PROCS)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->id = id;
	p->gen = ag.gen;
	p->errfd = -1;
	p->lfd = -1;
	svm_ap_exec_init(&p->req);
	for (s = 0; s < SVM_AP_STREAMS; s++) {
		p->in[s].fd = -1;
		p->in[s].buf.max = SVM_AP_WINDOW;
		p->in[s].credit = SVM_AP_WINDOW;
		p->out[s].fd = -1;
		p->out[s].credit = SVM_AP_WINDOW;
	}
	ag.procs[ag.nprocs++] = p;
	return p;
}

void proc_free(struct proc *p)
{
	size_t i;
	int s;

	for (i = 0; i < ag.nprocs; i++)
		if (ag.procs[i] == p) {
			ag.procs[i] = ag.procs[--ag.nprocs];
			break;
		}
	for (s = 0; s < SVM_AP_STREAMS; s++) {
		close_fd(&p->in[s].fd);
		svm_buf_free(&p->in[s].buf);
		close_fd(&p->out[s].fd);
	}
	close_fd(&p->errfd);
	close_fd(&p->lfd);
	svm_ap_exec_free(&p->req);
	free(p);
}

/* The process is gone for good: its group too, since nobody reads it. */
void proc_kill(struct proc *p)
{
	if (p->state == P_RUNNING && !p->exited && p->pid > 0)
		kill(-p->pid, SIGKILL);
}

/* Sends EXIT once the process has exited, its stdio is drained and its
 * exec error (if any) reported. */
void proc_maybe_finish(struct proc *p)
{
	int s;

	if (p->state != P_RUNNING || !p->exited || p->errfd >= 0)
		return;
	for (s = SVM_AP_STDOUT; s < SVM_AP_STREAMS; s++)
		if (p->out[s].fd >= 0)
			return;
	if (p->gen == ag.gen) {
		if (WIFSIGNALED(p->status))
			send_exit(p->id, SVM_AP_EXIT_SIGNAL, WTERMSIG(p->status),
				  WCOREDUMP(p->status));
		else
			send_exit(p->id, SVM_AP_EXIT_CODE, WEXITSTATUS(p->status), 0);
	}
	proc_free(p);
}

enum { STAGE_IDS = 1, STAGE_CPUS, STAGE_PTY, STAGE_CHDIR, STAGE_EXEC, STAGE_MKDIR };
struct exec_err {
	int stage;
	int err;
};

static void child_fail(int fd, int stage, int code) __attribute__((noreturn));
static void child_fail(int fd, int stage, int code)
{
	struct exec_err e = { stage, errno };

	if (write(fd, &e, sizeof(e)) < 0) {
		/* the agent will see a bare exit code */
	}
	_exit(code);
}

/* In the child, as the user: creates PATH and its missing parents, 0700
 * (PMIx's per-step client directory: Open MPI 5 expects it). */
static int mkdir_user(const char *path)
{
	char buf[4096];
	size_t i, n = strlen(path);

	if (n >= sizeof(buf))
		return errno = ENAMETOOLONG, -1;
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -1;
		buf[i] = path[i];
	}
	return 0;
}

/* In the child: become the process the host asked for, or report why not. */
static void child_run(struct proc *p, int fds[3], int aux, int errw, char **envp,
		      cpu_set_t *cpus, size_t cpusz) __attribute__((noreturn));
static void child_run(struct proc *p, int fds[3], int aux, int errw, char **envp,
		      cpu_set_t *cpus, size_t cpusz)
{
	struct svm_ap_exec *e = &p->req;
	sigset_t all;
	int i;

	for (i = 1; i < NSIG; i++)
		signal(i, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (errw < AUX_FD + 1) {
		int n = fcntl(errw, F_DUPFD_CLOEXEC, AUX_FD + 1);

		if (n >= 0)
			errw = n;
	}
	if (p->pty) {
		if (setsid() < 0 || ioctl(fds[0], TIOCSCTTY, 0) < 0)
			child_fail(errw, STAGE_PTY, 126);
	} else if (setpgid(0, 0) < 0) {
		child_fail(errw, STAGE_PTY, 126);
	}
	for (i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			child_fail(errw, STAGE_PTY, 126);
	if (aux >= 0) {
		if (aux == AUX_FD ? fcntl(aux, F_SETFD, 0) < 0 : dup2(aux, AUX_FD) < 0)
			child_fail(errw, STAGE_PTY, 126);
	}
	/* The host task's limits (Slurm propagated the user's to it), set
	 * while still root so a hard limit may go up (memlock for RDMA).
	 * One the guest cannot take (nofile above fs.nr_open) stays as the
	 * guest has it. */
	for (i = 0; i < SVM_AP_NRLIMITS; i++) {
		struct rlimit rl = { .rlim_cur = e->rlimit_cur[i], .rlim_max = e->rlimit_max[i] };

		if (e->rlimit_set & (1u << i))
			(void)setrlimit(i, &rl);
	}
	if (geteuid() == 0) {
		gid_t *g = (gid_t *)e->groups;	/* u32 and gid_t agree on Linux */

		if (setgroups(e->ngroups, g) < 0 || setresgid(e->gid, e->gid, e->gid) < 0 ||
		    setresuid(e->uid, e->uid, e->uid) < 0)
			child_fail(errw, STAGE_IDS, 126);
	} else if (e->uid != geteuid() || e->gid != getegid()) {
		errno = EPERM;
		child_fail(errw, STAGE_IDS, 126);
	}
	if (cpus && sched_setaffinity(0, cpusz, cpus) < 0)
		child_fail(errw, STAGE_CPUS, 126);
	if (e->mkdir && mkdir_user(e->mkdir) < 0)
		child_fail(errw, STAGE_MKDIR, 126);
	if (chdir(e->cwd) < 0)
		child_fail(errw, STAGE_CHDIR, 127);
	environ = envp;
	execvp(e->argv[0], e->argv);
	child_fail(errw, STAGE_EXEC, errno == ENOENT ? 127 : 126);
}

/* The child's environment: the request's, plus NAME=3 for the aux socket,
 * with the LISTEN variables replaced by their rewritten copies in LISTENV
 * (one per e->listen[], in that order). */
static char **build_env(struct svm_ap_exec *e, char *auxvar, char **listenv)
{
	char **env = calloc(e->envc + 2, sizeof(*env));
	size_t i, k, n = 0, len;

	if (!env)
		return NULL;
	len = e->auxenv ? strlen(e->auxenv) : 0;
	for (i = 0; i < e->envc; i++) {
		char *v = e->envp[i];

		if (auxvar && strncmp(v, e->auxenv, len) == 0 && v[len] == '=')
			continue;
		for (k = 0; listenv && k < e->nlisten; k++) {
			size_t l = strlen(e->listen[k]);

			if (strncmp(v, e->listen[k], l) == 0 && v[l] == '=')
				v = listenv[k];
		}
		env[n++] = v;
	}
	if (auxvar)
		env[n++] = auxvar;
	env[n] = NULL;
	return env;
}

/* LISTEN: a loopback TCP listener for P, made before the fork so a client
 * can never connect too early, and the LISTEN variables rewritten to its
 * port into LISTENV (malloc'd).  -1 with an ERROR sent. */
static int listen_start(struct proc *p, char **listenv)
{
	struct svm_ap_exec *e = &p->req;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	const char *why;
	size_t i, k;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		send_error(p->id, SVM_AP_E_EXEC, "cannot listen on the guest's loopback for %s: %s",
			   e->argv[0], strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (k = 0; k < e->nlisten; k++) {
		size_t l = strlen(e->listen[k]);
		const char *v = NULL;

		for (i = 0; i < e->envc && !v; i++)
			if (strncmp(e->envp[i], e->listen[k], l) == 0 && e->envp[i][l] == '=')
				v = e->envp[i];
		listenv[k] = v ? malloc(strlen(v) + 32) : NULL;
		if (!v || !listenv[k] ||
		    svm_ap_tcp4_rewrite(v, ntohs(sa.sin_port), listenv[k], strlen(v) + 32, &why) < 0) {
			send_error(p->id, SVM_AP_E_EXEC, "cannot relay %s for %s: %s", e->listen[k], e->argv[0],
				   !v ? "no such variable" : !listenv[k] ? "out of memory" : why);
			close(fd);
			return -1;
		}
	}
	p->lfd = fd;
	return 0;
}

/* A guest connection to P's listener becomes the next connection stream. */
void listen_accept(struct proc *p)
{
	int fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), s;

	if (fd < 0)
		return;
	if (p->nconn >= SVM_AP_MAX_CONNS || p->gen != ag.gen) {
		if (p->gen == ag.gen)
			send_error(p->id, SVM_AP_E_LIMIT, "process %u: more than %d relayed connections, refused",
				   p->id, SVM_AP_MAX_CONNS);
		close(fd);
		return;
	}
	s = SVM_AP_CONN_FIRST + (int)p->nconn++;
	p->in[s].fd = fd;
	p->out[s].fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (p->out[s].fd < 0) {
		close_fd(&p->in[s].fd);
		return;
	}
	set_nonblock(p->out[s].fd);
	send_frame(SVM_AP_CONNECT, (unsigned)s, p->id, NULL, 0);
}

/* Starts P.  On failure the host gets ERROR, then EXIT 126/127. */
void proc_start(struct proc *p)
{
	struct svm_ap_exec *e = &p->req;
	int fds[3] = { -1, -1, -1 }, mine[3] = { -1, -1, -1 };
	int aux[2] = { -1, -1 }, errp[2] = { -1, -1 }, i, code = 126;
	char **env = NULL, auxvar[SVM_AP_ENV_NAME_MAX + 16], *listenv[SVM_AP_MAX_LISTEN] = { NULL };
	cpu_set_t *cpus = NULL;
	size_t cpusz = 0;
	const char *why;
	pid_t pid;

	if (svm_ap_exec_check(e, &why) < 0) {
		send_error(p->id, SVM_AP_E_EXEC, "cannot run process: %s", why);
		goto fail;
	}
	if (e->uid == 0 && !(e->flags & SVM_AP_F_ROOT)) {
		send_error(p->id, SVM_AP_E_PERM, "refusing to run %s as uid 0: the request does not ask for root explicitly", e->argv[0]);
		goto fail;
	}
	p->pty = !!(e->flags & SVM_AP_F_PTY);
	if (p->pty) {
		struct winsize ws = { .ws_row = e->rows, .ws_col = e->cols };
		int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		char *name;

		if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || !(name = ptsname(m))) {
			send_error(p->id, SVM_AP_E_EXEC, "cannot open a pty for %s: %s", e->argv[0], strerror(errno));
			if (m >= 0)
				close(m);
			goto fail;
		}
		mine[1] = m;
		fds[0] = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fds[0] < 0 || (mine[0] = fcntl(m, F_DUPFD_CLOEXEC, 0)) < 0) {
			send_error(p->id, SVM_AP_E_EXEC, "cannot open pty %s: %s", name, strerror(errno));
			goto fail;
		}
		if (ws.ws_row && ws.ws_col)
			ioctl(m, TIOCSWINSZ, &ws);
		fds[1] = fds[2] = fds[0];
	} else {
		for (i = 0; i < 3; i++) {
			int pp[2];

			if (pipe2(pp, O_CLOEXEC) < 0) {
				send_error(p->id, SVM_AP_E_EXEC, "cannot create pipes for %s: %s", e->argv[0], strerror(errno));
				goto fail;
			}
			/* One window fits: fewer wakeups of the child and the agent. */
			fcntl(pp[0], F_SETPIPE_SZ, PIPE_SIZE);
			fds[i] = i == 0 ? pp[0] : pp[1];
			mine[i] = i == 0 ? pp[1] : pp[0];
		}
	}
	if ((e->flags & SVM_AP_F_AUX) &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, aux) < 0) {
		send_error(p->id, SVM_AP_E_EXEC, "cannot create the aux socket for %s: %s", e->argv[0], strerror(errno));
		goto fail;
	}
	if (pipe2(errp, O_CLOEXEC) < 0) {
		send_error(p->id, SVM_AP_E_EXEC, "cannot create a pipe for %s: %s", e->argv[0], strerror(errno));
		goto fail;
	}
	if (e->ncpus) {
		uint32_t max = 0;
		size_t k;

		for (k = 0; k < e->ncpus; k++)
			if (e->cpus[k] > max)
				max = e->cpus[k];
		cpus = CPU_ALLOC(max + 1);
		if (!cpus) {
			send_error(p->id, SVM_AP_E_EXEC, "cannot allocate a CPU set for %s", e->argv[0]);
			goto fail;
		}
		cpusz = CPU_ALLOC_SIZE(max + 1);
		CPU_ZERO_S(cpusz, cpus);
		for (k = 0; k < e->ncpus; k++)
			CPU_SET_S(e->cpus[k], cpusz, cpus);
	}
	if (e->flags & SVM_AP_F_AUX)
		snprintf(auxvar, sizeof(auxvar), "%s=%d", e->auxenv, AUX_FD);
	if (e->nlisten && listen_start(p, listenv) < 0)
		goto fail;
	env = build_env(e, (e->flags & SVM_AP_F_AUX) ? auxvar : NULL, e->nlisten ? listenv : NULL);
	if (!env) {
		send_error(p->id, SVM_AP_E_EXEC, "cannot build the environment of %s: out of memory", e->argv[0]);
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		send_error(p->id, SVM_AP_E_EXEC, "cannot fork for %s: %s", e->argv[0], strerror(errno));
		goto fail;
	}
	if (pid == 0)
		child_run(p, fds, aux[1], errp[1], env, cpus, cpusz);
	if (!p->pty)
		setpgid(pid, pid);	/* both sides, so signals never miss */
	p->pid = pid;
	p->state = P_RUNNING;
	p->errfd = errp[0];
	errp[0] = -1;
	p->in[SVM_AP_STDIN].fd = mine[0];
	p->out[SVM_AP_STDOUT].fd = mine[1];
	if (!p->pty)
		p->out[SVM_AP_STDERR].fd = mine[2];
	else
		close_fd(&mine[2]);
	mine[0] = mine[1] = mine[2] = -1;
	if (aux[0] >= 0) {
		p->in[SVM_AP_AUX].fd = aux[0];
		p->out[SVM_AP_AUX].fd = fcntl(aux[0], F_DUPFD_CLOEXEC, 0);
		aux[0] = -1;
		if (p->out[SVM_AP_AUX].fd < 0)
			say("cannot duplicate the aux socket of process %u: %s", p->id, strerror(errno));
	}
	for (i = 0; i < SVM_AP_NSTREAMS; i++) {
		if (p->in[i].fd >= 0)
			set_nonblock(p->in[i].fd);
		if (p->out[i].fd >= 0)
			set_nonblock(p->out[i].fd);
	}
	set_nonblock(p->errfd);
	goto out;
fail:
	p->state = P_FAILED;
	send_exit(p->id, SVM_AP_EXIT_CODE, code, 0);
	for (i = 0; i < 3; i++)
		close_fd(&mine[i]);
	proc_free(p);
out:
	if (fds[1] == fds[0])
		fds[1] = fds[2] = -1;	/* the pty slave, once */
	for (i = 0; i < 3; i++)
		close_fd(&fds[i]);
	close_fd(&aux[0]);
	close_fd(&aux[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	if (cpus)
		CPU_FREE(cpus);
	free(env);
	for (i = 0; i < SVM_AP_MAX_LISTEN; i++)
		free(listenv[i]);
}

void reap(void)
{
	int status;
	pid_t pid;
	size_t i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < ag.nprocs; i++) {
			struct proc *p = ag.procs[i];

			if (p->state == P_RUNNING && p->pid == pid && !p->exited) {
				p->exited = 1;
				p->status = status;
				p->exit_ms = now_ms();
				/* Nothing will read the rest of stdin. */
				close_fd(&p->in[SVM_AP_STDIN].fd);
				if (p->gen != ag.gen) {
					proc_free(p);
				}
				break;
			}
		}
	}
}

void read_errfd(struct proc *p)
{
	struct exec_err e;
	ssize_t n = read(p->errfd, &e, sizeof(e));
	static const char *const what[] = { "", "cannot set uid/gid/groups", "cannot set CPU affinity",
		"cannot set up the terminal", "cannot change directory to", "cannot execute",
		"cannot create directory" };

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == (ssize_t)sizeof(e) && e.stage >= STAGE_IDS && e.stage <= STAGE_MKDIR) {
		const char *obj = e.stage == STAGE_CHDIR ? p->req.cwd :
				  e.stage == STAGE_EXEC ? p->req.argv[0] :
				  e.stage == STAGE_MKDIR ? p->req.mkdir : NULL;

		if (p->gen == ag.gen) {
			if (e.stage == STAGE_IDS)
				send_error(p->id, SVM_AP_E_EXEC, "%s %u/%u for %s: %s", what[e.stage],
					   p->req.uid, p->req.gid, p->req.argv[0], strerror(e.err));
			else if (obj) {
				char note[SVM_GC_PATH_MAX + 256];

				svm_gs_share_note(e.stage == STAGE_CHDIR ? obj : NULL, note, sizeof(note));
				send_error(p->id, SVM_AP_E_EXEC, "%s %s: %s%s", what[e.stage], obj,
					   strerror(e.err), note);
			}
			else
				send_error(p->id, SVM_AP_E_EXEC, "%s for %s: %s", what[e.stage],
					   p->req.argv[0], strerror(e.err));
		}
	}
	close_fd(&p->errfd);
	/* The request is no longer needed once the child has exec'd. */
	proc_maybe_finish(p);
}

/* Closes stdio an exited process left to a background holder, once the
 * pipes are empty and the grace time is over. */
void drain_deadline(struct proc *p, long long now)
{
	int s;

	for (s = SVM_AP_STDOUT; s < SVM_AP_STREAMS; s++) {
		struct pollfd pfd = { .fd = p->out[s].fd, .events = POLLIN };

		if (pfd.fd < 0)
			continue;
		if (now - p->exit_ms < DRAIN_GRACE_MS || (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN)))
			continue;
		close_fd(&p->out[s].fd);
		if (p->gen == ag.gen)
			send_frame(SVM_AP_EOF, (unsigned)s, p->id, NULL, 0);
	}
	proc_maybe_finish(p);
}
