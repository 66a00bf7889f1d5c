/* slurm-vm-relay: owns the one connection QEMU's channel socket accepts and
 * multiplexes any number of slurm-vm-exec clients onto it, renumbering
 * their process ids.  Runs as the job user, one per guest.  See
 * images/agent/PROTOCOL.md, "The relay". */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent_proto.h"
#include "hostio.h"
#include "loglimit.h"

#define CHAN_HIGH_WATER (8u * 1024 * 1024)	/* stop reading clients above */
#define CLIENT_OUT_MAX (16u * 1024 * 1024)	/* a client that reads nothing */
#define HELLO_EVERY_MS 1000

/* What the relay logs on stderr (relay.log for the prolog) holds text of
 * the guest's: bounded here, so a chatty or hostile guest fills at most
 * LOG_TOTAL_MAX; the prolog also caps the file with RLIMIT_FSIZE, a limit
 * the relay (the job user's process) cannot raise. */
#define LOG_LINE_MAX 512
#define LOG_BURST 100
#define LOG_PER_SEC 5
#define LOG_TOTAL_MAX (1024u * 1024)

struct client {
	int fd;
	uid_t uid;
	int hello;
	struct svm_ap_reader *rd;
	struct svm_buf out;
};

struct map {
	uint32_t gid;		/* id on the channel */
	uint32_t cid;		/* id of the client */
	struct client *c;	/* NULL: client gone, drain until EXIT */
};

static struct {
	const char *channel, *listen_path, *pidfile;
	int channel_fd, listen_fd;	/* handed over by the prolog, or -1 */
	char channel_name[32], listen_name[32];
	struct svm_loglimit log;
	int ready_fd, daemon, verbose;
	long timeout_s;
	int chan, lfd;
	int ready;		/* agent answered our HELLO */
	long long hello_at;
	struct svm_ap_reader rd;
	struct svm_buf out;
	struct client **cl;
	size_t ncl;
	struct map *maps;
	size_t nmaps, capmaps;
	uint32_t next_gid;
	int sigpipe[2];
	volatile sig_atomic_t term;
} rl = {
	.channel_fd = -1,
	.listen_fd = -1,
	.log = { .line_max = LOG_LINE_MAX, .burst = LOG_BURST, .per_sec = LOG_PER_SEC,
		 .total_max = LOG_TOTAL_MAX },
	.ready_fd = -1,
	.timeout_s = 300,
	.chan = -1,
	.lfd = -1,
	.next_gid = 1,
	.sigpipe = { -1, -1 },
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[LOG_LINE_MAX], line[LOG_LINE_MAX + 1];
	size_t n;
	va_list ap;

	memcpy(buf, "slurm-vm-relay: ", 16);
	va_start(ap, fmt);
	vsnprintf(buf + 16, sizeof(buf) - 16, fmt, ap);
	va_end(ap);
	n = svm_loglimit_line(&rl.log, svm_now_ms(), buf, line, sizeof(line));
	/* one write per line, unbuffered: lines of two relays never mix */
	if (n && write(2, line, n) < 0) {
		/* a full or capped log: nothing else to tell it to */
	}
}

static void on_signal(int sig)
{
	int e = errno;

	rl.term = sig;
	if (write(rl.sigpipe[1], "x", 1) < 0) {
		/* a wakeup is pending already */
	}
	errno = e;
}

static void cleanup(void)
{
	if (rl.listen_path && rl.listen_fd < 0)
		unlink(rl.listen_path);
	if (rl.pidfile)
		unlink(rl.pidfile);
}

/* ------------------------------------------------------------ frames */
static void put(struct svm_buf *b, unsigned type, unsigned stream, uint32_t id,
		const void *p, size_t n)
{
	if (svm_ap_put(b, type, stream, id, p, n) < 0)
		say("cannot queue a %s frame: output buffer full", svm_ap_type_name(type));
}

static void put_error(struct svm_buf *b, uint32_t id, uint32_t code, const char *text)
{
	uint8_t p[4 + SVM_AP_MAX_ERROR_TEXT];

	put(b, SVM_AP_ERROR, 0, id, p, svm_ap_error_encode(p, sizeof(p), code, text));
}

