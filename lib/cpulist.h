/* CPU lists as Slurm and the kernel write them ("0-3,8-11"): the one syntax
 * of every CPU list slurm-vm reads or writes.  The CPU map (the state file
 * cpumap, the task's SLURM_VM_CPUMAP) is such a list in vCPU order: its
 * entry v is the host PU that vCPU v is pinned to.  Libc only; hwloc
 * bitmaps in this syntax are lib/cpuset.h. */
#ifndef SVM_CPULIST_H
#define SVM_CPULIST_H

#include <stddef.h>
#include <stdint.h>

/* The largest PU or NUMA node index a list may name. */
#define SVM_CPULIST_MAX_INDEX 65535

/* Calls FN(ARG, LO, HI) for each range of S ("0-3,8,10-11": no blanks,
 * each range ascending, indexes at most SVM_CPULIST_MAX_INDEX) in the order
 * written (FN NULL: only checks S).  Returns 0, or -1 on bad or empty input (FN may have been called
 * for the ranges before the fault) or when FN returns -1. */
int svm_cpulist_ranges(const char *s, int (*fn)(void *arg, unsigned lo, unsigned hi), void *arg);

/* Parses S (as svm_cpulist_ranges) into OUT, in the order written, at most
 * MAX entries.  Returns the count, or -1 on bad or empty input or more than
 * MAX entries. */
int svm_cpulist_parse(const char *s, uint32_t *out, size_t max);

/* Writes the N indexes of V into BUF[LEN] as a list: each run of
 * consecutive ascending indexes as a range ("0-3,8"; "" when N is 0), so
 * svm_cpulist_parse gives V back.  Returns 0, or -1 if LEN is too small. */
int svm_cpulist_format(const uint32_t *v, size_t n, char *buf, size_t len);

#endif
