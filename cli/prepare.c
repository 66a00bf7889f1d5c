#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_boot.h"
#include "image.h"
#include "jobdir.h"
#include "log.h"
#include "parse.h"
#include "prepare.h"
#include "spawn.h"

/* Drivers the guest needs before its root filesystem is up: the PCI
 * transport and the disk (virtio-blk or virtio-scsi).  Where the image's
 * kernel has them as modules and its initramfs lacks one, prepare adds it.
 * The rest (the agent's port, the NIC, 9p for the shares) load from the
 * root filesystem: udev loads them by modalias and the agent runs
 * modprobe 9pnet_virtio 9p itself, so they need no initramfs rebuild
 * (which costs minutes in libguestfs' appliance under TCG); prepare only
 * checks that the kernel has them. */
#define PREPARE_BOOT_MODULES "virtio_pci virtio_blk virtio_scsi"
#define PREPARE_LATER_MODULES "virtio_console virtio_net 9pnet_virtio 9p"

/* Where the programs are looked for (the environment's PATH is not
 * trusted, nor passed on). */
#define PREPARE_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* A raw "image" this small holds no operating system: a text file, say. */
#define PREPARE_MIN_SIZE (1024 * 1024)

/* The guest side, run by virt-customize inside the image (chroot in the
 * appliance, the image's own /bin/sh).  Each step looks at what the image
 * has and does only what is missing, so preparing twice changes nothing.
 *   init: systemd (what /sbin/init is, or systemd alone installed) gets
 *     slurm-vm-agent.service, enabled by a sysinit.target.wants link;
 *     otherwise /etc/inittab gets a respawn line (sysvinit's "id:runlevels"
 *     form where the file has an initdefault line, busybox's "::" form
 *     else) for a small loop that finds the port in sysfs (no udev needed)
 *     and runs the agent; neither: a clear error.
 *   udev: where no rule of the image makes /dev/virtio-ports/NAME (systemd
 *     ships one in 50-udev-default.rules), one is added.
 *   initramfs: for each installed kernel whose initramfs lacks a boot
 *     driver that the kernel has as a module, initramfs-tools gets it in
 *     /etc/initramfs-tools/modules and update-initramfs -u, dracut gets
 *     add_drivers in /etc/dracut.conf.d and dracut -f --regenerate-all.
 * What it found and did goes to /var/log/slurm-vm-prepare.log in the image. */
static const char script_head[] =
	"# slurm-vm image prepare: run inside the image by virt-customize\n"
	"set -u\n"
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
	"export PATH\n"
	"fail() { echo \"slurm-vm-prepare: error: $*\" >&2; exit 1; }\n"
	"# what was done, kept in the image (virt-customize shows no output)\n"
	"LOG=/var/log/slurm-vm-prepare.log\n"
	"mkdir -p /var/log && : > $LOG\n"
	"note() { echo \"slurm-vm-prepare: $*\" | tee -a $LOG; }\n"
	"[ -x \"$AGENT\" ] || fail \"the agent did not arrive at $AGENT\"\n"
	"\n"
	"# init\n"
	"init=$(readlink -f /sbin/init 2>/dev/null || true)\n"
	"systemd=0\n"
	"case $init in\n"
	"*/systemd) systemd=1 ;;\n"
	"'') if [ -x /lib/systemd/systemd ] || [ -x /usr/lib/systemd/systemd ]; then systemd=1; fi ;;\n"
	"esac\n"
	"if [ $systemd = 1 ]; then\n"
	"\tmkdir -p /etc/systemd/system/sysinit.target.wants || fail \"cannot create /etc/systemd/system/sysinit.target.wants\"\n"
	"\tcat > /etc/systemd/system/slurm-vm-agent.service <<'SVM_EOF' || fail \"cannot write /etc/systemd/system/slurm-vm-agent.service\"\n";

