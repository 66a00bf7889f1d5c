/* Parsers of the guest configuration (guest_config.h).  Everything here
 * reads bytes the firmware or the boot loader handed over: bounds are
 * explicit, nothing is trusted to be terminated, and a bad value is skipped
 * with one warning, never fatal. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "etc_hosts.h"
#include "guest_config.h"
#include "guest_words.h"

#define PREFIX SVM_GW_PREFIX
#define PREFIX_LEN SVM_GW_PREFIX_LEN

void svm_gc_init(struct svm_gc *gc)
{
	memset(gc, 0, sizeof(*gc));
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Reads 1..MAXD decimal digits at *S into *V (at most MAX). */
static int get_num(const char **s, unsigned maxd, unsigned max, unsigned *v)
{
	unsigned n = 0, d = 0;

	while (is_digit(**s)) {
		if (++d > maxd)
			return -1;
		n = n * 10 + (unsigned)(**s - '0');
		(*s)++;
	}
	if (d == 0 || n > max)
		return -1;
	*v = n;
	return 0;
}

int svm_gc_parse_ip(const char *s, uint32_t *ip, unsigned *prefix, const char **why)
{
	uint32_t a = 0;
	unsigned v, i;

	for (i = 0; i < 4; i++) {
		if (get_num(&s, 3, 255, &v) < 0) {
			*why = "not a dotted IPv4 address";
			return -1;
		}
		a = (a << 8) | v;
		if (i < 3 && *s++ != '.') {
			*why = "not a dotted IPv4 address";
			return -1;
		}
	}
	if (*s++ != '/') {
		*why = "no /PREFIX after the address";
		return -1;
	}
	if (get_num(&s, 2, 32, &v) < 0 || v == 0 || *s) {
		*why = "prefix is not a number from 1 to 32";
		return -1;
	}
	if (a == 0 || (a >> 24) == 127 || (a >> 24) >= 224) {
		*why = "not a unicast host address";
		return -1;
	}
	*ip = a;
	*prefix = v;
	return 0;
}

int svm_gc_valid_hostname(const char *s, const char **why)
{
	size_t n = 0;

	if (*s == '\0' || *s == '-' || *s == '.') {
		*why = "host name empty or starting with '-' or '.'";
		return -1;
	}
	for (; s[n]; n++) {
		if (n >= SVM_GC_HOST_MAX) {
			*why = "host name longer than 64 bytes";
			return -1;
		}
		if (!is_alnum(s[n]) && s[n] != '-' && s[n] != '.' && s[n] != '_') {
			*why = "host name has a character outside [A-Za-z0-9._-]";
			return -1;
		}
	}
	return 0;
}

/* An absolute path of N bytes at P, no empty, "." or ".." component (one
 * trailing '/' allowed), not "/" itself, copied without the trailing '/'. */
