/* Small bounded parsers for untrusted text: option values, config values.
 * Each returns 0 on success and -1 on bad input, and never writes the output
 * on failure. */
#ifndef SVM_PARSE_H
#define SVM_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Decimal unsigned integer in [min, max], the whole string, no sign. */
int svm_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* A size: a decimal number with an optional K, M, G or T suffix (powers of
 * 1024, optional trailing "B" or "iB", case-insensitive).  UNIT is the
 * multiplier of a bare number (1 for bytes, 1 << 20 for MiB).  The result is
 * in bytes; overflow is an error. */
int svm_parse_size(const char *s, uint64_t unit, uint64_t *out_bytes);

/* Index of S in the NULL-terminated array NAMES (case-sensitive), or -1. */
int svm_parse_enum(const char *s, const char *const *names);

/* Removes leading and trailing blanks in place; returns S. */
char *svm_strstrip(char *s);

/* Copies SRC into DST of SIZE bytes; -1 (DST untouched) if it does not fit. */
int svm_strlcpy(char *dst, const char *src, size_t size);

/* 1 if the path has a ".." component. */
int svm_path_has_dotdot(const char *path);

/* Joins DIR and NAME into BUF; -1 if it does not fit. */
int svm_path_join(char *buf, size_t len, const char *dir, const char *name);

/* 1 if PATH is DIR or lies below it (both resolved, no trailing slash). */
int svm_path_under(const char *path, const char *dir);

#endif