static const char script_mid[] =
	"SVM_EOF\n"
	"\tchmod 0644 /etc/systemd/system/slurm-vm-agent.service\n"
	"\tln -sfn /etc/systemd/system/slurm-vm-agent.service /etc/systemd/system/sysinit.target.wants/slurm-vm-agent.service ||\n"
	"\t\tfail \"cannot enable slurm-vm-agent.service\"\n"
	"\tnote \"init: systemd, slurm-vm-agent.service wanted by sysinit.target\"\n"
	"elif [ -f /etc/inittab ]; then\n"
	"\tcat > \"$AGENT_START\" <<SVM_EOF || fail \"cannot write $AGENT_START\"\n"
	"#!/bin/sh\n"
	"# slurm-vm: runs the guest agent on its virtio-serial port (init respawns\n"
	"# this script; it finds the port in sysfs, so it needs no udev).\n"
	"while :; do\n"
	"\tdev=\n"
	"\tfor d in /sys/class/virtio-ports/vport*; do\n"
	"\t\t[ \"\\$(cat \"\\$d/name\" 2>/dev/null)\" = $PORT ] && dev=/dev/\\${d##*/}\n"
	"\tdone\n"
	"\t[ -n \"\\$dev\" ] && [ -c \"\\$dev\" ] && $AGENT --port \"\\$dev\"\n"
	"\tsleep 1\n"
	"done\n"
	"SVM_EOF\n"
	"\tchmod 0755 \"$AGENT_START\"\n"
	"\tgrep -v slurm-vm-agent-start /etc/inittab > /etc/inittab.slurm-vm || fail \"cannot rewrite /etc/inittab\"\n"
	"\tif grep -q '^[^#]*:initdefault:' /etc/inittab; then line=\"svma:2345:respawn:$AGENT_START\"\n"
	"\telse line=\"::respawn:$AGENT_START\"; fi\n"
	"\techo \"$line\" >> /etc/inittab.slurm-vm && cat /etc/inittab.slurm-vm > /etc/inittab || fail \"cannot rewrite /etc/inittab\"\n"
	"\trm -f /etc/inittab.slurm-vm\n"
	"\tnote \"init: inittab, $line\"\n"
	"else\n"
	"\tfail \"the image has neither systemd nor /etc/inittab: no init slurm-vm knows how to start the agent with\"\n"
	"fi\n"
	"\n"
	"# udev: /dev/virtio-ports/NAME\n"
	"if [ -d /lib/udev/rules.d ] || [ -d /usr/lib/udev/rules.d ] || [ -d /etc/udev/rules.d ]; then\n"
	"\tif grep -qs 'virtio-ports/' /lib/udev/rules.d/*.rules /usr/lib/udev/rules.d/*.rules /etc/udev/rules.d/*.rules; then\n"
	"\t\tnote \"udev: the image has a virtio-ports rule\"\n"
	"\telse\n"
	"\t\tmkdir -p /etc/udev/rules.d &&\n"
	"\t\techo 'SUBSYSTEM==\"virtio-ports\", KERNEL==\"vport*\", ATTR{name}==\"?*\", SYMLINK+=\"virtio-ports/$attr{name}\"' \\\n"
	"\t\t\t> /etc/udev/rules.d/60-slurm-vm-virtio-ports.rules || fail \"cannot write the udev rule\"\n"
	"\t\tnote \"udev: added 60-slurm-vm-virtio-ports.rules\"\n"
	"\tfi\n"
	"fi\n"
	"\n"
	"# initramfs: the drivers each kernel has as modules and its initramfs lacks\n"
	"if command -v update-initramfs >/dev/null 2>&1 && [ -d /etc/initramfs-tools ]; then tool=initramfs-tools\n"
	"elif command -v dracut >/dev/null 2>&1; then tool=dracut\n"
	"else tool=none; fi\n"
	"all=\n"
	"for dir in /lib/modules/*; do\n"
	"\t[ -f \"$dir/modules.dep\" ] || continue\n"
	"\tver=${dir##*/}\n"
	"\tfor m in $LATER_MODULES; do\n"
	"\t\tgrep -q \"/$m\\.ko\" \"$dir/modules.builtin\" \"$dir/modules.dep\" 2>/dev/null ||\n"
	"\t\t\tnote \"warning: kernel $ver has no $m module: the guest will lack it\"\n"
	"\tdone\n"
	"\timg=\n"
	"\tfor f in /boot/initrd.img-$ver /boot/initramfs-$ver.img /boot/initrd-$ver; do [ -f \"$f\" ] && { img=$f; break; }; done\n"
	"\t[ -n \"$img\" ] || { note \"initramfs: none for kernel $ver\"; continue; }\n"
	"\tcase $tool in\n"
	"\tinitramfs-tools) list=$(lsinitramfs \"$img\" 2>/dev/null) ;;\n"
	"\tdracut) list=$(lsinitrd \"$img\" 2>/dev/null) ;;\n"
	"\t*) note \"initramfs: $img, but no initramfs-tools or dracut to rebuild it\"; continue ;;\n"
	"\tesac\n"
	"\tneed=\n"
	"\tfor m in $BOOT_MODULES; do\n"
	"\t\tgrep -q \"/$m\\.ko\" \"$dir/modules.builtin\" 2>/dev/null && continue\n"
	"\t\tgrep -q \"/$m\\.ko\" \"$dir/modules.dep\" || continue\n"
	"\t\tprintf '%s\\n' \"$list\" | grep -q \"/$m\\.ko\" && continue\n"
	"\t\tneed=\"$need $m\"\n"
	"\tdone\n"
	"\tif [ -z \"$need\" ]; then note \"initramfs: $img has the drivers\"; continue; fi\n"
	"\tall=\"$all$need\"\n"
	"\tif [ $tool = initramfs-tools ]; then\n"
	"\t\tfor m in $need; do\n"
	"\t\t\tgrep -qx \"$m\" /etc/initramfs-tools/modules 2>/dev/null || echo \"$m\" >> /etc/initramfs-tools/modules ||\n"
	"\t\t\t\tfail \"cannot write /etc/initramfs-tools/modules\"\n"
	"\t\tdone\n"
	"\t\tupdate-initramfs -u -k \"$ver\" > /dev/null || fail \"update-initramfs -u -k $ver failed\"\n"
	"\t\tnote \"initramfs: added$need to $img\"\n"
	"\tfi\n"
	"done\n"
	"if [ $tool = dracut ] && [ -n \"$all\" ]; then\n"
	"\tmkdir -p /etc/dracut.conf.d &&\n"
	"\techo \"add_drivers+=\\\" $(printf '%s\\n' $all | sort -u | tr '\\n' ' ')\\\"\" > /etc/dracut.conf.d/50-slurm-vm.conf ||\n"
	"\t\tfail \"cannot write /etc/dracut.conf.d/50-slurm-vm.conf\"\n"
	"\tdracut -f --regenerate-all > /dev/null 2>&1 || fail \"dracut -f --regenerate-all failed\"\n"
	"\tnote \"initramfs: dracut add_drivers$all\"\n"
	"fi\n"
	"exit 0\n";

