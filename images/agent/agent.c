/* slurm-vm-agent: runs processes inside the guest for the host, over one
 * virtio-serial port (PROTOCOL.md).  One thread, one poll loop: the
 * channel, every child's stdio pipes, and a self-pipe for SIGCHLD/SIGIO.
 * Nothing in the loop blocks, so a stalled process never stalls another. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
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
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent_proto.h"
#include "guest_setup.h"

#define DEFAULT_PORT "/dev/virtio-ports/org.slurm-vm.agent.0"
#define MAX_PROCS 4096
#define OUT_HIGH_WATER (1024 * 1024)	/* stop reading children above this */
#define OUT_MAX (64 * 1024 * 1024)	/* hard bound of the channel out buffer */
#define DRAIN_GRACE_MS 1000		/* stdio of an exited process left open */
#define RETRY_MS 1000			/* host end closed: look again after */
#define AUX_FD 3			/* where the child finds the aux socket */
#define PIPE_SIZE SVM_AP_WINDOW		/* child stdio pipes: one window each */
#define PORT_BUF 4096			/* a virtio port read returns one such buffer */
#define CHAN_READS 8			/* channel reads per wakeup, at most */

extern char **environ;

enum proc_state { P_ASSEMBLING, P_FAILED, P_RUNNING };

struct sink {			/* host -> child */
	int fd;
	struct svm_buf buf;
	uint32_t credit;	/* bytes the host may still send */
	uint32_t owed;		/* credit to give back */
	int eof;		/* host sent EOF: close when drained */
};

struct source {			/* child -> host */
	int fd;
	uint64_t credit;	/* bytes we may still send */
};

struct proc {
	uint32_t id;
	unsigned gen;		/* session it belongs to */
	enum proc_state state;
	struct svm_ap_exec req;
	uint8_t fail_code;	/* P_FAILED: exit code sent at START */
	pid_t pid;
	int pty;
	struct sink in[SVM_AP_STREAMS];	/* STDIN, AUX, connections used */
	struct source out[SVM_AP_STREAMS];	/* STDOUT, STDERR, AUX, connections */
	int lfd;		/* loopback listener (LISTEN records), or -1 */
	unsigned nconn;		/* connections accepted so far */
	int errfd;		/* exec error pipe, -1 once read */
	int exited, status;
	long long exit_ms;
};

enum { MODE_PORT, MODE_LISTEN, MODE_FD };

static struct {
	int mode;
	const char *port;
	const char *listen_path;
	int given_fd;
	int verbose;
	int chan;		/* -1: none */
	int listen_fd;
	int hup;		/* port mode: host end closed, waiting */
	long long retry_at;
	int hello;		/* session started by a HELLO */
	int announced;
	unsigned gen;
	struct svm_ap_reader rd;
	struct svm_buf out;
	unsigned rr;		/* round-robin start among processes */
	struct proc *procs[MAX_PROCS];
	size_t nprocs;
	int sigpipe[2];
	volatile sig_atomic_t term;
} ag = {
	.port = DEFAULT_PORT,
	.given_fd = -1,
	.chan = -1,
	.listen_fd = -1,
	.sigpipe = { -1, -1 },
	.out = { .max = OUT_MAX },
};

/* ------------------------------------------------------------ helpers */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "slurm-vm-agent: %s\n", buf);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

static void on_signal(int sig)
{
	int e = errno;
	char c = (char)sig;

	if (sig == SIGTERM || sig == SIGINT)
		ag.term = 1;
	if (write(ag.sigpipe[1], &c, 1) < 0) {
		/* pipe full: a wakeup is already pending */
	}
	errno = e;
}

/* ------------------------------------------------------------ frames out */
static void send_frame(unsigned type, unsigned stream, uint32_t id, const void *p, size_t n)
{
	if (ag.chan < 0)
		return;
	if (svm_ap_put(&ag.out, type, stream, id, p, n) < 0)
		say("channel output over %d bytes: dropping a %s frame", OUT_MAX,
		    svm_ap_type_name(type));
}

