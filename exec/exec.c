/* slurm-vm-exec: runs one process in the job's guest through the relay (or
 * straight on an agent channel) and stands in for it on the host: stdio,
 * signals and exit status.  Runs as the user; never setuid. */
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
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <termios.h>
#include <unistd.h>

#include "agent_proto.h"
#include "cpulist.h"
#include "hostio.h"

#define PID 1			/* our only process id on the connection */
#define HELLO_TIMEOUT_MS 60000
#define EXIT_FAIL 255
#define CREDIT_BATCH (64u * 1024)
#define EXTRA_WINDOW (1024u * 1024)	/* granted on top of SVM_AP_WINDOW */

extern char **environ;

static struct {
	const char *socket;
	int sock;
	struct svm_ap_reader rd;
	struct svm_buf out;
	int sigpipe[2];
	int pty;
	int tty_raw;
	struct termios tty_saved;
	uint32_t credit[SVM_AP_STREAMS];	/* what we may send on STDIN, AUX, connections */
	uint32_t owed[SVM_AP_STREAMS];		/* what we read of STDOUT, STDERR, AUX, conns */
	int in_fd[SVM_AP_STREAMS];		/* host fds read for STDIN, AUX, connections */
	int out_fd[SVM_AP_STREAMS];		/* host fds written for the others */
	struct sockaddr_in target;		/* --listen: where guest connections go */
	const char *target_var;
	int exited, code;
	int signal;			/* the signal that killed the process, or 0 */
	int task;			/* task mode: die of that signal too */
	char last_error[SVM_AP_MAX_ERROR_TEXT + 1];	/* from the relay or agent */
} ex = {
	.sock = -1,
	.sigpipe = { -1, -1 },
	.in_fd = { 0, -1, -1, -1, [SVM_AP_CONN_FIRST ... SVM_AP_STREAMS - 1] = -1 },
	.out_fd = { -1, 1, 2, -1, [SVM_AP_CONN_FIRST ... SVM_AP_STREAMS - 1] = -1 },
};

static void restore_tty(void)
{
	if (ex.tty_raw) {
		tcsetattr(0, TCSADRAIN, &ex.tty_saved);
		ex.tty_raw = 0;
	}
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	char buf[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	restore_tty();
	fprintf(stderr, "slurm-vm-exec: %s\n", buf);
	exit(EXIT_FAIL);
}

static void on_signal(int sig)
{
	int e = errno;
	unsigned char c = (unsigned char)sig;

	if (write(ex.sigpipe[1], &c, 1) < 0) {
		/* pipe full: signals of the same kind are merged anyway */
	}
	errno = e;
}

static void put(unsigned type, unsigned stream, const void *p, size_t n)
{
	if (svm_ap_put(&ex.out, type, stream, PID, p, n) < 0)
		die("cannot queue a %s frame: out of memory", svm_ap_type_name(type));
}

static void send_winsize(void)
{
	struct winsize ws;
	uint8_t p[4];

	if (ioctl(0, TIOCGWINSZ, &ws) < 0 && ioctl(1, TIOCGWINSZ, &ws) < 0)
		return;
	svm_ap_winsize_encode(p, ws.ws_row, ws.ws_col);
	put(SVM_AP_WINSIZE, 0, p, 4);
}

/* Forwards the signals caught since the last call. */
static void forward_signals(void)
{
	unsigned char sigs[64];
	ssize_t n, i;

	while ((n = read(ex.sigpipe[0], sigs, sizeof(sigs))) > 0) {
		for (i = 0; i < n; i++) {
			int sig = sigs[i];
			uint8_t p[4];

			if (sig == SIGWINCH) {
				if (ex.pty)
					send_winsize();
				continue;
			}
			/* A stop request from Slurm must stop the guest process
			 * even if it ignores SIGTSTP; SIGCONT resumes it. */
			if (sig == SIGTSTP)
				sig = SIGSTOP;
			svm_ap_u32_encode(p, (uint32_t)sig);
			put(SVM_AP_SIGNAL, 0, p, 4);
		}
	}
	svm_write_some(ex.sock, &ex.out);
}

/* Blocking write to a local fd; signals are forwarded while it waits. */
static void write_local(int fd, const uint8_t *p, size_t n, const char *what)
{
	size_t done;

	while (n) {
		if (svm_write_all(fd, p, n, &done) == 0)
			return;
		if (errno != EINTR) {
			if (errno == EPIPE)
				return;	/* reader gone: like a pipe, drop */
			die("cannot write the process's %s: %s", what, strerror(errno));
		}
		forward_signals();
		p += done;
		n -= done;
	}
}

static void give_credit(int s, int force)
{
	uint8_t p[4];

	if (ex.owed[s] && (force || ex.owed[s] >= CREDIT_BATCH)) {
		svm_ap_u32_encode(p, ex.owed[s]);
		put(SVM_AP_CREDIT, (unsigned)s, p, 4);
		ex.owed[s] = 0;
	}
}

/* A guest connection (CONNECT on stream S): its host end connects to the
 * --listen target (the PMIx server).  If it cannot, the guest end sees EOF
 * and what it sends is dropped. */
static void conn_open(int s)
{
	int fd;

	if (ex.in_fd[s] >= 0 || ex.out_fd[s] >= 0 || !ex.target_var)
		die("protocol error: the agent opened connection %d twice or unasked", s);
	ex.credit[s] = SVM_AP_WINDOW;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ex.target, sizeof(ex.target)) < 0) {
		char a[INET_ADDRSTRLEN];

		fprintf(stderr, "slurm-vm-exec: cannot connect the guest's connection to %s:%u (%s): %s\n",
			inet_ntop(AF_INET, &ex.target.sin_addr, a, sizeof(a)) ? a : "?",
			ntohs(ex.target.sin_port), ex.target_var, strerror(errno));
		if (fd >= 0)
			close(fd);
		put(SVM_AP_EOF, (unsigned)s, NULL, 0);
		return;
	}
	ex.in_fd[s] = ex.out_fd[s] = fd;
}