char *svm_prepare_script(const char *port)
{
	char unit[2048], *text = NULL;
	size_t len = 0;
	FILE *f;

	if (svm_agent_service_unit(port, SVM_PREPARE_AGENT, unit, sizeof(unit)) < 0) {
		svm_error("agent_port '%s' cannot go into the image's unit: use letters, digits, '.', '_' and '-'",
			  port ? port : "");
		return NULL;
	}
	f = open_memstream(&text, &len);
	if (!f) {
		svm_error("cannot write the guest script: %s", strerror(errno));
		return NULL;
	}
	/* the port and paths were checked: no quoting needed */
	fprintf(f, "AGENT=%s\nAGENT_START=%s\nPORT=%s\nBOOT_MODULES=\"%s\"\nLATER_MODULES=\"%s\"\n",
		SVM_PREPARE_AGENT, SVM_PREPARE_AGENT_START, port, PREPARE_BOOT_MODULES, PREPARE_LATER_MODULES);
	fputs(script_head, f);
	fputs(unit, f);
	fputs(script_mid, f);
	if (fclose(f) != 0) {
		free(text);
		svm_error("cannot write the guest script: out of memory");
		return NULL;
	}
	return text;
}

char **svm_prepare_customize_argv(const char *virt_customize, const char *disk,
				  const char *agent, const char *script, int verbose)
{
	const char *fixed[32];
	char *upload = NULL, *chmod = NULL;
	char **argv;
	size_t n = 0;

	if (asprintf(&upload, "%s:%s", agent, SVM_PREPARE_AGENT) < 0)
		upload = NULL;
	if (asprintf(&chmod, "0755:%s", SVM_PREPARE_AGENT) < 0)
		chmod = NULL;
	if (!upload || !chmod)
		goto fail;
	fixed[n++] = virt_customize;
	if (!verbose)
		fixed[n++] = "--quiet";
	fixed[n++] = "--no-network";
	fixed[n++] = "--format";
	fixed[n++] = "qcow2";
	fixed[n++] = "-a";
	fixed[n++] = disk;
	fixed[n++] = "--mkdir";
	fixed[n++] = "/usr/local/sbin";
	fixed[n++] = "--upload";
	fixed[n++] = upload;
	fixed[n++] = "--chmod";
	fixed[n++] = chmod;
	fixed[n++] = "--run";
	fixed[n++] = script;
	/* SELinux images (the RHEL family) need the new files labelled; a
	 * no-op elsewhere */
	fixed[n++] = "--selinux-relabel";
	argv = calloc(n + 1, sizeof(*argv));
	if (!argv)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (fixed[i] == upload)
			argv[i] = upload, upload = NULL;
		else if (fixed[i] == chmod)
			argv[i] = chmod, chmod = NULL;
		else if (!(argv[i] = strdup(fixed[i]))) {
			svm_argv_free(argv);
			goto fail;
		}
	}
	return argv;
