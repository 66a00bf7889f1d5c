/* InfiniBand function choice and VF/PF reservation on a fake sysfs tree
 * built in a temporary directory: two jobs never share a VF or the PF,
 * release frees it, a stale reservation of a dead job is taken over (and
 * only then), concurrent prologs serialize on the lock.  Also the site's
 * ib_allowed list, and the one-line log messages a user's path cannot
 * break. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "ib.h"
#include "log.h"
#include "slurmdlog.h"
#include "topology.h"
#include "vmconf.h"
#include "testutil.h"

#define PF "0000:05:00.0"	/* the ConnectX-3 of 24em64t-2n6c2t-pci.xml */

static char tmpdir[1024];
static struct svm_config conf;
static struct svm_topology *topo;

/* SYSFS/bus/pci/devices/PF with N VFs PF+1..PF+N, as the kernel lays it
 * out (virtfnI -> ../VF, VF/physfn -> ../PF, iommu_group links). */
static void fake_sysfs(const char *sysfs, int n)
{
	char path[2 * PATH_MAX], target[64];

	snprintf(path, sizeof(path), "%s/bus/pci/devices/" PF, sysfs);
	testutil_mkdirs(path);
	snprintf(path, sizeof(path), "%s/kernel/iommu_groups/17", sysfs);
	testutil_mkdirs(path);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/" PF "/iommu_group", sysfs);
	unlink(path);
	assert_int_equal(symlink("../../../kernel/iommu_groups/17", path), 0);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/" PF "/sriov_numvfs", sysfs);
	snprintf(target, sizeof(target), "%d\n", n);
	testutil_write_str(path, target);
	for (int i = 0; i < n; i++) {
		snprintf(target, sizeof(target), "0000:05:%02x.%d", (i + 1) / 8, (i + 1) % 8);
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", sysfs, target);
		testutil_mkdirs(path);
		snprintf(path, sizeof(path), "%s/bus/pci/devices/" PF "/virtfn%d", sysfs, i);
		unlink(path);
		snprintf(target, sizeof(target), "../0000:05:%02x.%d", (i + 1) / 8, (i + 1) % 8);
		assert_int_equal(symlink(target, path), 0);
	}
}

static int setup(void **state)
{
	(void)state;
	testutil_log_capture();
	if (testutil_tmpdir(tmpdir, sizeof(tmpdir), "svm-test-ib") < 0)
		return -1;
	svm_config_defaults(&conf);
	snprintf(conf.sysfs_root, sizeof(conf.sysfs_root), "%s/sys", tmpdir);
	snprintf(conf.runtime_dir, sizeof(conf.runtime_dir), "%s/run", tmpdir);
	fake_sysfs(conf.sysfs_root, 4);
	return svm_topology_load(testutil_srcpath("topologies", "24em64t-2n6c2t-pci.xml"), NULL, "0,12", &topo);
}

static int teardown(void **state)
{
	(void)state;
	svm_topology_free(topo);
	topo = NULL;
	testutil_rm_rf(tmpdir);
	return 0;
}

static const char *vf(uint32_t job, const char *node)
{
	static struct svm_ib_choice c;

	if (svm_ib_select(topo, &conf, SVM_IB_VF, job, node, 1, NULL, NULL, &c) < 0)
		return NULL;
	assert_int_equal(c.mode, SVM_IB_VF);
	assert_string_equal(c.pf, PF);
	assert_string_equal(c.hca, "mlx4_0");
	assert_int_equal(c.reserved, 1);
	return c.bdf;
}

static void test_pf(void **state)
{
	struct svm_ib_choice c;

	(void)state;
	assert_int_equal(svm_ib_select(topo, &conf, SVM_IB_PF, 1, "n1", 1, NULL, NULL, &c), 0);
	assert_int_equal(c.mode, SVM_IB_PF);
	assert_string_equal(c.bdf, PF);
	assert_int_equal(c.host_node, 0);
	assert_int_equal(svm_ib_select(topo, &conf, SVM_IB_NONE, 1, "n1", 1, NULL, NULL, &c), 0);
	assert_int_equal(c.mode, SVM_IB_NONE);
	assert_int_equal(svm_ib_iommu_group(conf.sysfs_root, PF), 17);
	assert_int_equal(svm_ib_iommu_group(conf.sysfs_root, "0000:05:00.1"), -1);
}

