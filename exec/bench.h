/* slurm-vm-exec --bench-raw SPEC: a raw copy over an agent channel, no
 * relay, no frames (bench/agent-bench). */
#ifndef SVM_EXEC_BENCH_H
#define SVM_EXEC_BENCH_H

/* Copies sink:BYTES to or source:BYTES from the agent after the
 * handshake and prints the rate on stdout; 0, or dies. */
int bench_raw(const char *spec);

#endif