fail:
	free(upload);
	free(chmod);
	return NULL;
}

/* Names of the environment variables passed on as the user set them. */
static const char *const passed_env[] = {
	"TMPDIR", "LIBGUESTFS_PATH", "LIBGUESTFS_CACHEDIR", "LIBGUESTFS_MEMSIZE",
	"LIBGUESTFS_HV", "SUPERMIN_KERNEL", "SUPERMIN_KERNEL_VERSION", "SUPERMIN_MODULES",
};

char **svm_prepare_env(const struct svm_config *conf, const char *appliance,
		       const char *(*get)(const char *name))
{
	size_t cap = sizeof(passed_env) / sizeof(passed_env[0]) + 6, n = 0;
	char **env = calloc(cap, sizeof(*env));
	const char *home = get("HOME"), *settings = get("LIBGUESTFS_BACKEND_SETTINGS");
	struct passwd *pw;

	if (!env)
		return NULL;
	if (!home || home[0] != '/') {
		pw = getpwuid(geteuid());
		home = pw && pw->pw_dir ? pw->pw_dir : "/";
	}
	if (asprintf(&env[n++], "HOME=%s", home) < 0 ||
	    !(env[n++] = strdup("PATH=" PREPARE_PATH)) ||
	    !(env[n++] = strdup("LIBGUESTFS_BACKEND=direct")))
		goto fail;
	for (size_t i = 0; i < sizeof(passed_env) / sizeof(passed_env[0]); i++) {
		const char *v = get(passed_env[i]);

		if (v && v[0] && asprintf(&env[n++], "%s=%s", passed_env[i], v) < 0)
			goto fail;
	}
	if (appliance && !(get("LIBGUESTFS_PATH") && get("LIBGUESTFS_PATH")[0]) &&
	    asprintf(&env[n++], "LIBGUESTFS_PATH=%s", appliance) < 0)
		goto fail;
	/* where the site's guests run under TCG, KVM is no good for the
	 * appliance either (e.g. nested virtualization that hangs) */
	if (settings && settings[0]) {
		if (asprintf(&env[n++], "LIBGUESTFS_BACKEND_SETTINGS=%s", settings) < 0)
			goto fail;
	} else if (conf->domain_type == SVM_DOMAIN_QEMU) {
		if (!(env[n++] = strdup("LIBGUESTFS_BACKEND_SETTINGS=force_tcg")))
			goto fail;
	}
	return env;
fail:
	env[n - 1] = NULL;
	svm_argv_free(env);
	return NULL;
}

void svm_prepare_pick_error(const char *text, char *out, size_t len)
{
	static const char ours[] = "slurm-vm-prepare: error: ";
	const char *best = NULL, *last = NULL, *mine = NULL;
	size_t best_len = 0, last_len = 0, mine_len = 0;

	if (len)
		out[0] = '\0';
	for (const char *p = text; p && *p;) {
		size_t l = strcspn(p, "\n");
		const char *colon = memchr(p, ':', l);

		if (l > sizeof(ours) - 1 && !strncmp(p, ours, sizeof(ours) - 1)) {
			mine = p + sizeof(ours) - 1;
			mine_len = l - (sizeof(ours) - 1);
		}
		if (colon && l > (size_t)(colon - p) + 9 && !memcmp(colon, ": error: ", 9) &&
		    memchr(p, ' ', (size_t)(colon - p)) == NULL) {
			best = colon + 9;
			best_len = l - (size_t)(colon + 9 - p);
		}
		if (l > 0 && p[0] != ' ' && p[0] != '\t') {
			last = p;
			last_len = l;
		}
		p += l + (p[l] == '\n');
	}
	if (mine) {
		best = mine;
		best_len = mine_len;
	} else if (!best) {
		best = last;
		best_len = last_len;
	}
	if (best && len)
		snprintf(out, len, "%.*s", (int)best_len, best);
	/* one line, printable: what the tools print is not ours */
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
			*c = ' ';
}

