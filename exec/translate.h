/* Task mode, the contract with the SPANK plugin (spank/remote.c): it
 * replaces a Slurm task's argv[0] by slurm-vm-exec and sets
 * SLURM_VM_EXEC_ARGV0 (the task's own argv[0]), SLURM_VM_SOCKET (the
 * relay) and SLURM_VM_CPUMAP (the host PU of each vCPU, by vCPU). */
#ifndef SVM_EXEC_TRANSLATE_H
#define SVM_EXEC_TRANSLATE_H

/* With SLURM_VM_EXEC_ARGV0 set, rewrites *ARGC and *ARGV into the explicit
 * command line (socket, CPUs, pty, PMI and PMIx relays), drops our own
 * variables from the environment and marks ex.task; else nothing. */
void task_mode(int *argc, char ***argv);
/* Dies of SIG as the task did (no core file of our own). */
void die_of_signal(int sig) __attribute__((noreturn));

#endif
