/* Unit tests of the guest configuration parsers of the agent: SMBIOS type
 * 11 OEM strings, kernel command line words, address/prefix, share specs,
 * the node list and the /etc/hosts it gives, well-formed and malformed. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "etc_hosts.h"
#include "guest_config.h"
#include "guest_words.h"

static int n_warn;
static char last_warn[600];

static void warn(void *arg, const char *msg)
{
	(void)arg;
	n_warn++;
	snprintf(last_warn, sizeof(last_warn), "%s", msg);
}

static struct svm_gc gc;

static int setup(void **state)
{
	(void)state;
	svm_gc_init(&gc);
	n_warn = 0;
	last_warn[0] = '\0';
	return 0;
}

/* A type 11 structure: header (type, length 5, handle), count, strings. */
static size_t oem(uint8_t *out, size_t max, int count, const char *const *s, int n)
{
	size_t len = 5;

	out[0] = 11;
	out[1] = 5;
	out[2] = 0x34;
	out[3] = 0x12;
	out[4] = (uint8_t)(count < 0 ? n : count);
	for (int i = 0; i < n; i++) {
		size_t k = strlen(s[i]) + 1;

		assert_true(len + k < max);
		memcpy(out + len, s[i], k);
		len += k;
	}
	out[len++] = 0;
	if (n == 0)
		out[len++] = 0;
	return len;
}

static void test_ip(void **state)
{
	uint32_t ip;
	unsigned pfx;
	const char *why = NULL;
	static const char *const bad[] = {
		"", "169.254.1.2", "169.254.1.2/", "169.254.1.2/0", "169.254.1.2/33",
		"169.254.1/16", "169.254.1.2.3/16", "256.1.1.1/16", "1.2.3.4/16x",
		"1.2.3.4 /16", "0.0.0.0/8", "127.0.0.1/8", "224.0.0.1/4", "1.2.3.0004/16",
		"-1.2.3.4/16", "1..2.3/16", "1.2.3.4/123", "a.b.c.d/16", "1.2.3.4/1 6",
	};

	(void)state;
	assert_int_equal(svm_gc_parse_ip("169.254.3.7/16", &ip, &pfx, &why), 0);
	assert_int_equal(ip, 0xa9fe0307u);
	assert_int_equal(pfx, 16);
	assert_int_equal(svm_gc_parse_ip("10.0.0.1/32", &ip, &pfx, &why), 0);
	assert_int_equal(pfx, 32);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (svm_gc_parse_ip(bad[i], &ip, &pfx, &why) != -1)
			fail_msg("address '%s' accepted", bad[i]);
		assert_non_null(why);
	}
}

static void test_share(void **state)
{
	struct svm_gc_share sh;
	const char *why = NULL;
	char tag[40], path[1100];
	static const char *const bad[] = {
		"", "tag", ":/a", "tag:", "tag:rel/dir", "tag:/", "tag://", "tag:/a/../b",
		"tag:/a/..", "tag:/..", "tag:/a/./b", "tag:/a//b", "ta g:/a", "tag.x:/a",
		"tag:/a:rx", "tag:/a:ro:ro", "tag:/a:", "t/g:/a",
	};

	(void)state;
	assert_int_equal(svm_gc_parse_share("svm0-1a2b3c4d:/home/u/work", &sh, &why), 0);
	assert_string_equal(sh.tag, "svm0-1a2b3c4d");
	assert_string_equal(sh.path, "/home/u/work");
	assert_int_equal(sh.ro, 0);
	assert_int_equal(svm_gc_parse_share("A_b-9:/opt/site/:ro", &sh, &why), 0);
	assert_string_equal(sh.path, "/opt/site");
	assert_int_equal(sh.ro, 1);
	assert_int_equal(svm_gc_parse_share("t:/a..b/.c/d.:rw", &sh, &why), 0);
	assert_string_equal(sh.path, "/a..b/.c/d.");
	assert_int_equal(sh.ro, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (svm_gc_parse_share(bad[i], &sh, &why) != -1)
			fail_msg("share '%s' accepted", bad[i]);
		assert_non_null(why);
	}
	/* Bounds: a 31-byte tag and a 1023-byte path pass, one more fails. */
	memset(tag, 'x', 31);
	strcpy(tag + 31, ":/a");
	assert_int_equal(svm_gc_parse_share(tag, &sh, &why), 0);
	memset(tag, 'x', 32);
	strcpy(tag + 32, ":/a");
	assert_int_equal(svm_gc_parse_share(tag, &sh, &why), -1);
	strcpy(path, "t:");
	for (size_t i = 2; i < 2 + 1023; i++)
		path[i] = (i % 10 == 2) ? '/' : 'p';
	path[2 + 1023] = '\0';
	assert_int_equal(svm_gc_parse_share(path, &sh, &why), 0);
	assert_int_equal(strlen(sh.path), 1023);
	strcpy(path + 2 + 1023, "q");
	assert_int_equal(svm_gc_parse_share(path, &sh, &why), -1);
}