/* Guest data for connection S: written out in full (blocking, signals
 * forwarded meanwhile); a peer that is gone drops it. */
static void conn_write(int s, const uint8_t *p, size_t n)
{
	size_t done;

	while (n) {
		if (svm_write_all(ex.out_fd[s], p, n, &done) == 0)
			return;
		if (errno != EINTR) {
			shutdown(ex.out_fd[s], SHUT_WR);
			if (ex.in_fd[s] < 0)
				close(ex.out_fd[s]);
			ex.out_fd[s] = -1;
			return;
		}
		forward_signals();
		p += done;
		n -= done;
	}
}

static void on_frame(const struct svm_ap_hdr *h, const uint8_t *pl)
{
	static const char *const names[] = { "stdin", "stdout", "stderr", "aux stream" };
	const char *why;

	switch (h->type) {
	case SVM_AP_DATA:
		if (h->stream == SVM_AP_STDIN)
			die("protocol error: the agent sent data on stdin");
		if (ex.out_fd[h->stream] >= 0 && h->stream >= SVM_AP_CONN_FIRST)
			conn_write(h->stream, pl, h->len);
		else if (ex.out_fd[h->stream] >= 0)
			write_local(ex.out_fd[h->stream], pl, h->len, names[h->stream]);
		ex.owed[h->stream] += h->len;
		give_credit(h->stream, 0);
		return;
	case SVM_AP_EOF:
		if (h->stream >= SVM_AP_AUX && ex.out_fd[h->stream] >= 0)
			shutdown(ex.out_fd[h->stream], SHUT_WR);
		return;
	case SVM_AP_CONNECT:
		conn_open(h->stream);
		return;
	case SVM_AP_CREDIT: {
		uint32_t n;

		if (svm_ap_credit_decode(pl, h->len, &n, &why) < 0)
			die("protocol error from the agent: %s", why);
		if (ex.credit[h->stream] < (1u << 30))
			ex.credit[h->stream] += n;
		return;
	}
	case SVM_AP_ERROR: {
		uint32_t code;
		char text[SVM_AP_MAX_ERROR_TEXT + 1];

		if (svm_ap_error_decode(pl, h->len, &code, text, sizeof(text), &why) < 0)
			die("protocol error from the agent: %s", why);
		restore_tty();
		if (code == SVM_AP_E_GONE)
			die("%s", text);
		fprintf(stderr, "slurm-vm-exec: %s\n", text);
		snprintf(ex.last_error, sizeof(ex.last_error), "%s", text);
		return;
	}
	case SVM_AP_EXIT: {
		int how, value, core;

		if (svm_ap_exit_decode(pl, h->len, &how, &value, &core, &why) < 0)
			die("protocol error from the agent: %s", why);
		ex.exited = 1;
		ex.code = how == SVM_AP_EXIT_SIGNAL ? 128 + value : value;
		ex.signal = how == SVM_AP_EXIT_SIGNAL ? value : 0;
		return;
	}
	default:
		return;
	}
}

