#include "config.h"

#include <stdio.h>
#include <string.h>

#include "agent_boot.h"
#include "log.h"

/* The units, as systemd gets them.  The mount and the service start as
 * early as the agent's needs allow: local file systems (a job's shares
 * are mounted over the image's own directories) and udev (the medium's
 * by-id link and the port's /dev/virtio-ports link); not the network,
 * which the agent configures itself, and not multi-user.target.  The
 * agent is restarted by systemd if it dies (steps then fail cleanly and
 * the next step finds a fresh agent).
 *
 * The medium's agent only Wants= its mount (WantsMountsFor=, systemd 256,
 * which zero-touch needs anyway), never Requires= it: the medium's device
 * job is queued at the start of the boot and times out after systemd's
 * default device timeout (90 s); under software emulation on a loaded
 * host udev can take longer than that to create the by-id link.  With
 * Requires= that one timeout failed the agent for the guest's whole life
 * ("dependency failed" is not restarted).  With Wants= the agent's start
 * fails instead, Restart= tries again a second later, and each new start
 * queues the mount again, until the device is there. */
static const char mount_unit[] =
	"[Unit]\n"
	"Description=slurm-vm agent medium from the host\n"
	"DefaultDependencies=no\n"
	"ConditionPathExists=!/etc/initrd-release\n"
	"Conflicts=umount.target\n"
	"Before=umount.target\n"
	"\n"
	"[Mount]\n"
	"What=/dev/disk/by-id/virtio-" SVM_AGENT_MEDIUM_SERIAL "\n"
	"Where=" SVM_AGENT_MEDIUM_MOUNT "\n"
	"Options=ro,nosuid,nodev\n";

/* The service, for the medium's agent and for one installed in the image
 * (slurm-vm image prepare): %1$s what it runs, %2$s where that comes from,
 * %3$s the directory it lives in, %4$s the port, %5$s how it needs that
 * directory's mounts: "Wants" for the medium (see above), "Requires" for
 * an agent in the image's own file systems (any systemd version). */
static const char service_fmt[] =
	"[Unit]\n"
	"Description=slurm-vm guest agent (%2$s)\n"
	"DefaultDependencies=no\n"
	"ConditionPathExists=!/etc/initrd-release\n"
	"%5$sMountsFor=%3$s\n"
	"After=local-fs.target systemd-udevd.service systemd-udev-trigger.service\n"
	"Conflicts=shutdown.target\n"
	"Before=shutdown.target\n"
	"StartLimitIntervalSec=0\n"
	"\n"
	"[Service]\n"
	"ExecStart=%1$s --port /dev/virtio-ports/%4$s\n"
	"Restart=always\n"
	"RestartSec=1\n";

static const char dropin[] =
	"[Unit]\n"
	"Wants=slurm-vm-agent.service\n";

/* Credential names: systemd-debug-generator writes systemd.extra-unit.X
 * as unit X and systemd.unit-dropin.X as a drop-in for unit X. */
static const char *const cred_names[] = {
	"systemd.extra-unit.run-slurmvm.mount",
	"systemd.extra-unit.slurm-vm-agent.service",
	"systemd.unit-dropin.sysinit.target",
};

int svm_agent_port_ok(const char *port)
{
	size_t n = port ? strlen(port) : 0;

	return n > 0 && n < 64 &&
	       strspn(port, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

int svm_base64(const void *data, size_t len, char *out, size_t outlen)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	size_t o = 0;

	if (outlen < (len + 2) / 3 * 4 + 1)
		return -1;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	return 0;
}

/* 1 if PATH can be a unit's ExecStart program: absolute, at most 255
 * bytes of letters, digits and "._-/+", no "//", "/./" or "/../". */
static int exec_path_ok(const char *path)
{
	size_t n = path ? strlen(path) : 0;

	/* no '%' (a systemd specifier), no space or quote (ExecStart splits
	 * and unquotes), no "//" or "/./" games, not the root */
	return n > 1 && n < 256 && path[0] == '/' && path[n - 1] != '/' &&
	       strspn(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/+") == n &&
	       !strstr(path, "//") && !strstr(path, "/./") && !strstr(path, "/../");
}

int svm_agent_service_unit(const char *port, const char *exec_path, char *buf, size_t len)
{
	const char *slash;
	char dir[256];
	int n, medium;

	if (!svm_agent_port_ok(port) || !exec_path_ok(exec_path))
		return -1;
	slash = strrchr(exec_path, '/');
	if (slash == exec_path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - exec_path), exec_path);
	medium = !strcmp(dir, SVM_AGENT_MEDIUM_MOUNT);
	n = snprintf(buf, len, service_fmt, exec_path,
		     medium ? "the host's, from its medium" : "installed in the image",
		     dir, port, medium ? "Wants" : "Requires");
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int svm_agent_boot_unit(const char *port, const char *name, char *buf, size_t len)
{
	int n;

	if (!svm_agent_port_ok(port))
		return -1;
	if (!strcmp(name, cred_names[0]))
		n = snprintf(buf, len, "%s", mount_unit);
	else if (!strcmp(name, cred_names[1]))
		return svm_agent_service_unit(port, SVM_AGENT_MEDIUM_MOUNT "/slurm-vm-agent", buf, len);
	else if (!strcmp(name, cred_names[2]))
		n = snprintf(buf, len, "%s", dropin);
	else
		return -1;
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int svm_agent_boot_oem(FILE *f, const char *port)
{
	char unit[1024], b64[1500];

	if (!svm_agent_port_ok(port)) {
		svm_error("agent_port '%s' cannot be passed to the guest's systemd: use letters, digits, '.', '_' and '-'",
			  port ? port : "");
		return -1;
	}
	for (size_t i = 0; i < sizeof(cred_names) / sizeof(cred_names[0]); i++) {
		if (svm_agent_boot_unit(port, cred_names[i], unit, sizeof(unit)) < 0 ||
		    svm_base64(unit, strlen(unit), b64, sizeof(b64)) < 0) {
			svm_error("cannot encode the guest unit %s", cred_names[i]);
			return -1;
		}
		fprintf(f, "      <entry>io.systemd.credential.binary:%s=%s</entry>\n", cred_names[i], b64);
	}
	return 0;
}
