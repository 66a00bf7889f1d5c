/* Applies the guest configuration at agent start (guest_setup.h).  Runs as
 * root in the guest, before the agent answers READY, so a user image that
 * boots from its own disk gets the host name, the job network address and
 * the shares the host meant, with no help from its init scripts. */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "etc_hosts.h"
#include "guest_setup.h"

#define RAW_MAX (64 * 1024)		/* a type 11 entry is far smaller */
#define CMDLINE_MAX (64 * 1024)
#define NIC_WAIT_MS 10000		/* for a NIC whose driver loads late */
#define SHARE_WAIT_MS 3000		/* for 9p channels that appear late */
#define OPTS_9P "trans=virtio,version=9p2000.L,msize=262144"
#define MODPROBE "/sbin/modprobe"
#define HOSTS_DIR "/etc"
#define HOSTS_TMP ".hosts.slurm-vm-agent"
#define HOSTS_MAX (8 * 1024 * 1024)	/* the image's own /etc/hosts, read whole */

static struct failed {
	char tag[SVM_GC_TAG_MAX + 1];
	char path[SVM_GC_PATH_MAX + 1];
	char why[128];
} failed[SVM_GC_MAX_SHARES];
static unsigned n_failed;

static void log_line(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(int level, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "slurm-vm-agent: %s\n", msg);
	/* The console and dmesg show it even when stderr goes nowhere. */
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0) {
		dprintf(fd, "<%d>slurm-vm-agent: %s\n", level, msg);
		close(fd);
	}
}

static void warn_cb(void *arg, const char *msg)
{
	(void)arg;
	log_line(4, "%s", msg);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Reads at most MAX bytes of PATH into a malloc'ed buffer; NULL if absent. */
static uint8_t *slurp(const char *path, size_t max, size_t *len)
{
	uint8_t *buf = malloc(max);
	size_t n = 0;
	ssize_t k;
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	while (n < max && ((k = read(fd, buf + n, max - n)) > 0 || (k < 0 && errno == EINTR)))
		if (k > 0)
			n += (size_t)k;
	close(fd);
	*len = n;
	return buf;
}

static int by_index(const struct dirent **a, const struct dirent **b)
{
	long x = strtol((*a)->d_name + 3, NULL, 10), y = strtol((*b)->d_name + 3, NULL, 10);

	return (x > y) - (x < y);
}

static int is_type11(const struct dirent *d)
{
	return strncmp(d->d_name, "11-", 3) == 0;
}

void svm_gs_read(struct svm_gc *gc, const char *dmi_dir, const char *cmdline)
{
	struct dirent **ents = NULL;
	uint8_t *buf;
	size_t len;
	int i, n;

	svm_gc_init(gc);
	n = scandir(dmi_dir, &ents, is_type11, by_index);
	for (i = 0; i < n; i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s/raw", dmi_dir, ents[i]->d_name);
		buf = slurp(path, RAW_MAX, &len);
		if (buf)
			svm_gc_oem(gc, buf, len, warn_cb, NULL);
		else
			log_line(4, "cannot read %s: %s", path, strerror(errno));
		free(buf);
		free(ents[i]);
	}
	free(ents);
	buf = slurp(cmdline, CMDLINE_MAX, &len);
	if (buf)
		svm_gc_cmdline(gc, (const char *)buf, len, warn_cb, NULL);
	free(buf);
}

void svm_gs_print(const struct svm_gc *gc, void *fp)
{
	FILE *f = fp;
	unsigned i;

	if (gc->job)
		fprintf(f, "slurmvm.job=%u\n", (unsigned)gc->job);
	if (gc->hostname[0])
		fprintf(f, "slurmvm.hostname=%s\n", gc->hostname);
	if (gc->has_ip)
		fprintf(f, "slurmvm.ip=%u.%u.%u.%u/%u\n", gc->ip >> 24, (gc->ip >> 16) & 255,
			(gc->ip >> 8) & 255, gc->ip & 255, gc->prefix);
	for (i = 0; i < gc->n_shares; i++)
		fprintf(f, "slurmvm.9p=%s:%s%s\n", gc->shares[i].tag, gc->shares[i].path,
			gc->shares[i].ro ? ":ro" : "");
	if (gc->nodes[0])
		fprintf(f, "slurmvm.nodes=%s\n", gc->nodes);
}

/* ------------------------------------------------------------ host name */
static int apply_hostname(const char *name)
{
	char cur[SVM_GC_HOST_MAX + 2] = "";

	if (gethostname(cur, sizeof(cur) - 1) == 0 && strcmp(cur, name) == 0)
		return 0;
	if (sethostname(name, strlen(name)) < 0) {
		log_line(3, "cannot set the host name to %s: %s", name, strerror(errno));
		return -1;
	}
	log_line(6, "host name set to %s", name);
	return 0;
}

/* ------------------------------------------------------------ network */
static int read_long(const char *dir, const char *file, long *v)
{
	char path[PATH_MAX], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	*v = strtol(buf, NULL, 10);
	return 0;
}

/* The first (lowest ifindex) ethernet interface backed by a device. */
static int first_nic(char *name, size_t len)
{
	DIR *d = opendir("/sys/class/net");
	struct dirent *e;
	long best = -1;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char dir[PATH_MAX], dev[PATH_MAX + 8];
		long type, idx;

		if (e->d_name[0] == '.' || strcmp(e->d_name, "lo") == 0 || strlen(e->d_name) >= len)
			continue;
		snprintf(dir, sizeof(dir), "/sys/class/net/%s", e->d_name);
		snprintf(dev, sizeof(dev), "%s/device", dir);
		if (read_long(dir, "type", &type) < 0 || type != 1 /* ARPHRD_ETHER */ ||
		    access(dev, F_OK) < 0 || read_long(dir, "ifindex", &idx) < 0)
			continue;
		if (best < 0 || idx < best) {
			best = idx;
			strcpy(name, e->d_name);
		}
	}
	closedir(d);
	return best < 0 ? -1 : 0;
}