static void send_hello(void)
{
	uint8_t p[SVM_AP_HELLO_LEN];

	svm_ap_hello_encode(p, SVM_AP_VERSION, SVM_AP_VERSION);
	put(&rl.out, SVM_AP_HELLO, 0, 0, p, sizeof(p));
	rl.hello_at = svm_now_ms();
}

static struct map *map_by_gid(uint32_t gid)
{
	size_t i;

	for (i = 0; i < rl.nmaps; i++)
		if (rl.maps[i].gid == gid)
			return &rl.maps[i];
	return NULL;
}

static struct map *map_by_cid(struct client *c, uint32_t cid)
{
	size_t i;

	for (i = 0; i < rl.nmaps; i++)
		if (rl.maps[i].c == c && rl.maps[i].cid == cid)
			return &rl.maps[i];
	return NULL;
}

static struct map *map_new(struct client *c, uint32_t cid)
{
	struct map *m;

	if (rl.nmaps == rl.capmaps) {
		size_t n = rl.capmaps ? rl.capmaps * 2 : 64;

		if (!(m = realloc(rl.maps, n * sizeof(*m))))
			return NULL;
		rl.maps = m;
		rl.capmaps = n;
	}
	while (rl.next_gid == 0 || map_by_gid(rl.next_gid))
		rl.next_gid++;
	m = &rl.maps[rl.nmaps++];
	m->gid = rl.next_gid++;
	m->cid = cid;
	m->c = c;
	return m;
}

static void map_free(struct map *m)
{
	*m = rl.maps[--rl.nmaps];
}

/* ------------------------------------------------------------ clients */
static void client_drop(struct client *c, const char *why)
{
	size_t i;
	uint8_t sig[4];

	if (rl.verbose)
		say("client (uid %u) gone: %s", (unsigned)c->uid, why);
	svm_ap_u32_encode(sig, SIGKILL);
	/* Its processes have nobody to report to: kill them, drain to EXIT. */
	for (i = 0; i < rl.nmaps; i++)
		if (rl.maps[i].c == c) {
			rl.maps[i].c = NULL;
			put(&rl.out, SVM_AP_SIGNAL, 0, rl.maps[i].gid, sig, 4);
		}
	for (i = 0; i < rl.ncl; i++)
		if (rl.cl[i] == c) {
			rl.cl[i] = rl.cl[--rl.ncl];
			break;
		}
	close(c->fd);
	free(c->rd);
	svm_buf_free(&c->out);
	free(c);
}

/* A client broke the protocol or the policy: tell it why, then drop it. */
static void client_fail(struct client *c, uint32_t id, uint32_t code, const char *text)
{
	put_error(&c->out, id, code, text);
	svm_write_some(c->fd, &c->out);
	client_drop(c, text);
}

