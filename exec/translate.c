/* Task mode (translate.h): a Slurm task, as the SPANK plugin hands it
 * over, into slurm-vm-exec's explicit command line, and its death by a
 * signal back into Slurm's terms. */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_proto.h"
#include "cpulist.h"
#include "exec.h"
#include "translate.h"

/* A Slurm task killed by a signal must look killed by it to slurmstepd
 * (srun says "Terminated", sacct shows 0:15), not exit 128+N: die of the
 * same signal, without leaving a core file of our own. */
void die_of_signal(int sig)
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
void task_mode(int *argc, char ***argv)
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