static void test_auto(void **state)
{
	struct svm_ib_choice c;
	char path[PATH_MAX + 64];

	(void)state;
	assert_int_equal(svm_ib_select(topo, &conf, SVM_IB_AUTO, 1, "n1", 0, NULL, NULL, &c), 0);
	assert_int_equal(c.mode, SVM_IB_VF);
	assert_string_equal(c.bdf, "0000:05:00.1");
	/* a dry run reserves nothing */
	assert_int_equal(c.reserved, 0);
	snprintf(path, sizeof(path), "%s/vf/0000:05:00.1", conf.runtime_dir);
	assert_int_equal(access(path, F_OK), -1);
	/* SR-IOV off: the whole function */
	snprintf(path, sizeof(path), "%s/bus/pci/devices/" PF "/sriov_numvfs", conf.sysfs_root);
	testutil_write_str(path, "0\n");
	assert_int_equal(svm_ib_select(topo, &conf, SVM_IB_AUTO, 1, "n1", 1, NULL, NULL, &c), 0);
	assert_int_equal(c.mode, SVM_IB_PF);
	assert_string_equal(c.bdf, PF);
	assert_int_equal(svm_ib_select(topo, &conf, SVM_IB_VF, 1, "n1", 1, NULL, NULL, &c), -1);
	assert_string_equal(testutil_last_error, "ib=vf requested but no free SR-IOV VF on mlx4_0 (0000:05:00.0): 0 VFs enabled, all reserved");
}

static void test_two_jobs_never_share(void **state)
{
	char path[PATH_MAX + 64], buf[128];
	int fd;
	ssize_t n;

	(void)state;
	assert_string_equal(vf(1, "n1"), "0000:05:00.1");
	assert_string_equal(vf(2, "n1"), "0000:05:00.2");
	/* same job, other node of the test cluster on the same host */
	assert_string_equal(vf(1, "n2"), "0000:05:00.3");
	/* the prolog run again gets its own VF back */
	assert_string_equal(vf(1, "n1"), "0000:05:00.1");
	assert_string_equal(vf(3, "n1"), "0000:05:00.4");
	assert_null(vf(4, "n1"));
	assert_string_equal(testutil_last_error, "ib=vf requested but no free SR-IOV VF on mlx4_0 (0000:05:00.0): 4 VFs enabled, all reserved");

	/* the owner file names job and node */
	snprintf(path, sizeof(path), "%s/vf/0000:05:00.2", conf.runtime_dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "job=2 node=n1\n");

	/* release frees exactly that job's VF, and is idempotent */
	assert_int_equal(svm_ib_release(&conf, 2, "n1"), 1);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(svm_ib_release(&conf, 2, "n1"), 0);
	assert_string_equal(vf(4, "n1"), "0000:05:00.2");
	assert_int_equal(svm_ib_release(&conf, 1, "n1"), 1);
	assert_int_equal(svm_ib_release(&conf, 1, "n2"), 1);
	assert_int_equal(svm_ib_release(&conf, 3, "n1"), 1);
	assert_int_equal(svm_ib_release(&conf, 4, "n1"), 1);
	assert_int_equal(svm_ib_release(&conf, 99, "n1"), 0);
}

static int alive_except_3(uint32_t job, const char *node, void *arg)
{
	int *calls = arg;

	(*calls)++;
	return !(job == 3 && !strcmp(node, "n1"));
}