/* 1 if IFNAME has IP (network order) with MASK, 0 if it has no IPv4
 * address, 2 if it has other IPv4 addresses only. */
static int addr_state(const char *ifname, uint32_t ip, uint32_t mask)
{
	struct ifaddrs *ifa, *i;
	int other = 0;

	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i; i = i->ifa_next) {
		const struct sockaddr_in *a = (const void *)i->ifa_addr, *m = (const void *)i->ifa_netmask;

		if (!a || a->sin_family != AF_INET || strcmp(i->ifa_name, ifname) != 0)
			continue;
		if (a->sin_addr.s_addr == ip && m && m->sin_addr.s_addr == mask) {
			freeifaddrs(ifa);
			return 1;
		}
		other = 1;
	}
	freeifaddrs(ifa);
	return other ? 2 : 0;
}

static int set_in(int s, unsigned long req, const char *label, uint32_t v)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", label);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = v;
	return ioctl(s, req, &ifr);
}

static int link_up(int s, const char *ifname)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static int apply_ip(uint32_t hip, unsigned prefix)
{
	uint32_t ip = htonl(hip), mask = htonl(prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix));
	char nic[IFNAMSIZ], label[IFNAMSIZ + 8], text[INET_ADDRSTRLEN];
	long long deadline = now_ms() + NIC_WAIT_MS;
	int s, st, rc = -1;

	inet_ntop(AF_INET, &ip, text, sizeof(text));
	while (first_nic(nic, sizeof(nic)) < 0) {
		if (now_ms() >= deadline) {
			log_line(3, "cannot set the job network address %s/%u: no ethernet interface after %d s",
				 text, prefix, NIC_WAIT_MS / 1000);
			return -1;
		}
		sleep_ms(200);
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		log_line(3, "cannot set the job network address on %s: socket: %s", nic, strerror(errno));
		return -1;
	}
	link_up(s, "lo");
	st = addr_state(nic, ip, mask);
	if (st != 1) {
		/* Keep an address the image set (DHCP, ...): add ours as an alias. */
		if (st == 2)
			snprintf(label, sizeof(label), "%s:svm", nic);
		else
			snprintf(label, sizeof(label), "%s", nic);
		if (strlen(label) >= IFNAMSIZ)
			snprintf(label, sizeof(label), "%s", nic);
		if (set_in(s, SIOCSIFADDR, label, ip) < 0 || set_in(s, SIOCSIFNETMASK, label, mask) < 0 ||
		    set_in(s, SIOCSIFBRDADDR, label, ip | ~mask) < 0) {
			log_line(3, "cannot set the job network address %s/%u on %s: %s", text, prefix, label,
				 strerror(errno));
			goto out;
		}
	}
	if (link_up(s, nic) < 0) {
		log_line(3, "cannot bring %s up: %s", nic, strerror(errno));
		goto out;
	}
	if (st != 1)
		log_line(6, "job network address %s/%u set on %s", text, prefix, nic);
	rc = 0;
out:
	close(s);
	return rc;
}

/* ------------------------------------------------------------ /etc/hosts */
/* The image's /etc/hosts (a missing file is an empty one) into *TEXT
 * (malloc'ed) and its owner and mode into ST.  0, or -1 after logging. */