/* Reads what the socket has and handles every whole frame in it. */
static void sock_read(void)
{
	struct svm_ap_hdr h;
	const uint8_t *pl;
	const char *why;
	size_t room;
	uint8_t *d = svm_ap_reader_space(&ex.rd, &room);
	ssize_t n = read(ex.sock, d, room);
	int s;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* An ERROR just before the close already said why, on its line. */
		if (ex.last_error[0]) {
			restore_tty();
			exit(EXIT_FAIL);
		}
		die("lost the guest agent: %s closed before the process exited (%s)", ex.socket,
		    n == 0 ? "the relay or the guest is gone" : strerror(errno));
	}
	svm_ap_reader_commit(&ex.rd, (size_t)n);
	for (;;) {
		enum svm_ap_next r = svm_ap_reader_next(&ex.rd, &h, &pl, &why);

		if (r == SVM_AP_NEED_MORE)
			break;
		if (r == SVM_AP_BAD)
			die("protocol error from the agent: %s", why);
		if (h.id == PID || h.type == SVM_AP_ERROR)
			on_frame(&h, pl);
	}
	for (s = SVM_AP_STDOUT; s < SVM_AP_STREAMS; s++)
		give_credit(s, 1);
}

/* The peer closed: what it said last (an ERROR) is the message. */
static void write_failed(void) __attribute__((noreturn));
static void write_failed(void)
{
	long long deadline = svm_now_ms() + 5000;
	char why[256];

	snprintf(why, sizeof(why), "%s", strerror(errno));
	ex.out.off = ex.out.len = 0;
	while (svm_now_ms() < deadline) {
		struct pollfd pfd = { .fd = ex.sock, .events = POLLIN };

		if (poll(&pfd, 1, 1000) > 0)
			sock_read();	/* exits at the close, with the ERROR it read */
		if (ex.exited) {
			restore_tty();
			exit(ex.code);
		}
	}
	die("lost the guest agent: cannot write to %s: %s", ex.socket, why);
}

/* Reads local input into a DATA frame, within the credit the agent gave. */
static void input_read(int s)
{
	size_t want = ex.credit[s] < SVM_AP_MAX_PAYLOAD ? ex.credit[s] : SVM_AP_MAX_PAYLOAD;
	struct svm_ap_hdr h = { .type = SVM_AP_DATA, .stream = (uint8_t)s, .id = PID };
	uint8_t *d = svm_buf_reserve(&ex.out, SVM_AP_HDR_LEN + want);
	ssize_t n;

	if (!d)
		die("cannot buffer input: out of memory");
	n = read(ex.in_fd[s], d + SVM_AP_HDR_LEN, want);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* EOF, or an input we cannot read (EIO of a lost tty): EOF too. */
		put(SVM_AP_EOF, (unsigned)s, NULL, 0);
		if (s >= SVM_AP_AUX)
			shutdown(ex.in_fd[s], SHUT_RD);	/* the other direction may go on */
		else if (ex.in_fd[s] > 2)
			close(ex.in_fd[s]);
		ex.in_fd[s] = -1;
		return;
	}
	h.len = (uint32_t)n;
	svm_ap_hdr_encode(&h, d);
	svm_buf_commit(&ex.out, SVM_AP_HDR_LEN + (size_t)n);
	ex.credit[s] -= (uint32_t)n;
}

/* REPEAT: straight on an agent channel (--bench-raw), say HELLO again
 * every second until READY, as the relay does: after the previous host
 * closed the channel, a HELLO can go unanswered.  Never to a relay, which
 * takes one HELLO per client. */
static void handshake(int repeat)
{
	uint8_t p[SVM_AP_HELLO_LEN];
	long long deadline = svm_now_ms() + HELLO_TIMEOUT_MS, hello_at = svm_now_ms();
	struct svm_ap_hdr h;
	const uint8_t *pl;
	const char *why;

	svm_ap_hello_encode(p, SVM_AP_VERSION, SVM_AP_VERSION);
	if (svm_ap_put(&ex.out, SVM_AP_HELLO, 0, 0, p, sizeof(p)) < 0)
		die("out of memory");
	svm_ap_reader_init(&ex.rd, SVM_AP_READY, 1);
	for (;;) {
		struct pollfd pfd = { .fd = ex.sock, .events = POLLIN | (svm_buf_used(&ex.out) ? POLLOUT : 0) };
		long long left = deadline - svm_now_ms();
		enum svm_ap_next r;
		size_t room;
		uint8_t *d;
		ssize_t n;

		if (left <= 0)
			die("the guest agent behind %s did not answer within %d s", ex.socket, HELLO_TIMEOUT_MS / 1000);
		if (repeat) {
			long long now = svm_now_ms();

			if (now - hello_at >= 1000) {
				if (svm_ap_put(&ex.out, SVM_AP_HELLO, 0, 0, p, sizeof(p)) < 0)
					die("out of memory");
				pfd.events |= POLLOUT;
				hello_at = now;
			}
			if (left > hello_at + 1000 - now)
				left = hello_at + 1000 - now;
		}
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			die("poll failed: %s", strerror(errno));
		if ((pfd.revents & POLLOUT) && svm_write_some(ex.sock, &ex.out) < 0)
			die("lost the guest agent: cannot write to %s: %s", ex.socket, strerror(errno));
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		d = svm_ap_reader_space(&ex.rd, &room);
		n = read(ex.sock, d, room);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			die("lost the guest agent: %s closed during the handshake", ex.socket);
		svm_ap_reader_commit(&ex.rd, (size_t)n);
		while ((r = svm_ap_reader_next(&ex.rd, &h, &pl, &why)) != SVM_AP_NEED_MORE) {
			uint16_t ver, fl;
			uint32_t maxp;

			if (r == SVM_AP_BAD)
				die("protocol error from %s during the handshake: %s", ex.socket, why);
			if (h.type == SVM_AP_ERROR) {
				uint32_t code;
				char text[SVM_AP_MAX_ERROR_TEXT + 1];

				if (svm_ap_error_decode(pl, h.len, &code, text, sizeof(text), &why) == 0)
					die("%s", text);
			}
			if (h.type != SVM_AP_READY)
				continue;
			if (svm_ap_ready_decode(pl, h.len, &ver, &fl, &maxp, &why) < 0)
				die("protocol error from %s: %s", ex.socket, why);
			if (fl & SVM_AP_READY_ANNOUNCE)
				continue;
			if (ver != SVM_AP_VERSION)
				die("the guest agent speaks protocol version %u, this slurm-vm-exec %u", ver, SVM_AP_VERSION);
			return;
		}
	}
}