/* ---- running the tools */

static volatile sig_atomic_t got_signal;
static volatile pid_t child_pid = -1;

static void on_signal(int sig)
{
	got_signal = sig;
	if (child_pid > 0)
		kill(child_pid, SIGTERM);
}

/* Runs ARGV with ENVP; its stdout to ours when SHOW_OUT, else nowhere; its
 * stderr collected.  0 if it exited 0; else -1 with the line that says why
 * in WHY. */
static int run_tool(char **argv, char **envp, int show_out, char *why, size_t whylen)
{
	struct svm_spawn sp = {
		.argv = (const char *const *)argv,
		.envp = (const char *const *)envp,
		.uid = (uid_t)-1,
		.stdout_fd = show_out ? 1 : -1,
		.stderr_fd = -1,
		.keep_fd = -1,
	};
	/* the tail of stderr: the reason comes last */
	char buf[16384];
	size_t used = 0;
	int pipefd[2], status;
	ssize_t n;
	pid_t pid;

	why[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -1;
	}
	sp.stderr_fd = pipefd[1];
	pid = svm_spawn_start(&sp);
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		snprintf(why, whylen, "cannot start it");
		return -1;
	}
	child_pid = pid;
	for (;;) {
		if (used == sizeof(buf) - 1) {
			memmove(buf, buf + sizeof(buf) / 2, used - sizeof(buf) / 2);
			used -= sizeof(buf) / 2;
		}
		n = read(pipefd[0], buf + used, sizeof(buf) - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	close(pipefd[0]);
	status = svm_spawn_wait(pid);
	child_pid = -1;
	if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	svm_prepare_pick_error(buf, why, whylen);
	if (!why[0])
		svm_spawn_status_str(status, why, whylen);
	return -1;
}

/* The absolute path of PROG in PREPARE_PATH, into BUF. */
static int find_prog(const char *prog, char *buf, size_t len)
{
	char dirs[] = PREPARE_PATH, *save = NULL;

	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (svm_path_join(buf, len, d, prog) == 0 && access(buf, X_OK) == 0)
			return 0;
	}
	return -1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *get_env(const char *name)
{
	return getenv(name);
}

/* qemu-img's name for the format of IN, or NULL with ERR set. */
static const char *input_format(const char *in, int fd, char *err, size_t errlen)
{
	unsigned char head[512];
	const char *magic;
	struct stat st;
	ssize_t got;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", in, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "cannot prepare %s: not a regular file", in);
		return NULL;
	}
	got = pread(fd, head, sizeof(head), 0);
	if (got < 0) {
		snprintf(err, errlen, "cannot read %s: %s", in, strerror(errno));
		return NULL;
	}
	magic = svm_image_magic(head, (size_t)got);
	if (!magic) {
		if (S_ISREG(st.st_mode) && st.st_size < PREPARE_MIN_SIZE) {
			snprintf(err, errlen, "cannot prepare %s: %lld bytes, too small to be a disk image with an operating system",
				 in, (long long)st.st_size);
			return NULL;
		}
		return "raw";
	}
	if (!strcmp(magic, "qcow2") || !strcmp(magic, "vmdk") || !strcmp(magic, "vdi") ||
	    !strcmp(magic, "vhdx") || !strcmp(magic, "vpc") || !strcmp(magic, "qed"))
		return magic;
	snprintf(err, errlen, "cannot prepare %s: a %s image (qcow2, raw, vmdk, vdi, vhdx, vpc or qed expected)", in, magic);
	return NULL;
}

/* NULL, or the fixed appliance an admin made in <libexec_dir>/appliance
 * (libguestfs-make-fixed-appliance writes README.fixed there). */