static void test_stale_reservation(void **state)
{
	struct svm_ib_choice c;
	char path[PATH_MAX + 64];
	int calls = 0;

	(void)state;
	assert_string_equal(vf(1, "n1"), "0000:05:00.1");
	assert_string_equal(vf(2, "n1"), "0000:05:00.2");
	assert_string_equal(vf(3, "n1"), "0000:05:00.3");
	assert_string_equal(vf(4, "n1"), "0000:05:00.4");
	/* job 3 crashed and its epilog never ran */
	assert_int_equal(svm_ib_select(topo, &conf, SVM_IB_VF, 5, "n1", 1, alive_except_3, &calls, &c), 0);
	assert_string_equal(c.bdf, "0000:05:00.3");
	assert_true(calls >= 3);
	/* now job 5 owns it: job 3's late epilog releases nothing */
	assert_int_equal(svm_ib_release(&conf, 3, "n1"), 0);
	assert_int_equal(svm_ib_release(&conf, 5, "n1"), 1);

	/* a garbled owner file is never taken (nor crashes anything) */
	snprintf(path, sizeof(path), "%s/vf/0000:05:00.3", conf.runtime_dir);
	testutil_write_str(path, "garbage");
	assert_int_equal(svm_ib_select(topo, &conf, SVM_IB_VF, 6, "n1", 1, alive_except_3, &calls, &c), -1);
	/* without a liveness callback every owner counts as alive */
	unlink(path);
	testutil_write_str(path, "job=3 node=n1\n");
	assert_int_equal(svm_ib_select(topo, &conf, SVM_IB_VF, 6, "n1", 1, NULL, NULL, &c), -1);
}

static void test_concurrent_prologs(void **state)
{
	enum { N = 4 };
	pid_t pids[N];
	int fds[2];
	char got[N][16];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct svm_ib_choice c;
			char line[16] = { 0 };

			close(fds[0]);
			if (svm_ib_select(topo, &conf, SVM_IB_VF, 100 + (uint32_t)i, "n1", 1, NULL, NULL, &c) == 0)
				snprintf(line, sizeof(line), "%s", c.bdf);
			if (write(fds[1], line, sizeof(line)) != sizeof(line))
				_exit(2);
			_exit(0);
		}
	}
	close(fds[1]);
	for (int i = 0; i < N; i++) {
		int status;

		assert_int_equal(read(fds[0], got[i], sizeof(got[i])), (ssize_t)sizeof(got[i]));
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	close(fds[0]);
	for (int i = 0; i < N; i++) {
		assert_int_equal(strncmp(got[i], "0000:05:00.", 11), 0);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(got[i], got[j]);
	}
}

static void test_errors(void **state)
{
	struct svm_topology *none = NULL;
	struct svm_ib_choice c;

	(void)state;
	assert_int_equal(svm_topology_load(testutil_srcpath("topologies", "16em64t-4s2c2t.xml"), NULL, "0", &none), 0);
	assert_int_equal(svm_ib_select(none, &conf, SVM_IB_PF, 1, "n1", 1, NULL, NULL, &c), -1);
	assert_string_equal(testutil_last_error, "ib=pf requested but this node has no InfiniBand adapter");
	assert_int_equal(c.busy, 0);
	assert_int_equal(svm_ib_select(none, &conf, SVM_IB_AUTO, 1, "n1", 1, NULL, NULL, &c), 0);
	assert_int_equal(c.mode, SVM_IB_NONE);
	svm_topology_free(none);

	assert_int_equal(svm_ib_select(topo, &conf, SVM_IB_VF, 1, "../etc", 1, NULL, NULL, &c), -1);
	assert_string_equal(testutil_last_error, "node name '../etc' is not a plain host name");
	assert_int_equal(svm_ib_release(&conf, 1, "a b"), -1);
	/* nothing was ever reserved: release is a no-op */
	snprintf(conf.runtime_dir, sizeof(conf.runtime_dir), "%s/never", tmpdir);
	assert_int_equal(svm_ib_release(&conf, 1, "n1"), 0);
}

