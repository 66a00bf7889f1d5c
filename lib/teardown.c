#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "ib.h"
#include "log.h"
#include "netjob.h"
#include "parse.h"
#include "relayproc.h"
#include "spawn.h"
#include "teardown.h"

static void libvirt_error(void *arg, virErrorPtr err)
{
	(void)arg;
	if (err && err->code != VIR_ERR_NO_DOMAIN && err->message)
		svm_error("libvirt: %s", err->message);
}

void svm_libvirt_errors_to_log(void)
{
	virSetErrorFunc(NULL, libvirt_error);
}

static void libvirt_quiet(void *arg, virErrorPtr err)
{
	(void)arg;
	(void)err;
}

/* libvirt's errors to our log when LOUD, else dropped. */
static void errors_to_log_if(int loud)
{
	virSetErrorFunc(NULL, loud ? libvirt_error : libvirt_quiet);
}

/* A libvirtd being restarted (a package upgrade, an admin, systemd's
 * Restart=) refuses connections for a second or two; a prolog or epilog
 * that gave up at once failed, and Slurm drained the node for it.  So
 * keep trying for a while, quietly, and report only the last failure. */
#define LIBVIRT_CONNECT_WAIT_MS 15000
#define LIBVIRT_CONNECT_STEP_MS 250

virConnectPtr svm_libvirt_open(const char *uri)
{
	virConnectPtr conn = NULL;

	for (int waited = 0;; waited += LIBVIRT_CONNECT_STEP_MS) {
		int last = waited + LIBVIRT_CONNECT_STEP_MS > LIBVIRT_CONNECT_WAIT_MS;
		struct timespec ts = { 0, LIBVIRT_CONNECT_STEP_MS * 1000000L };

		errors_to_log_if(last);
		conn = virConnectOpen(uri);
		if (conn || last)
			break;
		if (waited == 0)
			svm_info("libvirt at %s does not answer; trying again for %d s", uri,
				 LIBVIRT_CONNECT_WAIT_MS / 1000);
		nanosleep(&ts, NULL);
	}
	svm_libvirt_errors_to_log();
	return conn;
}

/* Destroys (and, if defined, undefines) domain NAME.  Looked up again on
 * each try: right after a libvirtd restart the daemon is still
 * reconnecting to its QEMUs, and a domain it finds dead vanishes under us
 * (destroy then fails with "no domain", which is what we wanted) or is
 * briefly locked; so a failed destroy is tried again for a few seconds
 * before it counts, quietly but for the last try.  A libvirtd that went
 * away after we connected (restarted while it destroyed the domain) has
 * closed our connection: each try then failed at once with "client
 * socket is closed" and the node was drained; a dead connection is
 * opened again (waiting for the new libvirtd) before the next try. */
#define DESTROY_TRIES 20
#define DESTROY_STEP_MS 500

static int destroy_domain(const struct svm_config *conf, const char *name)
{
	virConnectPtr conn;
	int rc = -1;

	conn = svm_libvirt_open(conf->libvirt_uri);
	if (!conn) {
		svm_error("cannot connect to libvirt at %s", conf->libvirt_uri);
		return -1;
	}
	for (int i = 0; i < DESTROY_TRIES && rc < 0; i++) {
		struct timespec ts = { 0, DESTROY_STEP_MS * 1000000L };
		int last = i == DESTROY_TRIES - 1, persistent;
		virDomainPtr dom;

		if (i > 0)
			nanosleep(&ts, NULL);
		if (virConnectIsAlive(conn) != 1) {
			svm_info("the connection to libvirt at %s closed (libvirtd restarted?); connecting again",
				 conf->libvirt_uri);
			virConnectClose(conn);
			conn = svm_libvirt_open(conf->libvirt_uri);
			if (!conn) {
				svm_error("cannot connect to libvirt at %s", conf->libvirt_uri);
				break;
			}
		}
		errors_to_log_if(last);
		dom = virDomainLookupByName(conn, name);
		if (!dom) {
			if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN) {
				rc = 0;	/* none, or gone since the last try */
				break;
			}
			continue;	/* libvirtd not itself yet */
		}
		/* the prolog starts transient domains, gone once destroyed; one
		 * defined by hand under our name is undefined too */
		persistent = virDomainIsPersistent(dom) == 1;
		if (virDomainIsActive(dom) != 1 || virDomainDestroy(dom) == 0)
			rc = 0;
		if (rc == 0) {
			if (persistent)
				virDomainUndefineFlags(dom, VIR_DOMAIN_UNDEFINE_NVRAM);
			svm_verbose("destroyed domain %s", name);
		}
		virDomainFree(dom);
	}
	svm_libvirt_errors_to_log();
	if (rc < 0)
		svm_error("cannot destroy domain %s", name);
	if (conn)
		virConnectClose(conn);
	return rc;
}

/* The prolog marks the moment it asks libvirt for the domain: before that
 * there is nothing to destroy, and an unreachable libvirtd (the reason the
 * prolog failed) must not fail the epilog too.  Without a state dir we
 * cannot tell, and look. */
static int domain_may_exist(const struct svm_jobdir *dir)
{
	char path[PATH_MAX];
	struct stat st;

	if (lstat(dir->state, &st) < 0)
		return 1;
	if (svm_path_join(path, sizeof(path), dir->state, "domain.started") < 0)
		return 1;
	return lstat(path, &st) == 0;
}

/* Gives the VFIO group device the prolog handed to the job user back to
 * root (libvirt rebinds a managed device to its host driver itself). */
static int take_back_vfio(const struct svm_jobdir *dir)
{
	char path[PATH_MAX], buf[16], dev[64];

	if (svm_path_join(path, sizeof(path), dir->state, "vfio-group") < 0)
		return -1;
	if (svm_state_read(dir->state, "vfio-group", buf, sizeof(buf)) < 0)
		return 0;
	snprintf(dev, sizeof(dev), "/dev/vfio/%ld", strtol(buf, NULL, 10));
	if ((chown(dev, 0, 0) < 0 || chmod(dev, 0600) < 0) && errno != ENOENT) {
		svm_error("cannot take %s back from the job: %s", dev, strerror(errno));
		return -1;
	}
	unlink(path);
	return 0;
}

int svm_teardown(const struct svm_config *conf, const struct svm_jobdir *dir,
		 int keep_state)
{
	int rc = 0;

	if (domain_may_exist(dir) && destroy_domain(conf, dir->domain) < 0)
		rc = -1;
	if (take_back_vfio(dir) < 0)
		rc = -1;
	/* the relay and whatever it started: see relayproc.h */
	if (svm_relay_stop(dir) < 0)
		rc = -1;
	if (svm_ib_release(conf, dir->job, dir->node) < 0)
		rc = -1;
	if (svm_netjob_down(conf, dir->job) < 0)
		rc = -1;
	if (svm_rmtree(dir->scratch) < 0)
		rc = -1;
	if (!keep_state && svm_rmtree(dir->state) < 0)
		rc = -1;
	return rc;
}