static const char *fixed_appliance(const struct svm_config *conf, char *buf, size_t len)
{
	char readme[PATH_MAX];

	if (svm_path_join(buf, len, conf->libexec_dir, "appliance") < 0 ||
	    svm_path_join(readme, sizeof(readme), buf, "README.fixed") < 0 ||
	    access(readme, R_OK) < 0)
		return NULL;
	return buf;
}

/* Supermin builds the appliance from the host's kernel: say so at once
 * when none is readable (Ubuntu's /boot/vmlinuz-* are mode 0600) instead
 * of a minute later in libguestfs' words. */
static int kernel_readable(const struct svm_config *conf)
{
	glob_t g;
	int found = 0, readable = 0;

	if ((getenv("LIBGUESTFS_PATH") && getenv("LIBGUESTFS_PATH")[0]) ||
	    (getenv("SUPERMIN_KERNEL") && getenv("SUPERMIN_KERNEL")[0]))
		return 0;
	if (glob("/boot/vmlinu[xz]-*", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			found = 1;
			if (access(g.gl_pathv[i], R_OK) == 0)
				readable = 1;
		}
	}
	globfree(&g);
	if (readable)
		return 0;
	if (found)
		svm_error("cannot prepare images here: libguestfs builds its appliance from the host kernel, and no /boot/vmlinuz-* is readable by you (an admin can chmod 0644 /boot/vmlinuz-*, or run libguestfs-make-fixed-appliance %s/appliance)",
			  conf->libexec_dir);
	else
		svm_error("cannot prepare images here: libguestfs needs a kernel to build its appliance and /boot has none (an admin can install one, e.g. linux-image-amd64, or run libguestfs-make-fixed-appliance %s/appliance)",
			  conf->libexec_dir);
	return -1;
}

