/* Flow control of a process's stdio (flow.h): host data into the child's
 * pipes, child output into DATA frames, both within the credits. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"
#include "channel.h"
#include "flow.h"
#include "proc.h"

void sink_close(struct proc *p, int s)
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

void sink_write(struct proc *p, int s)
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
int source_read(struct proc *p, int s)
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

void on_data(struct proc *p, const struct svm_ap_hdr *h, const uint8_t *pl)
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
