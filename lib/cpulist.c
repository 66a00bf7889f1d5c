#include "config.h"

#include <stdlib.h>

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

int svm_cpulist_parse(const char *s, hwloc_bitmap_t set)
{
	hwloc_bitmap_zero(set);
	if (!s || !*s)
		return -1;
	for (;;) {
		unsigned lo, hi;

		if (parse_index(&s, &lo) < 0)
			goto bad;
		hi = lo;
		if (*s == '-') {
			s++;
			if (parse_index(&s, &hi) < 0 || hi < lo)
				goto bad;
		}
		if (hwloc_bitmap_set_range(set, lo, (int)hi) < 0)
			goto bad;
		if (!*s)
			return 0;
		if (*s != ',')
			goto bad;
		s++;
	}
bad:
	hwloc_bitmap_zero(set);
	return -1;
}

char *svm_cpulist_format(hwloc_const_bitmap_t set)
{
	char *s = NULL;

	if (hwloc_bitmap_iszero(set))
		return calloc(1, 1);
	if (hwloc_bitmap_list_asprintf(&s, set) < 0)
		return NULL;
	return s;
}
