/* Undoing what the prolog did for one job on one node: used by the epilog,
 * and by the prolog itself after a failed boot.  Every step tolerates its
 * object being already gone, so it is safe after a crash, a half-done
 * prolog, and when run twice. */
#ifndef SVM_TEARDOWN_H
#define SVM_TEARDOWN_H

#include <libvirt/libvirt.h>

#include "jobdir.h"
#include "rmtree.h"	/* svm_rmtree(), used on the job directories */
#include "vmconf.h"

/* Destroys the domain, stops the relay, releases the job's VFs, removes the
 * job network when no other guest uses it.  Keeps the state directory when
 * KEEP_STATE (the prolog leaves its outcome there for the plugin), else
 * removes it and the scratch directory.  Returns 0, or -1 after logging
 * when something could not be undone (a node fault). */
int svm_teardown(const struct svm_config *conf, const struct svm_jobdir *dir,
		 int keep_state);

/* Sends libvirt's own error messages to our log, one line each ("no such
 * domain", the normal case of a teardown run again, is left out). */
void svm_libvirt_errors_to_log(void);
/* virConnectOpen(URI), retried quietly for up to 15 s while libvirtd
 * does not answer (a restart); NULL, with libvirt's last error logged,
 * when it never does. */
virConnectPtr svm_libvirt_open(const char *uri);

#endif
