/* slurm-vm-exec's client: one process (id 1) on a connection to the relay
 * or straight to an agent channel (PROTOCOL.md).  Everything it cannot go
 * on from ends in die(): exit 255 with one line on stderr. */
#ifndef SVM_EXEC_CLIENT_H
#define SVM_EXEC_CLIENT_H

#include "agent_proto.h"

/* HELLO on ex.sock until READY (REPEAT: every second, for a bare agent
 * channel; never to a relay), within HELLO_TIMEOUT_MS. */
void handshake(int repeat);
/* Sends the request E (its terminal set up first), then relays stdio,
 * connections and signals until EXIT; returns the process's exit code
 * (128+N for signal N), or for a task dies of that signal. */
int client_run(struct svm_ap_exec *e);

#endif
