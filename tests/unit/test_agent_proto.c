/* Unit tests of the agent protocol encoders and bounded decoders. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent_proto.h"

static const char *why;

static void hdr(uint8_t *out, unsigned type, unsigned stream, uint32_t id, uint32_t len)
{
	struct svm_ap_hdr h = { .type = (uint8_t)type, .stream = (uint8_t)stream, .id = id, .len = len };

	svm_ap_hdr_encode(&h, out);
}

static int check(unsigned type, unsigned stream, uint32_t id, uint32_t len)
{
	struct svm_ap_hdr h = { .type = (uint8_t)type, .stream = (uint8_t)stream, .id = id, .len = len };

	why = NULL;
	return svm_ap_hdr_check(&h, &why);
}

static void test_header_roundtrip(void **state)
{
	struct svm_ap_hdr h = { .type = SVM_AP_DATA, .stream = 2, .flags = 0, .id = 0xdeadbeef, .len = 65536 }, d;
	uint8_t b[SVM_AP_HDR_LEN];

	(void)state;
	svm_ap_hdr_encode(&h, b);
	/* little-endian on the wire */
	assert_int_equal(b[0], SVM_AP_DATA);
	assert_int_equal(b[4], 0xef);
	assert_int_equal(b[10], 0x01);
	assert_int_equal(svm_ap_hdr_decode(b, sizeof(b), &d), 0);
	assert_memory_equal(&h, &d, sizeof(h));
	assert_int_equal(svm_ap_hdr_decode(b, SVM_AP_HDR_LEN - 1, &d), -1);
	assert_string_equal(svm_ap_type_name(SVM_AP_EXIT), "EXIT");
	assert_string_equal(svm_ap_type_name(0), "?");
	assert_string_equal(svm_ap_type_name(200), "?");
}

static void test_header_check(void **state)
{
	struct svm_ap_hdr h = { .type = SVM_AP_EOF, .stream = 0, .flags = 1, .id = 1 };

	(void)state;
	assert_int_equal(check(0, 0, 1, 0), -1);
	assert_int_equal(check(SVM_AP_TYPE_MAX + 1, 0, 1, 0), -1);
	assert_int_equal(check(SVM_AP_DATA, 1, 1, SVM_AP_MAX_PAYLOAD), 0);
	assert_int_equal(check(SVM_AP_DATA, 1, 1, SVM_AP_MAX_PAYLOAD + 1), -1);
	assert_non_null(why);
	assert_int_equal(check(SVM_AP_DATA, 1, 1, 0), -1);		/* empty DATA */
	assert_int_equal(check(SVM_AP_DATA, SVM_AP_STREAMS, 1, 1), -1);
	assert_int_equal(check(SVM_AP_DATA, 1, 0, 1), -1);		/* id 0 */
	assert_int_equal(check(SVM_AP_EXEC, 1, 1, 8), -1);		/* stream on EXEC */
	assert_int_equal(check(SVM_AP_EXEC, 0, 1, 3), -1);
	assert_int_equal(check(SVM_AP_HELLO, 0, 0, SVM_AP_HELLO_LEN), 0);
	assert_int_equal(check(SVM_AP_HELLO, 0, 0, SVM_AP_HELLO_LEN - 1), -1);
	assert_int_equal(check(SVM_AP_HELLO, 0, 5, SVM_AP_HELLO_LEN), -1);
	assert_int_equal(check(SVM_AP_READY, 0, 0, SVM_AP_READY_LEN), 0);
	assert_int_equal(check(SVM_AP_START, 0, 1, 0), 0);
	assert_int_equal(check(SVM_AP_START, 0, 1, 1), -1);
	assert_int_equal(check(SVM_AP_EOF, 3, 1, 0), 0);
	assert_int_equal(check(SVM_AP_CREDIT, 1, 1, 4), 0);
	assert_int_equal(check(SVM_AP_CREDIT, 1, 1, 5), -1);
	assert_int_equal(check(SVM_AP_SIGNAL, 0, 1, 4), 0);
	assert_int_equal(check(SVM_AP_WINSIZE, 0, 1, 2), -1);
	assert_int_equal(check(SVM_AP_EXIT, 0, 1, SVM_AP_EXIT_LEN), 0);
	assert_int_equal(check(SVM_AP_RAW, 0, 0, SVM_AP_RAW_LEN), 0);
	assert_int_equal(check(SVM_AP_RAW, 0, 1, SVM_AP_RAW_LEN), -1);
	assert_int_equal(check(SVM_AP_ERROR, 0, 0, 4), 0);
	assert_int_equal(check(SVM_AP_ERROR, 0, 9, 4 + SVM_AP_MAX_ERROR_TEXT), 0);
	assert_int_equal(check(SVM_AP_ERROR, 0, 9, 5 + SVM_AP_MAX_ERROR_TEXT), -1);
	assert_int_equal(svm_ap_hdr_check(&h, &why), -1);	/* reserved flags */
	/* connection streams: DATA/EOF/CREDIT on 4..19, CONNECT only there */
	assert_int_equal(check(SVM_AP_DATA, SVM_AP_CONN_FIRST, 1, 1), 0);
	assert_int_equal(check(SVM_AP_CREDIT, SVM_AP_STREAMS - 1, 1, 4), 0);
	assert_int_equal(check(SVM_AP_EOF, SVM_AP_STREAMS - 1, 1, 0), 0);
	assert_int_equal(check(SVM_AP_DATA, SVM_AP_STREAMS, 1, 1), -1);
	assert_int_equal(check(SVM_AP_EOF, 255, 1, 0), -1);
	assert_int_equal(check(SVM_AP_CONNECT, SVM_AP_CONN_FIRST, 7, 0), 0);
	assert_int_equal(check(SVM_AP_CONNECT, SVM_AP_STREAMS - 1, 7, 0), 0);
	assert_int_equal(check(SVM_AP_CONNECT, SVM_AP_AUX, 7, 0), -1);	/* a fixed stream */
	assert_int_equal(check(SVM_AP_CONNECT, SVM_AP_STREAMS, 7, 0), -1);
	assert_int_equal(check(SVM_AP_CONNECT, SVM_AP_CONN_FIRST, 0, 0), -1);	/* id 0 */
	assert_int_equal(check(SVM_AP_CONNECT, SVM_AP_CONN_FIRST, 7, 1), -1);	/* payload */
	assert_string_equal(svm_ap_type_name(SVM_AP_CONNECT), "CONNECT");
}

