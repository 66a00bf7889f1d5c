/* The job network on one host (see netjob.h).
 *
 * Links are made with iproute2 through lib/spawn.c, a handful of calls per
 * job and host; the per-peer entries, which grow with the job, go in two
 * batches (one `ip -batch`, one `bridge -batch`, read from a memfd), so a
 * 1000-node job costs two processes, not 2000.  iproute2 rather than raw
 * netlink: the commands are the ones an admin types to inspect or repair
 * the network, its error messages name the failing line, and the text is
 * unit-tested as it is. */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guest_words.h"
#include "jobdir.h"
#include "log.h"
#include "netjob.h"
#include "spawn.h"

uint32_t svm_netjob_vni(const struct svm_config *conf, uint32_t job)
{
	return (uint32_t)(((uint64_t)job + conf->overlay_vni_offset) & 0xffffffu);
}

int svm_netjob_names(const struct svm_config *conf, uint32_t job, char *br, char *vx)
{
	int n;

	if (svm_netjob_bridge_name(conf, job, br, SVM_NET_IFNAMSIZ) < 0)
		return -1;
	/* 'v' is no hex digit: never another job's bridge */
	n = snprintf(vx, SVM_NET_IFNAMSIZ, "%sv%" PRIx32, conf->network_name, job);
	if (n < 0 || n >= SVM_NET_IFNAMSIZ) {
		svm_error("VXLAN device name %sv%" PRIx32 " is longer than 15 characters",
			  conf->network_name, job);
		return -1;
	}
	return 0;
}

void svm_netjob_guest_mac(uint32_t job, unsigned rank, char *buf, size_t len)
{
	snprintf(buf, len, "52:%02x:%02x:%02x:%02x:%02x", (job >> 16) & 0xff, (job >> 8) & 0xff,
		 job & 0xff, (rank >> 8) & 0xff, rank & 0xff);
}

void svm_netjob_guest_addr(unsigned rank, char *buf, size_t len)
{
	char ip[32];

	svm_netjob_guest_ip(rank, ip, sizeof(ip));
	ip[strcspn(ip, "/")] = '\0';
	snprintf(buf, len, "%s", ip);
}

char *svm_netjob_batch(enum svm_batch which, const char *vx, uint32_t job,
		       const struct svm_peer *peers, size_t n, size_t self)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	if (!f)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char mac[24], ip[24], dst[INET_ADDRSTRLEN];

		/* this host's guests are on the bridge itself */
		if (i == self || (self < n && peers[i].addr.s_addr == peers[self].addr.s_addr))
			continue;
		svm_netjob_guest_mac(job, peers[i].rank, mac, sizeof(mac));
		if (which == SVM_BATCH_FDB) {
			inet_ntop(AF_INET, &peers[i].addr, dst, sizeof(dst));
			fprintf(f, "fdb replace %s dev %s dst %s self permanent\n", mac, vx, dst);
		} else {
			svm_netjob_guest_addr(peers[i].rank, ip, sizeof(ip));
			fprintf(f, "neigh replace %s lladdr %s dev %s nud permanent\n", ip, mac, vx);
		}
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

int svm_netjob_vni_holder(const char *text, uint32_t vni, unsigned port, char *name)
{
	const char *line = text;

	/* "7: svmv2a: <...> mtu ...\    link/ether ... \    vxlan id 42 local ... dstport 4789 ..." */
	while (line && *line) {
		const char *end = strchr(line, '\n'), *p, *colon;
		char id[24], dp[24];
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[2048];

		snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) ? len : sizeof(buf) - 1), line);
		line = end ? end + 1 : NULL;
		snprintf(id, sizeof(id), " vxlan id %" PRIu32 " ", vni);
		snprintf(dp, sizeof(dp), " dstport %u ", port);
		p = strchr(buf, ':');
		if (!p || !strstr(buf, id) || !strstr(buf, dp))
			continue;
		p += strspn(p + 1, " ") + 1;
		colon = p + strcspn(p, ":@");
		if (*colon == '\0' || colon == p || (size_t)(colon - p) >= SVM_NET_IFNAMSIZ)
			continue;
		memcpy(name, p, (size_t)(colon - p));
		name[colon - p] = '\0';
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ helpers */

static const char *tool(const char *name)
{
	static char path[2][32];
	int i = !strcmp(name, "bridge");

	snprintf(path[i], sizeof(path[i]), "/sbin/%s", name);
	if (access(path[i], X_OK) < 0)
		snprintf(path[i], sizeof(path[i]), "/usr/sbin/%s", name);
	return path[i];
}

