/* The slurm-vm agent wire protocol: see agent_proto.h and
 * images/agent/PROTOCOL.md.  Integers are little-endian on the wire. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_proto.h"

/* ------------------------------------------------------------ integers */
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | ((uint32_t)get16(p + 2) << 16);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32);
}

/* ------------------------------------------------------------ header */
void svm_ap_hdr_encode(const struct svm_ap_hdr *h, uint8_t out[SVM_AP_HDR_LEN])
{
	out[0] = h->type;
	out[1] = h->stream;
	put16(out + 2, h->flags);
	put32(out + 4, h->id);
	put32(out + 8, h->len);
}

int svm_ap_hdr_decode(const uint8_t *buf, size_t len, struct svm_ap_hdr *h)
{
	if (len < SVM_AP_HDR_LEN)
		return -1;
	h->type = buf[0];
	h->stream = buf[1];
	h->flags = get16(buf + 2);
	h->id = get32(buf + 4);
	h->len = get32(buf + 8);
	return 0;
}

static const char *const type_names[] = {
	[SVM_AP_HELLO] = "HELLO", [SVM_AP_READY] = "READY", [SVM_AP_ERROR] = "ERROR",
	[SVM_AP_EXEC] = "EXEC", [SVM_AP_START] = "START", [SVM_AP_DATA] = "DATA",
	[SVM_AP_EOF] = "EOF", [SVM_AP_CREDIT] = "CREDIT", [SVM_AP_SIGNAL] = "SIGNAL",
	[SVM_AP_WINSIZE] = "WINSIZE", [SVM_AP_EXIT] = "EXIT", [SVM_AP_RAW] = "RAW",
	[SVM_AP_CONNECT] = "CONNECT",
};

const char *svm_ap_type_name(unsigned type)
{
	if (type == 0 || type > SVM_AP_TYPE_MAX)
		return "?";
	return type_names[type];
}