/* Non-root clients run only as themselves and never ask for root. */
static int exec_allowed(struct client *c, const uint8_t *p, size_t n, const char **why)
{
	size_t pos = 0;
	uint16_t tag, len;
	const uint8_t *v;
	int rc;

	if (c->uid == 0)
		return 0;
	while ((rc = svm_ap_tlv_next(p, n, &pos, &tag, &v, &len, why)) == 1) {
		uint32_t x;

		if ((tag == SVM_AP_T_UID || tag == SVM_AP_T_FLAGS) && len == 4) {
			x = (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
			if (tag == SVM_AP_T_UID && x != c->uid) {
				*why = "a non-root client may run processes only as its own uid";
				return -1;
			}
			if (tag == SVM_AP_T_FLAGS && (x & SVM_AP_F_ROOT)) {
				*why = "a non-root client may not ask for root";
				return -1;
			}
		}
	}
	return rc;
}

/* Returns -1 if C was dropped. */
static int client_frame(struct client *c, const struct svm_ap_hdr *h, const uint8_t *pl)
{
	struct map *m;
	const char *why;

	if (!c->hello) {
		uint16_t vmin, vmax;
		uint8_t r[SVM_AP_READY_LEN];

		if (h->type != SVM_AP_HELLO || svm_ap_hello_decode(pl, h->len, &vmin, &vmax, &why) < 0) {
			client_fail(c, 0, SVM_AP_E_PROTO, "the first frame must be a HELLO");
			return -1;
		}
		if (svm_ap_negotiate(vmin, vmax) < 0) {
			client_fail(c, 0, SVM_AP_E_VERSION, "no common protocol version with the relay (it speaks 1)");
			return -1;
		}
		c->hello = 1;
		svm_ap_ready_encode(r, SVM_AP_VERSION, 0, SVM_AP_MAX_PAYLOAD);
		put(&c->out, SVM_AP_READY, 0, 0, r, sizeof(r));
		return 0;
	}
	switch (h->type) {
	case SVM_AP_EXEC:
		if (exec_allowed(c, pl, h->len, &why) < 0) {
			client_fail(c, h->id, SVM_AP_E_PERM, why);
			return -1;
		}
		m = map_by_cid(c, h->id);
		if (!m && !(m = map_new(c, h->id))) {
			client_fail(c, h->id, SVM_AP_E_LIMIT, "relay out of memory");
			return -1;
		}
		break;
	case SVM_AP_START:
	case SVM_AP_DATA:
	case SVM_AP_EOF:
	case SVM_AP_CREDIT:
	case SVM_AP_SIGNAL:
	case SVM_AP_WINSIZE:
		m = map_by_cid(c, h->id);
		if (!m) {
			if (h->type == SVM_AP_START) {
				put_error(&c->out, h->id, SVM_AP_E_ID, "START without EXEC");
			}
			return 0;	/* raced with the EXIT */
		}
		break;
	case SVM_AP_ERROR:
		return 0;
	default:
		client_fail(c, h->id, SVM_AP_E_PROTO, "frame type not accepted from a relay client");
		return -1;
	}
	put(&rl.out, h->type, h->stream, m->gid, pl, h->len);
	return 0;
}

static void client_read(struct client *c)
{
	struct svm_ap_hdr h;
	const uint8_t *pl;
	const char *why;
	size_t room;
	uint8_t *d = svm_ap_reader_space(c->rd, &room);
	ssize_t n = read(c->fd, d, room);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_drop(c, n == 0 ? "end of file" : strerror(errno));
		return;
	}
	svm_ap_reader_commit(c->rd, (size_t)n);
	for (;;) {
		enum svm_ap_next r = svm_ap_reader_next(c->rd, &h, &pl, &why);

		if (r == SVM_AP_NEED_MORE)
			return;
		if (r == SVM_AP_BAD) {
			client_fail(c, h.id, SVM_AP_E_PROTO, why);
			return;
		}
		if (client_frame(c, &h, pl) < 0)
			return;
	}
}

static void client_accept(void)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct client *c, **ncl;
	int fd = accept4(rl.lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
		say("cannot read the credentials of a client on %s: %s", rl.listen_path, strerror(errno));
		close(fd);
		return;
	}
	if (cr.uid != 0 && cr.uid != getuid()) {
		say("refusing a client with uid %u on %s: only uid %u and root may connect",
		    (unsigned)cr.uid, rl.listen_path, (unsigned)getuid());
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	ncl = realloc(rl.cl, (rl.ncl + 1) * sizeof(*ncl));
	if (c)
		c->rd = malloc(sizeof(*c->rd));
	if (!c || !ncl || !c->rd) {
		say("cannot take a client: out of memory");
		if (c)
			free(c->rd);
		free(c);
		if (ncl)
			rl.cl = ncl;
		close(fd);
		return;
	}
	rl.cl = ncl;
	c->fd = fd;
	c->uid = cr.uid;
	c->out.max = CLIENT_OUT_MAX;
	svm_ap_reader_init(c->rd, SVM_AP_HELLO, 1);
	rl.cl[rl.ncl++] = c;
}