static int get_path(const char *p, size_t n, char *out, const char **why)
{
	size_t i, c;

	if (n > 1 && p[n - 1] == '/')
		n--;
	if (n == 0 || p[0] != '/') {
		*why = "mount point is not an absolute path";
		return -1;
	}
	if (n == 1) {
		*why = "mount point is /";
		return -1;
	}
	if (n > SVM_GC_PATH_MAX) {
		*why = "mount point longer than 1023 bytes";
		return -1;
	}
	for (i = 0; i < n; i = c) {
		size_t k;

		for (c = i + 1; c < n && p[c] != '/'; c++)
			;
		k = c - i - 1;	/* component p[i+1 .. c) */
		if (k == 0 || (k == 1 && p[i + 1] == '.') ||
		    (k == 2 && p[i + 1] == '.' && p[i + 2] == '.')) {
			*why = "mount point has an empty, '.' or '..' component";
			return -1;
		}
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int svm_gc_parse_share(const char *s, struct svm_gc_share *sh, const char **why)
{
	const char *c1 = strchr(s, ':'), *c2, *end;
	size_t i, tl;

	if (!c1) {
		*why = "not TAG:PATH[:ro]";
		return -1;
	}
	tl = (size_t)(c1 - s);
	if (tl == 0 || tl > SVM_GC_TAG_MAX) {
		*why = "tag empty or longer than 31 bytes";
		return -1;
	}
	for (i = 0; i < tl; i++) {
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-') {
			*why = "tag has a character outside [A-Za-z0-9_-]";
			return -1;
		}
	}
	c2 = strchr(c1 + 1, ':');
	end = c2 ? c2 : c1 + 1 + strlen(c1 + 1);
	sh->ro = 0;
	if (c2) {
		if (strcmp(c2 + 1, "ro") == 0) {
			sh->ro = 1;
		} else if (strcmp(c2 + 1, "rw") != 0) {
			*why = "option after the path is not ro or rw";
			return -1;
		}
	}
	if (get_path(c1 + 1, (size_t)(end - c1 - 1), sh->path, why) < 0)
		return -1;
	memcpy(sh->tag, s, tl);
	sh->tag[tl] = '\0';
	return 0;
}

static void warnf(svm_gc_warn_fn warn, void *arg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void warnf(svm_gc_warn_fn warn, void *arg, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warn(arg, msg);
}

/* A printable excerpt of untrusted bytes for a message. */
static void excerpt(const char *s, size_t n, char *out, size_t outsz)
{
	size_t i, k = 0;

	for (i = 0; i < n && k + 4 < outsz; i++)
		out[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (i < n) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

static int add_share(struct svm_gc *gc, const struct svm_gc_share *sh)
{
	unsigned i;

	for (i = 0; i < gc->n_shares; i++) {
		if (strcmp(gc->shares[i].path, sh->path) == 0) {
			gc->shares[i] = *sh;
			return 0;
		}
	}
	if (gc->n_shares >= SVM_GC_MAX_SHARES)
		return -1;
	gc->shares[gc->n_shares++] = *sh;
	return 0;
}

int svm_gc_word(struct svm_gc *gc, const char *word, size_t len, const char *source,
		svm_gc_warn_fn warn, void *arg)
{
	char buf[SVM_GC_MAX_WORD + 1], ex[80];
	const char *why = NULL, *eq, *val;
	size_t i, kl;

	if (len < PREFIX_LEN || memcmp(word, PREFIX, PREFIX_LEN) != 0)
		return 0;
	excerpt(word, len, ex, sizeof(ex));
	if (len > SVM_GC_MAX_WORD) {
		warnf(warn, arg, "ignoring %s word '%s': longer than %d bytes", source, ex, SVM_GC_MAX_WORD);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)word[i];

		if (c < 0x20 || c == 0x7f) {
			warnf(warn, arg, "ignoring %s word '%s': it has control characters", source, ex);
			return -1;
		}
	}
	memcpy(buf, word, len);
	buf[len] = '\0';
	eq = strchr(buf, '=');
	if (!eq)
		return 0;	/* a flag word: none of ours */
	kl = (size_t)(eq - buf) - PREFIX_LEN;
	val = eq + 1;
	switch (svm_gw_lookup(buf + PREFIX_LEN, kl)) {
	case SVM_GW_JOB: {
		const char *s = val;
		unsigned v;

		if (get_num(&s, 9, 999999999, &v) < 0 || *s || v == 0) {
			why = "not a job id";
			goto bad;
		}
		gc->job = v;
		break;
	}
	case SVM_GW_HOSTNAME:
		if (svm_gc_valid_hostname(val, &why) < 0)
			goto bad;
		strcpy(gc->hostname, val);	/* length checked: <= 64 */
		break;
	case SVM_GW_IP: {
		uint32_t ip;
		unsigned prefix;

		if (svm_gc_parse_ip(val, &ip, &prefix, &why) < 0)
			goto bad;
		gc->ip = ip;
		gc->prefix = prefix;
		gc->has_ip = 1;
		break;
	}
	case SVM_GW_9P: {
		struct svm_gc_share sh;

		if (svm_gc_parse_share(val, &sh, &why) < 0)
			goto bad;
		if (add_share(gc, &sh) < 0) {
			why = "more than 32 shares";
			goto bad;
		}
		break;
	}
	case SVM_GW_NODES: {
		size_t n = strlen(val);

		if (n > SVM_GW_NODES_MAX) {
			why = "node list longer than 16384 bytes";
			goto bad;
		}
		if (svm_eh_expand(val, n, NULL, NULL, &why) < 0)
			goto bad;
		memcpy(gc->nodes, val, n + 1);
		break;
	}
	default:
		return 0;
	}
	return 1;
bad:
	warnf(warn, arg, "ignoring %s word '%s': %s", source, ex, why);
	return -1;
}

int svm_gc_cmdline(struct svm_gc *gc, const char *text, size_t len,
		   svm_gc_warn_fn warn, void *arg)
{
	char buf[SVM_GC_MAX_WORD + 1];
	size_t i = 0, n, total;
	int used = 0, quoted;

	while (i < len) {
		while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\0'))
			i++;
		if (i >= len)
			break;
		n = total = 0;
		quoted = 0;
		for (; i < len; i++) {
			char c = text[i];

			if (c == '\0' || (!quoted && (c == ' ' || c == '\t' || c == '\n')))
				break;
			if (c == '"') {
				quoted = !quoted;
				continue;
			}
			total++;
			if (n < SVM_GC_MAX_WORD)
				buf[n++] = c;
		}
		if (total > n) {
			/* Too long to hold: warn about ours, with what fits. */
			if (n >= PREFIX_LEN && memcmp(buf, PREFIX, PREFIX_LEN) == 0)
				svm_gc_word(gc, buf, SVM_GC_MAX_WORD + 1, "kernel command line", warn, arg);
			continue;
		}
		if (svm_gc_word(gc, buf, n, "kernel command line", warn, arg) > 0)
			used++;
	}
	return used;
}

int svm_gc_oem_walk(const uint8_t *raw, size_t len,
		    void (*fn)(void *arg, const char *s, size_t n), void *arg,
		    const char **why)
{
	size_t hlen, p;
	unsigned count, i;
	int pass;

	if (len < 5) {
		*why = "shorter than the 5-byte type 11 structure";
		return -1;
	}
	if (raw[0] != 11) {
		*why = "not an SMBIOS type 11 structure";
		return -1;
	}
	hlen = raw[1];
	if (hlen < 5 || hlen > len) {
		*why = "header length below 5 or past the end";
		return -1;
	}
	count = raw[4];
	/* Pass 0 checks the whole string set, pass 1 hands it out. */
	for (pass = 0; pass < 2; pass++) {
		p = hlen;
		for (i = 0; i < count; i++) {
			const uint8_t *nul = p < len ? memchr(raw + p, 0, len - p) : NULL;
			size_t n;

			if (!nul) {
				*why = "a string runs past the end of the structure";
				return -1;
			}
			n = (size_t)(nul - (raw + p));
			if (n == 0) {
				*why = "fewer strings than the count says";
				return -1;
			}
			if (pass == 1 && fn)
				fn(arg, (const char *)raw + p, n);
			p += n + 1;
		}
		/* The set ends with an empty string (two NULs if there is none). */
		if (pass == 0 && (p >= len || raw[p] != 0 || (count == 0 && (p + 1 >= len || raw[p + 1] != 0)))) {
			*why = "string set not terminated";
			return -1;
		}
	}
	return (int)count;
}

struct oem_ctx {
	struct svm_gc *gc;
	svm_gc_warn_fn warn;
	void *arg;
};

static void oem_one(void *arg, const char *s, size_t n)
{
	struct oem_ctx *c = arg;

	svm_gc_word(c->gc, s, n, "SMBIOS OEM", c->warn, c->arg);
}

int svm_gc_oem(struct svm_gc *gc, const uint8_t *raw, size_t len,
	       svm_gc_warn_fn warn, void *arg)
{
	struct oem_ctx c = { gc, warn, arg };
	const char *why = NULL;
	int n = svm_gc_oem_walk(raw, len, oem_one, &c, &why);

	if (n < 0)
		warnf(warn, arg, "ignoring SMBIOS OEM strings: %s", why);
	return n;
}