static int check_agent(const char *agent)
{
	unsigned char magic[4];
	struct stat st;
	int fd, ret = -1;

	if (strchr(agent, ':')) {
		svm_error("cannot use the agent %s: a ':' in its path (virt-customize --upload splits there)", agent);
		return -1;
	}
	fd = open(agent, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		svm_error("cannot read the agent %s: %s (build it, or give --agent PATH)", agent, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		svm_error("cannot use the agent %s: not a regular file", agent);
	else if (pread(fd, magic, 4, 0) != 4 || memcmp(magic, "\177ELF", 4))
		svm_error("cannot use the agent %s: not an ELF executable", agent);
	else
		ret = 0;
	close(fd);
	return ret;
}

int svm_prepare(const struct svm_prepare_args *a, const struct svm_config *conf)
{
	char agent_buf[PATH_MAX], qemu_img[PATH_MAX], vc[PATH_MAX], appl[PATH_MAX];
	char tmp[PATH_MAX], dir[PATH_MAX], script_path[PATH_MAX], why[1024], err[PATH_MAX + 200];
	const char *agent = a->agent, *fmt;
	char **argv = NULL, **env = NULL, *script = NULL;
	struct sigaction sa = { .sa_handler = on_signal }, old[3];
	static const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };
	struct stat in_st, out_st;
	int in_fd = -1, fd, ret = -1, have_tmp = 0;
	mode_t mask;
	double t0 = now_s();
	FILE *f;

	dir[0] = '\0';
	script_path[0] = '\0';
	if (!agent) {
		if (svm_path_join(agent_buf, sizeof(agent_buf), conf->libexec_dir, "slurm-vm-agent") < 0)
			return -1;
		agent = agent_buf;
	}
	in_fd = open(a->in, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (in_fd < 0) {
		svm_error("cannot read %s: %s", a->in, strerror(errno));
		return -1;
	}
	if (!(fmt = input_format(a->in, in_fd, err, sizeof(err)))) {
		svm_error("%s", err);
		goto out;
	}
	if (fstat(in_fd, &in_st) < 0) {
		svm_error("cannot read %s: %s", a->in, strerror(errno));
		goto out;
	}
	if (lstat(a->out, &out_st) == 0) {
		if (stat(a->out, &out_st) == 0 && out_st.st_dev == in_st.st_dev && out_st.st_ino == in_st.st_ino) {
			svm_error("cannot prepare %s into itself: OUT must be a new file", a->in);
			goto out;
		}
		if (!a->force) {
			svm_error("%s exists: not overwriting it (use --force)", a->out);
			goto out;
		}
	} else if (errno != ENOENT) {
		svm_error("cannot write %s: %s", a->out, strerror(errno));
		goto out;
	}
	if (check_agent(agent) < 0)
		goto out;
	if (find_prog("qemu-img", qemu_img, sizeof(qemu_img)) < 0) {
		svm_error("cannot prepare images here: qemu-img not found (install qemu-utils)");
		goto out;
	}
	if (find_prog("virt-customize", vc, sizeof(vc)) < 0) {
		svm_error("cannot prepare images here: virt-customize not found (install libguestfs-tools)");
		goto out;
	}
	if (!fixed_appliance(conf, appl, sizeof(appl)) && kernel_readable(conf) < 0)
		goto out;
	if (!(script = svm_prepare_script(conf->agent_port)))
		goto out;

	/* the script, in a directory of our own */
	if (svm_path_join(dir, sizeof(dir), getenv("TMPDIR") && getenv("TMPDIR")[0] == '/' ? getenv("TMPDIR") : "/tmp",
			  "slurm-vm-prepare.XXXXXX") < 0 || !mkdtemp(dir)) {
		svm_error("cannot create a temporary directory: %s", strerror(errno));
		dir[0] = '\0';
		goto out;
	}
	if (svm_path_join(script_path, sizeof(script_path), dir, "prepare.sh") < 0 || strchr(script_path, ':')) {
		script_path[0] = '\0';
		svm_error("cannot use the temporary directory %s", dir);
		goto out;
	}
	fd = open(script_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		svm_error("cannot write %s: %s", script_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	fputs(script, f);
	if (fclose(f) != 0) {
		svm_error("cannot write %s: %s", script_path, strerror(errno));
		goto out;
	}

	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);

	/* OUT: a fresh qcow2 beside it, renamed into place when done */
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", a->out) >= (int)sizeof(tmp)) {
		svm_error("cannot write %s: name too long", a->out);
		goto restore;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		svm_error("cannot write %s: %s", a->out, strerror(errno));
		goto restore;
	}
	have_tmp = 1;
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) < 0) {
		svm_error("cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		goto restore;
	}
	close(fd);
	env = svm_prepare_env(conf, fixed_appliance(conf, appl, sizeof(appl)), get_env);
	{
		const char *conv[] = { qemu_img, "convert", "-q", "-f", fmt, "-O", "qcow2", a->in, tmp, NULL };

		if (!env) {
			svm_error("cannot prepare %s: out of memory", a->in);
			goto restore;
		}
		if (run_tool((char **)conv, env, 0, why, sizeof(why)) < 0) {
			svm_error("cannot copy %s to %s: qemu-img convert failed: %s", a->in, a->out, why);
			goto restore;
		}
	}
	if (got_signal)
		goto interrupted;
	argv = svm_prepare_customize_argv(vc, tmp, agent, script_path, a->verbose);
	if (!argv) {
		svm_error("cannot prepare %s: out of memory", a->in);
		goto restore;
	}
	if (run_tool(argv, env, a->verbose, why, sizeof(why)) < 0) {
		if (got_signal)
			goto interrupted;
		if (strstr(why, "no operating systems were found"))
			svm_error("cannot prepare %s: no Linux system found in it (libguestfs inspection found no operating system)",
				  a->in);
		else
			svm_error("cannot prepare %s: virt-customize failed: %s", a->in, why);
		goto restore;
	}
	if (got_signal)
		goto interrupted;
	if (a->force ? rename(tmp, a->out) : renameat2(AT_FDCWD, tmp, AT_FDCWD, a->out, RENAME_NOREPLACE)) {
		if (errno == EEXIST)
			svm_error("%s exists: not overwriting it (use --force)", a->out);
		else
			svm_error("cannot write %s: %s", a->out, strerror(errno));
		goto restore;
	}
	have_tmp = 0;
	printf("slurm-vm: prepared %s in %.0f s\n", a->out, now_s() - t0);
	ret = fflush(stdout) == 0 ? 0 : -1;
	goto restore;
interrupted:
	svm_error("preparing %s interrupted (signal %d): %s not written", a->in, (int)got_signal, a->out);
restore:
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
out:
	if (have_tmp)
		unlink(tmp);
	if (dir[0]) {
		if (script_path[0])
			unlink(script_path);
		rmdir(dir);
	}
	if (in_fd >= 0)
		close(in_fd);
	svm_argv_free(argv);
	svm_argv_free(env);
	free(script);
	return ret;
}