static int read_hosts(int dfd, char **text, size_t *len, struct stat *st)
{
	size_t n = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t k;
	int fd = openat(dfd, "hosts", O_RDONLY | O_CLOEXEC);

	*text = NULL;
	*len = 0;
	memset(st, 0, sizeof(*st));
	st->st_mode = 0644;
	if (!buf || (fd < 0 && errno != ENOENT) || (fd >= 0 && fstat(fd, st) < 0)) {
		log_line(3, "cannot read %s/hosts: %s", HOSTS_DIR, buf ? strerror(errno) : "out of memory");
		goto fail;
	}
	while (fd >= 0) {
		if (n == cap) {
			char *b = cap < HOSTS_MAX ? realloc(buf, cap * 2) : NULL;

			if (!b) {
				log_line(3, "cannot read %s/hosts: %s", HOSTS_DIR,
					 cap < HOSTS_MAX ? "out of memory" : "larger than 8 MiB");
				goto fail;
			}
			buf = b;
			cap *= 2;
		}
		k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			log_line(3, "cannot read %s/hosts: %s", HOSTS_DIR, strerror(errno));
			goto fail;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (fd >= 0)
		close(fd);
	*text = buf;
	*len = n;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return -1;
}

/* Gives each node of LIST its guest's job network address in /etc/hosts,
 * in the block the agent owns: the new file is written beside it, synced
 * and renamed over it, so a crash leaves the old file or the new one, and
 * a restarted agent finds its block and writes the same file again. */
static int apply_hosts(const char *list)
{
	char *old = NULL, *text = NULL;
	size_t oldlen, len = 0, off = 0;
	const char *why = NULL;
	struct stat st;
	int dfd, fd = -1, rc = -1, shut;
	long n = svm_eh_expand(list, strlen(list), NULL, NULL, &why);

	dfd = open(HOSTS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		log_line(3, "cannot name the job's nodes in %s/hosts: %s", HOSTS_DIR, strerror(errno));
		return -1;
	}
	if (read_hosts(dfd, &old, &oldlen, &st) < 0)
		goto out;
	text = svm_eh_render(old, oldlen, list, &len, &why);
	if (!text) {
		log_line(3, "cannot name the job's nodes in %s/hosts: %s", HOSTS_DIR, why);
		goto out;
	}
	if (len == oldlen && memcmp(text, old, len) == 0) {
		rc = 0;		/* an agent restart: already there */
		goto out;
	}
	if (unlinkat(dfd, HOSTS_TMP, 0) < 0 && errno != ENOENT)
		goto fail;
	fd = openat(dfd, HOSTS_TMP, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	while (off < len) {
		ssize_t k = write(fd, text + off, len - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			goto fail;
		off += (size_t)k;
	}
	if (fchown(fd, st.st_uid, st.st_gid) < 0 || fchmod(fd, st.st_mode & 07777) < 0 || fsync(fd) < 0)
		goto fail;
	shut = close(fd);
	fd = -1;
	if (shut < 0 || renameat(dfd, HOSTS_TMP, dfd, "hosts") < 0)
		goto fail;
	fsync(dfd);
	log_line(6, "%s/hosts names the job's %ld nodes", HOSTS_DIR, n);
	rc = 0;
	goto out;
fail:
	log_line(3, "cannot name the job's nodes in %s/hosts: %s", HOSTS_DIR, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlinkat(dfd, HOSTS_TMP, 0);
out:
	close(dfd);
	free(old);
	free(text);
	return rc;
}

/* ------------------------------------------------------------ shares */
/* Undoes the octal escapes of /proc/mounts (\040 ...) in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

static int mounted_9p(const char *tag, const char *path)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	char line[4096];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char *save = NULL, *src = strtok_r(line, " ", &save);
		char *dir = strtok_r(NULL, " ", &save), *type = strtok_r(NULL, " ", &save);

		if (!src || !dir || !type || strcmp(type, "9p") != 0)
			continue;
		unescape(src);
		unescape(dir);
		found = strcmp(src, tag) == 0 && strcmp(dir, path) == 0;
	}
	fclose(f);
	return found;
}

/* Creates PATH and its parents; *MADE is the length of the first prefix it
 * created (0: none), so a failed mount can take them back. */
static int mkdir_p(const char *path, size_t *made)
{
	char buf[SVM_GC_PATH_MAX + 1];
	size_t i, n = strlen(path);

	*made = 0;

	if (n >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) == 0) {
			if (!*made)
				*made = i;
		} else if (errno != EEXIST) {
			return -1;
		}
		buf[i] = path[i];
	}
	return 0;
}

/* modprobe -a 9pnet_virtio 9p, as a plain child: no shell, clean
 * environment, stdin and stdout on /dev/null, no inherited fds. */
static void modprobe_9p(void)
{
	static char *const argv[] = { "modprobe", "-a", "9pnet_virtio", "9p", NULL };
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		log_line(4, "cannot run %s: fork: %s", MODPROBE, strerror(errno));
		return;
	}
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR), i;

		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
		}
		for (i = 3; i < 1024; i++)
			close(i);
		execve(MODPROBE, argv, envp);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		log_line(4, "%s -a 9pnet_virtio 9p failed (status %d)", MODPROBE, status);
}