static void test_buf(void **state)
{
	struct svm_buf b = { .max = 10000 };
	uint8_t x[6000] = { 1 };

	(void)state;
	assert_int_equal(svm_buf_append(&b, x, 6000), 0);
	assert_int_equal(svm_buf_append(&b, x, 5000), -1);	/* over max */
	assert_int_equal(svm_buf_used(&b), 6000);
	svm_buf_consume(&b, 5000);
	assert_int_equal(svm_buf_append(&b, x, 5000), 0);	/* fits after consume */
	assert_int_equal(svm_buf_used(&b), 6000);
	assert_int_equal(b.data[b.off], 0);
	svm_buf_consume(&b, 6000);
	assert_int_equal(svm_buf_used(&b), 0);
	assert_int_equal(svm_ap_put(&b, SVM_AP_DATA, 1, 1, x, SVM_AP_MAX_PAYLOAD + 1), -1);
	svm_buf_free(&b);
	svm_buf_free(NULL);
}

/* Feeds BYTES into R in pieces of STEP and collects the frames. */
static int feed(struct svm_ap_reader *r, const uint8_t *bytes, size_t n, size_t step,
		struct svm_ap_hdr *hs, int max, int *bad)
{
	size_t off = 0;
	int got = 0;

	*bad = 0;
	while (off < n) {
		size_t room, k;
		uint8_t *d = svm_ap_reader_space(r, &room);
		struct svm_ap_hdr h;
		const uint8_t *pl;
		enum svm_ap_next x;

		assert_true(room > 0);
		k = n - off < step ? n - off : step;
		if (k > room)
			k = room;
		memcpy(d, bytes + off, k);
		svm_ap_reader_commit(r, k);
		off += k;
		while ((x = svm_ap_reader_next(r, &h, &pl, &why)) != SVM_AP_NEED_MORE) {
			if (x == SVM_AP_BAD) {
				(*bad)++;
				continue;
			}
			if (got < max)
				hs[got] = h;
			if (h.type == SVM_AP_DATA && h.len > 0)
				assert_int_equal(pl[h.len - 1], (uint8_t)h.id);
			got++;
		}
	}
	return got;
}

static void test_reader(void **state)
{
	static struct svm_ap_reader r;
	struct svm_buf b = { 0 };
	struct svm_ap_hdr hs[16];
	uint8_t pl[SVM_AP_MAX_PAYLOAD], hello[SVM_AP_HELLO_LEN];
	size_t steps[] = { 1, 7, 12, 13, 4096, 200000 }, i;
	int bad, n;

	(void)state;
	memset(pl, 7, sizeof(pl));
	svm_ap_put(&b, SVM_AP_DATA, 1, 7, pl, SVM_AP_MAX_PAYLOAD);	/* largest */
	svm_ap_put(&b, SVM_AP_EOF, 1, 7, NULL, 0);
	/* an oversized frame: header only claims 1 MiB, then its bytes */
	{
		uint8_t h[SVM_AP_HDR_LEN];
		uint8_t *junk = calloc(1, 1 << 20);

		hdr(h, SVM_AP_DATA, 1, 9, 1 << 20);
		svm_buf_append(&b, h, sizeof(h));
		svm_buf_append(&b, junk, 1 << 20);
		free(junk);
	}
	/* an unknown type with a small payload */
	{
		uint8_t h[SVM_AP_HDR_LEN + 3] = { 0 };

		hdr(h, 99, 0, 1, 3);
		svm_buf_append(&b, h, sizeof(h));
	}
	pl[0] = 5;
	svm_ap_put(&b, SVM_AP_DATA, 2, 5, pl, 1);
	svm_ap_hello_encode(hello, 1, 1);
	svm_ap_put(&b, SVM_AP_HELLO, 0, 0, hello, sizeof(hello));
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		svm_ap_reader_init(&r, SVM_AP_HELLO, 1);
		n = feed(&r, b.data + b.off, svm_buf_used(&b), steps[i], hs, 16, &bad);
		assert_int_equal(n, 4);
		assert_int_equal(bad, 2);
		assert_int_equal(hs[0].len, SVM_AP_MAX_PAYLOAD);
		assert_int_equal(hs[1].type, SVM_AP_EOF);
		assert_int_equal(hs[2].id, 5);
		assert_int_equal(hs[3].type, SVM_AP_HELLO);
	}
	svm_buf_free(&b);
}

