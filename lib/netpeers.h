/* The job's nodes and their underlay addresses, from Slurm (see netpeers.c).
 * Needs libslurm: linked into the prolog and the CLI, not the plugin. */
#ifndef SVM_NETPEERS_H
#define SVM_NETPEERS_H

#include <stddef.h>
#include <stdint.h>

#include "netjob.h"
#include "vmconf.h"

/* Every node of NODELIST (Slurm hostlist syntax) in order, with its rank
 * and underlay address, into *OUT (the caller frees it), *N_OUT entries,
 * SELF's index in *SELF_OUT.  OVER holds N_OVER "NODE=A.B.C.D" entries that
 * take precedence over resolution (tests, dry runs).  0, or -1 after
 * logging (a node that does not resolve, SELF not in the list). */
int svm_netpeers_get(const struct svm_config *conf, const char *nodelist, const char *self,
		     const char *const *over, size_t n_over, struct svm_peer **out,
		     size_t *n_out, size_t *self_out);

/* What the prolog runs: the peers (for network = overlay), then
 * svm_netjob_up.  *MTU gets the guest MTU (0: default).  0, or -1 after
 * logging. */
int svm_netpeers_up(const struct svm_config *conf, uint32_t job, const char *nodelist,
		    const char *self, const char *const *over, size_t n_over, unsigned *mtu);

#endif