/* --bench-raw: time a raw copy over an agent channel (no relay). */
static int bench_raw(const char *spec)
{
	static uint8_t buf[65536];
	uint8_t p[SVM_AP_RAW_LEN];
	struct svm_ap_hdr h;
	const uint8_t *pl;
	const char *why;
	char *end;
	unsigned long long bytes, left;
	int mode;
	long long t0, t1;

	if (strncmp(spec, "sink:", 5) == 0)
		mode = SVM_AP_RAW_SINK;
	else if (strncmp(spec, "source:", 7) == 0)
		mode = SVM_AP_RAW_SOURCE;
	else
		die("--bench-raw wants sink:BYTES or source:BYTES, not '%s'", spec);
	bytes = strtoull(strchr(spec, ':') + 1, &end, 10);
	if (*end || bytes == 0)
		die("--bench-raw wants a byte count, not '%s'", spec);
	svm_ap_raw_encode(p, mode, bytes);
	if (svm_ap_put(&ex.out, SVM_AP_RAW, 0, 0, p, sizeof(p)) < 0)
		die("out of memory");
	t0 = svm_now_ms();
	fcntl(ex.sock, F_SETFL, fcntl(ex.sock, F_GETFL) & ~O_NONBLOCK);
	if (svm_write_some(ex.sock, &ex.out) < 0 || svm_buf_used(&ex.out))
		die("cannot write to %s: %s", ex.socket, strerror(errno));
	left = bytes;
	if (mode == SVM_AP_RAW_SINK) {
		memset(buf, 's', sizeof(buf));
		while (left) {
			ssize_t n = write(ex.sock, buf, left < sizeof(buf) ? left : sizeof(buf));

			if (n <= 0)
				die("cannot write to %s: %s", ex.socket, strerror(errno));
			left -= (unsigned long long)n;
		}
	}
	/* Then the RAW answer; for SOURCE the raw bytes follow it. */
	for (;;) {
		size_t room;
		uint8_t *d = svm_ap_reader_space(&ex.rd, &room);
		ssize_t n = read(ex.sock, d, room);
		enum svm_ap_next r;

		if (n <= 0)
			die("lost the agent on %s during the raw copy", ex.socket);
		svm_ap_reader_commit(&ex.rd, (size_t)n);
		/* Every whole frame read so far (a second READY for a repeated
		 * HELLO may come first), not one per read. */
		while ((r = svm_ap_reader_next(&ex.rd, &h, &pl, &why)) == SVM_AP_FRAME &&
		       h.type != SVM_AP_RAW)
			;
		if (r == SVM_AP_BAD)
			die("protocol error during the raw copy: %s", why);
		if (r == SVM_AP_FRAME)
			break;
	}
	if (mode == SVM_AP_RAW_SOURCE) {
		left -= svm_ap_reader_drain(&ex.rd, left);
		while (left) {
			ssize_t n = read(ex.sock, buf, left < sizeof(buf) ? left : sizeof(buf));

			if (n <= 0)
				die("lost the agent on %s during the raw copy", ex.socket);
			left -= (unsigned long long)n;
		}
	}
	t1 = svm_now_ms();
	if (t1 == t0)
		t1++;
	printf("raw %s: %llu bytes in %.3f s: %.1f MB/s\n", mode == SVM_AP_RAW_SINK ? "sink" : "source",
	       bytes, (t1 - t0) / 1000.0, bytes / 1e6 / ((t1 - t0) / 1000.0));
	return 0;
}

