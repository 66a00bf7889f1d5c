/* Unit tests of the guest configuration parsers of the agent: SMBIOS type
 * 11 OEM strings, kernel command line words, address/prefix, share specs,
 * well-formed and malformed. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
