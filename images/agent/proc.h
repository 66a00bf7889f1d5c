/* The processes the agent runs for the host: one struct proc per process
 * id of the session, from its EXEC records to its EXIT frame.  A process
 * of an ended session (an orphan) stays, silent, until it is reaped. */
#ifndef SVM_AGENT_PROC_H
#define SVM_AGENT_PROC_H

#include "agent.h"

/* The current session's process ID, or NULL. */
struct proc *proc_find(uint32_t id);
/* A new process ID assembling its request, owned by ag.procs; NULL when
 * MAX_PROCS are taken or out of memory. */
struct proc *proc_new(uint32_t id);
/* Forgets P: closes its fds, frees it and takes it out of ag.procs. */
void proc_free(struct proc *p);
/* Kills P's process group if it runs and has not exited. */
void proc_kill(struct proc *p);
/* Sends EXIT and frees P once it has exited, its stdio is drained and its
 * exec error (if any) reported; else nothing. */
void proc_maybe_finish(struct proc *p);
/* Starts P from its assembled request: forks, becomes the user in the
 * child and execs.  On failure the host gets ERROR, then EXIT 126/127, and
 * P is freed. */
void proc_start(struct proc *p);
/* Accepts a guest connection to P's LISTEN listener as its next
 * connection stream (CONNECT to the host), or refuses it. */
void listen_accept(struct proc *p);
/* Collects every exited child (SIGCHLD): marks its process exited. */
void reap(void);
/* Reads P's exec error pipe: the stage that failed goes to the host as
 * ERROR; then P may finish. */
void read_errfd(struct proc *p);
/* Closes stdio that exited P left to a background holder, once its pipes
 * are empty and DRAIN_GRACE_MS is over; then P may finish. */
void drain_deadline(struct proc *p, long long now);

#endif