static int parse_idlist(const char *s, uint32_t **out, size_t *n)
{
	char *copy = strdup(s), *tok, *save = NULL, *end;
	uint32_t *v = NULL, *nv;
	int rc = -1;

	*n = 0;
	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned long x;

		errno = 0;
		x = strtoul(tok, &end, 10);
		if (*tok == '\0' || *end || errno || x >= UINT32_MAX || *n >= SVM_AP_MAX_GROUPS)
			goto out;
		if (!(nv = realloc(v, (*n + 1) * sizeof(*v))))
			goto out;
		v = nv;
		v[(*n)++] = (uint32_t)x;
	}
	*out = v;
	v = NULL;
	rc = 0;
out:
	free(v);
	free(copy);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: slurm-vm-exec --socket PATH [--cpus LIST] [--pty] [--uid N] [--gid N]\n"
"                     [--groups LIST] [--cwd DIR] [--root] [--aux-fd N --aux-env NAME]\n"
"                     [--listen NAME]... [--mkdir DIR]\n"
"                     -- ARGV...\n"
"Runs ARGV in the job's guest with this process's environment, relaying\n"
"stdin/stdout/stderr and signals; exits with its exit code, 128+N if\n"
"signal N killed it, 255 if the guest or its agent is gone.\n"
"  --socket PATH   the relay's socket (or an agent channel socket)\n"
"  --cpus LIST     CPU list to bind the process to, e.g. 0-3,8\n"
"  --pty           run it on a terminal (stdout and stderr merged)\n"
"  --uid/--gid N   ids to run as (default: ours); --groups LIST likewise\n"
"  --cwd DIR       working directory (default: ours)\n"
"  --root          allow uid 0 (the agent refuses uid 0 without it)\n"
"  --aux-fd N      relay the socket N to the process, which finds its end\n"
"                  as the fd number in the variable --aux-env NAME\n"
"  --listen NAME   the variable NAME holds a tcp4://A.B.C.D:PORT address (a\n"
"                  PMIx server's): the process gets a guest loopback one\n"
"                  instead, whose connections are relayed here (repeatable)\n"
"  --mkdir DIR     create DIR (and parents, 0700) as the user before starting\n");
}

/* A Slurm task killed by a signal must look killed by it to slurmstepd
 * (srun says "Terminated", sacct shows 0:15), not exit 128+N: die of the
 * same signal, without leaving a core file of our own. */
static void die_of_signal(int sig)
{
	struct rlimit no_core = { 0, 0 };
	sigset_t set;

	fflush(NULL);
	setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	exit(128 + sig);	/* a signal that does not kill (SIGCHLD, ...) */
}

/* Slurm's mpi/pmix (PMIx 4+) gives the task its server's address as
 * PMIX_SERVER_URI41 and twins, "pmix-server.PID;tcp4://127.0.0.1:PORT": the
 * rank in the guest gets a guest loopback address relayed to it (--listen).
 * The server's shared-memory store and munge are on the host: the client
 * uses its own hash store and native (uid/gid) security.  Open MPI 5
 * expects the step's client directory, PMIX_NSDIR, to exist: Slurm makes
 * it on the host as BASE/spmix_appdir_UID_JOB.STEP (BASE: SLURM_PMIX_TMPDIR,
 * PMIxCliTmpDirBase, or TmpFS): the first base under which the host has it,
 * else /tmp, is made in the guest (--mkdir). */
static int task_pmix(char **nargv, int n)
{
	static const char *const vars[] = { "PMIX_SERVER_URI41", "PMIX_SERVER_URI4",
		"PMIX_SERVER_URI3", "PMIX_SERVER_URI21", "PMIX_SERVER_URI2" };
	static char dir[PATH_MAX];
	const char *job = getenv("SLURM_JOB_ID"), *step = getenv("SLURM_STEP_ID");
	const char *bases[] = { getenv("SLURM_PMIX_TMPDIR"), "/tmp", getenv("TMPDIR"), "/var/tmp" };
	size_t i, k = 0;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]), *why;
		size_t a, b;
		uint32_t addr;
		uint16_t port;

		if (v && svm_ap_tcp4_find(v, &a, &b, &addr, &port, &why) == 0) {
			nargv[n++] = "--listen";
			nargv[n++] = (char *)vars[i];
			k++;
		}
	}
	if (!k)
		return n;
	setenv("PMIX_GDS_MODULE", "hash", 1);
	setenv("PMIX_MCA_gds", "hash", 1);
	setenv("PMIX_SECURITY_MODE", "native", 1);
	setenv("PMIX_MCA_psec", "native", 1);
	if (!job || !step)
		return n;
	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		struct stat st;

		if (!bases[i] || bases[i][0] != '/')
			continue;
		snprintf(dir, sizeof(dir), "%s/spmix_appdir_%u_%s.%s", bases[i], (unsigned)getuid(), job, step);
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			break;
	}
	if (i == sizeof(bases) / sizeof(bases[0]))
		snprintf(dir, sizeof(dir), "/tmp/spmix_appdir_%u_%s.%s", (unsigned)getuid(), job, step);
	nargv[n++] = "--mkdir";
	nargv[n++] = dir;
	return n;
}