/* ------------------------------------------------------------ channel */
/* The agent restarted or the stream broke: every process is lost. */
static void agent_reset(const char *why)
{
	char text[512];
	size_t i;

	say("guest agent reset (%s): failing %zu running processes", why, rl.nmaps);
	snprintf(text, sizeof(text), "the guest agent restarted (%s): the process is lost", why);
	for (i = 0; i < rl.nmaps; i++) {
		struct map *m = &rl.maps[i];

		if (m->c) {
			put_error(&m->c->out, m->cid, SVM_AP_E_GONE, text);
		}
	}
	/* Forget the maps first, so dropping a client sends no SIGKILL. */
	for (i = rl.ncl; i-- > 0;) {
		struct client *c = rl.cl[i];
		size_t j;
		int has = 0;

		for (j = 0; j < rl.nmaps; j++)
			has |= rl.maps[j].c == c;
		for (j = 0; j < rl.nmaps; j++)
			if (rl.maps[j].c == c)
				rl.maps[j].c = NULL;
		svm_write_some(c->fd, &c->out);
		if (has)
			client_drop(c, "guest agent restarted");
	}
	rl.nmaps = 0;
	svm_buf_clear(&rl.out);
	svm_ap_reader_init(&rl.rd, SVM_AP_READY, 0);
	rl.ready = 0;
	send_hello();
}

static void chan_frame(const struct svm_ap_hdr *h, const uint8_t *pl)
{
	struct map *m;
	uint16_t ver, fl;
	uint32_t maxp;
	const char *why;

	switch (h->type) {
	case SVM_AP_READY:
		if (svm_ap_ready_decode(pl, h->len, &ver, &fl, &maxp, &why) < 0) {
			say("bad READY from the guest agent: %s", why);
			return;
		}
		if (!rl.ready && !(fl & SVM_AP_READY_ANNOUNCE)) {
			if (ver != SVM_AP_VERSION || maxp < SVM_AP_MAX_PAYLOAD) {
				say("guest agent speaks protocol %u with frames of %u bytes: this relay needs version %u and %u",
				    ver, maxp, SVM_AP_VERSION, SVM_AP_MAX_PAYLOAD);
				return;
			}
			rl.ready = 1;
		} else if (rl.ready && (fl & SVM_AP_READY_ANNOUNCE)) {
			agent_reset("it announced a fresh start");
		}
		return;
	case SVM_AP_ERROR:
		if (h->id == 0) {
			uint32_t code;
			char text[SVM_AP_MAX_ERROR_TEXT + 1];

			if (svm_ap_error_decode(pl, h->len, &code, text, sizeof(text), &why) == 0)
				say("guest agent: %s", text);
			return;
		}
		break;
	case SVM_AP_DATA:
	case SVM_AP_EOF:
	case SVM_AP_CREDIT:
	case SVM_AP_EXIT:
	case SVM_AP_CONNECT:
		break;
	default:
		return;
	}
	m = map_by_gid(h->id);
	if (!m)
		return;
	if (m->c) {
		put(&m->c->out, h->type, h->stream, m->cid, pl, h->len);
	} else if (h->type == SVM_AP_DATA) {
		uint8_t cr[4];

		/* Nobody reads it: keep the agent's window open so it drains. */
		svm_ap_u32_encode(cr, h->len);
		put(&rl.out, SVM_AP_CREDIT, h->stream, m->gid, cr, 4);
	}
	if (h->type == SVM_AP_EXIT)
		map_free(m);
}

/* Returns -1 when the channel is gone. */
static int chan_read(void)
{
	struct svm_ap_hdr h;
	const uint8_t *pl;
	const char *why;
	size_t room;
	uint8_t *d = svm_ap_reader_space(&rl.rd, &room);
	ssize_t n = read(rl.chan, d, room);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	svm_ap_reader_commit(&rl.rd, (size_t)n);
	for (;;) {
		enum svm_ap_next r = svm_ap_reader_next(&rl.rd, &h, &pl, &why);

		if (r == SVM_AP_NEED_MORE)
			return 0;
		if (r == SVM_AP_BAD) {
			agent_reset(why);
			return 0;
		}
		chan_frame(&h, pl);
	}
}

