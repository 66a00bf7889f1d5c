/* hwloc bitmaps in the CPU list syntax of cpulist.c. */
#include "config.h"

#include <stdlib.h>

#include "cpuset.h"

static int set_range(void *arg, unsigned lo, unsigned hi)
{
	return hwloc_bitmap_set_range(arg, lo, (int)hi) < 0 ? -1 : 0;
}

int svm_cpuset_parse(const char *s, hwloc_bitmap_t set)
{
	hwloc_bitmap_zero(set);
	if (svm_cpulist_ranges(s, set_range, set) < 0) {
		hwloc_bitmap_zero(set);
		return -1;
	}
	return 0;
}

char *svm_cpuset_format(hwloc_const_bitmap_t set)
{
	int w = hwloc_bitmap_weight(set), i, k = 0;
	uint32_t *v;
	size_t len;
	char *s = NULL;

	if (w < 0)
		return NULL;
	/* at most "65535," per index */
	len = (size_t)w * 7 + 1;
	v = calloc((size_t)w + 1, sizeof(*v));
	s = malloc(len);
	if (!v || !s)
		goto fail;
	hwloc_bitmap_foreach_begin(i, set)
		v[k++] = (uint32_t)i;
	hwloc_bitmap_foreach_end();
	if (svm_cpulist_format(v, (size_t)k, s, len) < 0)
		goto fail;
	free(v);
	return s;
fail:
	free(v);
	free(s);
	return NULL;
}