static void test_hostname(void **state)
{
	const char *why;
	char longname[70];

	(void)state;
	assert_int_equal(svm_gc_valid_hostname("n1", &why), 0);
	assert_int_equal(svm_gc_valid_hostname("node-01.cluster_a", &why), 0);
	assert_int_equal(svm_gc_valid_hostname("", &why), -1);
	assert_int_equal(svm_gc_valid_hostname("-n", &why), -1);
	assert_int_equal(svm_gc_valid_hostname(".n", &why), -1);
	assert_int_equal(svm_gc_valid_hostname("a b", &why), -1);
	assert_int_equal(svm_gc_valid_hostname("a/b", &why), -1);
	memset(longname, 'h', 64);
	longname[64] = '\0';
	assert_int_equal(svm_gc_valid_hostname(longname, &why), 0);
	longname[64] = 'h';
	longname[65] = '\0';
	assert_int_equal(svm_gc_valid_hostname(longname, &why), -1);
}

/* Every word of the host's list (guest_words.h), with a value of its form,
 * is one the agent uses, from wherever the prolog writes it; a key not in
 * the list is skipped. */
static void test_word_table(void **state)
{
	char word[SVM_GW_N][128], line[1024] = "console=ttyS0";
	const char *oemw[SVM_GW_N];
	uint8_t raw[2048];
	int n_cmd = 0, n_oem = 0;

	(void)state;
	for (int k = 0; k < SVM_GW_N; k++) {
		snprintf(word[k], sizeof(word[k]), SVM_GW_PREFIX "%s=%s", svm_gw_words[k].key,
			 svm_gw_words[k].example);
		assert_int_equal(svm_gc_word(&gc, word[k], strlen(word[k]), "test", warn, NULL), 1);
		if (svm_gw_words[k].where & SVM_GW_CMDLINE) {
			strcat(line, " ");
			strcat(line, word[k]);
			n_cmd++;
		}
		if (svm_gw_words[k].where & SVM_GW_OEM)
			oemw[n_oem++] = word[k];
	}
	assert_int_equal(n_warn, 0);
	svm_gc_init(&gc);
	assert_int_equal(svm_gc_cmdline(&gc, line, strlen(line), warn, NULL), n_cmd);
	assert_string_equal(gc.hostname, svm_gw_words[SVM_GW_HOSTNAME].example);
	svm_gc_init(&gc);
	assert_int_equal(svm_gc_oem(&gc, raw, oem(raw, sizeof(raw), -1, oemw, n_oem), warn, NULL), n_oem);
	assert_int_equal(gc.job, 42);
	assert_string_equal(gc.hostname, "n1");
	assert_true(gc.has_ip);
	assert_int_equal(gc.n_shares, 1);
	assert_string_equal(gc.shares[0].path, "/home/u");
	assert_int_equal(gc.shares[0].ro, 1);
	assert_string_equal(gc.nodes, "gpu[01-03],login1");
	assert_int_equal(n_warn, 0);
	assert_int_equal(svm_gw_lookup("nosuch", 6), -1);
	assert_int_equal(svm_gc_word(&gc, "slurmvm.nosuch=1", 16, "test", warn, NULL), 0);
	assert_int_equal(svm_gc_word(&gc, "slurmvm.hostnam=n2", 18, "test", warn, NULL), 0);
	assert_string_equal(gc.hostname, "n1");
}