static void test_reader_sync(void **state)
{
	static struct svm_ap_reader r;
	struct svm_buf b = { 0 };
	struct svm_ap_hdr hs[4];
	uint8_t hello[SVM_AP_HELLO_LEN], ready[SVM_AP_READY_LEN], junk[100];
	size_t steps[] = { 1, 3, 50, 100000 }, i;
	int bad, n;

	(void)state;
	/* garbage, half a frame, a fake HELLO header without magic, then HELLO */
	memset(junk, SVM_AP_HELLO, sizeof(junk));
	svm_buf_append(&b, junk, sizeof(junk));
	svm_ap_put(&b, SVM_AP_DATA, 1, 3, junk, 50);
	b.len -= 20;
	memset(hello, 'x', sizeof(hello));
	svm_ap_put(&b, SVM_AP_HELLO, 0, 0, hello, sizeof(hello));
	svm_ap_hello_encode(hello, 1, 1);
	svm_ap_put(&b, SVM_AP_HELLO, 0, 0, hello, sizeof(hello));
	svm_ap_put(&b, SVM_AP_START, 0, 4, NULL, 0);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		svm_ap_reader_init(&r, SVM_AP_HELLO, 0);
		n = feed(&r, b.data + b.off, svm_buf_used(&b), steps[i], hs, 4, &bad);
		assert_int_equal(n, 2);
		assert_int_equal(bad, 0);
		assert_int_equal(hs[0].type, SVM_AP_HELLO);
		assert_int_equal(hs[1].type, SVM_AP_START);
	}
	/* A READY-synced reader ignores a HELLO. */
	svm_buf_clear(&b);
	svm_ap_put(&b, SVM_AP_HELLO, 0, 0, hello, sizeof(hello));
	svm_ap_ready_encode(ready, 1, 0, SVM_AP_MAX_PAYLOAD);
	svm_ap_put(&b, SVM_AP_READY, 0, 0, ready, sizeof(ready));
	svm_ap_reader_init(&r, SVM_AP_READY, 0);
	n = feed(&r, b.data + b.off, svm_buf_used(&b), 5, hs, 4, &bad);
	assert_int_equal(n, 1);
	assert_int_equal(hs[0].type, SVM_AP_READY);
	/* Drain: raw bytes after a frame. */
	svm_buf_clear(&b);
	svm_ap_put(&b, SVM_AP_READY, 0, 0, ready, sizeof(ready));
	svm_buf_append(&b, junk, 30);
	{
		size_t room;
		uint8_t *d;
		struct svm_ap_hdr h;
		const uint8_t *pl;

		svm_ap_reader_init(&r, SVM_AP_READY, 1);
		d = svm_ap_reader_space(&r, &room);
		memcpy(d, b.data, svm_buf_used(&b));
		svm_ap_reader_commit(&r, svm_buf_used(&b));
		assert_int_equal(svm_ap_reader_next(&r, &h, &pl, &why), SVM_AP_FRAME);
		assert_int_equal(svm_ap_reader_drain(&r, 20), 20);
		assert_int_equal(svm_ap_reader_drain(&r, 20), 10);
		assert_int_equal(svm_ap_reader_next(&r, &h, &pl, &why), SVM_AP_NEED_MORE);
	}
	svm_buf_free(&b);
}

