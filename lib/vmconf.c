#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_boot.h"
#include "log.h"
#include "parse.h"
#include "vmconf.h"

/* A config file is small; anything larger is not ours. */
#define SVM_CONF_MAX_BYTES (256 * 1024)
#define SVM_CONF_MAX_LINE 4096

const char *const svm_hugepages_names[] = { "none", "2M", "1G", NULL };
const char *const svm_ib_names[] = { "none", "pf", "vf", "auto", NULL };
const char *const svm_domain_type_names[] = { "kvm", "qemu", NULL };
static const char *const hp_short_names[] = { "fail", "fallback", NULL };
static const char *const network_names[] = { "none", "bridge", "libvirt", "overlay", "auto", NULL };
static const char *const resolve_names[] = { "nodeaddr", "name", NULL };

void svm_config_defaults(struct svm_config *conf)
{
	memset(conf, 0, sizeof(*conf));
	strcpy(conf->libvirt_uri, "qemu:///system");
	conf->domain_type = SVM_DOMAIN_KVM;
	strcpy(conf->scratch_dir, SVM_LOCALSTATEDIR "/lib/slurm-vm");
	strcpy(conf->runtime_dir, SVM_RUNSTATEDIR "/slurm-vm");
	conf->image_formats = SVM_FMT_QCOW2 | SVM_FMT_RAW;
	conf->max_image_size = 1ULL << 40;
	conf->host_mem_reserve = 1024;
	conf->hugepages = SVM_HUGEPAGES_NONE;
	conf->hugepages_short = SVM_HP_SHORT_FAIL;
	conf->ib = SVM_IB_NONE;
	/* A VF is the device SR-IOV made for sharing: the host keeps its
	 * adapter and its driver keeps the port.  The PF hands the user the
	 * whole adapter (its firmware interface, the port's management
	 * traffic) and takes the host off the fabric: the site opts in. */
	conf->ib_allowed = 1u << SVM_IB_NONE | 1u << SVM_IB_VF;
	strcpy(conf->sysfs_root, "/sys");
	conf->boot_timeout = 300;
	conf->check_timeout = 30;
	conf->network = SVM_NET_AUTO;
	strcpy(conf->network_name, "svm");
	conf->overlay_port = 4789;
	strcpy(conf->agent_port, "org.slurm-vm.agent.0");
	strcpy(conf->libexec_dir, SVM_LIBEXECDIR);
}

const char *svm_config_agent_medium(const struct svm_config *conf, char *buf, size_t len)
{
	int n;

	if (!strcmp(conf->agent_medium, "none"))
		return NULL;
	if (conf->agent_medium[0])
		n = snprintf(buf, len, "%s", conf->agent_medium);
	else
		n = snprintf(buf, len, "%s/%s", conf->libexec_dir, SVM_AGENT_MEDIUM_FILE);
	if (n < 0 || (size_t)n >= len)
		return NULL;
	/* the default is optional: a tree built without mkfs.ext4 has none */
	if (!conf->agent_medium[0] && access(buf, R_OK) < 0)
		return NULL;
	return buf;
}

static int set_string(char *dst, size_t size, const char *value,
		      char *err, size_t errlen)
{
	if (svm_strlcpy(dst, value, size) < 0) {
		snprintf(err, errlen, "value longer than %zu bytes", size - 1);
		return -1;
	}
	return 0;
}

static int set_abs_path(char *dst, const char *value, int allow_empty,
			char *err, size_t errlen)
{
	if (!*value && allow_empty) {
		dst[0] = '\0';
		return 0;
	}
	if (value[0] != '/') {
		snprintf(err, errlen, "'%s' is not an absolute path", value);
		return -1;
	}
	return set_string(dst, PATH_MAX, value, err, errlen);
}

/* A colon-separated list of absolute paths; empty clears the list. */
static int set_pathlist(struct svm_pathlist *list, const char *value,
			char *err, size_t errlen)
{
	struct svm_pathlist tmp = { .n = 0 };
	const char *p = value;

	while (*p) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > 0) {
			if (tmp.n == SVM_CONF_MAX_LIST) {
				snprintf(err, errlen, "more than %d paths", SVM_CONF_MAX_LIST);
				return -1;
			}
			if (len >= PATH_MAX || p[0] != '/') {
				snprintf(err, errlen, "'%.*s' is not an absolute path",
					 (int)(len > 200 ? 200 : len), p);
				return -1;
			}
			memcpy(tmp.path[tmp.n], p, len);
			tmp.path[tmp.n][len] = '\0';
			/* "/a/b/" and "/a/b" are the same directory */
			while (len > 1 && tmp.path[tmp.n][len - 1] == '/')
				tmp.path[tmp.n][--len] = '\0';
			tmp.n++;
		}
		if (!end)
			break;
		p = end + 1;
	}
	*list = tmp;
	return 0;
}

