/* CPU lists as Slurm and the kernel write them ("0-3,8-11"), parsed with
 * explicit bounds into hwloc bitmaps and printed back in the same form. */
#ifndef SVM_CPULIST_H
#define SVM_CPULIST_H

#include <hwloc.h>

/* The largest PU or NUMA node index a list may name. */
#define SVM_CPULIST_MAX_INDEX 65535

/* Parses S ("0-3,8,10-11"; no blanks, ranges ascending) into SET, which the
 * caller allocated.  Returns 0, or -1 (SET emptied) on bad or empty input. */
int svm_cpulist_parse(const char *s, hwloc_bitmap_t set);

/* Returns SET as a list ("0-3,8-11"; "" when empty), or NULL when out of
 * memory.  The caller frees it. */
char *svm_cpulist_format(hwloc_const_bitmap_t set);

#endif
