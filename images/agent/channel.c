/* The host channel (channel.h): frames out, the host's frames in and
 * their dispatch, the session, opening and losing the channel. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "agent.h"
#include "bench.h"
#include "channel.h"
#include "flow.h"
#include "proc.h"

void send_frame(unsigned type, unsigned stream, uint32_t id, const void *p, size_t n)
{
	if (ag.chan < 0)
		return;
	if (svm_ap_put(&ag.out, type, stream, id, p, n) < 0)
		say("channel output over %d bytes: dropping a %s frame", OUT_MAX,
		    svm_ap_type_name(type));
}

void send_error(uint32_t id, uint32_t code, const char *fmt, ...)
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

void send_exit(uint32_t id, int how, int value, int core)
{
	uint8_t p[SVM_AP_EXIT_LEN];

	svm_ap_exit_encode(p, how, value, core);
	send_frame(SVM_AP_EXIT, 0, id, p, sizeof(p));
}

void send_credit(uint32_t id, unsigned stream, uint32_t n)
{
	uint8_t p[4];

	svm_ap_u32_encode(p, n);
	send_frame(SVM_AP_CREDIT, stream, id, p, 4);
}

/* Ends the session: every process of it is killed and forgotten (an
 * unreaped one stays, silent, until waitpid() collects it). */
void session_end(const char *why)
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

int chan_flush_blocking(int timeout_ms)
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

void chan_lost(const char *why)
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
ssize_t chan_readv(uint8_t *dst, size_t room)
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

void chan_read(void)
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

int chan_open(void)
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
