/* slurm-vm-exec's client of the relay (or an agent channel), client.h:
 * the handshake, the request, then stdio, connections, credits and signals
 * both ways until the process's EXIT. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <termios.h>
#include <unistd.h>

#include "client.h"
#include "exec.h"
#include "hostio.h"
#include "translate.h"

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
void handshake(int repeat)
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

/* Runs the request E on the connection handshake() opened: sends it, then
 * relays stdio and signals until its EXIT.  Returns the exit code for
 * main(), or dies of the signal that killed a task. */
int client_run(struct svm_ap_exec *e)
{
	size_t i;

	ex.pty = !!(e->flags & SVM_AP_F_PTY);
	if (ex.pty) {
		struct winsize ws;

		if (ioctl(0, TIOCGWINSZ, &ws) == 0 || ioctl(1, TIOCGWINSZ, &ws) == 0) {
			e->rows = ws.ws_row;
			e->cols = ws.ws_col;
		}
		if (isatty(0) && tcgetattr(0, &ex.tty_saved) == 0) {
			struct termios raw = ex.tty_saved;

			cfmakeraw(&raw);
			if (tcsetattr(0, TCSADRAIN, &raw) == 0)
				ex.tty_raw = 1;
		}
	}
	if (svm_ap_exec_encode(&ex.out, PID, e) < 0)
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