static int set_enum(int *dst, const char *value, const char *const *names,
		    char *err, size_t errlen)
{
	int i = svm_parse_enum(value, names);
	size_t off = 0;

	if (i >= 0) {
		*dst = i;
		return 0;
	}
	off = (size_t)snprintf(err, errlen, "'%s' is not one of", value);
	for (int k = 0; names[k] && off < errlen; k++)
		off += (size_t)snprintf(err + off, errlen - off, " %s", names[k]);
	return -1;
}

static int set_formats(unsigned *dst, const char *value, char *err, size_t errlen)
{
	char buf[64], *save = NULL, *tok;
	unsigned fmts = 0;

	if (svm_strlcpy(buf, value, sizeof(buf)) < 0)
		goto bad;
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (!strcmp(tok, "qcow2"))
			fmts |= SVM_FMT_QCOW2;
		else if (!strcmp(tok, "raw"))
			fmts |= SVM_FMT_RAW;
		else
			goto bad;
	}
	if (!fmts)
		goto bad;
	*dst = fmts;
	return 0;
bad:
	snprintf(err, errlen, "'%s' is not a list of qcow2, raw", value);
	return -1;
}

/* ib_allowed: modes a user may ask for, comma- or blank-separated; none is
 * always allowed (asking for less never harms anyone), empty means none. */
static int set_ib_allowed(unsigned *dst, const char *value, char *err, size_t errlen)
{
	static const char *const user_ib[] = { "none", "pf", "vf", NULL };
	char buf[256], *save = NULL, *tok;
	unsigned mask = 1u << SVM_IB_NONE;

	if (svm_strlcpy(buf, value, sizeof(buf)) < 0) {
		snprintf(err, errlen, "value longer than %zu bytes", sizeof(buf) - 1);
		return -1;
	}
	for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		int i = svm_parse_enum(tok, user_ib);

		if (i < 0) {
			snprintf(err, errlen, "'%.100s' is not one of none pf vf", tok);
			return -1;
		}
		mask |= 1u << i;
	}
	*dst = mask;
	return 0;
}

int svm_config_ib_allowed(const struct svm_config *conf, int mode, char *err, size_t errlen)
{
	char list[32] = "";
	size_t off = 0;

	if (mode < 0 || (mode <= SVM_IB_AUTO && (conf->ib_allowed & (1u << mode))))
		return 0;
	for (int i = SVM_IB_NONE; i <= SVM_IB_VF; i++)
		if (conf->ib_allowed & (1u << i))
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
						off ? "," : "", svm_ib_names[i]);
	snprintf(err, errlen, "--vm-ib=%s is not allowed on this cluster (ib_allowed = %s)",
		 mode <= SVM_IB_AUTO ? svm_ib_names[mode] : "?", list);
	return -1;
}

static int set_mib(uint64_t *dst, const char *value, char *err, size_t errlen)
{
	uint64_t bytes;

	if (svm_parse_size(value, 1ULL << 20, &bytes) < 0) {
		snprintf(err, errlen, "'%s' is not a size (e.g. 2048, 512M, 4G)", value);
		return -1;
	}
	*dst = bytes >> 20;
	return 0;
}