static void note_failed(const struct svm_gc_share *sh, const char *why)
{
	struct failed *f;

	if (n_failed >= SVM_GC_MAX_SHARES)
		return;
	f = &failed[n_failed++];
	snprintf(f->tag, sizeof(f->tag), "%s", sh->tag);
	snprintf(f->path, sizeof(f->path), "%s", sh->path);
	snprintf(f->why, sizeof(f->why), "%s", why);
}

/* Removes the directories mkdir_p made for PATH, leaf first: a task whose
 * cwd is an unmounted share must fail, not run in an empty directory. */
static void rmdir_made(const char *path, size_t made)
{
	char buf[SVM_GC_PATH_MAX + 1];
	size_t n = strlen(path);

	if (!made || n >= sizeof(buf))
		return;
	memcpy(buf, path, n + 1);
	while (n >= made) {
		if (rmdir(buf) < 0)
			return;
		while (n > 0 && buf[n] != '/')
			n--;
		buf[n] = '\0';
	}
}

static int apply_share(const struct svm_gc_share *sh, long long deadline)
{
	static int modprobed;
	size_t made;
	int e;

	if (mounted_9p(sh->tag, sh->path))
		return 0;
	if (mkdir_p(sh->path, &made) < 0) {
		e = errno;
		log_line(3, "cannot mount 9p share %s on %s: cannot create the directory: %s",
			 sh->tag, sh->path, strerror(e));
		note_failed(sh, strerror(e));
		return -1;
	}
	for (;;) {
		if (mount(sh->tag, sh->path, "9p", sh->ro ? MS_RDONLY : 0, OPTS_9P) == 0)
			break;
		e = errno;
		if ((e == ENODEV || e == ENOENT) && !modprobed) {
			/* No 9p in the kernel yet, or no virtio transport for the tag. */
			modprobed = 1;
			modprobe_9p();
			continue;
		}
		if (e == ENOENT && now_ms() < deadline) {
			sleep_ms(500);	/* the 9p device may still be probing */
			continue;
		}
		log_line(3, "cannot mount 9p share %s on %s: %s%s", sh->tag, sh->path, strerror(e),
			 e == ENODEV ? " (the image lacks the 9p and 9pnet_virtio modules)" :
			 e == ENOENT ? " (no virtio 9p device with that tag)" : "");
		note_failed(sh, e == ENODEV ? "no 9p file system in the guest kernel" : strerror(e));
		rmdir_made(sh->path, made);
		return -1;
	}
	log_line(6, "9p share %s mounted on %s%s", sh->tag, sh->path, sh->ro ? " (read-only)" : "");
	return 0;
}

int svm_gs_apply(const struct svm_gc *gc)
{
	long long deadline = now_ms() + SHARE_WAIT_MS;
	int bad = 0;
	unsigned i;

	if (gc->hostname[0] && apply_hostname(gc->hostname) < 0)
		bad++;
	if (gc->has_ip && apply_ip(gc->ip, gc->prefix) < 0)
		bad++;
	/* the names mean the job network's addresses: none without it */
	if (gc->has_ip && gc->nodes[0] && apply_hosts(gc->nodes) < 0)
		bad++;
	for (i = 0; i < gc->n_shares; i++)
		if (apply_share(&gc->shares[i], deadline) < 0)
			bad++;
	return bad;
}

int svm_gs_share_note(const char *cwd, char *buf, size_t len)
{
	unsigned i;

	if (len)
		buf[0] = '\0';
	for (i = 0; cwd && i < n_failed; i++) {
		size_t n = strlen(failed[i].path);

		if (strncmp(cwd, failed[i].path, n) == 0 && (cwd[n] == '\0' || cwd[n] == '/')) {
			snprintf(buf, len, " (share %s at %s was not mounted: %s)", failed[i].tag,
				 failed[i].path, failed[i].why);
			return 1;
		}
	}
	return 0;
}