/* The owner file of function BDF, "" when there is none. */
static const char *owner(const char *bdf)
{
	static char buf[128];
	char path[PATH_MAX + 64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/vf/%s", conf.runtime_dir, bdf);
	buf[0] = '\0';
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static int pf(uint32_t job, const char *node, svm_vf_alive_fn alive, void *arg)
{
	struct svm_ib_choice c;

	if (svm_ib_select(topo, &conf, SVM_IB_PF, job, node, 1, alive, arg, &c) < 0)
		return -1;
	assert_int_equal(c.mode, SVM_IB_PF);
	assert_string_equal(c.bdf, PF);
	assert_int_equal(c.reserved, 1);
	return 0;
}

/* The whole adapter is booked like a VF: one job at a time, and never
 * while a VF of it is in use (passing the PF through takes the VFs). */
static void test_pf_reserved(void **state)
{
	struct svm_ib_choice c;

	(void)state;
	assert_int_equal(pf(1, "n1", NULL, NULL), 0);
	assert_string_equal(owner(PF), "job=1 node=n1\n");
	/* a second job on the node gets neither the PF nor a VF of it */
	assert_int_equal(pf(2, "n1", NULL, NULL), -1);
	assert_string_equal(testutil_last_error, "ib=pf requested but InfiniBand adapter mlx4_0 (" PF ") is in use: job 1 on n1 holds the whole adapter");
	assert_int_equal(pf(1, "n2", NULL, NULL), -1);
	assert_null(vf(2, "n1"));
	assert_string_equal(testutil_last_error, "ib=vf requested but no free SR-IOV VF on mlx4_0 (" PF "): job 1 on n1 holds the whole adapter");
	assert_int_equal(svm_ib_select(topo, &conf, SVM_IB_PF, 2, "n1", 0, NULL, NULL, &c), -1);
	/* held by another job: the prolog fails the job, not the node */
	assert_int_equal(c.busy, 1);
	/* the prolog run again gets it back */
	assert_int_equal(pf(1, "n1", NULL, NULL), 0);
	/* the epilog's release frees it, once */
	assert_int_equal(svm_ib_release(&conf, 1, "n1"), 1);
	assert_string_equal(owner(PF), "");
	assert_int_equal(svm_ib_release(&conf, 1, "n1"), 0);
	assert_int_equal(pf(2, "n1", NULL, NULL), 0);
	assert_int_equal(svm_ib_release(&conf, 2, "n1"), 1);

	/* a VF in use keeps the PF from being taken */
	assert_string_equal(vf(3, "n1"), "0000:05:00.1");
	assert_int_equal(pf(4, "n1", NULL, NULL), -1);
	assert_string_equal(testutil_last_error, "ib=pf requested but InfiniBand adapter mlx4_0 (" PF ") is in use: job 3 on n1 holds its VF 0000:05:00.1");
	assert_string_equal(owner(PF), "");
	assert_int_equal(svm_ib_release(&conf, 3, "n1"), 1);
	assert_int_equal(pf(4, "n1", NULL, NULL), 0);
}

/* Liveness as slurmctld would answer it: job DEAD is over, job UNKNOWN
 * cannot be asked about, every other job runs. */
struct liveness {
	uint32_t dead, dead2, unknown;
	int calls;
};

static int liveness(uint32_t job, const char *node, void *arg)
{
	struct liveness *l = arg;

	(void)node;
	l->calls++;
	if (job == l->unknown)
		return -1;
	return job != l->dead && job != l->dead2;
}

static void test_stale_pf(void **state)
{
	struct liveness l = { .dead = 0 };

	(void)state;
	assert_int_equal(pf(1, "n1", NULL, NULL), 0);
	/* job 1 still runs, or slurmctld cannot say: never stolen */
	assert_int_equal(pf(2, "n1", liveness, &l), -1);
	assert_int_equal(l.calls, 1);
	l.unknown = 1;
	assert_int_equal(pf(2, "n1", liveness, &l), -1);
	assert_string_equal(owner(PF), "job=1 node=n1\n");
	assert_string_equal(testutil_last_info, "");
	/* job 1 is over and its epilog never ran: reclaimed, and logged */
	l.unknown = 0;
	l.dead = 1;
	assert_int_equal(pf(2, "n1", liveness, &l), 0);
	assert_string_equal(owner(PF), "job=2 node=n1\n");
	assert_string_equal(testutil_last_info, "InfiniBand adapter " PF " was held by job 1 on n1, which is no longer running: reclaimed for job 2 on n1");
	/* job 1's late epilog releases nothing of job 2's */
	assert_int_equal(svm_ib_release(&conf, 1, "n1"), 0);
	assert_int_equal(svm_ib_release(&conf, 2, "n1"), 1);

	/* stale VFs in the way of the PF: reclaimed only if all are stale */
	assert_string_equal(vf(3, "n1"), "0000:05:00.1");
	assert_string_equal(vf(4, "n1"), "0000:05:00.2");
	l.dead = 3;
	assert_int_equal(pf(5, "n1", liveness, &l), -1);
	assert_string_equal(owner("0000:05:00.1"), "job=3 node=n1\n");
	l.dead2 = 4;
	l.unknown = 4;
	assert_int_equal(pf(5, "n1", liveness, &l), -1);
	assert_string_equal(owner("0000:05:00.2"), "job=4 node=n1\n");
	l.unknown = 0;
	assert_int_equal(pf(5, "n1", liveness, &l), 0);
	assert_string_equal(owner("0000:05:00.1"), "");
	assert_string_equal(owner("0000:05:00.2"), "");
	assert_string_equal(owner(PF), "job=5 node=n1\n");
	assert_int_equal(svm_ib_release(&conf, 5, "n1"), 1);
}

static void test_stale_vf_unknown(void **state)
{
	struct liveness l = { .unknown = 2 };
	struct svm_ib_choice c;

	(void)state;
	for (uint32_t j = 1; j <= 4; j++)
		assert_non_null(vf(j, "n1"));
	/* slurmctld cannot be asked about job 2, the others run */
	assert_int_equal(svm_ib_select(topo, &conf, SVM_IB_VF, 5, "n1", 1, liveness, &l, &c), -1);
	assert_string_equal(owner("0000:05:00.2"), "job=2 node=n1\n");
	/* job 2 is over: its VF is reclaimed and the log says so */
	l.unknown = 0;
	l.dead = 2;
	assert_int_equal(svm_ib_select(topo, &conf, SVM_IB_VF, 5, "n1", 1, liveness, &l, &c), 0);
	assert_string_equal(c.bdf, "0000:05:00.2");
	assert_string_equal(owner("0000:05:00.2"), "job=5 node=n1\n");
	assert_string_equal(testutil_last_info, "VF 0000:05:00.2 was held by job 2 on n1, which is no longer running: reclaimed for job 5 on n1");
}

static void test_ib_allowed(void **state)
{
	struct svm_config c;
	char err[256];

	(void)state;
	/* the default: VFs, never the whole adapter */
	svm_config_defaults(&c);
	assert_int_equal(svm_config_ib_allowed(&c, -1, err, sizeof(err)), 0);
	assert_int_equal(svm_config_ib_allowed(&c, SVM_IB_NONE, err, sizeof(err)), 0);
	assert_int_equal(svm_config_ib_allowed(&c, SVM_IB_VF, err, sizeof(err)), 0);
	assert_int_equal(svm_config_ib_allowed(&c, SVM_IB_PF, err, sizeof(err)), -1);
	assert_string_equal(err, "--vm-ib=pf is not allowed on this cluster (ib_allowed = none,vf)");

	svm_config_defaults(&c);
	assert_int_equal(svm_config_parse(&c, "vm.conf", "# IB\nib_allowed = none, pf,vf\n"), 0);
	assert_int_equal(svm_config_ib_allowed(&c, SVM_IB_PF, err, sizeof(err)), 0);
	assert_int_equal(svm_config_parse(&c, "vm.conf", "ib_allowed = pf\n"), 0);
	assert_int_equal(svm_config_ib_allowed(&c, SVM_IB_PF, err, sizeof(err)), 0);
	assert_int_equal(svm_config_ib_allowed(&c, SVM_IB_VF, err, sizeof(err)), -1);
	assert_string_equal(err, "--vm-ib=vf is not allowed on this cluster (ib_allowed = none,pf)");
	/* empty: users may only turn IB off; none is always allowed */
	assert_int_equal(svm_config_parse(&c, "vm.conf", "ib_allowed =\n"), 0);
	assert_int_equal(svm_config_ib_allowed(&c, SVM_IB_NONE, err, sizeof(err)), 0);
	assert_int_equal(svm_config_ib_allowed(&c, SVM_IB_VF, err, sizeof(err)), -1);
	assert_string_equal(err, "--vm-ib=vf is not allowed on this cluster (ib_allowed = none)");
	/* the site's own ib = pf is not the user's request */
	assert_int_equal(svm_config_parse(&c, "vm.conf", "ib = pf\n"), 0);
	assert_int_equal(svm_config_ib_allowed(&c, -1, err, sizeof(err)), 0);

	/* bad values name the file and line, and change nothing */
	svm_config_defaults(&c);
	assert_int_equal(svm_config_parse(&c, "/etc/slurm/vm.conf", "ib = vf\nib_allowed = none,gpu\n"), -1);
	assert_string_equal(testutil_last_error, "/etc/slurm/vm.conf line 2: ib_allowed: 'gpu' is not one of none pf vf");
	assert_int_equal(svm_config_ib_allowed(&c, SVM_IB_PF, err, sizeof(err)), -1);
	assert_int_equal(svm_config_parse(&c, "vm.conf", "ib_allowed = auto\n"), -1);
	assert_string_equal(testutil_last_error, "vm.conf line 1: ib_allowed: 'auto' is not one of none pf vf");
}

/* A user's path with a newline in it stays on one line everywhere. */
static void test_log_escape(void **state)
{
	char buf[64], logfile[PATH_MAX], slurmconf[PATH_MAX], text[PATH_MAX + 64];
	int fd, lines = 0;
	ssize_t n;

	(void)state;
	svm_error("cannot open image %s: %s", "/home/u/a\nb.qcow2", "No such file");
	assert_string_equal(testutil_last_error, "cannot open image /home/u/a\\nb.qcow2: No such file");
	svm_info("x\r\ty\033[2J\177z");
	assert_string_equal(testutil_last_info, "x\\r\\ty\\x1b[2J\\x7fz");
	/* unchanged: UTF-8 and ordinary text */
	svm_info("caf\xc3\xa9 ok");
	assert_string_equal(testutil_last_info, "caf\xc3\xa9 ok");
	/* truncation never leaves half an escape */
	assert_int_equal(svm_log_escape(buf, 6, "ab\ncd"), 5);
	assert_string_equal(buf, "ab\\nc");
	assert_int_equal(svm_log_escape(buf, 4, "ab\ncd"), 2);
	assert_string_equal(buf, "ab");

	/* the real sink of the prolog and epilog: slurmd's log file */
	snprintf(logfile, sizeof(logfile), "%s/slurmd-n1.log", tmpdir);
	snprintf(slurmconf, sizeof(slurmconf), "%s/slurm.conf", tmpdir);
	snprintf(text, sizeof(text), "SlurmdLogFile=%s/slurmd-%%n.log\nSlurmdDebug=info\n", tmpdir);
	testutil_write_str(slurmconf, text);
	testutil_write_str(logfile, "");
	svm_slurmdlog_init("slurm-vm-prolog", slurmconf, "n1", 42);
	svm_error("cannot open image %s", "/home/u/a\nerror: forged line\n");
	testutil_log_capture();
	fd = open(logfile, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	assert_true(n > 0);
	text[n] = '\0';
	for (char *p = text; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 1);
	assert_non_null(strstr(text, "error: slurm-vm-prolog: job 42: cannot open image /home/u/a\\nerror: forged line\\n\n"));
}

static void test_pci_parse(void **state)
{
	unsigned d, b, s, f;

	(void)state;
	assert_int_equal(svm_ib_pci_parse("0000:05:00.1", &d, &b, &s, &f), 0);
	assert_int_equal(b, 5);
	assert_int_equal(f, 1);
	assert_int_equal(svm_ib_pci_parse("81:1f.7", &d, &b, &s, &f), 0);
	assert_int_equal(b, 0x81);
	assert_int_equal(s, 0x1f);
	assert_int_equal(svm_ib_pci_parse("0000:05:20.0", &d, &b, &s, &f), -1);
	assert_int_equal(svm_ib_pci_parse("0000:05:00.8", &d, &b, &s, &f), -1);
	assert_int_equal(svm_ib_pci_parse("0000:05:00.1x", &d, &b, &s, &f), -1);
	assert_int_equal(svm_ib_pci_parse("0x00:05:00.1", &d, &b, &s, &f), -1);
	assert_int_equal(svm_ib_pci_parse(" 05:00.1", &d, &b, &s, &f), -1);
	assert_int_equal(svm_ib_pci_parse("lock", &d, &b, &s, &f), -1);
	assert_int_equal(svm_ib_pci_parse(NULL, &d, &b, &s, &f), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_jobs_never_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_reservation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_prologs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_parse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pf_reserved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_pf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_vf_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ib_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_escape, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
