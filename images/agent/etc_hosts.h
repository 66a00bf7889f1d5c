/* The job's node names in the guest's /etc/hosts: the slurmvm.nodes list
 * (Slurm's compressed host list, lib/guest_words.h) expanded, each name
 * with its guest's job network address (svm_gw_node_ip of its place in the
 * list), in a block of /etc/hosts between two marker lines that the agent
 * owns; the image's own lines stay as they are.  Parsing and text only, no
 * system calls, so the unit tests and the fuzz target use it as is;
 * guest_setup.c reads and writes the file. */
#ifndef SVM_ETC_HOSTS_H
#define SVM_ETC_HOSTS_H

#include <stddef.h>
#include <stdint.h>

#include "guest_words.h"

#define SVM_EH_NAME_MAX 64		/* one host name, bytes (HOST_NAME_MAX) */
/* At most as many names as the address formula has distinct addresses:
 * past that two nodes would share one. */
#define SVM_EH_MAX_NAMES SVM_GW_NET_NODES

#define SVM_EH_BEGIN "# slurm-vm job nodes: begin (written by slurm-vm-agent, replaced at each start)"
#define SVM_EH_END "# slurm-vm job nodes: end"

/* Called with each name of the list in order, NAME NUL-terminated, INDEX
 * its place from 0.  Returns 0, or -1 to stop the expansion. */
typedef int (*svm_eh_name_fn)(void *arg, const char *name, unsigned index);

/* Expands the host list LIST[0..LEN): comma-separated entries, each a
 * plain name or PREFIX[RANGES]SUFFIX with RANGES comma-separated "N" or
 * "LO-HI" (LO <= HI, the width of LO's digits pads every number, as Slurm
 * prints "gpu[08-10]"), every name 1..64 of [A-Za-z0-9._-] not starting
 * with '-' or '.', at most SVM_EH_MAX_NAMES names.  Checks the whole list
 * first, then calls FN (may be NULL) on each name.  Returns the number of
 * names, or -1 with *WHY set (FN not called; or FN stopped it). */
long svm_eh_expand(const char *list, size_t len, svm_eh_name_fn fn, void *arg, const char **why);

/* The new text of /etc/hosts: OLD[0..OLDLEN) (the file as it is; NULL or
 * empty: none) with the block between SVM_EH_BEGIN and SVM_EH_END replaced,
 * or appended when OLD has none, by the marker lines around one
 * "ADDR\tNAME" line per name of LIST.  Returns a malloc'ed NUL-terminated
 * text (its length in *OUTLEN) the caller frees, or NULL with *WHY set
 * (a bad list, out of memory). */
char *svm_eh_render(const char *old, size_t oldlen, const char *list, size_t *outlen,
		    const char **why);

#endif