static int run(const char *const *argv)
{
	struct svm_spawn sp = { .argv = argv, .uid = (uid_t)-1, .stdout_fd = -1,
				.stderr_fd = -1, .keep_fd = -1 };

	return svm_spawn_run(&sp);
}

/* Runs `TOOL -batch` on TEXT, handed over in a memfd: nothing on disk. */
static int run_batch(const char *name, const char *text)
{
	size_t len = strlen(text);
	char path[64];
	int fd, rc = -1;

	if (len == 0)
		return 0;
	fd = memfd_create("slurm-vm-batch", MFD_CLOEXEC);
	if (fd < 0) {
		svm_error("cannot run %s -batch: memfd: %s", name, strerror(errno));
		return -1;
	}
	if (write(fd, text, len) != (ssize_t)len) {
		svm_error("cannot run %s -batch: write: %s", name, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	{
		const char *argv[] = { tool(name), "-batch", path, NULL };
		struct svm_spawn sp = { .argv = argv, .uid = (uid_t)-1, .stdout_fd = -1,
					.stderr_fd = -1, .keep_fd = fd };

		rc = svm_spawn_run(&sp);
	}
out:
	close(fd);
	return rc;
}

/* Runs ARGV and returns its standard output (the caller frees it), or NULL. */
static char *capture(const char *const *argv)
{
	struct svm_spawn sp = { .argv = argv, .uid = (uid_t)-1, .stderr_fd = -1, .keep_fd = -1 };
	char *buf = NULL;
	off_t size;
	int fd;

	fd = memfd_create("slurm-vm-out", MFD_CLOEXEC);
	if (fd < 0) {
		svm_error("cannot run %s: memfd: %s", argv[0], strerror(errno));
		return NULL;
	}
	sp.stdout_fd = fd;
	if (svm_spawn_run(&sp) < 0)
		goto out;
	size = lseek(fd, 0, SEEK_CUR);
	if (size < 0 || size > 64 * 1024 * 1024 || !(buf = malloc((size_t)size + 1))) {
		svm_error("cannot read the output of %s", argv[0]);
		goto out;
	}
	if (pread(fd, buf, (size_t)size, 0) != (ssize_t)size) {
		svm_error("cannot read the output of %s: %s", argv[0], strerror(errno));
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[size] = '\0';
out:
	close(fd);
	return buf;
}

static int exists(const char *dev)
{
	return if_nametoindex(dev) != 0;
}

/* No IPv6 on DEV: no link-local address through which a host user could
 * reach the guests.  A host without IPv6 has no such file, and no need. */
static int ipv6_off(const char *dev)
{
	char path[96];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", dev);
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT && access("/proc/sys/net/ipv6/conf/all", F_OK) < 0)
			return 0;
		svm_error("cannot turn IPv6 off on %s: %s", dev, strerror(errno));
		return -1;
	}
	if (write(fd, "1\n", 2) != 2) {
		svm_error("cannot turn IPv6 off on %s: %s", dev, strerror(errno));
		rc = -1;
	}
	close(fd);
	return rc;
}

/* The MTU of the interface holding ADDR, or 0 if none does. */
static unsigned underlay_mtu(struct in_addr addr)
{
	struct ifaddrs *ifa, *i;
	unsigned mtu = 0;

	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i; i = i->ifa_next) {
		struct ifreq ifr;
		int s;

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr != addr.s_addr)
			continue;
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", i->ifa_name);
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s >= 0 && ioctl(s, SIOCGIFMTU, &ifr) == 0)
			mtu = (unsigned)ifr.ifr_mtu;
		if (s >= 0)
			close(s);
		break;
	}
	freeifaddrs(ifa);
	return mtu;
}

/* 0 if ADDR is an address of this host (a socket can be bound to it). */
static int local_addr_ok(const struct svm_peer *self)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = self->addr };
	char text[INET_ADDRSTRLEN];
	int s, rc;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		svm_error("cannot check the underlay address: socket: %s", strerror(errno));
		return -1;
	}
	rc = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	if (rc < 0) {
		inet_ntop(AF_INET, &self->addr, text, sizeof(text));
		svm_error("underlay address %s of node %s is not an address of this host: %s",
			  text, self->node, strerror(errno));
	}
	close(s);
	return rc < 0 ? -1 : 0;
}

/* Runs ARGV to make DEV exist (WANT 1) or be gone (WANT 0).  When ARGV
 * fails but DEV is as wanted afterwards, another prolog or epilog got
 * there first: the job's other node on this same host (several slurmd on
 * one host, as on the local test cluster) made or removed the job's
 * devices between our check and our command.  That is no error and logs
 * nothing; any other failure logs the command's own line. */