int svm_config_set(struct svm_config *conf, const char *key, const char *value,
		   char *err, size_t errlen)
{
	int tmp;

	if (!strcmp(key, "libvirt_uri")) {
		if (!*value) {
			snprintf(err, errlen, "empty libvirt URI");
			return -1;
		}
		return set_string(conf->libvirt_uri, sizeof(conf->libvirt_uri), value, err, errlen);
	}
	if (!strcmp(key, "domain_type")) {
		if (set_enum(&tmp, value, svm_domain_type_names, err, errlen) < 0)
			return -1;
		conf->domain_type = tmp;
		return 0;
	}
	if (!strcmp(key, "emulator"))
		return set_abs_path(conf->emulator, value, 1, err, errlen);
	if (!strcmp(key, "scratch_dir"))
		return set_abs_path(conf->scratch_dir, value, 0, err, errlen);
	if (!strcmp(key, "runtime_dir"))
		return set_abs_path(conf->runtime_dir, value, 0, err, errlen);
	if (!strcmp(key, "image_dirs"))
		return set_pathlist(&conf->image_dirs, value, err, errlen);
	if (!strcmp(key, "image_formats"))
		return set_formats(&conf->image_formats, value, err, errlen);
	if (!strcmp(key, "max_image_size")) {
		if (svm_parse_size(value, 1ULL << 30, &conf->max_image_size) < 0 ||
		    conf->max_image_size == 0) {
			snprintf(err, errlen, "'%s' is not a size (e.g. 100G, 2T)", value);
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "reserved_cpus")) {
		/* Checked against the topology when it is known (prolog). */
		for (const char *p = value; *p; p++) {
			if (!strchr("0123456789,-", *p)) {
				snprintf(err, errlen, "'%s' is not a CPU list (e.g. 0,1 or 0-3)", value);
				return -1;
			}
		}
		return set_string(conf->reserved_cpus, sizeof(conf->reserved_cpus), value, err, errlen);
	}
	if (!strcmp(key, "host_mem_reserve"))
		return set_mib(&conf->host_mem_reserve, value, err, errlen);
	if (!strcmp(key, "default_mem"))
		return set_mib(&conf->default_mem, value, err, errlen);
	if (!strcmp(key, "hugepages")) {
		if (set_enum(&tmp, value, svm_hugepages_names, err, errlen) < 0)
			return -1;
		conf->hugepages = tmp;
		return 0;
	}
	if (!strcmp(key, "hugepages_short")) {
		if (set_enum(&tmp, value, hp_short_names, err, errlen) < 0)
			return -1;
		conf->hugepages_short = tmp;
		return 0;
	}
	if (!strcmp(key, "ib")) {
		if (set_enum(&tmp, value, svm_ib_names, err, errlen) < 0)
			return -1;
		conf->ib = tmp;
		return 0;
	}
	if (!strcmp(key, "ib_allowed"))
		return set_ib_allowed(&conf->ib_allowed, value, err, errlen);
	if (!strcmp(key, "sysfs_root"))
		return set_abs_path(conf->sysfs_root, value, 0, err, errlen);
	if (!strcmp(key, "kernel"))
		return set_abs_path(conf->kernel, value, 1, err, errlen);
	if (!strcmp(key, "initrd"))
		return set_abs_path(conf->initrd, value, 1, err, errlen);
	if (!strcmp(key, "kernel_cmdline"))
		return set_string(conf->kernel_cmdline, sizeof(conf->kernel_cmdline), value, err, errlen);
	if (!strcmp(key, "boot_timeout")) {
		uint64_t v;

		if (svm_parse_u64(value, 1, 86400, &v) < 0) {
			snprintf(err, errlen, "'%s' is not a number of seconds in 1..86400", value);
			return -1;
		}
		conf->boot_timeout = (unsigned)v;
		return 0;
	}
	if (!strcmp(key, "check_timeout")) {
		uint64_t v;

		if (svm_parse_u64(value, 1, 3600, &v) < 0) {
			snprintf(err, errlen, "'%s' is not a number of seconds in 1..3600", value);
			return -1;
		}
		conf->check_timeout = (unsigned)v;
		return 0;
	}
	if (!strcmp(key, "network")) {
		if (set_enum(&tmp, value, network_names, err, errlen) < 0)
			return -1;
		conf->network = tmp;
		return 0;
	}
	if (!strcmp(key, "network_name")) {
		/* a bridge prefix must leave room for the job id in IFNAMSIZ */
		if (!*value || strlen(value) > 8 || strspn(value,
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(value)) {
			snprintf(err, errlen, "'%s' is not a name of 1 to 8 letters, digits, '-' or '_'", value);
			return -1;
		}
		return set_string(conf->network_name, sizeof(conf->network_name), value, err, errlen);
	}
	if (!strcmp(key, "overlay_port") || !strcmp(key, "overlay_mtu") ||
	    !strcmp(key, "overlay_vni_offset")) {
		int port = !strcmp(key, "overlay_port"), mtu = !strcmp(key, "overlay_mtu");
		uint64_t v;

		if (svm_parse_u64(value, port ? 1 : 0, port ? 65535 : mtu ? 65485 : 16777215,
				  &v) < 0 || (mtu && v && v < 576)) {
			snprintf(err, errlen, "'%s' is not %s", value,
				 port ? "a UDP port in 1..65535" :
				 mtu ? "0 (automatic) or an MTU in 576..65485" : "a number in 0..16777215");
			return -1;
		}
		if (port)
			conf->overlay_port = (unsigned)v;
		else if (mtu)
			conf->overlay_mtu = (unsigned)v;
		else
			conf->overlay_vni_offset = (uint32_t)v;
		return 0;
	}
	if (!strcmp(key, "overlay_resolve")) {
		if (set_enum(&tmp, value, resolve_names, err, errlen) < 0)
			return -1;
		conf->overlay_resolve = tmp;
		return 0;
	}
	if (!strcmp(key, "overlay_name_suffix")) {
		if (strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") !=
		    strlen(value)) {
			snprintf(err, errlen, "'%s' is not a host name suffix (letters, digits, '.', '-', '_')",
				 value);
			return -1;
		}
		return set_string(conf->overlay_name_suffix, sizeof(conf->overlay_name_suffix), value,
				  err, errlen);
	}
	if (!strcmp(key, "shared_paths"))
		return set_pathlist(&conf->shared_paths, value, err, errlen);
	if (!strcmp(key, "allowed_mounts"))
		return set_pathlist(&conf->allowed_mounts, value, err, errlen);
	if (!strcmp(key, "libexec_dir"))
		return set_abs_path(conf->libexec_dir, value, 0, err, errlen);
	if (!strcmp(key, "topology_xml"))
		return set_abs_path(conf->topology_xml, value, 1, err, errlen);
	if (!strcmp(key, "agent_medium")) {
		if (!strcmp(value, "none"))
			return set_string(conf->agent_medium, sizeof(conf->agent_medium), value, err, errlen);
		return set_abs_path(conf->agent_medium, value, 0, err, errlen);
	}
	if (!strcmp(key, "agent_port")) {
		if (!svm_agent_port_ok(value)) {
			snprintf(err, errlen, "'%s' is not a virtio-serial port name (letters, digits, '.', '_', '-')", value);
			return -1;
		}
		return set_string(conf->agent_port, sizeof(conf->agent_port), value, err, errlen);
	}
	snprintf(err, errlen, "unknown key '%s'", key);
	return -1;
}

/* Parses one line in place: strips the comment and blanks, splits at '='. */
static int parse_line(struct svm_config *conf, const char *name, int lineno,
		      char *line)
{
	char err[512], *eq, *key, *value, *hash;

	hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	line = svm_strstrip(line);
	if (!*line)
		return 0;
	eq = strchr(line, '=');
	if (!eq) {
		svm_error("%s line %d: expected 'key = value'", name, lineno);
		return -1;
	}
	*eq = '\0';
	key = svm_strstrip(line);
	value = svm_strstrip(eq + 1);
	if (!*key) {
		svm_error("%s line %d: missing key before '='", name, lineno);
		return -1;
	}
	if (svm_config_set(conf, key, value, err, sizeof(err)) < 0) {
		svm_error("%s line %d: %s: %s", name, lineno, key, err);
		return -1;
	}
	return 0;
}

int svm_config_parse(struct svm_config *conf, const char *name, const char *buf)
{
	char line[SVM_CONF_MAX_LINE];
	int lineno = 0;
	const char *p = buf;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		lineno++;
		if (len >= sizeof(line)) {
			svm_error("%s line %d: line longer than %zu bytes", name, lineno,
				  sizeof(line) - 1);
			return -1;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		if (parse_line(conf, name, lineno, line) < 0)
			return -1;
		if (!nl)
			break;
		p = nl + 1;
	}
	/* bridge and VXLAN names carry the job id in hex: "<name><8 hex>",
	 * "<name>v<8 hex>" within IFNAMSIZ for every 32-bit job id */
	if (svm_net_bridged(conf->network) &&
	    strlen(conf->network_name) > 6) {
		svm_error("%s: network_name '%s' is longer than 6 characters, the most a bridge name prefix can have",
			  name, conf->network_name);
		return -1;
	}
	return 0;
}

int svm_config_path(const char *given, const char *slurm_conf, char *buf, size_t len)
{
	const char *slash = slurm_conf ? strrchr(slurm_conf, '/') : NULL;

	if (given)
		return svm_strlcpy(buf, given, len) < 0 ? -1 : 0;
	if (slash && slurm_conf[0] == '/') {
		int n = snprintf(buf, len, "%.*s/vm.conf", (int)(slash - slurm_conf), slurm_conf);

		if (n > 0 && (size_t)n < len && access(buf, F_OK) == 0)
			return 0;
	}
	return svm_strlcpy(buf, SVM_DEFAULT_CONFIG, len) < 0 ? -1 : 1;
}

int svm_config_load(struct svm_config *conf, const char *path, int allow_missing)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t n;
	int rc = -1;

	svm_config_defaults(conf);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && allow_missing)
			return 0;
		svm_error("cannot open config %s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(SVM_CONF_MAX_BYTES + 1);
	if (!buf) {
		svm_error("cannot read config %s: out of memory", path);
		goto out;
	}
	n = fread(buf, 1, SVM_CONF_MAX_BYTES + 1, f);
	if (ferror(f)) {
		svm_error("cannot read config %s: %s", path, strerror(errno));
		goto out;
	}
	if (n > SVM_CONF_MAX_BYTES) {
		svm_error("config %s is larger than %d bytes", path, SVM_CONF_MAX_BYTES);
		goto out;
	}
	if (memchr(buf, '\0', n)) {
		svm_error("config %s contains a NUL byte", path);
		goto out;
	}
	buf[n] = '\0';
	rc = svm_config_parse(conf, path, buf);
out:
	free(buf);
	if (f)
		fclose(f);
	return rc;
}