int svm_ap_hdr_check(const struct svm_ap_hdr *h, const char **why)
{
	uint32_t min = 0, max = SVM_AP_MAX_PAYLOAD;
	int streamed = 0, channel = 0;

	if (h->type == 0 || h->type > SVM_AP_TYPE_MAX) {
		*why = "unknown frame type";
		return -1;
	}
	if (h->len > SVM_AP_MAX_PAYLOAD) {
		*why = "frame payload larger than 65536 bytes";
		return -1;
	}
	if (h->flags != 0) {
		*why = "reserved header flags set";
		return -1;
	}
	switch (h->type) {
	case SVM_AP_HELLO: min = SVM_AP_HELLO_LEN; channel = 1; break;
	case SVM_AP_READY: min = SVM_AP_READY_LEN; channel = 1; break;
	case SVM_AP_RAW: min = max = SVM_AP_RAW_LEN; channel = 1; break;
	case SVM_AP_ERROR: min = 4; max = 4 + SVM_AP_MAX_ERROR_TEXT; channel = -1; break;
	case SVM_AP_EXEC: min = 4; break;
	case SVM_AP_START: max = 0; break;
	case SVM_AP_DATA: min = 1; streamed = 1; break;
	case SVM_AP_EOF: max = 0; streamed = 1; break;
	case SVM_AP_CREDIT: min = max = 4; streamed = 1; break;
	case SVM_AP_SIGNAL: min = max = 4; break;
	case SVM_AP_WINSIZE: min = max = 4; break;
	case SVM_AP_EXIT: min = max = SVM_AP_EXIT_LEN; break;
	case SVM_AP_CONNECT: max = 0; streamed = 2; break;
	}
	if (h->len < min || h->len > max) {
		*why = "bad payload length for the frame type";
		return -1;
	}
	if (streamed ? (h->stream >= SVM_AP_STREAMS ||
			(streamed == 2 && h->stream < SVM_AP_CONN_FIRST)) : h->stream != 0) {
		*why = "bad stream number for the frame type";
		return -1;
	}
	if ((channel == 1 && h->id != 0) || (channel == 0 && h->id == 0)) {
		*why = "bad process id for the frame type";
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ buffer */
uint8_t *svm_buf_reserve(struct svm_buf *b, size_t n)
{
	size_t used = b->len - b->off, cap;
	uint8_t *p;

	if (used == 0)
		b->off = b->len = 0;
	if (b->len + n <= b->cap)
		return b->data + b->len;
	if (b->max && (n > b->max || used > b->max - n))
		return NULL;
	if (b->off) {
		memmove(b->data, b->data + b->off, used);
		b->off = 0;
		b->len = used;
		if (used + n <= b->cap)
			return b->data + b->len;
	}
	cap = b->cap ? b->cap : 4096;
	while (cap < used + n)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return NULL;
	b->data = p;
	b->cap = cap;
	return b->data + b->len;
}

void svm_buf_commit(struct svm_buf *b, size_t n)
{
	b->len += n;
}

int svm_buf_append(struct svm_buf *b, const void *p, size_t n)
{
	uint8_t *d = svm_buf_reserve(b, n);

	if (!d)
		return -1;
	if (n)
		memcpy(d, p, n);
	b->len += n;
	return 0;
}

void svm_buf_consume(struct svm_buf *b, size_t n)
{
	b->off += n;
	if (b->off >= b->len)
		b->off = b->len = 0;
}

void svm_buf_clear(struct svm_buf *b)
{
	b->off = b->len = 0;
}

void svm_buf_free(struct svm_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

int svm_ap_put(struct svm_buf *b, unsigned type, unsigned stream, uint32_t id,
	       const void *payload, size_t len)
{
	struct svm_ap_hdr h = { .type = (uint8_t)type, .stream = (uint8_t)stream,
				.id = id, .len = (uint32_t)len };
	uint8_t *d;

	if (len > SVM_AP_MAX_PAYLOAD)
		return -1;
	d = svm_buf_reserve(b, SVM_AP_HDR_LEN + len);
	if (!d)
		return -1;
	svm_ap_hdr_encode(&h, d);
	if (len)
		memcpy(d + SVM_AP_HDR_LEN, payload, len);
	b->len += SVM_AP_HDR_LEN + len;
	return 0;
}

/* ------------------------------------------------------------ reader */
void svm_ap_reader_init(struct svm_ap_reader *r, unsigned sync_type, int synced)
{
	r->have = r->pos = 0;
	r->skip = 0;
	r->synced = synced;
	r->sync_type = (uint8_t)sync_type;
}

static void reader_compact(struct svm_ap_reader *r)
{
	if (r->pos == 0)
		return;
	memmove(r->buf, r->buf + r->pos, r->have - r->pos);
	r->have -= r->pos;
	r->pos = 0;
}

uint8_t *svm_ap_reader_space(struct svm_ap_reader *r, size_t *n)
{
	/* Move a partial frame down only when the tail is nearly full: reads
	 * of a few KiB (a virtio port returns one page per read) would move
	 * the same bytes again and again. */
	if (r->pos == r->have)
		r->pos = r->have = 0;
	else if (sizeof(r->buf) - r->have < 16384)
		reader_compact(r);
	*n = sizeof(r->buf) - r->have;
	return r->buf + r->have;
}

void svm_ap_reader_commit(struct svm_ap_reader *r, size_t n)
{
	r->have += n;
}

/* Bytes needed to tell whether a sync frame starts at a position. */
static size_t sync_need(const struct svm_ap_reader *r)
{
	return SVM_AP_HDR_LEN + (r->sync_type == SVM_AP_READY ? 8 : 4) + SVM_AP_MAGIC_LEN;
}

/* 1 if a sync frame (header and magic) starts at P. */
static int sync_match(const struct svm_ap_reader *r, const uint8_t *p)
{
	struct svm_ap_hdr h;
	const char *why;
	size_t moff = r->sync_type == SVM_AP_READY ? 8 : 4;

	svm_ap_hdr_decode(p, SVM_AP_HDR_LEN, &h);
	if (h.type != r->sync_type || svm_ap_hdr_check(&h, &why) < 0)
		return 0;
	return memcmp(p + SVM_AP_HDR_LEN + moff, SVM_AP_MAGIC, SVM_AP_MAGIC_LEN) == 0;
}

enum svm_ap_next svm_ap_reader_next(struct svm_ap_reader *r, struct svm_ap_hdr *h,
				    const uint8_t **payload, const char **why)
{
	size_t avail;

	for (;;) {
		avail = r->have - r->pos;
		if (r->skip) {
			size_t k = avail < r->skip ? avail : (size_t)r->skip;

			r->pos += k;
			r->skip -= k;
			if (r->skip)
				goto need;
			continue;
		}
		if (!r->synced) {
			size_t need = sync_need(r);

			while (r->have - r->pos >= need) {
				if (r->buf[r->pos] == r->sync_type && sync_match(r, r->buf + r->pos))
					break;
				r->pos++;
			}
			/* Keep a possible start whose magic has not arrived yet. */
			while (r->have - r->pos > 0 && r->have - r->pos < need &&
			       r->buf[r->pos] != r->sync_type)
				r->pos++;
			if (r->have - r->pos < need)
				goto need;
			r->synced = 1;
			continue;
		}
		if (avail < SVM_AP_HDR_LEN)
			goto need;
		svm_ap_hdr_decode(r->buf + r->pos, avail, h);
		if (svm_ap_hdr_check(h, why) < 0) {
			if (h->len > SVM_AP_MAX_PAYLOAD) {
				r->pos += SVM_AP_HDR_LEN;
				r->skip = h->len;
				return SVM_AP_BAD;
			}
			if (avail < SVM_AP_HDR_LEN + (size_t)h->len)
				goto need;
			r->pos += SVM_AP_HDR_LEN + h->len;
			return SVM_AP_BAD;
		}
		if (avail < SVM_AP_HDR_LEN + (size_t)h->len)
			goto need;
		*payload = r->buf + r->pos + SVM_AP_HDR_LEN;
		r->pos += SVM_AP_HDR_LEN + h->len;
		return SVM_AP_FRAME;
	}
need:
	if (r->pos == r->have)
		r->pos = r->have = 0;
	return SVM_AP_NEED_MORE;
}

size_t svm_ap_reader_drain(struct svm_ap_reader *r, size_t max)
{
	size_t k = r->have - r->pos;

	if (k > max)
		k = max;
	r->pos += k;
	return k;
}

/* ------------------------------------------------------------ payloads */
int svm_ap_hello_encode(uint8_t out[SVM_AP_HELLO_LEN], uint16_t vmin, uint16_t vmax)
{
	put16(out, vmin);
	put16(out + 2, vmax);
	memcpy(out + 4, SVM_AP_MAGIC, SVM_AP_MAGIC_LEN);
	return 0;
}

int svm_ap_hello_decode(const uint8_t *p, size_t n, uint16_t *vmin, uint16_t *vmax,
			const char **why)
{
	if (n < SVM_AP_HELLO_LEN || memcmp(p + 4, SVM_AP_MAGIC, SVM_AP_MAGIC_LEN) != 0) {
		*why = "HELLO without the slurm-vm magic";
		return -1;
	}
	if (get16(p) == 0 || get16(p) > get16(p + 2)) {
		*why = "HELLO with an empty version range";
		return -1;
	}
	*vmin = get16(p);
	*vmax = get16(p + 2);
	return 0;
}

int svm_ap_negotiate(uint16_t vmin, uint16_t vmax)
{
	if (vmin > SVM_AP_VERSION || vmax < SVM_AP_VERSION)
		return -1;
	return SVM_AP_VERSION;
}

void svm_ap_ready_encode(uint8_t out[SVM_AP_READY_LEN], uint16_t version, uint16_t flags,
			 uint32_t max_payload)
{
	put16(out, version);
	put16(out + 2, flags);
	put32(out + 4, max_payload);
	memcpy(out + 8, SVM_AP_MAGIC, SVM_AP_MAGIC_LEN);
}

int svm_ap_ready_decode(const uint8_t *p, size_t n, uint16_t *version, uint16_t *flags,
			uint32_t *max_payload, const char **why)
{
	if (n < SVM_AP_READY_LEN || memcmp(p + 8, SVM_AP_MAGIC, SVM_AP_MAGIC_LEN) != 0) {
		*why = "READY without the slurm-vm magic";
		return -1;
	}
	if (get16(p) == 0) {
		*why = "READY with version 0";
		return -1;
	}
	if (get32(p + 4) < 4096) {
		*why = "READY with a maximum payload under 4096 bytes";
		return -1;
	}
	*version = get16(p);
	*flags = get16(p + 2);
	*max_payload = get32(p + 4);
	return 0;
}

void svm_ap_u32_encode(uint8_t out[4], uint32_t v)
{
	put32(out, v);
}

int svm_ap_credit_decode(const uint8_t *p, size_t n, uint32_t *bytes, const char **why)
{
	if (n != 4 || get32(p) == 0 || get32(p) > (1u << 30)) {
		*why = "CREDIT outside 1 byte .. 1 GiB";
		return -1;
	}
	*bytes = get32(p);
	return 0;
}

int svm_ap_signal_decode(const uint8_t *p, size_t n, int *signo, const char **why)
{
	if (n != 4 || get32(p) == 0 || get32(p) > 64) {
		*why = "SIGNAL number outside 1..64";
		return -1;
	}
	*signo = (int)get32(p);
	return 0;
}

void svm_ap_winsize_encode(uint8_t out[4], uint16_t rows, uint16_t cols)
{
	put16(out, rows);
	put16(out + 2, cols);
}

int svm_ap_winsize_decode(const uint8_t *p, size_t n, uint16_t *rows, uint16_t *cols,
			  const char **why)
{
	if (n != 4) {
		*why = "WINSIZE payload is not 4 bytes";
		return -1;
	}
	*rows = get16(p);
	*cols = get16(p + 2);
	return 0;
}

void svm_ap_exit_encode(uint8_t out[SVM_AP_EXIT_LEN], int how, int value, int core)
{
	out[0] = (uint8_t)how;
	out[1] = (uint8_t)(core != 0);
	put16(out + 2, 0);
	put32(out + 4, (uint32_t)value);
}

int svm_ap_exit_decode(const uint8_t *p, size_t n, int *how, int *value, int *core,
		       const char **why)
{
	uint32_t v;

	if (n != SVM_AP_EXIT_LEN || p[0] > SVM_AP_EXIT_SIGNAL || p[1] > 1 || get16(p + 2)) {
		*why = "malformed EXIT";
		return -1;
	}
	v = get32(p + 4);
	if ((p[0] == SVM_AP_EXIT_CODE && v > 255) ||
	    (p[0] == SVM_AP_EXIT_SIGNAL && (v == 0 || v > 64))) {
		*why = "EXIT status out of range";
		return -1;
	}
	*how = p[0];
	*value = (int)v;
	*core = p[1];
	return 0;
}

size_t svm_ap_error_encode(uint8_t *out, size_t size, uint32_t code, const char *text)
{
	size_t n = strlen(text);

	if (size < 4)
		return 0;
	if (n > SVM_AP_MAX_ERROR_TEXT)
		n = SVM_AP_MAX_ERROR_TEXT;
	if (n > size - 4)
		n = size - 4;
	put32(out, code);
	memcpy(out + 4, text, n);
	return 4 + n;
}

int svm_ap_error_decode(const uint8_t *p, size_t n, uint32_t *code, char *text,
			size_t size, const char **why)
{
	size_t i, t;

	if (n < 4 || n > 4 + SVM_AP_MAX_ERROR_TEXT || size == 0) {
		*why = "malformed ERROR";
		return -1;
	}
	t = n - 4;
	if (t > size - 1)
		t = size - 1;
	for (i = 0; i < t; i++) {
		uint8_t c = p[4 + i];

		text[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	text[t] = '\0';
	*code = get32(p);
	return 0;
}

void svm_ap_raw_encode(uint8_t out[SVM_AP_RAW_LEN], int mode, uint64_t bytes)
{
	memset(out, 0, SVM_AP_RAW_LEN);
	out[0] = (uint8_t)mode;
	put64(out + 8, bytes);
}

int svm_ap_raw_decode(const uint8_t *p, size_t n, int *mode, uint64_t *bytes,
		      const char **why)
{
	size_t i;

	if (n != SVM_AP_RAW_LEN || (p[0] != SVM_AP_RAW_SINK && p[0] != SVM_AP_RAW_SOURCE)) {
		*why = "malformed RAW";
		return -1;
	}
	for (i = 1; i < 8; i++)
		if (p[i]) {
			*why = "RAW with reserved bytes set";
			return -1;
		}
	if (get64(p + 8) > (1ULL << 40)) {
		*why = "RAW byte count over 1 TiB";
		return -1;
	}
	*mode = p[0];
	*bytes = get64(p + 8);
	return 0;
}

/* ------------------------------------------------------------ exec */
void svm_ap_exec_init(struct svm_ap_exec *e)
{
	memset(e, 0, sizeof(*e));
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void svm_ap_exec_free(struct svm_ap_exec *e)
{
	if (!e)
		return;
	free_strv(e->argv, e->argc);
	free_strv(e->envp, e->envc);
	free(e->cwd);
	free(e->groups);
	free(e->cpus);
	free(e->auxenv);
	for (size_t i = 0; i < e->nlisten; i++)
		free(e->listen[i]);
	free(e->mkdir);
	svm_ap_exec_init(e);
}

int svm_ap_tlv_next(const uint8_t *p, size_t n, size_t *pos, uint16_t *tag,
		    const uint8_t **val, uint16_t *vlen, const char **why)
{
	uint16_t l;

	if (*pos >= n)
		return 0;
	if (n - *pos < 4) {
		*why = "truncated EXEC record header";
		return -1;
	}
	l = get16(p + *pos + 2);
	if (n - *pos - 4 < l) {
		*why = "EXEC record longer than its frame";
		return -1;
	}
	*tag = get16(p + *pos);
	*val = p + *pos + 4;
	*vlen = l;
	*pos += 4 + (size_t)l;
	return 1;
}

static char *dup_str(const uint8_t *v, uint16_t n)
{
	char *s;

	if (memchr(v, '\0', n))
		return NULL;
	s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	memcpy(s, v, n);
	s[n] = '\0';
	return s;
}

/* Appends a string to the NULL-terminated vector *V of *N entries and
 * *CAP slots. */
static int strv_push(char ***v, size_t *n, size_t *cap, const uint8_t *val,
		     uint16_t len, const char **why)
{
	char **nv;
	char *s;

	if (*n >= SVM_AP_MAX_STRINGS) {
		*why = "more than 65536 argv or environment strings";
		return -1;
	}
	s = dup_str(val, len);
	if (!s) {
		*why = "string with a NUL byte (or out of memory)";
		return -1;
	}
	if (*n + 2 > *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;

		nv = realloc(*v, ncap * sizeof(*nv));
		if (!nv) {
			free(s);
			*why = "out of memory";
			return -1;
		}
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
	return 0;
}

static int u32v_push(uint32_t **v, size_t *n, size_t max, const uint8_t *val,
		     uint16_t len, uint32_t vmax, const char **why)
{
	size_t k = len / 4, i;
	uint32_t *nv;

	if (len % 4) {
		*why = "id or CPU list record not a multiple of 4 bytes";
		return -1;
	}
	if (k > max - *n) {
		*why = "too many groups or CPUs";
		return -1;
	}
	for (i = 0; i < k; i++)
		if (get32(val + 4 * i) > vmax) {
			*why = "group id or CPU number out of range";
			return -1;
		}
	if (k == 0)
		return 0;
	nv = realloc(*v, (*n + k) * sizeof(*nv));
	if (!nv) {
		*why = "out of memory";
		return -1;
	}
	for (i = 0; i < k; i++)
		nv[*n + i] = get32(val + 4 * i);
	*v = nv;
	*n += k;
	return 0;
}

static int env_name_ok(const uint8_t *s, size_t n)
{
	size_t i;

	if (n == 0 || n > SVM_AP_ENV_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; i < n; i++) {
		uint8_t c = s[i];

		if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

int svm_ap_exec_add(struct svm_ap_exec *e, const uint8_t *p, size_t n, const char **why)
{
	size_t pos = 0;
	uint16_t tag, len;
	const uint8_t *v;
	int rc;

	if (n > SVM_AP_MAX_EXEC_BYTES - e->bytes) {
		*why = "EXEC request larger than 4 MiB";
		return -1;
	}
	e->bytes += n;
	while ((rc = svm_ap_tlv_next(p, n, &pos, &tag, &v, &len, why)) == 1) {
		switch (tag) {
		case SVM_AP_T_ARG:
			if (strv_push(&e->argv, &e->argc, &e->argv_cap, v, len, why) < 0)
				return -1;
			break;
		case SVM_AP_T_ENV: {
			const uint8_t *eq = memchr(v, '=', len);

			if (!eq || eq == v) {
				*why = "environment string without NAME=";
				return -1;
			}
			if (strv_push(&e->envp, &e->envc, &e->envp_cap, v, len, why) < 0)
				return -1;
			break;
		}
		case SVM_AP_T_CWD:
			if (e->cwd || len == 0 || len > 4095 || v[0] != '/') {
				*why = "working directory missing, repeated, relative or too long";
				return -1;
			}
			if (!(e->cwd = dup_str(v, len))) {
				*why = "working directory with a NUL byte";
				return -1;
			}
			break;
		case SVM_AP_T_UID:
		case SVM_AP_T_GID: {
			int *have = tag == SVM_AP_T_UID ? &e->have_uid : &e->have_gid;

			if (*have || len != 4 || get32(v) == UINT32_MAX) {
				*why = "uid or gid record repeated, malformed or -1";
				return -1;
			}
			*(tag == SVM_AP_T_UID ? &e->uid : &e->gid) = get32(v);
			*have = 1;
			break;
		}
		case SVM_AP_T_GROUPS:
			if (u32v_push(&e->groups, &e->ngroups, SVM_AP_MAX_GROUPS, v, len,
				      UINT32_MAX - 1, why) < 0)
				return -1;
			break;
		case SVM_AP_T_CPUS:
			if (u32v_push(&e->cpus, &e->ncpus, SVM_AP_MAX_CPUS, v, len,
				      SVM_AP_MAX_CPU, why) < 0)
				return -1;
			break;
		case SVM_AP_T_FLAGS:
			if (len != 4 || (get32(v) & ~SVM_AP_F_ALL)) {
				*why = "flags record malformed or with unknown bits";
				return -1;
			}
			e->flags |= get32(v);
			break;
		case SVM_AP_T_WINSIZE:
			if (len != 4) {
				*why = "window size record is not 4 bytes";
				return -1;
			}
			e->rows = get16(v);
			e->cols = get16(v + 2);
			break;
		case SVM_AP_T_AUXENV:
			if (e->auxenv || !env_name_ok(v, len)) {
				*why = "aux variable name repeated or not a valid name";
				return -1;
			}
			if (!(e->auxenv = dup_str(v, len))) {
				*why = "out of memory";
				return -1;
			}
			break;
		case SVM_AP_T_RLIMIT: {
			uint32_t r;
			uint64_t cur, max;

			if (len != 20) {
				*why = "resource limit record is not 20 bytes";
				return -1;
			}
			r = get32(v);
			cur = get64(v + 4);
			max = get64(v + 12);
			if (r >= SVM_AP_NRLIMITS || (e->rlimit_set & (1u << r)) || cur > max) {
				*why = "resource limit unknown, repeated, or soft above hard";
				return -1;
			}
			e->rlimit_set |= 1u << r;
			e->rlimit_cur[r] = cur;
			e->rlimit_max[r] = max;
			break;
		}
		case SVM_AP_T_LISTEN: {
			size_t i;

			if (e->nlisten >= SVM_AP_MAX_LISTEN || !env_name_ok(v, len)) {
				*why = "more than 8 listen variables, or not a valid name";
				return -1;
			}
			for (i = 0; i < e->nlisten; i++)
				if (strlen(e->listen[i]) == len && memcmp(e->listen[i], v, len) == 0) {
					*why = "listen variable repeated";
					return -1;
				}
			if (!(e->listen[e->nlisten] = dup_str(v, len))) {
				*why = "out of memory";
				return -1;
			}
			e->nlisten++;
			break;
		}
		case SVM_AP_T_MKDIR:
			if (e->mkdir || len == 0 || len > 4095 || v[0] != '/') {
				*why = "directory to create repeated, relative or too long";
				return -1;
			}
			if (!(e->mkdir = dup_str(v, len))) {
				*why = "directory to create with a NUL byte";
				return -1;
			}
			break;
		default:
			*why = "unknown EXEC record";
			return -1;
		}
	}
	return rc;
}

int svm_ap_exec_check(const struct svm_ap_exec *e, const char **why)
{
	if (e->argc == 0 || e->argv[0][0] == '\0') {
		*why = "no program to run";
		return -1;
	}
	if (!e->have_uid || !e->have_gid) {
		*why = "no uid or gid";
		return -1;
	}
	if (!e->cwd) {
		*why = "no working directory";
		return -1;
	}
	if ((e->flags & SVM_AP_F_AUX) && !e->auxenv) {
		*why = "aux socket wanted without a variable name";
		return -1;
	}
	return 0;
}

/* Frame assembly for svm_ap_exec_encode(): records go into PL until the
 * next one would not fit, then PL becomes one EXEC frame. */
struct exec_enc {
	struct svm_buf *b;
	uint32_t id;
	uint8_t pl[SVM_AP_MAX_PAYLOAD];
	size_t n;
};

static int enc_flush(struct exec_enc *x)
{
	if (x->n == 0)
		return 0;
	if (svm_ap_put(x->b, SVM_AP_EXEC, 0, x->id, x->pl, x->n) < 0)
		return -1;
	x->n = 0;
	return 0;
}

static int enc_rec(struct exec_enc *x, uint16_t tag, const void *v, size_t len)
{
	if (len > SVM_AP_MAX_PAYLOAD - 4 || len > UINT16_MAX)
		return -1;
	if (x->n + 4 + len > SVM_AP_MAX_PAYLOAD && enc_flush(x) < 0)
		return -1;
	put16(x->pl + x->n, tag);
	put16(x->pl + x->n + 2, (uint16_t)len);
	if (len)
		memcpy(x->pl + x->n + 4, v, len);
	x->n += 4 + len;
	return 0;
}

static int enc_u32(struct exec_enc *x, uint16_t tag, uint32_t v)
{
	uint8_t b[4];

	put32(b, v);
	return enc_rec(x, tag, b, 4);
}

static int enc_u32v(struct exec_enc *x, uint16_t tag, const uint32_t *v, size_t n)
{
	uint8_t b[4096];
	size_t i, k;

	while (n) {
		k = n > sizeof(b) / 4 ? sizeof(b) / 4 : n;
		for (i = 0; i < k; i++)
			put32(b + 4 * i, v[i]);
		if (enc_rec(x, tag, b, 4 * k) < 0)
			return -1;
		v += k;
		n -= k;
	}
	return 0;
}

int svm_ap_exec_encode(struct svm_buf *b, uint32_t id, const struct svm_ap_exec *e)
{
	struct exec_enc *x;
	size_t i;
	int rc = -1;

	x = malloc(sizeof(*x));
	if (!x)
		return -1;
	x->b = b;
	x->id = id;
	x->n = 0;
	if (enc_u32(x, SVM_AP_T_UID, e->uid) < 0 || enc_u32(x, SVM_AP_T_GID, e->gid) < 0 ||
	    enc_u32(x, SVM_AP_T_FLAGS, e->flags) < 0)
		goto out;
	if (e->cwd && enc_rec(x, SVM_AP_T_CWD, e->cwd, strlen(e->cwd)) < 0)
		goto out;
	if (e->flags & SVM_AP_F_PTY) {
		uint8_t ws[4];

		svm_ap_winsize_encode(ws, e->rows, e->cols);
		if (enc_rec(x, SVM_AP_T_WINSIZE, ws, 4) < 0)
			goto out;
	}
	if (e->auxenv && enc_rec(x, SVM_AP_T_AUXENV, e->auxenv, strlen(e->auxenv)) < 0)
		goto out;
	for (i = 0; i < e->nlisten; i++)
		if (enc_rec(x, SVM_AP_T_LISTEN, e->listen[i], strlen(e->listen[i])) < 0)
			goto out;
	if (e->mkdir && enc_rec(x, SVM_AP_T_MKDIR, e->mkdir, strlen(e->mkdir)) < 0)
		goto out;
	for (i = 0; i < SVM_AP_NRLIMITS; i++) {
		uint8_t rl[20];

		if (!(e->rlimit_set & (1u << i)))
			continue;
		put32(rl, (uint32_t)i);
		put64(rl + 4, e->rlimit_cur[i]);
		put64(rl + 12, e->rlimit_max[i]);
		if (enc_rec(x, SVM_AP_T_RLIMIT, rl, sizeof(rl)) < 0)
			goto out;
	}
	if (enc_u32v(x, SVM_AP_T_GROUPS, e->groups, e->ngroups) < 0 ||
	    enc_u32v(x, SVM_AP_T_CPUS, e->cpus, e->ncpus) < 0)
		goto out;
	for (i = 0; i < e->argc; i++)
		if (enc_rec(x, SVM_AP_T_ARG, e->argv[i], strlen(e->argv[i])) < 0)
			goto out;
	for (i = 0; i < e->envc; i++)
		if (enc_rec(x, SVM_AP_T_ENV, e->envp[i], strlen(e->envp[i])) < 0)
			goto out;
	if (enc_flush(x) < 0 || svm_ap_put(b, SVM_AP_START, 0, id, NULL, 0) < 0)
		goto out;
	rc = 0;
out:
	free(x);
	return rc;
}

/* ------------------------------------------------------------ addresses */
/* A decimal number of at most MAXDIG digits and value MAX at S; its end. */
static const char *dec(const char *s, unsigned maxdig, unsigned long max, unsigned long *v)
{
	unsigned n = 0;

	*v = 0;
	while (s[n] >= '0' && s[n] <= '9' && n < maxdig)
		*v = *v * 10 + (unsigned long)(s[n++] - '0');
	if (n == 0 || (s[n] >= '0' && s[n] <= '9') || *v > max)
		return NULL;
	return s + n;
}

int svm_ap_tcp4_find(const char *value, size_t *start, size_t *end, uint32_t *addr,
		     uint16_t *port, const char **why)
{
	const char *u = strstr(value, "tcp4://"), *q;
	unsigned long v, p;
	uint32_t a = 0;
	int i;

	if (!u) {
		*why = "no tcp4:// address";
		return -1;
	}
	q = u + 7;
	for (i = 0; i < 4; i++) {
		if (!(q = dec(q, 3, 255, &v)) || *q != (i < 3 ? '.' : ':')) {
			*why = "malformed tcp4:// address (not A.B.C.D:PORT)";
			return -1;
		}
		a = a << 8 | (uint32_t)v;
		q++;
	}
	if (!(q = dec(q, 5, 65535, &p)) || p == 0 || (*q && *q != ';' && *q != ',' && *q != '/')) {
		*why = "malformed tcp4:// port";
		return -1;
	}
	*start = (size_t)(u + 7 - value);
	*end = (size_t)(q - value);
	*addr = a;
	*port = (uint16_t)p;
	return 0;
}

int svm_ap_tcp4_rewrite(const char *envstr, uint16_t port, char *out, size_t size,
			const char **why)
{
	size_t start, end;
	uint32_t addr;
	uint16_t old;
	int n;

	if (svm_ap_tcp4_find(envstr, &start, &end, &addr, &old, why) < 0)
		return -1;
	n = snprintf(out, size, "%.*s127.0.0.1:%u%s", (int)start, envstr, (unsigned)port, envstr + end);
	if (n < 0 || (size_t)n >= size) {
		*why = "rewritten variable too long";
		return -1;
	}
	return 0;
}
