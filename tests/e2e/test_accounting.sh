#!/usr/bin/env bash
# Job accounting of the local cluster (slurmdbd, tests/cluster/accounting.sh)
# with plain jobs, as the test user: sacct shows the exit codes Slurm gives
# natively (code:signal) and lists the steps.  The VM-job checks compare
# against these.  Needs a running cluster (tests/cluster/up).
set -u
. "$(dirname "$0")/lib.sh"

svm_run sacctmgr -n -P show assoc where user="$SVM_TEST_USER" format=Cluster,Account,User
expect_eq "the test user is registered with slurmdbd" "$OUT" "$SVM_CLUSTER_NAME|svm|$SVM_TEST_USER"

# ---- a job that exits 7: 7:0 for the job and its step
svm_run srun -N1 sh -c 'echo "$SLURM_JOB_ID"; exit 7'
expect_rc "srun of sh -c 'exit 7' exits 7" 7
job=$(printf '%s\n' "$OUT" | head -n1)
svm_sacct_final "$job" JobID,State,ExitCode
expect_eq "sacct lists job $job and its step, failed with 7:0" "$OUT" \
	"$job|FAILED|7:0
$job.0|FAILED|7:0"
expect_eq "sacct -X -o ExitCode of the job is 7:0" "$(svm_sacct_exitcode "$job")" "7:0"

# ---- a job whose task dies of a signal: 0:N, as Slurm records it natively
svm_run srun -N1 sh -c 'echo "$SLURM_JOB_ID"; kill -USR1 $$'
expect_rc "srun of a task killed by SIGUSR1 fails" nonzero
job=$(printf '%s\n' "$OUT" | head -n1)
svm_sacct_final "$job" JobID,State,ExitCode
expect_match "sacct: the step of job $job died of signal 10 (0:10)" "$OUT" "^$job\\.0\\|[A-Z]+\\|0:10\$"
expect_eq "sacct -X -o ExitCode of the job is 0:10" "$(svm_sacct_exitcode "$job")" "0:10"

# ---- a successful job: 0:0
svm_run srun -N2 sh -c '[ "$SLURM_PROCID" = 0 ] && echo "$SLURM_JOB_ID"; true'
expect_rc "srun -N2 true exits 0" 0
job=$(printf '%s\n' "$OUT" | head -n1)
svm_sacct_final "$job" JobID,State,ExitCode,NNodes
expect_eq "sacct: job $job and its two-node step completed with 0:0" "$OUT" \
	"$job|COMPLETED|0:0|2
$job.0|COMPLETED|0:0|2"

# ---- a batch job with two steps: the batch step and both srun steps listed,
# each with its own exit code; the job takes the batch script's.
T=$(svm_as_user mktemp -d)
svm_as_user sh -c "cat > '$T/job.sh'" <<'EOS'
#!/bin/sh
#SBATCH -N1
srun sh -c 'exit 3'
srun sh -c 'kill -TERM $$'
exit 5
EOS
svm_run sh -c "cd '$T' && sbatch --parsable --wait job.sh"
expect_rc "sbatch --wait of a script that exits 5 exits 5" 5
job=${OUT%%;*}
svm_sacct_final "$job" JobID,State,ExitCode
expect_eq "sacct lists the batch step and both srun steps of job $job" \
	"$(printf '%s\n' "$OUT" | cut -d'|' -f1 | tr '\n' ' ')" \
	"$job $job.batch $job.0 $job.1 "
expect_match "the first step exited 3 (3:0)" "$OUT" "^$job\\.0\\|FAILED\\|3:0\$"
expect_match "the second step died of SIGTERM (0:15)" "$OUT" "^$job\\.1\\|[A-Z]+\\|0:15\$"
expect_match "the batch step exited 5 (5:0)" "$OUT" "^$job\\.batch\\|FAILED\\|5:0\$"
expect_eq "sacct -X -o ExitCode of the batch job is 5:0" "$(svm_sacct_exitcode "$job")" "5:0"
rm -rf "$T"

# ---- jobacct_gather/linux samples the step's memory (every second here,
# instead of the cluster's 30 s): a shell holding 30 MB peaks above 20 MB.
svm_run srun -N1 --acctg-freq=1 sh -c 'echo "$SLURM_JOB_ID"; x=$(head -c 30000000 /dev/zero | tr "\0" a); sleep 2'
job=$(printf '%s\n' "$OUT" | head -n1)
svm_sacct_final "$job" JobID,MaxRSS
rss=$(printf '%s\n' "$OUT" | sed -n "s/^$job\.0|\([0-9]*\)K\$/\1/p")
if [ "${rss:-0}" -gt 20000 ]; then
	svm_pass "sacct reports the MaxRSS of step $job.0: ${rss}K (jobacct_gather/linux)"
else
	svm_fail "sacct reports the MaxRSS of step $job.0 (jobacct_gather/linux)" "$OUT"
fi

expect_nodes_idle "nodes idle after the accounting jobs"
svm_e2e_summary
