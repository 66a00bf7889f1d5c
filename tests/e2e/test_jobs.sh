#!/usr/bin/env bash
# srun, salloc and interactive VM jobs behave like ordinary Slurm jobs:
# exit codes, scancel, time limits, --pty.  As the unprivileged test user on
# the local cluster, with the test image.
set -u
. "$(dirname "$0")/lib.sh"
svm_e2e_workdir e2e-jobs
uid=$(id -u "$SVM_TEST_USER")

# A time limit takes a minute to hit: start that job first, on one CPU of
# n2, and look at it at the end.
tl_out=$WORK/timelimit.out
svm_as_user sh -c "cd '$WORK' && srun -N1 -n1 -w n2 -t 1 -J svm-timelimit --vm-image='$IMG' sh -c 'echo started; exec sleep 600' > '$tl_out' 2>&1; echo \"rc=\$?\" >> '$tl_out'" &
tl_pid=$!

# ---- srun creating its own job
svm_run sh -c "cd '$WORK' && srun -N2 --vm-image='$IMG' sh -c 'echo \$(cat /sys/class/dmi/id/sys_vendor) \$(id -u)'"
expect_rc "srun -N2 --vm-image runs" 0
expect_eq "both tasks ran in a guest, as the user" "$OUT" "QEMU $uid
QEMU $uid"

# a program that exists only in the image, not on the host
svm_run sh -c "cd '$WORK' && srun -N1 -n1 --vm-image='$IMG' /usr/sbin/slurm-vm-agent --help"
expect_eq "srun runs a program that exists only in the guest image" \
	"$([ ! -e /usr/sbin/slurm-vm-agent ] && printf '%s\n' "$OUT$ERR" | grep -c 'Usage: slurm-vm-agent')" "1"

# (with soft limits of the user's shell, which Slurm propagates to the task)
svm_run sh -c "cd '$WORK' && ulimit -S -n 777 && ulimit -S -l 4000 && srun -N1 -n1 -c1 --vm-image='$IMG' sh -c 'grep -c ^processor /proc/cpuinfo; echo nofile \$(ulimit -n) memlock \$(ulimit -l); exit 7'"
expect_rc "srun --vm-image returns the task's exit code" 7
expect_match "srun reports it as for a native task" "$ERR" "task 0: Exited with exit code 7"
expect_eq "a one-CPU job gets a one-vCPU guest (its allocation, not the node)" "$(printf '%s\n' "$OUT" | head -n 1)" "1"
expect_eq "the task in the guest has the resource limits srun propagated" \
	"$(printf '%s\n' "$OUT" | sed -n 2p)" "nofile 777 memlock 4000"

# ---- accounting: sacct records VM jobs as it records native ones
svm_run sh -c "cd '$WORK' && srun -N1 -n1 --vm-image='$IMG' sh -c 'echo \$SLURM_JOB_ID; exit 7'"
job=$(printf '%s\n' "$OUT" | head -n1)
svm_sacct_final "$job" JobID,State,ExitCode
expect_eq "sacct: a VM job whose task exits 7 is FAILED 7:0, job and step" "$OUT" \
	"$job|FAILED|7:0
$job.0|FAILED|7:0"
svm_run sh -c "cd '$WORK' && srun -N1 -n1 --vm-image='$IMG' sh -c 'echo \$SLURM_JOB_ID; kill -USR1 \$\$'"
job=$(printf '%s\n' "$OUT" | head -n1)
expect_match "srun says the task died of a signal, as for a native task" "$ERR" "task 0: User defined signal 1"
svm_sacct_final "$job" JobID,State,ExitCode
expect_match "sacct: the step of a VM task killed by SIGUSR1 shows 0:10" "$OUT" "^$job\\.0\\|[A-Z]+\\|0:10\$"

# ---- salloc: the shell runs on the host, each step in the same guests
cat > "$WORK/alloc.sh" <<'EOS'
#!/bin/sh
srun -N2 -n2 cat /proc/sys/kernel/random/boot_id | sort > boot1
srun -N2 -n2 cat /proc/sys/kernel/random/boot_id | sort > boot2
cmp -s boot1 boot2 && echo "SAMEBOOT yes" || echo "SAMEBOOT no"
echo "DISTINCT $(sort -u boot1 | wc -l)"
# a step that runs until cancelled, and a second one at the same time
srun -N1 -n1 -w n1 sh -c 'echo $$ > sleeper.pid; exec sleep 600' &
spid=$!
for i in $(seq 1 150); do [ -s sleeper.pid ] && break; sleep 0.2; done
srun --overlap -N1 -n1 -w n1 sh -c 'kill -0 $(cat sleeper.pid) && echo "RUNNING yes"'
# the sleeper is the job's step 2 (steps 0 and 1 read the boot ids)
scancel "$SLURM_JOB_ID.2"
wait $spid
echo "CANCELRC $?"
srun --overlap -N1 -n1 -w n1 sh -c 'kill -0 $(cat sleeper.pid) 2>/dev/null && echo "AFTER alive" || echo "AFTER gone"'
EOS
chmod +x "$WORK/alloc.sh"
svm_run sh -c "cd '$WORK' && salloc -N2 --vm-image='$IMG' ./alloc.sh"
expect_rc "salloc --vm-image with steps completes" 0
expect_match "two steps of an allocation run in the same guests" "$OUT" "^SAMEBOOT yes$"
expect_match "one guest per node" "$OUT" "^DISTINCT 2$"
expect_match "a step runs alongside another one" "$OUT" "^RUNNING yes$"
expect_match "scancel of a step ends srun with a failure" "$OUT" "^CANCELRC [1-9]"
expect_match "scancel of a step ends its process in the guest" "$OUT" "^AFTER gone$"

# ---- srun --pty: an interactive shell in the guest
svm_run sh -c "cd '$WORK' && printf '%s\n' 'expect svm-guest> ' 'send cat /sys/class/dmi/id/sys_vendor; tty' 'expect /dev/pts' 'send exit 3' | PS1='svm-guest> ' '$SVM_TOP/tests/e2e/pty-drive' 400 -- srun -N1 -n1 --pty --vm-image='$IMG' /bin/sh -i"
expect_rc "srun --pty: the shell prompt appears and the session ends" 0
expect_match "srun --pty: the shell runs in the guest, on a terminal" "$OUT" "QEMU"
expect_match "srun --pty: the shell's exit code is srun's" "$ERR" "pty-drive: exit status 3"

# ---- the time limit
wait "$tl_pid"
T=$(cat "$tl_out")
tl_job=$(squeue -h -t all -n svm-timelimit -o %i 2>/dev/null | head -n1)
[ -n "$tl_job" ] || tl_job=$(scontrol -o show job 2>/dev/null | sed -n 's/^JobId=\([0-9]*\) JobName=svm-timelimit .*/\1/p' | tail -n1)
expect_match "srun exits non-zero after the time limit" "$T" "^rc=[1-9]"
expect_match "Slurm ended the job for its time limit (JobState=TIMEOUT)" \
	"$(scontrol -o show job "$tl_job" 2>/dev/null)" "JobState=TIMEOUT"
# This machine's clock may jump ahead (a VM under load): when the limit
# passes before the step starts, there is no process to end.
if printf '%s\n' "$T" | grep -q '^started'; then
	expect_match "the running step is ended at the limit, as for a native job" "$T" "DUE TO TIME LIMIT"
else
	echo "skip the running step is ended at the limit (the limit passed before the step started)"
fi

expect_nodes_idle "both nodes idle after the jobs"
svm_e2e_summary