/* The guest is gone: every client learns it, then the relay exits. */
static void chan_gone(const char *why) __attribute__((noreturn));
static void chan_gone(const char *why)
{
	char text[512];
	size_t i;

	snprintf(text, sizeof(text), "lost the guest agent: channel %s %s (the guest or QEMU is gone)",
		 rl.channel, why);
	say("%s", text);
	for (i = 0; i < rl.ncl; i++) {
		put_error(&rl.cl[i]->out, 0, SVM_AP_E_GONE, text);
		svm_write_some(rl.cl[i]->fd, &rl.cl[i]->out);
	}
	cleanup();
	exit(1);
}

/* ------------------------------------------------------------ startup */
static void notify_ready(void)
{
	if (rl.ready_fd >= 0) {
		if (write(rl.ready_fd, "R", 1) < 0)
			say("cannot write to the ready fd %d: %s", rl.ready_fd, strerror(errno));
		close(rl.ready_fd);
		rl.ready_fd = -1;
	}
}

static int listen_socket(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int rc, v = 0;
	socklen_t vl = sizeof(v);

	if (rl.listen_fd >= 0) {
		/* bound by the prolog as root in root's directory */
		if (getsockopt(rl.listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) < 0 || !v) {
			say("--listen-fd %d is not a listening socket", rl.listen_fd);
			return -1;
		}
		rl.lfd = rl.listen_fd;
		fcntl(rl.lfd, F_SETFD, FD_CLOEXEC);
		fcntl(rl.lfd, F_SETFL, fcntl(rl.lfd, F_GETFL) | O_NONBLOCK);
		return 0;
	}
	if (strlen(rl.listen_path) >= sizeof(sun.sun_path)) {
		say("cannot listen on %s: path too long", rl.listen_path);
		return -1;
	}
	strcpy(sun.sun_path, rl.listen_path);
	if (lstat(rl.listen_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			say("cannot listen on %s: it exists and is not a socket", rl.listen_path);
			return -1;
		}
		unlink(rl.listen_path);
	}
	rl.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (rl.lfd < 0) {
		say("cannot create a socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0177);
	rc = bind(rl.lfd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0 || chmod(rl.listen_path, 0600) < 0 || listen(rl.lfd, 128) < 0) {
		say("cannot listen on %s: %s", rl.listen_path, strerror(errno));
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: slurm-vm-relay --channel PATH|--channel-fd N --listen PATH|--listen-fd N\n"
"                      [--ready-fd N | --daemon] [--timeout SEC] [--pidfile PATH]\n"
"                      [--verbose]\n"
"Connects to the guest agent's channel socket (the unix socket QEMU serves\n"
"for the org.slurm-vm.agent.0 virtio-serial port), says HELLO, and serves\n"
"slurm-vm-exec clients on the --listen socket (mode 0600; only this uid and\n"
"root may connect).\n"
"  --channel PATH   the channel socket; retried until it accepts\n"
"  --channel-fd N   or fd N, a stream already connected to it\n"
"  --listen PATH    the socket for slurm-vm-exec\n"
"  --listen-fd N    or fd N, a socket already bound and listening\n"
"  --ready-fd N     write one byte 'R' to fd N and close it once the agent\n"
"                   said READY (the caller polls N; EOF without 'R' = failed)\n"
"  --daemon         go to the background; the foreground process exits 0\n"
"                   once the agent said READY, 1 (with a message) if not\n"
"  --timeout SEC    give up if the agent is not ready within SEC (300)\n"
"  --pidfile PATH   write the relay's pid there\n"
"Exit status: 0 on SIGTERM, 1 when the channel closes (guest gone) or the\n"
"agent never became ready, 2 on bad usage.\n");
}

static int parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end || errno || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* --daemon: the parent stays until the child says ready, so the caller
 * waits on the exit status alone. */
static void daemonize(void)
{
	int p[2];
	pid_t pid;
	char c;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0) {
		say("cannot create a pipe: %s", strerror(errno));
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		say("cannot fork: %s", strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 && c == 'R' ? 0 : 1);
	}
	close(p[0]);
	rl.ready_fd = p[1];
	setsid();
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "channel", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "channel-fd", required_argument, NULL, 'C' },
		{ "listen-fd", required_argument, NULL, 'L' },
		{ "ready-fd", required_argument, NULL, 'r' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	long long deadline;
	struct pollfd *pfd = NULL;
	size_t cap = 0;
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': rl.channel = optarg; break;
		case 'l': rl.listen_path = optarg; break;
		case 'C':
		case 'L':
			if (parse_int(optarg, 0, INT_MAX, &v) < 0 || fcntl((int)v, F_GETFD) < 0) {
				say("--%s wants an open file descriptor, not '%s'",
				    c == 'C' ? "channel-fd" : "listen-fd", optarg);
				return 2;
			}
			if (c == 'C')
				rl.channel_fd = (int)v;
			else
				rl.listen_fd = (int)v;
			break;
		case 'r':
			if (parse_int(optarg, 0, INT_MAX, &v) < 0 || fcntl((int)v, F_GETFD) < 0) {
				say("--ready-fd wants an open file descriptor, not '%s'", optarg);
				return 2;
			}
			rl.ready_fd = (int)v;
			fcntl(rl.ready_fd, F_SETFD, FD_CLOEXEC);
			break;
		case 'd': rl.daemon = 1; break;
		case 't':
			if (parse_int(optarg, 1, 86400, &v) < 0) {
				say("--timeout wants seconds in 1..86400, not '%s'", optarg);
				return 2;
			}
			rl.timeout_s = v;
			break;
		case 'p': rl.pidfile = optarg; break;
		case 'v': rl.verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!rl.channel == (rl.channel_fd < 0) || !rl.listen_path == (rl.listen_fd < 0) ||
	    optind != argc || (rl.daemon && rl.ready_fd >= 0)) {
		usage(stderr);
		return 2;
	}
	/* the job user could otherwise attach to it and take its fds (the
	 * log with its cap, the channel) */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (rl.channel_fd >= 0) {
		snprintf(rl.channel_name, sizeof(rl.channel_name), "fd %d", rl.channel_fd);
		rl.channel = rl.channel_name;
	}
	if (rl.listen_fd >= 0) {
		snprintf(rl.listen_name, sizeof(rl.listen_name), "fd %d", rl.listen_fd);
		rl.listen_path = rl.listen_name;
	}
	if (pipe2(rl.sigpipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		say("cannot create a pipe: %s", strerror(errno));
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/* past the file size cap, a write fails instead of killing us */
	signal(SIGXFSZ, SIG_IGN);
	if (listen_socket() < 0)
		return 1;
	if (rl.daemon)
		daemonize();
	if (rl.pidfile) {
		FILE *f = fopen(rl.pidfile, "we");

		if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
			say("cannot write the pid file %s: %s", rl.pidfile, strerror(errno));
			cleanup();
			return 1;
		}
	}
	deadline = svm_now_ms() + rl.timeout_s * 1000;
	if (rl.channel_fd >= 0) {
		int type = 0;
		socklen_t tl = sizeof(type);

		if (getsockopt(rl.channel_fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM) {
			say("--channel-fd %d is not a stream socket", rl.channel_fd);
			return 1;
		}
		rl.chan = rl.channel_fd;
		fcntl(rl.chan, F_SETFD, FD_CLOEXEC);
		fcntl(rl.chan, F_SETFL, fcntl(rl.chan, F_GETFL) | O_NONBLOCK);
	}
	/* The channel socket appears when QEMU starts: retry until then. */
	while (rl.chan < 0) {
		char err[256];

		rl.chan = svm_unix_connect(rl.channel, err, sizeof(err));
		if (rl.chan >= 0)
			break;
		/* Not there yet, or not listening yet: wait.  Anything else
		 * (permissions, a path that is no socket) will not heal. */
		if (rl.term || svm_now_ms() > deadline || (errno != ENOENT && errno != ECONNREFUSED)) {
			say("cannot connect to the guest agent channel %s: %s", rl.channel, err);
			cleanup();
			return 1;
		}
		usleep(100 * 1000);
	}
	svm_ap_reader_init(&rl.rd, SVM_AP_READY, 0);
	rl.out.max = 64u * 1024 * 1024;
	send_hello();

	while (!rl.term) {
		long long now = svm_now_ms();
		int timeout = -1, rc;
		size_t n = 0, i, ncl;

		if (!rl.ready) {
			if (now > deadline) {
				say("the guest agent did not say READY on %s within %ld s", rl.channel, rl.timeout_s);
				cleanup();
				return 1;
			}
			if (now - rl.hello_at >= HELLO_EVERY_MS)
				send_hello();
			timeout = (int)(rl.hello_at + HELLO_EVERY_MS - now);
			if (timeout < 0)
				timeout = 0;
		} else if (rl.ready_fd >= 0) {
			notify_ready();
			if (rl.verbose)
				say("guest agent ready on %s; serving %s", rl.channel, rl.listen_path);
		}
		if (cap < rl.ncl + 3) {
			cap = rl.ncl + 64;
			if (!(pfd = realloc(pfd, cap * sizeof(*pfd)))) {
				say("out of memory");
				return 1;
			}
		}
		pfd[n++] = (struct pollfd){ .fd = rl.sigpipe[0], .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = rl.chan,
			.events = POLLIN | (svm_buf_used(&rl.out) ? POLLOUT : 0) };
		pfd[n++] = (struct pollfd){ .fd = rl.lfd, .events = rl.ready ? POLLIN : 0 };
		ncl = rl.ncl;
		for (i = 0; i < ncl; i++) {
			struct client *cl = rl.cl[i];
			short ev = svm_buf_used(&cl->out) ? POLLOUT : 0;

			if (rl.ready && svm_buf_used(&rl.out) < CHAN_HIGH_WATER)
				ev |= POLLIN;
			pfd[n++] = (struct pollfd){ .fd = cl->fd, .events = ev };
		}
		rc = poll(pfd, n, timeout);
		if (rc < 0 && errno != EINTR) {
			say("poll failed: %s", strerror(errno));
			return 1;
		}
		if (rc <= 0)
			continue;
		if (pfd[0].revents) {
			char junk[16];

			while (read(rl.sigpipe[0], junk, sizeof(junk)) > 0)
				;
		}
		if (pfd[1].revents & POLLOUT) {
			if (svm_write_some(rl.chan, &rl.out) < 0)
				chan_gone(strerror(errno));
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (chan_read() < 0)
				chan_gone("closed");
		}
		/* Clients: by fd, since a handler may drop any of them. */
		for (i = 3; i < n; i++) {
			struct client *cl = NULL;
			size_t j;

			if (!pfd[i].revents)
				continue;
			for (j = 0; j < rl.ncl; j++)
				if (rl.cl[j]->fd == pfd[i].fd)
					cl = rl.cl[j];
			if (!cl)
				continue;
			if (pfd[i].revents & POLLOUT) {
				if (svm_write_some(cl->fd, &cl->out) < 0) {
					client_drop(cl, strerror(errno));
					continue;
				}
			}
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				client_read(cl);
		}
		if (pfd[2].revents & POLLIN)
			client_accept();
		/* Opportunistic writes keep small frames fast. */
		if (svm_buf_used(&rl.out) && svm_write_some(rl.chan, &rl.out) < 0)
			chan_gone(strerror(errno));
		for (i = rl.ncl; i-- > 0;) {
			struct client *cl = rl.cl[i];

			if (svm_buf_used(&cl->out) >= CLIENT_OUT_MAX - 2 * SVM_AP_MAX_PAYLOAD)
				client_drop(cl, "it does not read its output");
			else if (svm_buf_used(&cl->out) && svm_write_some(cl->fd, &cl->out) < 0)
				client_drop(cl, strerror(errno));
		}
	}
	cleanup();
	return 0;
}