static void test_cmdline(void **state)
{
	static const char line[] =
		"BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro console=ttyS0 slurmvm.hostname=n1 "
		"slurmvm.9p=svm0-aa:/home/u slurmvm.9p=svm1-bb:/opt:ro slurmvm.ip=169.254.0.2/16 "
		"slurmvm.selftest=1 slurmvm.gw=1.2.3.4 slurmvm.debug slurmvm.job=42\n";

	(void)state;
	assert_int_equal(svm_gc_cmdline(&gc, line, sizeof(line) - 1, warn, NULL), 5);
	assert_int_equal(n_warn, 0);
	assert_string_equal(gc.hostname, "n1");
	assert_int_equal(gc.job, 42);
	assert_true(gc.has_ip);
	assert_int_equal(gc.ip, 0xa9fe0002u);
	assert_int_equal(gc.prefix, 16);
	assert_int_equal(gc.n_shares, 2);
	assert_string_equal(gc.shares[0].tag, "svm0-aa");
	assert_string_equal(gc.shares[1].path, "/opt");
	assert_int_equal(gc.shares[1].ro, 1);
}

static void test_cmdline_quotes_and_last_wins(void **state)
{
	static const char line[] = "a=\"x y\" \"slurmvm.hostname=q1\"  slurmvm.hostname=q2\tslurmvm.9p=t1:/a "
				   "slurmvm.9p=t2:/a:ro";

	(void)state;
	assert_int_equal(svm_gc_cmdline(&gc, line, sizeof(line) - 1, warn, NULL), 4);
	assert_string_equal(gc.hostname, "q2");
	assert_int_equal(gc.n_shares, 1);	/* same mount point: the later one */
	assert_string_equal(gc.shares[0].tag, "t2");
	assert_int_equal(gc.shares[0].ro, 1);
}

static void test_cmdline_malformed(void **state)
{
	static const char line[] = "slurmvm.hostname=-bad slurmvm.ip=300.1.1.1/16 slurmvm.9p=t:/a/../etc "
				   "slurmvm.9p=t:relative slurmvm.job=abc slurmvm.job=0 slurmvm.hostname=ok";
	char *big;
	size_t n;

	(void)state;
	assert_int_equal(svm_gc_cmdline(&gc, line, sizeof(line) - 1, warn, NULL), 1);
	assert_int_equal(n_warn, 6);
	assert_string_equal(gc.hostname, "ok");
	assert_false(gc.has_ip);
	assert_int_equal(gc.n_shares, 0);
	assert_int_equal(gc.job, 0);
	/* NUL and a word longer than the bound: no crash, one warning for ours. */
	n_warn = 0;
	assert_int_equal(svm_gc_cmdline(&gc, "slurmvm.hostname=x\0slurmvm.hostname=y", 38, warn, NULL), 2);
	assert_string_equal(gc.hostname, "y");
	n = SVM_GC_MAX_WORD + 100;
	big = malloc(n);
	assert_non_null(big);
	memset(big, 'a', n);
	memcpy(big, "slurmvm.9p=t:/", 14);
	assert_int_equal(svm_gc_cmdline(&gc, big, n, warn, NULL), 0);
	assert_int_equal(n_warn, 1);
	assert_non_null(strstr(last_warn, "longer than"));
	memcpy(big, "other=word....", 14);
	assert_int_equal(svm_gc_cmdline(&gc, big, n, warn, NULL), 0);
	assert_int_equal(n_warn, 1);
	free(big);
	/* Control characters in a word of ours: ignored with a warning. */
	n_warn = 0;
	assert_int_equal(svm_gc_word(&gc, "slurmvm.hostname=a\x01", 19, "test", warn, NULL), -1);
	assert_int_equal(n_warn, 1);
	assert_int_equal(svm_gc_cmdline(&gc, "", 0, warn, NULL), 0);
}