static void send_error(uint32_t id, uint32_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void send_error(uint32_t id, uint32_t code, const char *fmt, ...)
{
	char text[SVM_AP_MAX_ERROR_TEXT + 1];
	uint8_t p[4 + SVM_AP_MAX_ERROR_TEXT];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (ag.verbose)
		say("error to host (process %u): %s", id, text);
	n = svm_ap_error_encode(p, sizeof(p), code, text);
	send_frame(SVM_AP_ERROR, 0, id, p, n);
}

static void send_exit(uint32_t id, int how, int value, int core)
{
	uint8_t p[SVM_AP_EXIT_LEN];

	svm_ap_exit_encode(p, how, value, core);
	send_frame(SVM_AP_EXIT, 0, id, p, sizeof(p));
}

static void send_credit(uint32_t id, unsigned stream, uint32_t n)
{
	uint8_t p[4];

	svm_ap_u32_encode(p, n);
	send_frame(SVM_AP_CREDIT, stream, id, p, 4);
}

/* ------------------------------------------------------------ processes */
static struct proc *proc_find(uint32_t id)
{
	size_t i;

	for (i = 0; i < ag.nprocs; i++)
		if (ag.procs[i]->id == id && ag.procs[i]->gen == ag.gen)
			return ag.procs[i];
	return NULL;
}

static struct proc *proc_new(uint32_t id)
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

static void proc_free(struct proc *p)
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
static void proc_kill(struct proc *p)
{
	if (p->state == P_RUNNING && !p->exited && p->pid > 0)
		kill(-p->pid, SIGKILL);
}

/* Ends the session: every process of it is killed and forgotten (an
 * unreaped one stays, silent, until waitpid() collects it). */
static void session_end(const char *why)
{
	size_t i;

	if (ag.nprocs && ag.verbose)
		say("session ended (%s): killing %zu processes", why, ag.nprocs);
	for (i = ag.nprocs; i-- > 0;) {
		struct proc *p = ag.procs[i];

		proc_kill(p);
		if (p->state != P_RUNNING || p->exited)
			proc_free(p);
		else
			p->gen = ag.gen - 1;	/* orphan: matches no id any more */
	}
	ag.gen += 2;
	ag.hello = 0;
	svm_buf_clear(&ag.out);
	svm_ap_reader_init(&ag.rd, SVM_AP_HELLO, 0);
}

/* Sends EXIT once the process has exited, its stdio is drained and its
 * exec error (if any) reported. */
static void proc_maybe_finish(struct proc *p)
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
static void listen_accept(struct proc *p)
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
static void proc_start(struct proc *p)
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

/* ------------------------------------------------------------ host frames */
static void sink_close(struct proc *p, int s)
{
	struct sink *k = &p->in[s];

	if (k->fd < 0)
		return;
	if (p->pty && s == SVM_AP_STDIN) {
		struct termios t;
		char c = 4;

		/* The pty stays open for output: EOF is the terminal's EOF key. */
		if (tcgetattr(k->fd, &t) == 0)
			c = (char)t.c_cc[VEOF];
		if (write(k->fd, &c, 1) < 0) {
			/* the process is gone or not reading: nothing to tell */
		}
		close_fd(&k->fd);
		return;
	}
	if (s >= SVM_AP_AUX)
		shutdown(k->fd, SHUT_WR);
	close_fd(&k->fd);
}

static void sink_push(struct proc *p, int s, const uint8_t *d, size_t n);

static void on_data(struct proc *p, const struct svm_ap_hdr *h, const uint8_t *pl)
{
	struct sink *k = &p->in[h->stream];

	if (h->len > k->credit) {
		send_error(p->id, SVM_AP_E_PROTO, "%s data beyond the credit given (%u > %u bytes): dropped",
			   h->stream == SVM_AP_STDIN ? "stdin" : h->stream == SVM_AP_AUX ? "aux" : "connection",
			   h->len, k->credit);
		return;
	}
	k->credit -= h->len;
	if (k->fd < 0 || k->eof || p->exited) {
		/* Nobody will read it: give the credit back at once. */
		k->credit += h->len;
		send_credit(p->id, h->stream, h->len);
		return;
	}
	sink_push(p, h->stream, pl, h->len);
}

static void raw_bench(int mode, uint64_t bytes);
static ssize_t chan_readv(uint8_t *dst, size_t room);

static void on_hello(const struct svm_ap_hdr *h, const uint8_t *pl)
{
	uint16_t vmin, vmax;
	uint8_t r[SVM_AP_READY_LEN];
	const char *why;
	int v;

	if (svm_ap_hello_decode(pl, h->len, &vmin, &vmax, &why) < 0) {
		send_error(0, SVM_AP_E_PROTO, "%s", why);
		return;
	}
	v = svm_ap_negotiate(vmin, vmax);
	if (v < 0) {
		send_error(0, SVM_AP_E_VERSION, "no common protocol version: host speaks %u..%u, agent %u",
			   vmin, vmax, SVM_AP_VERSION);
		return;
	}
	if (ag.hello || ag.nprocs) {
		/* A new host session: what the old one ran has nobody to talk to. */
		size_t i;

		for (i = ag.nprocs; i-- > 0;) {
			struct proc *p = ag.procs[i];

			proc_kill(p);
			if (p->state != P_RUNNING || p->exited)
				proc_free(p);
			else
				p->gen = ag.gen - 1;
		}
		ag.gen += 2;
	}
	ag.hello = 1;
	svm_ap_ready_encode(r, (uint16_t)v, 0, SVM_AP_MAX_PAYLOAD);
	send_frame(SVM_AP_READY, 0, 0, r, sizeof(r));
	if (ag.verbose)
		say("host said hello: ready, protocol version %d", v);
}

static void on_frame(const struct svm_ap_hdr *h, const uint8_t *pl)
{
	struct proc *p;
	const char *why;

	if (h->type == SVM_AP_HELLO) {
		on_hello(h, pl);
		return;
	}
	if (h->type == SVM_AP_ERROR) {
		uint32_t code;
		char text[SVM_AP_MAX_ERROR_TEXT + 1];

		if (svm_ap_error_decode(pl, h->len, &code, text, sizeof(text), &why) == 0)
			say("host reports error %u on process %u: %s", code, h->id, text);
		return;
	}
	if (!ag.hello) {
		send_error(h->id, SVM_AP_E_PROTO, "%s frame before HELLO", svm_ap_type_name(h->type));
		return;
	}
	p = proc_find(h->id);
	switch (h->type) {
	case SVM_AP_EXEC:
		if (!p && !(p = proc_new(h->id))) {
			send_error(h->id, SVM_AP_E_LIMIT, "cannot take process %u: %d processes already", h->id, MAX_PROCS);
			return;
		}
		if (p->state == P_FAILED)
			return;
		if (p->state != P_ASSEMBLING) {
			send_error(h->id, SVM_AP_E_ID, "process id %u is already running", h->id);
			return;
		}
		if (svm_ap_exec_add(&p->req, pl, h->len, &why) < 0) {
			send_error(h->id, SVM_AP_E_PROTO, "bad EXEC request: %s", why);
			svm_ap_exec_free(&p->req);
			p->state = P_FAILED;
			p->fail_code = 126;
		}
		return;
	case SVM_AP_START:
		if (!p || p->state == P_RUNNING) {
			send_error(h->id, SVM_AP_E_ID, "START for process %u: %s", h->id,
				   p ? "already running" : "no EXEC before");
			return;
		}
		if (p->state == P_FAILED) {
			send_exit(p->id, SVM_AP_EXIT_CODE, p->fail_code, 0);
			proc_free(p);
			return;
		}
		proc_start(p);
		return;
	case SVM_AP_DATA:
	case SVM_AP_EOF:
		if (h->stream == SVM_AP_STDOUT || h->stream == SVM_AP_STDERR) {
			send_error(h->id, SVM_AP_E_PROTO, "%s on a stream the agent does not read", svm_ap_type_name(h->type));
			return;
		}
		if (!p || p->state != P_RUNNING)
			return;		/* raced with the exit */
		if (h->type == SVM_AP_DATA) {
			on_data(p, h, pl);
		} else {
			p->in[h->stream].eof = 1;
			if (svm_buf_used(&p->in[h->stream].buf) == 0)
				sink_close(p, h->stream);
		}
		return;
	case SVM_AP_CREDIT: {
		uint32_t n;

		if (svm_ap_credit_decode(pl, h->len, &n, &why) < 0 || h->stream == SVM_AP_STDIN) {
			send_error(h->id, SVM_AP_E_PROTO, "bad CREDIT: %s", h->stream == SVM_AP_STDIN ? "for stdin" : why);
			return;
		}
		if (p && p->out[h->stream].credit < (1ULL << 32))
			p->out[h->stream].credit += n;
		return;
	}
	case SVM_AP_SIGNAL: {
		int sig;

		if (svm_ap_signal_decode(pl, h->len, &sig, &why) < 0) {
			send_error(h->id, SVM_AP_E_PROTO, "bad SIGNAL: %s", why);
			return;
		}
		if (!p)
			return;
		if (p->state != P_RUNNING) {
			/* Cancels a request that never started. */
			send_exit(p->id, SVM_AP_EXIT_SIGNAL, sig, 0);
			proc_free(p);
			return;
		}
		if (!p->exited && kill(-p->pid, sig) < 0 && errno != ESRCH)
			send_error(h->id, SVM_AP_E_EXEC, "cannot send signal %d to process group %d: %s", sig, (int)p->pid, strerror(errno));
		return;
	}
	case SVM_AP_WINSIZE: {
		uint16_t rows, cols;

		if (svm_ap_winsize_decode(pl, h->len, &rows, &cols, &why) < 0) {
			send_error(h->id, SVM_AP_E_PROTO, "bad WINSIZE: %s", why);
			return;
		}
		if (p && p->pty && p->out[SVM_AP_STDOUT].fd >= 0) {
			struct winsize ws = { .ws_row = rows, .ws_col = cols };

			ioctl(p->out[SVM_AP_STDOUT].fd, TIOCSWINSZ, &ws);
		}
		return;
	}
	case SVM_AP_RAW: {
		int mode;
		uint64_t bytes;

		if (svm_ap_raw_decode(pl, h->len, &mode, &bytes, &why) < 0) {
			send_error(0, SVM_AP_E_PROTO, "bad RAW: %s", why);
			return;
		}
		raw_bench(mode, bytes);
		return;
	}
	default:
		send_error(h->id, SVM_AP_E_PROTO, "%s frame is not for the agent", svm_ap_type_name(h->type));
		return;
	}
}

/* ------------------------------------------------------------ channel */
static int chan_flush_blocking(int timeout_ms)
{
	while (svm_buf_used(&ag.out)) {
		struct pollfd pfd = { .fd = ag.chan, .events = POLLOUT };
		ssize_t n;

		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		n = write(ag.chan, ag.out.data + ag.out.off, svm_buf_used(&ag.out));
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (n > 0)
			svm_buf_consume(&ag.out, (size_t)n);
	}
	return 0;
}

/* RAW: the benchmark's raw copy over the channel; blocks everything else
 * for its length, which is why it is only for an idle agent. */
static void raw_bench(int mode, uint64_t bytes)
{
	static uint8_t buf[65536];
	uint8_t r[SVM_AP_RAW_LEN];
	uint64_t left = bytes;
	struct pollfd pfd = { .fd = ag.chan };
	ssize_t n;

	svm_ap_raw_encode(r, mode, bytes);
	if (mode == SVM_AP_RAW_SINK) {
		left -= svm_ap_reader_drain(&ag.rd, left);
		while (left) {
			pfd.events = POLLIN;
			if (poll(&pfd, 1, 30000) <= 0)
				break;
			/* As the agent reads the channel: same calls, same sizes. */
			n = chan_readv(buf, left < sizeof(buf) ? left : sizeof(buf));
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				break;
			if (n > 0)
				left -= (uint64_t)n;
		}
		send_frame(SVM_AP_RAW, 0, 0, r, sizeof(r));
		return;
	}
	send_frame(SVM_AP_RAW, 0, 0, r, sizeof(r));
	if (chan_flush_blocking(30000) < 0)
		return;
	memset(buf, 'r', sizeof(buf));
	while (left) {
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 30000) <= 0)
			break;
		n = write(ag.chan, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (n > 0)
			left -= (uint64_t)n;
	}
}