static void test_hello_ready(void **state)
{
	uint8_t b[SVM_AP_READY_LEN];
	uint16_t lo, hi, ver, fl;
	uint32_t maxp;

	(void)state;
	svm_ap_hello_encode(b, 1, 3);
	assert_int_equal(svm_ap_hello_decode(b, SVM_AP_HELLO_LEN, &lo, &hi, &why), 0);
	assert_int_equal(lo, 1);
	assert_int_equal(hi, 3);
	assert_int_equal(svm_ap_hello_decode(b, SVM_AP_HELLO_LEN - 1, &lo, &hi, &why), -1);
	svm_ap_hello_encode(b, 3, 1);
	assert_int_equal(svm_ap_hello_decode(b, SVM_AP_HELLO_LEN, &lo, &hi, &why), -1);
	svm_ap_hello_encode(b, 0, 1);
	assert_int_equal(svm_ap_hello_decode(b, SVM_AP_HELLO_LEN, &lo, &hi, &why), -1);
	svm_ap_hello_encode(b, 1, 1);
	b[5] = 'X';
	assert_int_equal(svm_ap_hello_decode(b, SVM_AP_HELLO_LEN, &lo, &hi, &why), -1);
	assert_int_equal(svm_ap_negotiate(1, 1), 1);
	assert_int_equal(svm_ap_negotiate(1, 9), 1);
	assert_int_equal(svm_ap_negotiate(2, 3), -1);	/* future host only */

	svm_ap_ready_encode(b, 1, SVM_AP_READY_ANNOUNCE, SVM_AP_MAX_PAYLOAD);
	assert_int_equal(svm_ap_ready_decode(b, sizeof(b), &ver, &fl, &maxp, &why), 0);
	assert_int_equal(ver, 1);
	assert_int_equal(fl, SVM_AP_READY_ANNOUNCE);
	assert_int_equal(maxp, SVM_AP_MAX_PAYLOAD);
	assert_int_equal(svm_ap_ready_decode(b, sizeof(b) - 1, &ver, &fl, &maxp, &why), -1);
	svm_ap_ready_encode(b, 0, 0, SVM_AP_MAX_PAYLOAD);
	assert_int_equal(svm_ap_ready_decode(b, sizeof(b), &ver, &fl, &maxp, &why), -1);
	svm_ap_ready_encode(b, 1, 0, 100);
	assert_int_equal(svm_ap_ready_decode(b, sizeof(b), &ver, &fl, &maxp, &why), -1);
}

static void test_small_payloads(void **state)
{
	uint8_t b[SVM_AP_RAW_LEN];
	uint32_t u;
	uint16_t r, c;
	int sig, how, val, core, mode;
	uint64_t bytes;

	(void)state;
	svm_ap_u32_encode(b, 1);
	assert_int_equal(svm_ap_credit_decode(b, 4, &u, &why), 0);
	assert_int_equal(u, 1);
	svm_ap_u32_encode(b, 0);
	assert_int_equal(svm_ap_credit_decode(b, 4, &u, &why), -1);
	svm_ap_u32_encode(b, (1u << 30) + 1);
	assert_int_equal(svm_ap_credit_decode(b, 4, &u, &why), -1);
	svm_ap_u32_encode(b, 15);
	assert_int_equal(svm_ap_signal_decode(b, 4, &sig, &why), 0);
	assert_int_equal(sig, 15);
	assert_int_equal(svm_ap_signal_decode(b, 3, &sig, &why), -1);
	svm_ap_u32_encode(b, 65);
	assert_int_equal(svm_ap_signal_decode(b, 4, &sig, &why), -1);
	svm_ap_u32_encode(b, 0);
	assert_int_equal(svm_ap_signal_decode(b, 4, &sig, &why), -1);
	svm_ap_winsize_encode(b, 24, 80);
	assert_int_equal(svm_ap_winsize_decode(b, 4, &r, &c, &why), 0);
	assert_int_equal(r * 1000 + c, 24080);
	assert_int_equal(svm_ap_winsize_decode(b, 5, &r, &c, &why), -1);

	svm_ap_exit_encode(b, SVM_AP_EXIT_CODE, 3, 0);
	assert_int_equal(svm_ap_exit_decode(b, SVM_AP_EXIT_LEN, &how, &val, &core, &why), 0);
	assert_int_equal(how, SVM_AP_EXIT_CODE);
	assert_int_equal(val, 3);
	svm_ap_exit_encode(b, SVM_AP_EXIT_SIGNAL, 9, 1);
	assert_int_equal(svm_ap_exit_decode(b, SVM_AP_EXIT_LEN, &how, &val, &core, &why), 0);
	assert_int_equal(how * 100 + val * 10 + core, 191);
	svm_ap_exit_encode(b, SVM_AP_EXIT_CODE, 256, 0);
	assert_int_equal(svm_ap_exit_decode(b, SVM_AP_EXIT_LEN, &how, &val, &core, &why), -1);
	svm_ap_exit_encode(b, SVM_AP_EXIT_SIGNAL, 0, 0);
	assert_int_equal(svm_ap_exit_decode(b, SVM_AP_EXIT_LEN, &how, &val, &core, &why), -1);
	svm_ap_exit_encode(b, 2, 1, 0);
	assert_int_equal(svm_ap_exit_decode(b, SVM_AP_EXIT_LEN, &how, &val, &core, &why), -1);

	svm_ap_raw_encode(b, SVM_AP_RAW_SOURCE, 1000);
	assert_int_equal(svm_ap_raw_decode(b, SVM_AP_RAW_LEN, &mode, &bytes, &why), 0);
	assert_int_equal(mode, SVM_AP_RAW_SOURCE);
	assert_true(bytes == 1000);
	b[3] = 1;
	assert_int_equal(svm_ap_raw_decode(b, SVM_AP_RAW_LEN, &mode, &bytes, &why), -1);
	svm_ap_raw_encode(b, 7, 1);
	assert_int_equal(svm_ap_raw_decode(b, SVM_AP_RAW_LEN, &mode, &bytes, &why), -1);
}