static int link_to(const char *dev, int want, const char *const *argv)
{
	struct svm_spawn sp = { .argv = argv, .uid = (uid_t)-1, .stdout_fd = -1,
				.stderr_fd = -1, .keep_fd = -1 };
	char why[640];

	if (exists(dev) == want || svm_spawn_try(&sp, why, sizeof(why)) == 0 || exists(dev) == want)
		return 0;
	if (why[0])
		svm_error("%s", why);
	return -1;
}

/* Creates the link DEV with ADD unless it exists (the job's other node on
 * this host may create it first), and turns IPv6 off before it goes up. */
static int make_link(const char *dev, const char *const *add)
{
	if (link_to(dev, 1, add) < 0)
		return -1;
	return ipv6_off(dev);
}

/* ------------------------------------------------------------ up, down */

static int check_vni(const struct svm_config *conf, uint32_t vni, const char *vx)
{
	const char *argv[] = { tool("ip"), "-d", "-o", "link", "show", "type", "vxlan", NULL };
	char holder[SVM_NET_IFNAMSIZ];
	char *text = capture(argv);
	int rc = 0;

	if (!text)
		return -1;
	if (svm_netjob_vni_holder(text, vni, conf->overlay_port, holder) && strcmp(holder, vx)) {
		/* sharing it would join two jobs' networks */
		svm_error("VNI %" PRIu32 " on UDP port %u is already held by device %s, not this job's %s: another job (job ids 2^24 apart) or a site network uses it; set overlay_vni_offset or remove %s",
			  vni, conf->overlay_port, holder, vx, holder);
		rc = -1;
	}
	free(text);
	return rc;
}

/* What must hold before anything is made: the VNI free, the underlay
 * address ours.  Sets the guest MTU. */
static int overlay_check(const struct svm_config *conf, uint32_t job, const char *vx,
			 const struct svm_peer *peers, size_t n, size_t self, unsigned *mtu)
{
	unsigned under;

	if (!peers || self >= n) {
		svm_error("job %" PRIu32 ": this node is not in the job's node list", job);
		return -1;
	}
	if (check_vni(conf, svm_netjob_vni(conf, job), vx) < 0 || local_addr_ok(&peers[self]) < 0)
		return -1;
	under = underlay_mtu(peers[self].addr);
	*mtu = conf->overlay_mtu ? conf->overlay_mtu
	       : under > SVM_VXLAN_OVERHEAD ? under - SVM_VXLAN_OVERHEAD : 1500 - SVM_VXLAN_OVERHEAD;
	if (*mtu > 65535 - SVM_VXLAN_OVERHEAD)
		*mtu = 65535 - SVM_VXLAN_OVERHEAD;	/* the VXLAN device's maximum */
	return 0;
}

static int overlay_up(const struct svm_config *conf, uint32_t job, const char *br,
		      const char *vx, const struct svm_peer *peers, size_t n, size_t self,
		      const unsigned *mtu)
{
	uint32_t vni = svm_netjob_vni(conf, job);
	char vni_s[16], port_s[16], mtu_s[16], local[INET_ADDRSTRLEN];
	char *fdb = NULL, *neigh = NULL;
	int rc = -1;

	snprintf(vni_s, sizeof(vni_s), "%" PRIu32, vni);
	snprintf(port_s, sizeof(port_s), "%u", conf->overlay_port);
	snprintf(mtu_s, sizeof(mtu_s), "%u", *mtu);
	inet_ntop(AF_INET, &peers[self].addr, local, sizeof(local));
	{
		/* no remote, no group: a frame for no known guest goes nowhere */
		const char *add[] = { tool("ip"), "link", "add", vx, "type", "vxlan", "id", vni_s,
				      "local", local, "dstport", port_s, "nolearning", "proxy", NULL };
		const char *brup[] = { tool("ip"), "link", "set", br, "mtu", mtu_s, "up", NULL };
		const char *vxup[] = { tool("ip"), "link", "set", vx, "master", br, "mtu", mtu_s,
				       "up", NULL };

		if (run(brup) < 0 || make_link(vx, add) < 0 || run(vxup) < 0)
			return -1;
	}
	fdb = svm_netjob_batch(SVM_BATCH_FDB, vx, job, peers, n, self);
	neigh = svm_netjob_batch(SVM_BATCH_NEIGH, vx, job, peers, n, self);
	if (!fdb || !neigh) {
		svm_error("cannot build the peer entries of job %" PRIu32 ": out of memory", job);
		goto out;
	}
	if (run_batch("bridge", fdb) < 0 || run_batch("ip", neigh) < 0)
		goto out;
	svm_verbose("job network %s: VXLAN %s VNI %" PRIu32 " local %s port %u, %zu nodes, MTU %u",
		    br, vx, vni, local, conf->overlay_port, n, *mtu);
	rc = 0;
out:
	free(fdb);
	free(neigh);
	return rc;
}

