/* slurm-vm-agent: runs processes inside the guest for the host, over one
 * virtio-serial port (PROTOCOL.md).  One thread, one poll loop: the
 * channel, every child's stdio pipes, and a self-pipe for SIGCHLD/SIGIO.
 * Nothing in the loop blocks, so a stalled process never stalls another.
 * This file: the state, the main loop and the command line; the parts are
 * proc.c, flow.c, channel.c and bench.c (agent.h). */
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
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "channel.h"
#include "flow.h"
#include "guest_setup.h"
#include "proc.h"

struct agent ag = {
	.port = DEFAULT_PORT,
	.given_fd = -1,
	.chan = -1,
	.listen_fd = -1,
	.sigpipe = { -1, -1 },
	.out = { .max = OUT_MAX },
};

void say(const char *fmt, ...)
{
	char buf[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "slurm-vm-agent: %s\n", buf);
}

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

int set_nonblock(int fd)
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