static void test_error(void **state)
{
	uint8_t b[4 + SVM_AP_MAX_ERROR_TEXT];
	char text[2000], small[5];
	char long_text[3000];
	uint32_t code;
	size_t n;

	(void)state;
	n = svm_ap_error_encode(b, sizeof(b), 7, "bad\nthing");
	assert_int_equal(svm_ap_error_decode(b, n, &code, text, sizeof(text), &why), 0);
	assert_int_equal(code, 7);
	assert_string_equal(text, "bad?thing");	/* one line */
	assert_int_equal(svm_ap_error_decode(b, n, &code, small, sizeof(small), &why), 0);
	assert_string_equal(small, "bad?");
	memset(long_text, 'a', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	n = svm_ap_error_encode(b, sizeof(b), 1, long_text);
	assert_int_equal(n, 4 + SVM_AP_MAX_ERROR_TEXT);
	assert_int_equal(svm_ap_error_decode(b, 3, &code, text, sizeof(text), &why), -1);
	assert_int_equal(svm_ap_error_encode(b, 3, 1, "x"), 0);
}

static void test_exec_roundtrip(void **state)
{
	struct svm_buf b = { 0 };
	struct svm_ap_exec e, d;
	char *argv[] = { "/bin/echo", "", "two words", NULL };
	char **envp = calloc(101, sizeof(char *));
	uint32_t groups[] = { 5, 100, 4000000000u }, cpus[] = { 0, 3, SVM_AP_MAX_CPU };
	static struct svm_ap_reader r;
	size_t i, frames = 0, room;
	uint8_t *dst;

	(void)state;
	for (i = 0; i < 100; i++) {
		envp[i] = malloc(3000);
		size_t n = (size_t)snprintf(envp[i], 3000, "VAR%zu=", i);

		memset(envp[i] + n, 'v', 2000);
		envp[i][n + 2000] = '\0';
	}
	svm_ap_exec_init(&e);
	e.argv = argv;
	e.argc = 3;
	e.envp = envp;
	e.envc = 100;
	e.cwd = "/home/u";
	e.uid = 1000;
	e.gid = 100;
	e.groups = groups;
	e.ngroups = 3;
	e.cpus = cpus;
	e.ncpus = 3;
	e.flags = SVM_AP_F_PTY | SVM_AP_F_AUX;
	e.rows = 24;
	e.cols = 80;
	e.auxenv = "PMI_FD";
	e.rlimit_set = 1u << 8 | 1u << 7;
	e.rlimit_cur[8] = e.rlimit_max[8] = SVM_AP_RLIM_INFINITY;
	e.rlimit_cur[7] = 1024;
	e.rlimit_max[7] = 524288;
	e.listen[0] = "PMIX_SERVER_URI41";
	e.listen[1] = "PMIX_SERVER_URI2";
	e.nlisten = 2;
	e.mkdir = "/tmp/spmix_appdir_1000_5.0";
	assert_int_equal(svm_ap_exec_encode(&b, 42, &e), 0);

	svm_ap_exec_init(&d);
	svm_ap_reader_init(&r, SVM_AP_HELLO, 1);
	dst = svm_ap_reader_space(&r, &room);
	(void)dst;
	/* Decode frame by frame from the buffer. */
	{
		size_t off = b.off;

		for (;;) {
			struct svm_ap_hdr h;

			assert_int_equal(svm_ap_hdr_decode(b.data + off, b.len - off, &h), 0);
			assert_int_equal(svm_ap_hdr_check(&h, &why), 0);
			assert_int_equal(h.id, 42);
			if (h.type == SVM_AP_START) {
				assert_int_equal(off + SVM_AP_HDR_LEN, b.len);
				break;
			}
			assert_int_equal(h.type, SVM_AP_EXEC);
			assert_int_equal(svm_ap_exec_add(&d, b.data + off + SVM_AP_HDR_LEN, h.len, &why), 0);
			off += SVM_AP_HDR_LEN + h.len;
			frames++;
		}
	}
	assert_true(frames >= 4);	/* 200 KB of environment spans frames */
	assert_int_equal(svm_ap_exec_check(&d, &why), 0);
	assert_int_equal(d.argc, 3);
	assert_string_equal(d.argv[2], "two words");
	assert_string_equal(d.argv[1], "");
	assert_null(d.argv[3]);
	assert_int_equal(d.envc, 100);
	assert_string_equal(d.envp[99], envp[99]);
	assert_null(d.envp[100]);
	assert_string_equal(d.cwd, "/home/u");
	assert_int_equal(d.uid, 1000);
	assert_int_equal(d.gid, 100);
	assert_int_equal(d.ngroups, 3);
	assert_true(d.groups[2] == 4000000000u);
	assert_int_equal(d.ncpus, 3);
	assert_int_equal(d.cpus[2], SVM_AP_MAX_CPU);
	assert_int_equal(d.flags, SVM_AP_F_PTY | SVM_AP_F_AUX);
	assert_int_equal(d.rows, 24);
	assert_int_equal(d.cols, 80);
	assert_string_equal(d.auxenv, "PMI_FD");
	assert_int_equal(d.rlimit_set, 1u << 8 | 1u << 7);
	assert_true(d.rlimit_cur[8] == SVM_AP_RLIM_INFINITY && d.rlimit_max[8] == SVM_AP_RLIM_INFINITY);
	assert_true(d.rlimit_cur[7] == 1024 && d.rlimit_max[7] == 524288);
	assert_int_equal(d.nlisten, 2);
	assert_string_equal(d.listen[0], "PMIX_SERVER_URI41");
	assert_string_equal(d.listen[1], "PMIX_SERVER_URI2");
	assert_string_equal(d.mkdir, "/tmp/spmix_appdir_1000_5.0");
	svm_ap_exec_free(&d);
	svm_ap_exec_free(NULL);
	for (i = 0; i < 100; i++)
		free(envp[i]);
	free(envp);
	/* A string too long for one record cannot be encoded. */
	{
		char *big = malloc(SVM_AP_MAX_PAYLOAD);
		char *av[] = { big, NULL };

		memset(big, 'a', SVM_AP_MAX_PAYLOAD - 1);
		big[SVM_AP_MAX_PAYLOAD - 1] = '\0';
		e.argv = av;
		e.argc = 1;
		e.envc = 0;
		e.ngroups = e.ncpus = 0;
		e.nlisten = 0;
		e.mkdir = NULL;
		assert_int_equal(svm_ap_exec_encode(&b, 43, &e), -1);
		free(big);
	}
	svm_buf_free(&b);
}

/* One TLV record in P; returns its size. */
static size_t rec(uint8_t *p, uint16_t tag, const void *v, uint16_t len)
{
	p[0] = (uint8_t)tag;
	p[1] = (uint8_t)(tag >> 8);
	p[2] = (uint8_t)len;
	p[3] = (uint8_t)(len >> 8);
	memcpy(p + 4, v, len);
	return 4u + len;
}

static int add1(uint16_t tag, const void *v, uint16_t len)
{
	struct svm_ap_exec e;
	uint8_t p[256];
	size_t n = rec(p, tag, v, len);
	int rc;

	svm_ap_exec_init(&e);
	rc = svm_ap_exec_add(&e, p, n, &why);
	svm_ap_exec_free(&e);
	return rc;
}

static void test_exec_bounds(void **state)
{
	struct svm_ap_exec e;
	uint8_t p[64], u[4] = { 1, 0, 0, 0 }, m1[4] = { 0xff, 0xff, 0xff, 0xff };
	uint8_t cpu_bad[4] = { 0, 0x40, 0, 0 };	/* 16384 */
	uint8_t flags_bad[4] = { 0x80, 0, 0, 0 };
	size_t n;

	(void)state;
	assert_int_equal(add1(SVM_AP_T_ARG, "a\0b", 3), -1);		/* NUL */
	assert_int_equal(add1(SVM_AP_T_ENV, "NOEQUALS", 8), -1);
	assert_int_equal(add1(SVM_AP_T_ENV, "=x", 2), -1);
	assert_int_equal(add1(SVM_AP_T_ENV, "A=", 2), 0);
	assert_int_equal(add1(SVM_AP_T_CWD, "rel", 3), -1);
	assert_int_equal(add1(SVM_AP_T_CWD, "", 0), -1);
	assert_int_equal(add1(SVM_AP_T_UID, u, 3), -1);
	assert_int_equal(add1(SVM_AP_T_UID, m1, 4), -1);
	assert_int_equal(add1(SVM_AP_T_GROUPS, u, 3), -1);
	assert_int_equal(add1(SVM_AP_T_GROUPS, m1, 4), -1);
	assert_int_equal(add1(SVM_AP_T_CPUS, cpu_bad, 4), -1);
	assert_int_equal(add1(SVM_AP_T_FLAGS, flags_bad, 4), -1);
	assert_int_equal(add1(SVM_AP_T_WINSIZE, u, 3), -1);
	assert_int_equal(add1(SVM_AP_T_AUXENV, "1BAD", 4), -1);
	assert_int_equal(add1(SVM_AP_T_AUXENV, "PMI-FD", 6), -1);
	assert_int_equal(add1(SVM_AP_T_AUXENV, "PMI_FD", 6), 0);
	assert_int_equal(add1(99, u, 4), -1);				/* unknown tag */
	{
		/* resource limits: u32 resource, u64 soft, u64 hard */
		uint8_t rl[20] = { 8 };

		memset(rl + 4, 0xff, 16);
		assert_int_equal(add1(SVM_AP_T_RLIMIT, rl, 20), 0);	/* memlock unlimited */
		assert_int_equal(add1(SVM_AP_T_RLIMIT, rl, 19), -1);	/* short */
		rl[0] = SVM_AP_NRLIMITS;
		assert_int_equal(add1(SVM_AP_T_RLIMIT, rl, 20), -1);	/* unknown resource */
		rl[0] = 7;
		rl[12] = 0;						/* hard below soft */
		assert_int_equal(add1(SVM_AP_T_RLIMIT, rl, 20), -1);
		svm_ap_exec_init(&e);
		rl[12] = 0xff;
		n = rec(p, SVM_AP_T_RLIMIT, rl, 20);
		n += rec(p + n, SVM_AP_T_RLIMIT, rl, 20);
		assert_int_equal(svm_ap_exec_add(&e, p, n, &why), -1);	/* repeated */
		svm_ap_exec_free(&e);
	}

	/* LISTEN: valid names, at most 8, no repeat; MKDIR: absolute, once */
	assert_int_equal(add1(SVM_AP_T_LISTEN, "PMIX_SERVER_URI41", 17), 0);
	assert_int_equal(add1(SVM_AP_T_LISTEN, "PMIX SERVER", 11), -1);
	assert_int_equal(add1(SVM_AP_T_LISTEN, "", 0), -1);
	assert_int_equal(add1(SVM_AP_T_MKDIR, "/tmp/d", 6), 0);
	assert_int_equal(add1(SVM_AP_T_MKDIR, "tmp/d", 5), -1);
	assert_int_equal(add1(SVM_AP_T_MKDIR, "/a\0b", 4), -1);
	assert_int_equal(add1(SVM_AP_T_MKDIR, "", 0), -1);
	{
		uint8_t big[16 * 12];
		char name[8];
		int k;

		svm_ap_exec_init(&e);
		n = rec(big, SVM_AP_T_LISTEN, "A", 1);
		n += rec(big + n, SVM_AP_T_LISTEN, "A", 1);
		assert_int_equal(svm_ap_exec_add(&e, big, n, &why), -1);	/* repeated */
		svm_ap_exec_free(&e);
		svm_ap_exec_init(&e);
		for (k = 0, n = 0; k < SVM_AP_MAX_LISTEN; k++) {
			snprintf(name, sizeof(name), "V%d", k);
			n += rec(big + n, SVM_AP_T_LISTEN, name, (uint16_t)strlen(name));
		}
		assert_int_equal(svm_ap_exec_add(&e, big, n, &why), 0);
		assert_int_equal(e.nlisten, SVM_AP_MAX_LISTEN);
		n = rec(big, SVM_AP_T_LISTEN, "V9", 2);
		assert_int_equal(svm_ap_exec_add(&e, big, n, &why), -1);	/* a 9th */
		n = rec(big, SVM_AP_T_MKDIR, "/x", 2);
		n += rec(big + n, SVM_AP_T_MKDIR, "/y", 2);
		assert_int_equal(svm_ap_exec_add(&e, big, n, &why), -1);	/* repeated */
		svm_ap_exec_free(&e);
	}

	/* repeated uid, truncated records */
	svm_ap_exec_init(&e);
	n = rec(p, SVM_AP_T_UID, u, 4);
	n += rec(p + n, SVM_AP_T_UID, u, 4);
	assert_int_equal(svm_ap_exec_add(&e, p, n, &why), -1);
	svm_ap_exec_free(&e);
	svm_ap_exec_init(&e);
	n = rec(p, SVM_AP_T_ARG, "abc", 3);
	assert_int_equal(svm_ap_exec_add(&e, p, n - 1, &why), -1);	/* value cut */
	assert_int_equal(svm_ap_exec_add(&e, p, 3, &why), -1);		/* header cut */
	svm_ap_exec_free(&e);

	/* incomplete requests */
	svm_ap_exec_init(&e);
	assert_int_equal(svm_ap_exec_check(&e, &why), -1);
	n = rec(p, SVM_AP_T_ARG, "true", 4);
	assert_int_equal(svm_ap_exec_add(&e, p, n, &why), 0);
	assert_int_equal(svm_ap_exec_check(&e, &why), -1);		/* no ids */
	n = rec(p, SVM_AP_T_UID, u, 4);
	n += rec(p + n, SVM_AP_T_GID, u, 4);
	assert_int_equal(svm_ap_exec_add(&e, p, n, &why), 0);
	assert_int_equal(svm_ap_exec_check(&e, &why), -1);		/* no cwd */
	n = rec(p, SVM_AP_T_CWD, "/", 1);
	assert_int_equal(svm_ap_exec_add(&e, p, n, &why), 0);
	assert_int_equal(svm_ap_exec_check(&e, &why), 0);
	n = rec(p, SVM_AP_T_FLAGS, (uint8_t[]){ SVM_AP_F_AUX, 0, 0, 0 }, 4);
	assert_int_equal(svm_ap_exec_add(&e, p, n, &why), 0);
	assert_int_equal(svm_ap_exec_check(&e, &why), -1);		/* aux without name */
	svm_ap_exec_free(&e);
}

static void test_exec_total_bound(void **state)
{
	struct svm_ap_exec e;
	uint8_t *p = malloc(SVM_AP_MAX_PAYLOAD);
	size_t n = 0, i;
	int rc = 0;

	(void)state;
	/* 4 MiB of requests in 64 KiB frames: the 65th frame is refused. */
	while (n + 4 + 1000 <= SVM_AP_MAX_PAYLOAD) {
		static char v[1000];

		memset(v, 'x', sizeof(v));
		v[0] = 'A';
		v[1] = '=';
		n += rec(p + n, SVM_AP_T_ENV, v, sizeof(v));
	}
	svm_ap_exec_init(&e);
	for (i = 0; i < 100 && rc == 0; i++)
		rc = svm_ap_exec_add(&e, p, n, &why);
	assert_int_equal(rc, -1);
	assert_true(i * n > SVM_AP_MAX_EXEC_BYTES);
	assert_true((i - 1) * n <= SVM_AP_MAX_EXEC_BYTES);
	svm_ap_exec_free(&e);
	free(p);
}

static void test_tcp4(void **state)
{
	size_t a, b;
	uint32_t addr;
	uint16_t port;
	char out[128];

	(void)state;
	assert_int_equal(svm_ap_tcp4_find("pmix-server.4242;tcp4://127.0.0.1:37011", &a, &b, &addr, &port, &why), 0);
	assert_int_equal(addr, 0x7f000001);
	assert_int_equal(port, 37011);
	assert_int_equal(a, 24);
	assert_int_equal(b, 39);
	assert_int_equal(svm_ap_tcp4_find("x;tcp4://10.1.2.3:1;y", &a, &b, &addr, &port, &why), 0);
	assert_int_equal(addr, 0x0a010203);
	assert_int_equal(port, 1);
	/* malformed: none, short, big octet, no port, port 0 or > 65535, junk */
	assert_int_equal(svm_ap_tcp4_find("/tmp/pmix-usock", &a, &b, &addr, &port, &why), -1);
	assert_non_null(why);
	assert_int_equal(svm_ap_tcp4_find("tcp4://127.0.1:5", &a, &b, &addr, &port, &why), -1);
	assert_int_equal(svm_ap_tcp4_find("tcp4://256.0.0.1:5", &a, &b, &addr, &port, &why), -1);
	assert_int_equal(svm_ap_tcp4_find("tcp4://1.2.3.4", &a, &b, &addr, &port, &why), -1);
	assert_int_equal(svm_ap_tcp4_find("tcp4://1.2.3.4:", &a, &b, &addr, &port, &why), -1);
	assert_int_equal(svm_ap_tcp4_find("tcp4://1.2.3.4:0", &a, &b, &addr, &port, &why), -1);
	assert_int_equal(svm_ap_tcp4_find("tcp4://1.2.3.4:65536", &a, &b, &addr, &port, &why), -1);
	assert_int_equal(svm_ap_tcp4_find("tcp4://1.2.3.4:123456", &a, &b, &addr, &port, &why), -1);
	assert_int_equal(svm_ap_tcp4_find("tcp4://1.2.3.4:80x", &a, &b, &addr, &port, &why), -1);
	assert_int_equal(svm_ap_tcp4_find("tcp4://0001.2.3.4:80", &a, &b, &addr, &port, &why), -1);

	assert_int_equal(svm_ap_tcp4_rewrite("PMIX_SERVER_URI41=pmix-server.9;tcp4://127.0.0.1:37011",
					     41000, out, sizeof(out), &why), 0);
	assert_string_equal(out, "PMIX_SERVER_URI41=pmix-server.9;tcp4://127.0.0.1:41000");
	assert_int_equal(svm_ap_tcp4_rewrite("V=a;tcp4://10.0.0.2:5;b", 65535, out, sizeof(out), &why), 0);
	assert_string_equal(out, "V=a;tcp4://127.0.0.1:65535;b");
	assert_int_equal(svm_ap_tcp4_rewrite("V=/tmp/sock", 1, out, sizeof(out), &why), -1);
	assert_int_equal(svm_ap_tcp4_rewrite("V=tcp4://1.2.3.4:5", 1, out, 20, &why), -1);	/* too small */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_roundtrip),
		cmocka_unit_test(test_header_check),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_reader_sync),
		cmocka_unit_test(test_hello_ready),
		cmocka_unit_test(test_small_payloads),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_exec_roundtrip),
		cmocka_unit_test(test_exec_bounds),
		cmocka_unit_test(test_exec_total_bound),
		cmocka_unit_test(test_tcp4),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