static void chan_lost(const char *why)
{
	if (ag.verbose || ag.hello)
		say("host channel closed (%s)", why);
	session_end(why);
	if (ag.mode == MODE_PORT) {
		/* The port stays open; the host end comes back by itself. */
		ag.hup = 1;
		ag.retry_at = now_ms() + RETRY_MS;
		return;
	}
	close_fd(&ag.chan);
}

/* A virtio port read returns at most one of its page-sized buffers; the
 * port has no read_iter, so readv() reads one buffer per segment and
 * takes many buffers in one call. */
static ssize_t chan_readv(uint8_t *dst, size_t room)
{
	struct iovec iov[SVM_AP_MAX_PAYLOAD / PORT_BUF + 2];
	int k = 0;

	if (ag.mode != MODE_PORT)
		return read(ag.chan, dst, room);
	while (room && k < (int)(sizeof(iov) / sizeof(iov[0]))) {
		size_t n = room < PORT_BUF ? room : PORT_BUF;

		iov[k].iov_base = dst;
		iov[k++].iov_len = n;
		dst += n;
		room -= n;
	}
	return readv(ag.chan, iov, k);
}

static void chan_read(void)
{
	int reads;

	/* Several reads per wakeup while much comes: fewer polls. */
	for (reads = 0; reads < CHAN_READS && ag.chan >= 0 && !ag.hup; reads++) {
		struct svm_ap_hdr h;
		const uint8_t *pl;
		const char *why;
		size_t room;
		uint8_t *dst;
		ssize_t n;

		dst = svm_ap_reader_space(&ag.rd, &room);
		n = chan_readv(dst, room);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				chan_lost(strerror(errno));
			return;
		}
		if (n == 0) {
			chan_lost("end of file");
			return;
		}
		svm_ap_reader_commit(&ag.rd, (size_t)n);
		for (;;) {
			enum svm_ap_next r = svm_ap_reader_next(&ag.rd, &h, &pl, &why);

			if (r == SVM_AP_NEED_MORE)
				break;
			if (r == SVM_AP_BAD) {
				send_error(h.id, SVM_AP_E_PROTO, "bad frame (type %u, process %u, %u bytes): %s",
					   h.type, h.id, h.len, why);
				continue;
			}
			on_frame(&h, pl);
			if (ag.chan < 0 || ag.hup)
				return;
		}
		if (n < 16384)
			return;		/* little came: likely nothing more yet */
	}
}

