/* The RAW benchmark (slurm-vm-exec --bench-raw, bench/agent-bench): a raw
 * copy over the channel, with no frames, to measure the channel itself. */
#ifndef SVM_AGENT_BENCH_H
#define SVM_AGENT_BENCH_H

#include <stdint.h>

/* Answers RAW and copies BYTES to (SOURCE) or from (SINK) the host.
 * Blocks everything else for its length: only for an idle agent. */
void raw_bench(int mode, uint64_t bytes);

#endif