static void test_too_many_shares(void **state)
{
	char w[64];
	int used = 0;

	(void)state;
	for (int i = 0; i < SVM_GC_MAX_SHARES + 3; i++) {
		int n = snprintf(w, sizeof(w), "slurmvm.9p=t%d:/s/%d", i, i);

		if (svm_gc_word(&gc, w, (size_t)n, "test", warn, NULL) == 1)
			used++;
	}
	assert_int_equal(used, SVM_GC_MAX_SHARES);
	assert_int_equal(gc.n_shares, SVM_GC_MAX_SHARES);
	assert_int_equal(n_warn, 3);
}

static void test_oem(void **state)
{
	static const char *const s[] = { "slurmvm.job=7", "slurmvm.hostname=n2", "vendor thing",
					 "slurmvm.9p=svm0-x:/work dir", "slurmvm.ip=169.254.0.3/16" };
	uint8_t raw[512];
	size_t len = oem(raw, sizeof(raw), -1, s, 5);

	(void)state;
	assert_int_equal(svm_gc_oem(&gc, raw, len, warn, NULL), 5);
	assert_int_equal(n_warn, 0);
	assert_int_equal(gc.job, 7);
	assert_string_equal(gc.hostname, "n2");
	assert_int_equal(gc.n_shares, 1);
	assert_string_equal(gc.shares[0].path, "/work dir");	/* blanks are fine here */
	assert_int_equal(gc.ip, 0xa9fe0003u);
	/* The command line, read after, wins. */
	assert_int_equal(svm_gc_cmdline(&gc, "slurmvm.hostname=n3", 19, warn, NULL), 1);
	assert_string_equal(gc.hostname, "n3");
	/* A longer formatted area is skipped by its length. */
	raw[1] = 7;
	memmove(raw + 7, raw + 5, len - 5);
	raw[5] = raw[6] = 0xff;
	svm_gc_init(&gc);
	assert_int_equal(svm_gc_oem(&gc, raw, len + 2, warn, NULL), 5);
	assert_string_equal(gc.hostname, "n2");
}

static void test_oem_empty(void **state)
{
	uint8_t raw[16];
	size_t len = oem(raw, sizeof(raw), 0, NULL, 0);
	const char *why = NULL;

	(void)state;
	assert_int_equal(len, 7);
	assert_int_equal(svm_gc_oem_walk(raw, len, NULL, NULL, &why), 0);
	assert_int_equal(svm_gc_oem_walk(raw, 6, NULL, NULL, &why), -1);
}

static int calls;
static void count(void *arg, const char *s, size_t n)
{
	(void)arg;
	(void)s;
	(void)n;
	calls++;
}

static void test_oem_malformed(void **state)
{
	static const char *const s[] = { "slurmvm.hostname=n2", "slurmvm.job=9" };
	uint8_t raw[128], bad[128];
	size_t len = oem(raw, sizeof(raw), -1, s, 2);
	const char *why;

	(void)state;
	calls = 0;
	/* Every truncation of a good structure is refused, and nothing is
	 * handed out from a refused one. */
	for (size_t n = 0; n < len; n++) {
		why = NULL;
		if (svm_gc_oem_walk(raw, n, count, NULL, &why) != -1)
			fail_msg("truncated to %zu bytes accepted", n);
		assert_non_null(why);
	}
	assert_int_equal(calls, 0);
	assert_int_equal(svm_gc_oem_walk(raw, len, count, NULL, &why), 2);
	assert_int_equal(calls, 2);

	memcpy(bad, raw, len);
	bad[0] = 1;			/* another type */
	assert_int_equal(svm_gc_oem_walk(bad, len, count, NULL, &why), -1);
	memcpy(bad, raw, len);
	bad[1] = 4;			/* header too short */
	assert_int_equal(svm_gc_oem_walk(bad, len, count, NULL, &why), -1);
	bad[1] = 200;			/* header past the end */
	assert_int_equal(svm_gc_oem_walk(bad, len, count, NULL, &why), -1);
	memcpy(bad, raw, len);
	bad[4] = 3;			/* count above the strings there */
	assert_int_equal(svm_gc_oem_walk(bad, len, count, NULL, &why), -1);
	memcpy(bad, raw, len);
	bad[4] = 1;			/* count below: the set is not terminated there */
	assert_int_equal(svm_gc_oem_walk(bad, len, count, NULL, &why), -1);
	memcpy(bad, raw, len);
	bad[len - 1] = 'x';		/* no final NUL */
	assert_int_equal(svm_gc_oem_walk(bad, len, count, NULL, &why), -1);
	assert_int_equal(calls, 2);
	n_warn = 0;
	assert_int_equal(svm_gc_oem(&gc, bad, len, warn, NULL), -1);
	assert_int_equal(n_warn, 1);
	assert_non_null(strstr(last_warn, "SMBIOS"));
	assert_string_equal(gc.hostname, "");
}

