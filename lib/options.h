/* The user's --vm-* options: their values as given on the command line or in
 * SLURM_VM_* variables, parsed and checked without touching the system. */
#ifndef SVM_OPTIONS_H
#define SVM_OPTIONS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define SVM_MAX_MOUNTS 16

struct svm_mount {
	char src[PATH_MAX];
	char dst[PATH_MAX];
	int readonly;
};

struct svm_options {
	char image[PATH_MAX];	/* as given; empty: the feature is off */
	uint64_t mem_mib;	/* 0: the site default */
	int hugepages;		/* enum svm_hugepages, -1: the site default */
	int ib;			/* enum svm_ib, -1: the site default */
	int n_mounts;
	struct svm_mount mounts[SVM_MAX_MOUNTS];
};

/* Resets OPTS to "nothing given". */
void svm_options_init(struct svm_options *opts);

/* Each parses one option value into OPTS; on bad input returns -1 and writes
 * one line (without the option name) to ERR. */
int svm_opt_image(struct svm_options *opts, const char *v, char *err, size_t errlen);
int svm_opt_mem(struct svm_options *opts, const char *v, char *err, size_t errlen);
int svm_opt_hugepages(struct svm_options *opts, const char *v, char *err, size_t errlen);
int svm_opt_ib(struct svm_options *opts, const char *v, char *err, size_t errlen);
int svm_opt_mount(struct svm_options *opts, const char *v, char *err, size_t errlen);

#endif