static int chan_open(void)
{
	if (ag.given_fd >= 0) {
		ag.chan = ag.given_fd;
		ag.given_fd = -2;	/* used: when it closes, we are done */
	} else if (ag.given_fd == -2) {
		ag.term = 1;
		return -1;
	} else if (ag.listen_path) {
		ag.chan = accept4(ag.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (ag.chan < 0)
			return -1;
	} else {
		ag.chan = open(ag.port, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (ag.chan < 0)
			return -1;
		/* The port raises SIGIO when the host end opens or closes. */
		fcntl(ag.chan, F_SETOWN, getpid());
		fcntl(ag.chan, F_SETFL, fcntl(ag.chan, F_GETFL) | O_ASYNC);
	}
	set_nonblock(ag.chan);
	svm_ap_reader_init(&ag.rd, SVM_AP_HELLO, 0);
	svm_buf_clear(&ag.out);
	ag.hello = 0;
	ag.hup = 0;
	if (!ag.announced) {
		uint8_t r[SVM_AP_READY_LEN];

		/* Tells a relay that was talking to a previous agent to resync. */
		svm_ap_ready_encode(r, SVM_AP_VERSION, SVM_AP_READY_ANNOUNCE, SVM_AP_MAX_PAYLOAD);
		send_frame(SVM_AP_READY, 0, 0, r, sizeof(r));
		ag.announced = 1;
	}
	if (ag.verbose)
		say("channel open");
	return 0;
}

/* ------------------------------------------------------------ main loop */
static void reap(void)
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

static void read_errfd(struct proc *p)
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

/* Writes what the child's pipe takes of D; returns how much is done with
 * (all of it if the child closed its end: dropped). */
static size_t sink_put(struct sink *k, const uint8_t *d, size_t n)
{
	ssize_t w = write(k->fd, d, n);

	if (w >= 0)
		return (size_t)w;
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	close_fd(&k->fd);
	return n;
}

static void sink_settle(struct proc *p, int s);

/* Host data for the child: straight into its pipe when nothing waits
 * before it (no copy through the agent's buffer), the rest queued within
 * the credit granted, so bounded. */
static void sink_push(struct proc *p, int s, const uint8_t *d, size_t n)
{
	struct sink *k = &p->in[s];

	if (svm_buf_used(&k->buf) == 0) {
		size_t w = sink_put(k, d, n);

		k->owed += (uint32_t)w;
		d += w;
		n -= w;
	}
	if (n && k->fd < 0) {
		k->owed += (uint32_t)n;	/* nobody reads it: dropped */
	} else if (n && svm_buf_append(&k->buf, d, n) < 0) {
		k->credit += (uint32_t)n;
		send_error(p->id, SVM_AP_E_LIMIT, "cannot buffer stdin data: out of memory");
	}
	sink_settle(p, s);
}

static void sink_write(struct proc *p, int s)
{
	struct sink *k = &p->in[s];
	size_t used = svm_buf_used(&k->buf);

	if (used && k->fd >= 0) {
		size_t n = sink_put(k, k->buf.data + k->buf.off, used);

		if (k->fd < 0)
			n = used;	/* the child closed its end: drop it all */
		svm_buf_consume(&k->buf, n);
		k->owed += (uint32_t)n;
	}
	sink_settle(p, s);
}

static void sink_settle(struct proc *p, int s)
{
	struct sink *k = &p->in[s];

	/* Give credit back in chunks, or at once when the buffer ran dry. */
	if (k->owed >= SVM_AP_WINDOW / 4 || (k->owed && svm_buf_used(&k->buf) == 0)) {
		k->credit += k->owed;
		send_credit(p->id, (unsigned)s, k->owed);
		k->owed = 0;
	}
	if (svm_buf_used(&k->buf) == 0 && k->eof)
		sink_close(p, s);
}

/* Reads one DATA frame from the child; 1 if it filled the frame (the
 * pipe may hold more), else 0. */
static int source_read(struct proc *p, int s)
{
	struct source *o = &p->out[s];
	size_t want = SVM_AP_MAX_PAYLOAD;
	struct svm_ap_hdr h = { .type = SVM_AP_DATA, .stream = (uint8_t)s, .id = p->id };
	uint8_t *d;
	ssize_t n;

	if (p->gen != ag.gen) {
		/* Orphan: read and drop, so the child never blocks on a full pipe. */
		static uint8_t junk[65536];

		n = read(o->fd, junk, sizeof(junk));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			close_fd(&o->fd);
		return 0;
	}
	if (want > o->credit)
		want = (size_t)o->credit;
	d = svm_buf_reserve(&ag.out, SVM_AP_HDR_LEN + want);
	if (!d)
		return 0;
	n = read(o->fd, d + SVM_AP_HDR_LEN, want);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		/* EOF, or EIO from a pty whose last holder closed it. */
		close_fd(&o->fd);
		if (s == SVM_AP_STDOUT && p->pty)
			close_fd(&p->in[SVM_AP_STDIN].fd);
		send_frame(SVM_AP_EOF, (unsigned)s, p->id, NULL, 0);
		proc_maybe_finish(p);
		return 0;
	}
	h.len = (uint32_t)n;
	svm_ap_hdr_encode(&h, d);
	svm_buf_commit(&ag.out, SVM_AP_HDR_LEN + (size_t)n);
	o->credit -= (uint64_t)n;
	return (size_t)n == want;
}

/* Closes stdio an exited process left to a background holder, once the
 * pipes are empty and the grace time is over. */
static void drain_deadline(struct proc *p, long long now)
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

enum { W_SIG, W_CHAN, W_LISTEN, W_ERR, W_SINK, W_SOURCE, W_ACCEPT };
struct watch {
	int what;
	struct proc *p;
	int s;
};

static void loop(void)
{
	size_t cap = 0, nfd, i;
	struct pollfd *pfd = NULL;
	struct watch *w = NULL;

	while (!ag.term) {
		long long now = now_ms(), timeout = -1;
		int chan_ok, rc;

		if (ag.chan < 0 && (ag.given_fd != -2) && !ag.listen_path) {
			if (chan_open() < 0 && !ag.term) {
				static int told;

				if (!told++)
					say("cannot open %s: %s (retrying every second)", ag.port, strerror(errno));
				timeout = RETRY_MS;
			}
		} else if (ag.chan < 0 && ag.given_fd == -2) {
			break;
		}
		if (ag.hup && now >= ag.retry_at)
			ag.hup = 0;
		if (ag.hup)
			timeout = ag.retry_at - now;
		chan_ok = ag.chan >= 0 && !ag.hup;

		if (cap < 3 + ag.nprocs * (2 * SVM_AP_STREAMS + 2)) {
			cap = 3 + ag.nprocs * (2 * SVM_AP_STREAMS + 2) + 64;
			pfd = realloc(pfd, cap * sizeof(*pfd));
			w = realloc(w, cap * sizeof(*w));
			if (!pfd || !w) {
				say("out of memory for the poll set");
				exit(1);
			}
		}
		nfd = 0;
#define WATCH(FD, EV, WHAT, P, S) do { pfd[nfd].fd = (FD); pfd[nfd].events = (EV); \
		pfd[nfd].revents = 0; w[nfd].what = (WHAT); w[nfd].p = (P); w[nfd].s = (S); nfd++; } while (0)
		WATCH(ag.sigpipe[0], POLLIN, W_SIG, NULL, 0);
		if (chan_ok)
			WATCH(ag.chan, POLLIN | (svm_buf_used(&ag.out) ? POLLOUT : 0), W_CHAN, NULL, 0);
		if (ag.listen_fd >= 0 && ag.chan < 0)
			WATCH(ag.listen_fd, POLLIN, W_LISTEN, NULL, 0);
		/* A different process first each time: none waits behind another. */
		ag.rr++;
		for (i = 0; i < ag.nprocs; i++) {
			struct proc *p = ag.procs[(i + ag.rr) % ag.nprocs];
			int s;

			if (p->state != P_RUNNING)
				continue;
			if (p->errfd >= 0)
				WATCH(p->errfd, POLLIN, W_ERR, p, 0);
			if (p->lfd >= 0 && !p->exited)
				WATCH(p->lfd, POLLIN, W_ACCEPT, p, 0);
			for (s = 0; s < SVM_AP_STREAMS; s++) {
				if (p->in[s].fd >= 0 && svm_buf_used(&p->in[s].buf))
					WATCH(p->in[s].fd, POLLOUT, W_SINK, p, s);
				if (p->out[s].fd >= 0 &&
				    (p->gen != ag.gen || (chan_ok && p->out[s].credit > 0 &&
							  svm_buf_used(&ag.out) < OUT_HIGH_WATER)))
					WATCH(p->out[s].fd, POLLIN, W_SOURCE, p, s);
			}
			if (p->exited) {
				long long left = p->exit_ms + DRAIN_GRACE_MS - now;

				if (left < 0)
					left = 0;
				if (timeout < 0 || left + 10 < timeout)
					timeout = left + 10;
			}
		}
		rc = poll(pfd, nfd, (int)timeout);
		if (rc < 0 && errno != EINTR) {
			say("poll failed: %s", strerror(errno));
			exit(1);
		}
		for (i = 0; rc > 0 && i < nfd; i++) {
			struct proc *p = w[i].p;
			short re = pfd[i].revents;

			if (!re)
				continue;
			/* A handler may free a process another entry points at. */
			if (p) {
				size_t j;
				int alive = 0;

				for (j = 0; j < ag.nprocs && !alive; j++)
					alive = ag.procs[j] == p;
				if (!alive)
					continue;
			}
			switch (w[i].what) {
			case W_SIG: {
				char junk[64];

				while (read(ag.sigpipe[0], junk, sizeof(junk)) > 0)
					;
				reap();
				/* SIGIO: the host end may be back; look now. */
				ag.hup = 0;
				break;
			}
			case W_LISTEN:
				if (chan_open() < 0 && errno != EAGAIN)
					say("cannot accept on %s: %s", ag.listen_path, strerror(errno));
				break;
			case W_CHAN:
				if (ag.chan < 0)
					break;
				if (re & POLLOUT) {
					ssize_t n = write(ag.chan, ag.out.data + ag.out.off, svm_buf_used(&ag.out));

					if (n > 0)
						svm_buf_consume(&ag.out, (size_t)n);
					else if (n < 0 && errno != EAGAIN && errno != EINTR) {
						chan_lost(strerror(errno));
						break;
					}
				}
				if (re & (POLLIN | POLLERR))
					chan_read();
				else if (re & POLLHUP)
					chan_lost("host end closed");
				break;
			case W_ERR:
				read_errfd(p);
				break;
			case W_SINK:
				sink_write(p, w[i].s);
				break;
			case W_ACCEPT:
				listen_accept(p);
				break;
			case W_SOURCE: {
				/* A few frames while the pipe is full: fewer polls. */
				int k = 0;

				while (source_read(p, w[i].s) && ++k < 4 && p->gen == ag.gen &&
				       p->out[w[i].s].credit > 0 && svm_buf_used(&ag.out) < OUT_HIGH_WATER)
					;
				break;
			}
			}
		}
		now = now_ms();
		for (i = ag.nprocs; i-- > 0;)
			if (ag.procs[i]->exited && i < ag.nprocs)
				drain_deadline(ag.procs[i], now);
		/* Opportunistic flush keeps latency low for small frames; a port
		 * takes at most 32 KiB per write, so write while it takes. */
		while (ag.chan >= 0 && !ag.hup && svm_buf_used(&ag.out)) {
			ssize_t n = write(ag.chan, ag.out.data + ag.out.off, svm_buf_used(&ag.out));

			if (n <= 0)
				break;
			svm_buf_consume(&ag.out, (size_t)n);
		}
	}
	free(pfd);
	free(w);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: slurm-vm-agent [--port PATH | --listen-unix PATH | --fd N] [--verbose]\n"
		"                      [--configure | --no-configure | --show-config]\n"
		"Runs processes for the slurm-vm host over a virtio-serial port.\n"
		"  --port PATH         the virtio-serial port (default " DEFAULT_PORT ")\n"
		"  --listen-unix PATH  accept one host at a time on a unix socket (tests)\n"
		"  --fd N              use the connected socket N; exit when it closes\n"
		"  --verbose           log sessions and errors to stderr\n"
		"  --configure         apply the slurmvm.* settings (SMBIOS OEM strings, kernel\n"
		"                      command line) before answering: host name, job network\n"
		"                      address, 9p shares (default with --port)\n"
		"  --no-configure      do not\n"
		"  --show-config       print the settings found and exit\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "listen-unix", required_argument, NULL, 'l' },
		{ "fd", required_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "configure", no_argument, NULL, 'C' },
		{ "no-configure", no_argument, NULL, 'N' },
		{ "show-config", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	int c, fd, configure = -1, show = 0;
	size_t i;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': ag.port = optarg; ag.mode = MODE_PORT; break;
		case 'l': ag.listen_path = optarg; ag.mode = MODE_LISTEN; break;
		case 'f': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*optarg == '\0' || *end || v < 0 || v > INT_MAX) {
				say("--fd wants a file descriptor number, not '%s'", optarg);
				return 2;
			}
			ag.given_fd = (int)v;
			ag.mode = MODE_FD;
			break;
		}
		case 'v': ag.verbose = 1; break;
		case 'C': configure = 1; break;
		case 'N': configure = 0; break;
		case 'S': show = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* Children get 0-2 from us; make sure no channel fd lands there. */
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
	/* By default with --port, whatever the boot: the agent is the one
	 * place that configures a guest (host name, job network address,
	 * shares), from the SMBIOS OEM strings and the kernel command line,
	 * so every image gets the same setup and the tests exercise it. */
	if (show || configure == 1 || (configure < 0 && ag.mode == MODE_PORT)) {
		/* Before READY: a task must find its host name, network and
		 * working directory in place (the guest config is static). */
		static struct svm_gc gc;

		svm_gs_read(&gc, SVM_GS_DMI_DIR, SVM_GS_CMDLINE);
		if (show) {
			svm_gs_print(&gc, stdout);
			return 0;
		}
		svm_gs_apply(&gc);
	}
	if (pipe2(ag.sigpipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		say("cannot create the signal pipe: %s", strerror(errno));
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGIO, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (ag.listen_path) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		if (strlen(ag.listen_path) >= sizeof(sun.sun_path)) {
			say("cannot listen on %s: path too long", ag.listen_path);
			return 1;
		}
		strcpy(sun.sun_path, ag.listen_path);
		unlink(ag.listen_path);
		ag.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (ag.listen_fd < 0 || bind(ag.listen_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
		    listen(ag.listen_fd, 4) < 0) {
			say("cannot listen on %s: %s", ag.listen_path, strerror(errno));
			return 1;
		}
	}
	svm_ap_reader_init(&ag.rd, SVM_AP_HELLO, 0);
	loop();
	for (i = 0; i < ag.nprocs; i++)
		proc_kill(ag.procs[i]);
	if (ag.listen_path)
		unlink(ag.listen_path);
	return 0;
}
