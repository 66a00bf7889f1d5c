/* The job's node names for /etc/hosts (etc_hosts.h).  The list comes from
 * the firmware's OEM strings: every bound is explicit, nothing is trusted
 * to be terminated, and any form the expander does not know is refused
 * whole rather than guessed at. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etc_hosts.h"

#define NUM_DIGITS 9			/* numbers up to 999999999 */

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* Reads 1..NUM_DIGITS digits at P[*I..END) into *V, their count in *D. */
static int get_num(const char *p, size_t *i, size_t end, unsigned long *v, unsigned *d)
{
	unsigned long n = 0;
	unsigned k = 0;

	while (*i < end && p[*i] >= '0' && p[*i] <= '9') {
		if (++k > NUM_DIGITS)
			return -1;
		n = n * 10 + (unsigned long)(p[*i] - '0');
		(*i)++;
	}
	if (k == 0)
		return -1;
	*v = n;
	*d = k;
	return 0;
}

static unsigned digits(unsigned long v)
{
	unsigned d = 1;

	while (v >= 10) {
		v /= 10;
		d++;
	}
	return d;
}

struct walk {
	svm_eh_name_fn fn;		/* NULL: check and count only */
	void *arg;
	unsigned long count;
	const char **why;
};

/* One name PRE + number N padded to WIDTH (WIDTH 0: no number) + SUF. */
static int emit(struct walk *w, const char *pre, size_t pl, unsigned long n, unsigned width,
		const char *suf, size_t sl)
{
	char name[SVM_EH_NAME_MAX + 1];

	if (!w->fn) {
		w->count++;
		return 0;
	}
	if (width)
		snprintf(name, sizeof(name), "%.*s%0*lu%.*s", (int)pl, pre, (int)width, n, (int)sl, suf);
	else
		snprintf(name, sizeof(name), "%.*s", (int)pl, pre);
	if (w->fn(w->arg, name, (unsigned)w->count) < 0) {
		*w->why = "stopped";
		return -1;
	}
	w->count++;
	return 0;
}

static int bad(struct walk *w, const char *why)
{
	*w->why = why;
	return -1;
}

/* One entry P[0..N) of the list (no comma outside brackets). */
static int entry(struct walk *w, const char *p, size_t n)
{
	const char *open = memchr(p, '[', n), *close, *suf;
	size_t pl = open ? (size_t)(open - p) : n, sl, i;

	if (n == 0)
		return bad(w, "an empty name");
	for (i = 0; i < pl; i++)
		if (!name_char(p[i]))
			return bad(w, "a character outside [A-Za-z0-9._-,[]]");
	if (!open) {
		if (n > SVM_EH_NAME_MAX)
			return bad(w, "a name longer than 64 bytes");
		if (p[0] == '-' || p[0] == '.')
			return bad(w, "a name starting with '-' or '.'");
		if (w->count >= SVM_EH_MAX_NAMES)
			return bad(w, "more names than the job network has addresses (64516)");
		return emit(w, p, n, 0, 0, NULL, 0);
	}
	close = memchr(open, ']', n - pl);
	if (!close)
		return bad(w, "a '[' without ']'");
	suf = close + 1;
	sl = n - (size_t)(suf - p);
	for (i = 0; i < sl; i++)
		if (!name_char(suf[i]))
			return bad(w, suf[i] == '[' ? "more than one [...] in a name" : "a character outside [A-Za-z0-9._-,[]]");
	/* the ranges open+1 .. close */
	i = pl + 1;
	for (;;) {
		size_t end = (size_t)(close - p);
		unsigned long lo, hi, k;
		unsigned width, dh;

		if (get_num(p, &i, end, &lo, &width) < 0)
			return bad(w, "a range that is not N or LO-HI with up to 9 digits");
		hi = lo;
		if (i < end && p[i] == '-') {
			i++;
			if (get_num(p, &i, end, &hi, &dh) < 0)
				return bad(w, "a range that is not N or LO-HI with up to 9 digits");
			if (hi < lo)
				return bad(w, "a range LO-HI with LO above HI");
		}
		if (pl + (width > digits(hi) ? width : digits(hi)) + sl > SVM_EH_NAME_MAX)
			return bad(w, "a name longer than 64 bytes");
		if (pl > 0 && (p[0] == '-' || p[0] == '.'))
			return bad(w, "a name starting with '-' or '.'");
		if (hi - lo >= SVM_EH_MAX_NAMES || w->count + (hi - lo) + 1 > SVM_EH_MAX_NAMES)
			return bad(w, "more names than the job network has addresses (64516)");
		for (k = lo;; k++) {
			if (emit(w, p, pl, k, width, suf, sl) < 0)
				return -1;
			if (k == hi)
				break;
		}
		if (i == end)
			return 0;
		if (p[i] != ',')
			return bad(w, "a range that is not N or LO-HI with up to 9 digits");
		i++;
	}
}

