/* hwloc bitmaps to and from CPU lists ("0-3,8-11", the syntax of
 * lib/cpulist.h), for the topology and the domain XML. */
#ifndef SVM_CPUSET_H
#define SVM_CPUSET_H

#include <hwloc.h>

#include "cpulist.h"

/* Parses S (svm_cpulist_ranges) into SET, which the caller allocated.
 * Returns 0, or -1 (SET emptied) on bad or empty input. */
int svm_cpuset_parse(const char *s, hwloc_bitmap_t set);

/* Returns SET as a list (svm_cpulist_format: "0-3,8-11"; "" when empty),
 * or NULL when out of memory or SET is infinite.  The caller frees it. */
char *svm_cpuset_format(hwloc_const_bitmap_t set);

#endif