enum svm_network svm_netjob_auto(const struct svm_peer *peers, size_t n)
{
	int hosts = 0;

	for (size_t i = 0; peers && i < n; i++) {
		if ((ntohl(peers[i].addr.s_addr) >> 24) == 127)
			return SVM_NET_BRIDGE;	/* loopback: no underlay to carry it */
		if (i > 0 && peers[i].addr.s_addr != peers[0].addr.s_addr)
			hosts = 1;
	}
	return hosts ? SVM_NET_OVERLAY : SVM_NET_BRIDGE;
}

int svm_netjob_up(const struct svm_config *conf, uint32_t job, const struct svm_peer *peers,
		  size_t n, size_t self, unsigned *mtu)
{
	char br[SVM_NET_IFNAMSIZ], vx[SVM_NET_IFNAMSIZ];
	enum svm_network mode = conf->network;

	*mtu = 0;
	if (!svm_net_bridged(mode))
		return 0;
	if (mode == SVM_NET_AUTO) {
		mode = svm_netjob_auto(peers, n);
		if (n < 2)
			svm_verbose("network = auto: bridge, the job has one node");
		else
			svm_verbose("network = auto: %s (%zu nodes)",
				    mode == SVM_NET_OVERLAY ? "overlay, the nodes are on more than one host"
							    : "bridge, the job's guests share one host", n);
	}
	if (svm_netjob_names(conf, job, br, vx) < 0)
		return -1;
	if (mode == SVM_NET_OVERLAY && overlay_check(conf, job, vx, peers, n, self, mtu) < 0)
		return -1;
	{
		const char *add[] = { tool("ip"), "link", "add", "name", br, "type", "bridge", NULL };
		const char *up[] = { tool("ip"), "link", "set", br, "up", NULL };

		if (make_link(br, add) < 0)
			return -1;
		if (mode == SVM_NET_BRIDGE)
			return run(up);
	}
	return overlay_up(conf, job, br, vx, peers, n, self, mtu);
}

int svm_netjob_seal(const struct svm_config *conf, uint32_t job)
{
	char br[SVM_NET_IFNAMSIZ], vx[SVM_NET_IFNAMSIZ], path[64];
	struct dirent *de;
	int rc = 0;
	DIR *d;

	if (!svm_net_bridged(conf->network))
		return 0;
	if (svm_netjob_names(conf, job, br, vx) < 0)
		return -1;
	snprintf(path, sizeof(path), "/sys/class/net/%s/brif", br);
	d = opendir(path);
	if (!d) {
		svm_error("cannot list the ports of bridge %s: %s", br, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && ipv6_off(de->d_name) < 0)
			rc = -1;
	closedir(d);
	return rc;
}

int svm_netjob_down(const struct svm_config *conf, uint32_t job)
{
	char br[SVM_NET_IFNAMSIZ], vx[SVM_NET_IFNAMSIZ], path[64];
	struct dirent *de;
	int ports = 0;
	DIR *d;

	if (!svm_net_bridged(conf->network))
		return 0;
	if (svm_netjob_names(conf, job, br, vx) < 0)
		return 0;	/* no name, nothing was made under it */
	snprintf(path, sizeof(path), "/sys/class/net/%s/brif", br);
	d = opendir(path);
	if (d) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.' && strcmp(de->d_name, vx))
				ports++;
		closedir(d);
	}
	if (ports > 0)
		return 0;	/* a guest of the job still runs on this host */
	/* the VXLAN device goes first, and with it every peer's entries */
	for (int i = 0; i < 2; i++) {
		const char *dev = i == 0 ? vx : br;
		const char *del[] = { tool("ip"), "link", "delete", dev, NULL };

		if (link_to(dev, 0, del) < 0)
			return -1;
	}
	if (d)
		svm_verbose("removed the job network %s", br);
	return 0;
}

int svm_netjob_bridge_name(const struct svm_config *conf, uint32_t job, char *buf, size_t len)
{
	/* hex: every 32-bit job id fits IFNAMSIZ (16 with the NUL) behind a
	 * prefix of up to 6 characters, which the config enforces */
	int n = snprintf(buf, len, "%s%" PRIx32, conf->network_name, job);

	if (n < 0 || (size_t)n >= len || n > 15) {
		svm_error("bridge name %s%" PRIx32 " is longer than 15 characters", conf->network_name, job);
		return -1;
	}
	return 0;
}

void svm_netjob_guest_ip(unsigned node_index, char *buf, size_t len)
{
	uint32_t a = svm_gw_node_ip(node_index);

	snprintf(buf, len, "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255,
		 SVM_GW_NET_PREFIX);
}
