/* The guest's configuration as the host gives it: slurmvm.* words on the
 * kernel command line and in SMBIOS type 11 OEM strings, their keys listed
 * in lib/guest_words.h.  Parsing only, no
 * system calls, so the unit tests and the fuzz target use it as is;
 * guest_setup.c applies the result. */
#ifndef SVM_GUEST_CONFIG_H
#define SVM_GUEST_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "guest_words.h"

#define SVM_GC_HOST_MAX 64		/* HOST_NAME_MAX */
#define SVM_GC_TAG_MAX 31		/* 9p mount tag, bytes */
#define SVM_GC_PATH_MAX 1023		/* mount point, bytes */
#define SVM_GC_MAX_SHARES 32
#define SVM_GC_MAX_WORD (SVM_GW_NODES_MAX + 64)	/* longest slurmvm.* word considered */

struct svm_gc_share {
	char tag[SVM_GC_TAG_MAX + 1];
	char path[SVM_GC_PATH_MAX + 1];
	int ro;
};

struct svm_gc {
	uint32_t job;			/* 0: not given */
	char hostname[SVM_GC_HOST_MAX + 1];	/* "": not given */
	int has_ip;
	uint32_t ip;			/* host byte order */
	unsigned prefix;		/* 1..32 */
	struct svm_gc_share shares[SVM_GC_MAX_SHARES];
	unsigned n_shares;
	char nodes[SVM_GW_NODES_MAX + 1];	/* the job's host list, checked; "": not given */
};

/* Called with one line on each value ignored (malformed, too many). */
typedef void (*svm_gc_warn_fn)(void *arg, const char *msg);

/* Empties GC: nothing given. */
void svm_gc_init(struct svm_gc *gc);

/* Parses "A.B.C.D/PREFIX" (decimal, PREFIX 1..32) into IP (host order) and
 * PREFIX. Returns 0, or -1 with *WHY set. */
int svm_gc_parse_ip(const char *s, uint32_t *ip, unsigned *prefix, const char **why);

/* Parses "TAG:PATH[:ro|:rw]" into SH. Returns 0, or -1 with *WHY set. */
int svm_gc_parse_share(const char *s, struct svm_gc_share *sh, const char **why);

/* Checks a host name: 1..64 of [A-Za-z0-9._-], not starting with '-' or '.'. */
int svm_gc_valid_hostname(const char *s, const char **why);

/* Applies one word WORD[0..LEN) ("slurmvm.KEY=VALUE") to GC: a later word
 * overrides an earlier one (a share by its mount point); words without the
 * slurmvm. prefix and keys the agent does not handle are skipped silently.
 * SOURCE names the origin in warnings. Returns 1 if used, 0 if skipped,
 * -1 if malformed (warned). */
int svm_gc_word(struct svm_gc *gc, const char *word, size_t len, const char *source,
		svm_gc_warn_fn warn, void *arg);

/* Splits a kernel command line TEXT[0..LEN) into words (blanks separate,
 * double quotes group and are dropped, as the kernel does) and applies each
 * with svm_gc_word. Returns the number of words used. */
int svm_gc_cmdline(struct svm_gc *gc, const char *text, size_t len,
		   svm_gc_warn_fn warn, void *arg);

/* Walks an SMBIOS type 11 structure RAW[0..LEN) (header, count, string
 * set), calling FN on each string in order (NUL-terminated, within RAW).
 * Returns the number of strings, or -1 with *WHY set if the structure is
 * malformed, in which case FN was not called. */
int svm_gc_oem_walk(const uint8_t *raw, size_t len,
		    void (*fn)(void *arg, const char *s, size_t n), void *arg,
		    const char **why);

/* svm_gc_oem_walk applying each string with svm_gc_word. Returns the number
 * of strings, or -1 (warned). */
int svm_gc_oem(struct svm_gc *gc, const uint8_t *raw, size_t len,
	       svm_gc_warn_fn warn, void *arg);

#endif