/* The names of LIST, one "INDEX:NAME " each, or "ERR: why". */
struct names {
	char text[4096];
	unsigned long n;
};

static int add_name(void *arg, const char *name, unsigned index)
{
	struct names *nm = arg;
	size_t k = strlen(nm->text);

	nm->n++;
	if (k + strlen(name) + 16 < sizeof(nm->text))
		snprintf(nm->text + k, sizeof(nm->text) - k, "%u:%s ", index, name);
	return 0;
}

static const char *expand(const char *list)
{
	static struct names nm;
	const char *why = NULL;
	long n;

	memset(&nm, 0, sizeof(nm));
	n = svm_eh_expand(list, strlen(list), add_name, &nm, &why);
	if (n < 0) {
		assert_int_equal(nm.n, 0);	/* checked whole first: no name given */
		snprintf(nm.text, sizeof(nm.text), "ERR: %s", why);
	} else {
		assert_int_equal((unsigned long)n, nm.n);
	}
	return nm.text;
}

/* Slurm's compressed host lists, as Slurm prints them. */
static void test_nodes_expand(void **state)
{
	(void)state;
	assert_string_equal(expand("n1"), "0:n1 ");
	assert_string_equal(expand("n[1-2]"), "0:n1 1:n2 ");
	assert_string_equal(expand("n[1-2,10]"), "0:n1 1:n2 2:n10 ");
	assert_string_equal(expand("gpu[01-03],login1"), "0:gpu01 1:gpu02 2:gpu03 3:login1 ");
	/* the width of LO pads the whole range; wider numbers are whole */
	assert_string_equal(expand("n[08-10]"), "0:n08 1:n09 2:n10 ");
	assert_string_equal(expand("n[8-10]"), "0:n8 1:n9 2:n10 ");
	assert_string_equal(expand("n[098-100]"), "0:n098 1:n099 2:n100 ");
	assert_string_equal(expand("n[99-101]x"), "0:n99x 1:n100x 2:n101x ");
	assert_string_equal(expand("[1-2]"), "0:1 1:2 ");
	assert_string_equal(expand("a[3],b.c_d-e[0-1]-f,g"), "0:a3 1:b.c_d-e0-f 2:b.c_d-e1-f 3:g ");
	/* list order, not sorted, duplicates kept: node_index counts them so */
	assert_string_equal(expand("n[3-4,1],m2,n3"), "0:n3 1:n4 2:n1 3:m2 4:n3 ");
	/* the longest name */
	assert_int_equal(svm_eh_expand("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa[1]", 66,
				       NULL, NULL, &(const char *){ NULL }), 1);
}