/* Task mode: the SPANK plugin turned a Slurm task into us by replacing its
 * argv[0] and setting SLURM_VM_EXEC_ARGV0 (the task's own argv[0]) and
 * SLURM_VM_SOCKET.  Rewrites the command line into the explicit form:
 * the task's argv, its CPU binding translated to the guest's vCPUs
 * (SLURM_VM_CPUMAP lists the host PU of each vCPU), a pty when Slurm gave
 * the task a terminal (srun --pty).  Our own variables do not reach the
 * guest. */
static void task_mode(int *argc, char ***argv)
{
	static char cpus[8192];
	const char *argv0 = getenv("SLURM_VM_EXEC_ARGV0");
	const char *sock = getenv("SLURM_VM_SOCKET");
	const char *map = getenv("SLURM_VM_CPUMAP");
	const char *pmi;
	char **nargv;
	int n = 0;
	cpu_set_t set;

	if (!argv0)
		return;
	if (!sock || !*sock)
		die("SLURM_VM_SOCKET is not set: cannot reach the job's guest");
	nargv = calloc((size_t)*argc + 14 + 2 * SVM_AP_MAX_LISTEN + 2, sizeof(*nargv));
	if (!nargv)
		die("out of memory");
	nargv[n++] = (*argv)[0];
	nargv[n++] = "--socket";
	nargv[n++] = strdup(sock);
	cpus[0] = '\0';
	if (map && sched_getaffinity(0, sizeof(set), &set) == 0) {
		/* vCPU v runs on host PU pus[v] (the CPU map, cpulist.h): bind
		 * to the vCPUs whose PU is ours, unless we may run everywhere
		 * the guest runs */
		static uint32_t pus[SVM_AP_MAX_CPUS], vcpus[SVM_AP_MAX_CPUS];
		int nv = svm_cpulist_parse(map, pus, SVM_AP_MAX_CPUS), all = 1;
		size_t k = 0;

		if (nv < 0)
			die("SLURM_VM_CPUMAP: '%.64s' is not a CPU list like 0-3,8", map);
		for (int v = 0; v < nv; v++) {
			if (pus[v] >= CPU_SETSIZE || !CPU_ISSET(pus[v], &set)) {
				all = 0;
				continue;
			}
			vcpus[k++] = (uint32_t)v;
		}
		if (!all && k && svm_cpulist_format(vcpus, k, cpus, sizeof(cpus)) == 0) {
			nargv[n++] = "--cpus";
			nargv[n++] = cpus;
		}
	}
	if (isatty(0) && isatty(1))
		nargv[n++] = "--pty";
	/* Slurm's PMI server (--mpi=pmi2) hands the task a socket: the rank in
	 * the guest gets a relayed one under the same variable */
	pmi = getenv("PMI_FD");
	if (pmi && *pmi && strspn(pmi, "0123456789") == strlen(pmi) && fcntl(atoi(pmi), F_GETFD) >= 0) {
		nargv[n++] = "--aux-fd";
		nargv[n++] = strdup(pmi);
		nargv[n++] = "--aux-env";
		nargv[n++] = "PMI_FD";
	}
	n = task_pmix(nargv, n);
	nargv[n++] = "--";
	nargv[n++] = strdup(argv0);
	for (int i = 1; i < *argc; i++)
		nargv[n++] = (*argv)[i];
	nargv[n] = NULL;
	ex.task = 1;
	unsetenv("SLURM_VM_EXEC_ARGV0");
	unsetenv("SLURM_VM_SOCKET");
	unsetenv("SLURM_VM_CPUMAP");
	*argc = n;
	*argv = nargv;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "pty", no_argument, NULL, 'p' },
		{ "uid", required_argument, NULL, 'u' },
		{ "gid", required_argument, NULL, 'g' },
		{ "groups", required_argument, NULL, 'G' },
		{ "cwd", required_argument, NULL, 'd' },
		{ "root", no_argument, NULL, 'r' },
		{ "aux-fd", required_argument, NULL, 'a' },
		{ "aux-env", required_argument, NULL, 'e' },
		{ "bench-raw", required_argument, NULL, 'B' },
		{ "listen", required_argument, NULL, 'L' },
		{ "mkdir", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
				   SIGCONT, SIGTSTP, SIGALRM, SIGWINCH };
	/* The limits Slurm's PropagateResourceLimits=ALL covers. */
	static const int propagated[] = { RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_STACK,
					  RLIMIT_CORE, RLIMIT_RSS, RLIMIT_NPROC, RLIMIT_NOFILE,
					  RLIMIT_MEMLOCK, RLIMIT_AS };
	struct sigaction sa = { .sa_handler = on_signal };
	struct svm_ap_exec e;
	const char *bench = NULL, *groups = NULL, *cpus = NULL;
	char cwd[PATH_MAX];
	int c, have_groups = 0, aux_fd = -1;
	size_t i;

	task_mode(&argc, &argv);
	svm_ap_exec_init(&e);
	e.uid = getuid();
	e.gid = getgid();
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case 's': ex.socket = optarg; break;
		case 'c': cpus = optarg; break;
		case 'p': e.flags |= SVM_AP_F_PTY; break;
		case 'u':
		case 'g':
		case 'a':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end || errno || v >= (c == 'a' ? INT_MAX : UINT32_MAX))
				die("--%s wants a number, not '%s'", c == 'u' ? "uid" : c == 'g' ? "gid" : "aux-fd", optarg);
			if (c == 'u')
				e.uid = (uint32_t)v;
			else if (c == 'g')
				e.gid = (uint32_t)v;
			else
				aux_fd = (int)v;
			break;
		case 'G': groups = optarg; have_groups = 1; break;
		case 'd': e.cwd = optarg; break;
		case 'r': e.flags |= SVM_AP_F_ROOT; break;
		case 'e': e.auxenv = optarg; break;
		case 'B': bench = optarg; break;
		case 'L':
			if (e.nlisten >= SVM_AP_MAX_LISTEN)
				die("--listen: at most %d variables", SVM_AP_MAX_LISTEN);
			e.listen[e.nlisten++] = optarg;
			break;
		case 'm':
			if (optarg[0] != '/')
				die("--mkdir wants an absolute directory, not '%s'", optarg);
			e.mkdir = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_FAIL;
		}
	}
	if (!ex.socket)
		die("no --socket PATH given (see --help)");
	if (!bench && optind >= argc)
		die("no command given (usage: slurm-vm-exec --socket PATH [options] -- ARGV...)");
	if ((aux_fd >= 0) != (e.auxenv != NULL))
		die("--aux-fd and --aux-env go together");
	if (aux_fd >= 0) {
		if (fcntl(aux_fd, F_GETFD) < 0)
			die("--aux-fd %d is not an open file descriptor", aux_fd);
		e.flags |= SVM_AP_F_AUX;
		ex.in_fd[SVM_AP_AUX] = aux_fd;
		ex.out_fd[SVM_AP_AUX] = aux_fd;
	}
	for (i = 0; i < e.nlisten; i++) {
		const char *v = getenv(e.listen[i]), *why;
		size_t a, b;
		uint32_t addr;
		uint16_t port;

		if (!v || svm_ap_tcp4_find(v, &a, &b, &addr, &port, &why) < 0)
			die("--listen %s: %s", e.listen[i], v ? why : "no such variable");
		if (!ex.target_var) {
			ex.target.sin_family = AF_INET;
			ex.target.sin_addr.s_addr = htonl(addr);
			ex.target.sin_port = htons(port);
			ex.target_var = e.listen[i];
		}
	}
	if (cpus) {
		static uint32_t list[SVM_AP_MAX_CPUS];
		int n = svm_cpulist_parse(cpus, list, SVM_AP_MAX_CPUS);

		for (i = 0; n > 0 && i < (size_t)n; i++)
			if (list[i] > SVM_AP_MAX_CPU)
				n = -1;
		if (n < 0)
			die("--cpus: '%s' is not a CPU list like 0-3,8 (CPUs 0..%d)", cpus, SVM_AP_MAX_CPU);
		e.cpus = list;
		e.ncpus = (size_t)n;
	}
	if (have_groups) {
		if (*groups && parse_idlist(groups, &e.groups, &e.ngroups) < 0)
			die("--groups: '%s' is not a comma-separated list of group ids", groups);
	} else {
		int n = getgroups(0, NULL);
		gid_t *g = n > 0 ? calloc((size_t)n, sizeof(*g)) : NULL;

		if (n > 0 && g && (n = getgroups(n, g)) > 0) {
			e.groups = calloc((size_t)n, sizeof(*e.groups));
			for (i = 0; e.groups && i < (size_t)n; i++)
				e.groups[e.ngroups++] = g[i];
		}
		free(g);
	}
	if (!e.cwd) {
		if (!getcwd(cwd, sizeof(cwd)))
			die("cannot get the current directory: %s", strerror(errno));
		e.cwd = cwd;
	}
	/* The process gets our resource limits: for a Slurm task they are the
	 * ones Slurm propagated from srun (PropagateResourceLimits). */
	for (i = 0; i < sizeof(propagated) / sizeof(propagated[0]); i++) {
		struct rlimit rl;
		int r = propagated[i];

		if (getrlimit(r, &rl) < 0)
			continue;
		e.rlimit_set |= 1u << r;
		e.rlimit_cur[r] = rl.rlim_cur == RLIM_INFINITY ? SVM_AP_RLIM_INFINITY : rl.rlim_cur;
		e.rlimit_max[r] = rl.rlim_max == RLIM_INFINITY ? SVM_AP_RLIM_INFINITY : rl.rlim_max;
	}
	e.argv = argv + optind;
	e.argc = (size_t)(argc - optind);
	e.envp = environ;
	for (e.envc = 0; environ && environ[e.envc]; e.envc++)
		;

	if (pipe2(ex.sigpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		die("cannot create a pipe: %s", strerror(errno));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: a blocked write returns to forward */
	for (i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
		sigaction(fwd[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	{
		char err[256];

		ex.sock = svm_unix_connect(ex.socket, err, sizeof(err));
		if (ex.sock < 0)
			die("cannot connect to the guest agent at %s: %s", ex.socket, err);
	}
	ex.out.max = 8u * 1024 * 1024;
	handshake(bench != NULL);
	if (bench)
		return bench_raw(bench);

	ex.pty = !!(e.flags & SVM_AP_F_PTY);
	if (ex.pty) {
		struct winsize ws;

		if (ioctl(0, TIOCGWINSZ, &ws) == 0 || ioctl(1, TIOCGWINSZ, &ws) == 0) {
			e.rows = ws.ws_row;
			e.cols = ws.ws_col;
		}
		if (isatty(0) && tcgetattr(0, &ex.tty_saved) == 0) {
			struct termios raw = ex.tty_saved;

			cfmakeraw(&raw);
			if (tcsetattr(0, TCSADRAIN, &raw) == 0)
				ex.tty_raw = 1;
		}
	}
	if (svm_ap_exec_encode(&ex.out, PID, &e) < 0)
		die("cannot send the request: an argument or variable is longer than %d bytes, or out of memory",
		    SVM_AP_MAX_PAYLOAD - 4);
	ex.credit[SVM_AP_STDIN] = ex.credit[SVM_AP_AUX] = SVM_AP_WINDOW;
	/* A wider window than the protocol's minimum keeps a slow channel
	 * busy; we can hold it: the relay buffers at most this much for us. */
	for (i = SVM_AP_STDOUT; i <= SVM_AP_STDERR; i++) {
		ex.owed[i] = EXTRA_WINDOW;
		give_credit((int)i, 1);
	}
	if (fcntl(0, F_GETFD) < 0)
		ex.in_fd[SVM_AP_STDIN] = -1, put(SVM_AP_EOF, SVM_AP_STDIN, NULL, 0);

	while (!ex.exited) {
		struct pollfd pfd[2 + SVM_AP_STREAMS];
		int n = 0, in_idx[SVM_AP_STREAMS], s;

		pfd[n++] = (struct pollfd){ .fd = ex.sigpipe[0], .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = ex.sock,
			.events = POLLIN | (svm_buf_used(&ex.out) ? POLLOUT : 0) };
		for (s = SVM_AP_STDIN; s < SVM_AP_STREAMS; s++) {
			in_idx[s] = -1;
			if (ex.in_fd[s] >= 0 && s != SVM_AP_STDOUT && s != SVM_AP_STDERR && ex.credit[s] > 0 && svm_buf_used(&ex.out) < 1024 * 1024) {
				in_idx[s] = n;
				pfd[n++] = (struct pollfd){ .fd = ex.in_fd[s], .events = POLLIN };
			}
		}
		if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR)
			die("poll failed: %s", strerror(errno));
		if (pfd[0].revents)
			forward_signals();
		if ((pfd[1].revents & POLLOUT) && svm_write_some(ex.sock, &ex.out) < 0)
			write_failed();
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
			sock_read();
		for (s = SVM_AP_STDIN; s < SVM_AP_STREAMS; s++)
			if (in_idx[s] >= 0 && pfd[in_idx[s]].revents && ex.in_fd[s] >= 0)
				input_read(s);
		if (svm_buf_used(&ex.out) && svm_write_some(ex.sock, &ex.out) < 0)
			write_failed();
	}
	restore_tty();
	if (ex.task && ex.signal > 0 && ex.signal < NSIG)
		die_of_signal(ex.signal);
	return ex.code;
}
