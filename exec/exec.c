/* slurm-vm-exec: runs one process in the job's guest through the relay (or
 * straight on an agent channel) and stands in for it on the host: stdio,
 * signals and exit status.  Runs as the user; never setuid.
 * This file: the state and the command line; the parts are translate.c,
 * client.c and bench.c (exec.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "agent_proto.h"
#include "cpulist.h"
#include "bench.h"
#include "client.h"
#include "exec.h"
#include "hostio.h"
#include "translate.h"

extern char **environ;

struct exec_state ex = {
	.sock = -1,
	.sigpipe = { -1, -1 },
	.in_fd = { 0, -1, -1, -1, [SVM_AP_CONN_FIRST ... SVM_AP_STREAMS - 1] = -1 },
	.out_fd = { -1, 1, 2, -1, [SVM_AP_CONN_FIRST ... SVM_AP_STREAMS - 1] = -1 },
};

void restore_tty(void)
{
	if (ex.tty_raw) {
		tcsetattr(0, TCSADRAIN, &ex.tty_saved);
		ex.tty_raw = 0;
	}
}

void die(const char *fmt, ...)
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
	int c, have_groups = 0, aux_fd = -1, rc;
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
	rc = bench ? bench_raw(bench) : client_run(&e);
	free(e.groups);
	return rc;
}