static int walk(struct walk *w, const char *list, size_t len)
{
	size_t start = 0, i;
	int depth = 0;

	if (len == 0)
		return bad(w, "an empty list");
	for (i = 0; i <= len; i++) {
		if (i < len && list[i] == '[') {
			if (depth++)
				return bad(w, "a '[' inside [...]");
			continue;
		}
		if (i < len && list[i] == ']') {
			if (!depth--)
				return bad(w, "a ']' without '['");
			continue;
		}
		if (i < len && (list[i] != ',' || depth))
			continue;
		if (entry(w, list + start, i - start) < 0)
			return -1;
		start = i + 1;
	}
	return 0;
}

long svm_eh_expand(const char *list, size_t len, svm_eh_name_fn fn, void *arg, const char **why)
{
	struct walk w = { NULL, NULL, 0, why };

	if (memchr(list, '\0', len))
		return bad(&w, "a NUL inside the list");
	if (walk(&w, list, len) < 0)
		return -1;
	if (!fn)
		return (long)w.count;
	w = (struct walk){ fn, arg, 0, why };
	if (walk(&w, list, len) < 0)
		return -1;
	return (long)w.count;
}

static int put_line(void *arg, const char *name, unsigned index)
{
	uint32_t a = svm_gw_node_ip(index);

	return fprintf(arg, "%u.%u.%u.%u\t%s\n", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255,
		       name) < 0 ? -1 : 0;
}

/* 1 if the line L[0..N) (without its newline) is MARK. */
static int is_line(const char *l, size_t n, const char *mark)
{
	return n == strlen(mark) && memcmp(l, mark, n) == 0;
}

char *svm_eh_render(const char *old, size_t oldlen, const char *list, size_t *outlen,
		    const char **why)
{
	char *text = NULL;
	size_t size = 0, i = 0;
	int in_block = 0, done = 0;
	FILE *f;

	if (svm_eh_expand(list, strlen(list), NULL, NULL, why) < 0)
		return NULL;
	f = open_memstream(&text, &size);
	if (!f) {
		*why = "out of memory";
		return NULL;
	}
	while (old && i < oldlen) {
		const char *l = old + i, *nl = memchr(l, '\n', oldlen - i);
		size_t n = nl ? (size_t)(nl - l) : oldlen - i;

		i += n + (nl ? 1 : 0);
		if (!in_block && is_line(l, n, SVM_EH_BEGIN)) {
			in_block = 1;
			if (!done) {
				/* ours again where it was: the lines around keep their order */
				fputs(SVM_EH_BEGIN "\n", f);
				if (svm_eh_expand(list, strlen(list), put_line, f, why) < 0)
					goto fail;
				fputs(SVM_EH_END "\n", f);
				done = 1;
			}
			continue;
		}
		if (in_block) {
			in_block = !is_line(l, n, SVM_EH_END);
			continue;
		}
		fwrite(l, 1, n, f);
		fputc('\n', f);
	}
	if (!done) {
		fputs(SVM_EH_BEGIN "\n", f);
		if (svm_eh_expand(list, strlen(list), put_line, f, why) < 0)
			goto fail;
		fputs(SVM_EH_END "\n", f);
	}
	if (fclose(f) != 0) {
		free(text);
		*why = "out of memory";
		return NULL;
	}
	*outlen = size;
	return text;
fail:
	fclose(f);
	free(text);
	return NULL;
}
