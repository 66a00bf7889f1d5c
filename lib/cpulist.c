/* CPU lists: the syntax (see cpulist.h). */
#include "config.h"

#include <stdio.h>

#include "cpulist.h"

static int parse_index(const char **p, unsigned *out)
{
	unsigned v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned)(*s - '0');
		if (v > SVM_CPULIST_MAX_INDEX)
			return -1;
	}
	*p = s;
	*out = v;
	return 0;
}

int svm_cpulist_ranges(const char *s, int (*fn)(void *arg, unsigned lo, unsigned hi), void *arg)
{
	if (!s || !*s)
		return -1;
	for (;;) {
		unsigned lo, hi;

		if (parse_index(&s, &lo) < 0)
			return -1;
		hi = lo;
		if (*s == '-') {
			s++;
			if (parse_index(&s, &hi) < 0 || hi < lo)
				return -1;
		}
		if (fn && fn(arg, lo, hi) < 0)
			return -1;
		if (!*s)
			return 0;
		if (*s != ',')
			return -1;
		s++;
	}
}

struct array {
	uint32_t *out;
	size_t n, max;
};

static int add_range(void *arg, unsigned lo, unsigned hi)
{
	struct array *a = arg;

	if (hi - lo >= a->max - a->n)
		return -1;
	for (unsigned c = lo; c <= hi; c++)
		a->out[a->n++] = c;
	return 0;
}

int svm_cpulist_parse(const char *s, uint32_t *out, size_t max)
{
	struct array a = { out, 0, max };

	if (svm_cpulist_ranges(s, add_range, &a) < 0 || a.n > (size_t)INT32_MAX)
		return -1;
	return (int)a.n;
}

int svm_cpulist_format(const uint32_t *v, size_t n, char *buf, size_t len)
{
	size_t off = 0, i = 0;

	if (!len)
		return -1;
	buf[0] = '\0';
	while (i < n) {
		size_t j = i;
		int k;

		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		if (j > i)
			k = snprintf(buf + off, len - off, "%s%u-%u", off ? "," : "",
				     (unsigned)v[i], (unsigned)v[j]);
		else
			k = snprintf(buf + off, len - off, "%s%u", off ? "," : "", (unsigned)v[i]);
		if (k < 0 || (size_t)k >= len - off) {
			buf[0] = '\0';
			return -1;
		}
		off += (size_t)k;
		i = j + 1;
	}
	return 0;
}
