/* Flow control between the host and a process's stdio (PROTOCOL.md,
 * credits): host data goes into the child's pipes within the credit the
 * agent gave, and credit goes back as the child reads; child output goes
 * out as DATA frames within the credit the host gave.  Bounded on both
 * sides: a process that does not read or write stalls only itself. */
#ifndef SVM_AGENT_FLOW_H
#define SVM_AGENT_FLOW_H

#include "agent.h"

/* Host DATA frame H for P's input stream: checked against the credit,
 * written or queued, credit given back. */
void on_data(struct proc *p, const struct svm_ap_hdr *h, const uint8_t *pl);
/* Closes P's input stream S (a pty's stdin gets its EOF character). */
void sink_close(struct proc *p, int s);
/* P's input pipe S is writable: writes what is queued for it. */
void sink_write(struct proc *p, int s);
/* Reads one DATA frame of P's output S into ag.out (EOF at its end);
 * 1 if it filled the frame (the pipe may hold more), else 0. */
int source_read(struct proc *p, int s);

#endif