static void test_nodes_bad(void **state)
{
	static const struct { const char *list, *why; } bad[] = {
		{ "", "an empty list" },
		{ ",n1", "an empty name" },
		{ "n1,", "an empty name" },
		{ "n1,,n2", "an empty name" },
		{ "n[]", "a range that is not N or LO-HI with up to 9 digits" },
		{ "n[1-]", "a range that is not N or LO-HI with up to 9 digits" },
		{ "n[-1]", "a range that is not N or LO-HI with up to 9 digits" },
		{ "n[1,]", "a range that is not N or LO-HI with up to 9 digits" },
		{ "n[1-2-3]", "a range that is not N or LO-HI with up to 9 digits" },
		{ "n[a-b]", "a range that is not N or LO-HI with up to 9 digits" },
		{ "n[1 2]", "a range that is not N or LO-HI with up to 9 digits" },
		{ "n[1234567890]", "a range that is not N or LO-HI with up to 9 digits" },
		{ "n[3-1]", "a range LO-HI with LO above HI" },
		{ "n[1", "a '[' without ']'" },
		{ "n1]", "a ']' without '['" },
		{ "n[[1]]", "a '[' inside [...]" },
		{ "a[1]b[2]", "more than one [...] in a name" },
		{ "n 1", "a character outside [A-Za-z0-9._-,[]]" },
		{ "n1;rm", "a character outside [A-Za-z0-9._-,[]]" },
		{ "n[1]\xc3\xa9", "a character outside [A-Za-z0-9._-,[]]" },
		{ "-n1", "a name starting with '-' or '.'" },
		{ ".n[1-2]", "a name starting with '-' or '.'" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "a name longer than 64 bytes" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa[9-10]",
		  "a name longer than 64 bytes" },
		{ "n[1-2],-x", "a name starting with '-' or '.'" },	/* nothing of n[1-2] given */
	};
	const char *why = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[256];

		snprintf(want, sizeof(want), "ERR: %s", bad[i].why);
		if (strcmp(expand(bad[i].list), want) != 0)
			print_error("%s: %s\n", bad[i].list, expand(bad[i].list));
		assert_string_equal(expand(bad[i].list), want);
	}
	/* a NUL inside: refused, not cut short */
	assert_int_equal(svm_eh_expand("n1\0n2", 5, NULL, NULL, &why), -1);
	/* as a word: skipped with one warning, the earlier list stays */
	assert_int_equal(svm_gc_word(&gc, "slurmvm.nodes=n[1-2]", 20, "test", warn, NULL), 1);
	assert_int_equal(svm_gc_word(&gc, "slurmvm.nodes=n[2-1]", 20, "test", warn, NULL), -1);
	assert_int_equal(n_warn, 1);
	assert_string_equal(last_warn, "ignoring test word 'slurmvm.nodes=n[2-1]': a range LO-HI with LO above HI");
	assert_string_equal(gc.nodes, "n[1-2]");
}

/* At most one name per address of the job network; a word of the longest
 * list the prolog writes is read whole. */
static void test_nodes_caps(void **state)
{
	char word[SVM_GC_MAX_WORD + 2];
	const char *why = NULL;
	size_t n;

	(void)state;
	assert_int_equal(SVM_EH_MAX_NAMES, 64516);
	assert_int_equal(svm_eh_expand("n[0-64515]", 10, NULL, NULL, &why), 64516);
	assert_int_equal(svm_eh_expand("n[1-64517]", 10, NULL, NULL, &why), -1);
	assert_string_equal(why, "more names than the job network has addresses (64516)");
	assert_int_equal(svm_eh_expand("n[0-999999999]", 14, NULL, NULL, &why), -1);
	assert_int_equal(svm_eh_expand("n[1-64515],x,y", 14, NULL, NULL, &why), -1);
	assert_int_equal(svm_eh_expand("n[1-64515],x", 12, NULL, NULL, &why), 64516);
	/* 16384 bytes of list: "a,a,...,a,aa", 8192 names */
	n = (size_t)snprintf(word, sizeof(word), "slurmvm.nodes=");
	for (int i = 0; i < SVM_GW_NODES_MAX / 2; i++) {
		word[n++] = 'a';
		word[n++] = ',';
	}
	word[n - 1] = 'a';
	word[n] = '\0';
	assert_int_equal(n - 14, SVM_GW_NODES_MAX);
	assert_int_equal(svm_gc_word(&gc, word, n, "test", warn, NULL), 1);
	assert_int_equal(strlen(gc.nodes), SVM_GW_NODES_MAX);
	assert_int_equal(svm_eh_expand(gc.nodes, SVM_GW_NODES_MAX, NULL, NULL, &why), 8192);
	/* one byte more: refused with a warning */
	memmove(word + 15, word + 14, n - 13);
	word[14] = 'b';
	assert_int_equal(svm_gc_word(&gc, word, n + 1, "test", warn, NULL), -1);
	assert_int_equal(n_warn, 1);
	assert_non_null(strstr(last_warn, "node list longer than 16384 bytes"));
}

/* /etc/hosts: the image's lines kept, the agent's block replaced in place
 * or appended, the same text again when nothing changed. */
static void test_hosts_render(void **state)
{
	static const char image[] = "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost\n10.0.0.9 nas";
	static const char block2[] = SVM_EH_BEGIN "\n169.254.1.1\tn1\n169.254.1.2\tn2\n" SVM_EH_END "\n";
	const char *why = NULL;
	char *t, *t2, *want, *t3, wantbuf[1024];
	size_t len, len2, len3;

	(void)state;
	t = svm_eh_render(image, sizeof(image) - 1, "n[1-2]", &len, &why);
	assert_non_null(t);
	assert_int_equal(len, strlen(t));
	assert_string_equal(t, "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost\n10.0.0.9 nas\n" SVM_EH_BEGIN "\n"
			       "169.254.1.1\tn1\n169.254.1.2\tn2\n" SVM_EH_END "\n");
	/* a restarted agent: the same file */
	t2 = svm_eh_render(t, len, "n[1-2]", &len2, &why);
	assert_non_null(t2);
	assert_string_equal(t2, t);
	free(t2);
	/* another list replaces the block where it is; lines after it stay */
	assert_true(len + 64 <= sizeof(wantbuf));
	snprintf(wantbuf, sizeof(wantbuf), "%sextra line\n", t);
	want = wantbuf;
	t2 = svm_eh_render(want, strlen(want), "x", &len2, &why);
	assert_non_null(t2);
	assert_string_equal(t2, "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost\n10.0.0.9 nas\n" SVM_EH_BEGIN "\n"
				"169.254.1.1\tx\n" SVM_EH_END "\nextra line\n");
	/* a second block, cut short (no end marker): one block */
	{
		static const char cut[] = "a b\n" SVM_EH_BEGIN "\nold\n" SVM_EH_END "\nc d\n" SVM_EH_BEGIN "\nstale";

		t3 = svm_eh_render(cut, sizeof(cut) - 1, "n[1-2]", &len3, &why);
		assert_non_null(t3);
		assert_string_equal(t3, "a b\n" SVM_EH_BEGIN "\n169.254.1.1\tn1\n169.254.1.2\tn2\n" SVM_EH_END "\nc d\n");
		free(t3);
	}
	/* no file yet */
	t3 = svm_eh_render(NULL, 0, "n[1-2]", &len3, &why);
	assert_non_null(t3);
	assert_string_equal(t3, block2);
	free(t3);
	/* a bad list: no text */
	assert_null(svm_eh_render(image, sizeof(image) - 1, "n[", &len3, &why));
	assert_string_equal(why, "a '[' without ']'");
	/* addresses past 254 nodes: the next /24 (svm_gw_node_ip) */
	t3 = svm_eh_render(NULL, 0, "n[0-255]", &len3, &why);
	assert_non_null(t3);
	assert_non_null(strstr(t3, "\n169.254.1.254\tn253\n169.254.2.1\tn254\n169.254.2.2\tn255\n"));
	free(t3);
	free(t2);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ip, setup),
		cmocka_unit_test_setup(test_share, setup),
		cmocka_unit_test_setup(test_hostname, setup),
		cmocka_unit_test_setup(test_word_table, setup),
		cmocka_unit_test_setup(test_cmdline, setup),
		cmocka_unit_test_setup(test_cmdline_quotes_and_last_wins, setup),
		cmocka_unit_test_setup(test_cmdline_malformed, setup),
		cmocka_unit_test_setup(test_too_many_shares, setup),
		cmocka_unit_test_setup(test_oem, setup),
		cmocka_unit_test_setup(test_oem_empty, setup),
		cmocka_unit_test_setup(test_oem_malformed, setup),
		cmocka_unit_test_setup(test_nodes_expand, setup),
		cmocka_unit_test_setup(test_nodes_bad, setup),
		cmocka_unit_test_setup(test_nodes_caps, setup),
		cmocka_unit_test_setup(test_hosts_render, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
