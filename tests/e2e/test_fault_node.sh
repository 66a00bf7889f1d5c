#!/usr/bin/env bash
# What a node keeps of jobs whose epilog never ran to the end: after a
# "reboot" (the runtime directory wiped, the scratch directory, a VF
# reservation and a defined-but-dead domain still there) and after an
# epilog killed half-way (domain gone, state and scratch left), the next
# VM job's prolog on the node asks slurmctld, removes what belongs to jobs
# that no longer run, says so in slurmd's log, keeps what belongs to a job
# that still runs, and the job itself runs.  Needs tests/cluster/up and the
# test image.
set -u
. "$(dirname "$0")/lib.sh"
svm_e2e_workdir e2e-fault-node
D=$SVM_CLUSTER_DIR
LOG=$D/log/slurmd-n1.log

# Two real jobs that ended (native, quick): their ids are known to
# slurmctld as over.
svm_run srun -N1 -w n1 sh -c 'echo $SLURM_JOB_ID'
A=$OUT
svm_run srun -N1 -w n1 sh -c 'echo $SLURM_JOB_ID'
B=$OUT
# and one that still runs on n1 (native, one CPU, beside the VM job)
svm_run sbatch --parsable -N1 -n1 -w n1 -o /dev/null --wrap 'sleep 120'
K=$OUT
for _ in $(seq 1 50); do [ "$(squeue -h -j "$K" -o %T)" = RUNNING ] && break; sleep 0.2; done

# scratch/<job>.n1 as the prolog makes it: the user's, with an overlay
scratch() {
	mkdir -p "$D/scratch/$1.n1"
	: > "$D/scratch/$1.n1/overlay.qcow2"
	chown -R "$SVM_TEST_USER" "$D/scratch/$1.n1"
	chmod 0700 "$D/scratch/$1.n1"
}

# A, "rebooted": its runtime dir wiped, its scratch dir, a defined (not
# running) domain on its overlay, and a VF reservation left
scratch "$A"
cat > "$WORK/dom.xml" <<EOX
<domain type='qemu'><name>svm-$A-n1</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64'>hvm</type></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
<source file='$D/scratch/$A.n1/overlay.qcow2'/><target dev='vda' bus='virtio'/></disk></devices></domain>
EOX
virsh -c "$SVM_LIBVIRT_URI" define "$WORK/dom.xml" > /dev/null
mkdir -p "$D/vmrun/vf"
echo "job=$A node=n1" > "$D/vmrun/vf/0000:7f:00.2"
# B, its epilog killed after the domain went: state and scratch left
scratch "$B"
mkdir -p "$D/vmrun/$B.n1"
echo "svm-$B-n1" > "$D/vmrun/$B.n1/domain.started"
# K, still running: its (pretend) scratch dir must stay
scratch "$K"

L=$(svm_leftovers | tr '\n' ' ')
expect_match "the leftovers are in place" "$L" \
	"domain: svm-$A-n1 .*vmrun entry: .*$B\\.n1 .*scratch entry: .*$A\\.n1 .*IB reservation: job=$A node=n1"

# ---- the next VM job on n1
svm_run srun -N1 -w n1 --vm-image="$IMG" cat /sys/class/dmi/id/sys_vendor
expect_eq "the next VM job on the node runs" "$RC $OUT" "0 QEMU"
expect_eq "the rebooted job's domain is undefined" \
	"$(virsh -c "$SVM_LIBVIRT_URI" list --all --name | grep -c "^svm-$A-n1$")" "0"
expect_eq "... its scratch dir removed" "$(ls -d "$D/scratch/$A.n1" 2>/dev/null)" ""
expect_eq "... its VF reservation released" "$(ls "$D/vmrun/vf" 2>/dev/null | grep -v '^lock$')" ""
expect_eq "the half-torn-down job's state and scratch are removed" \
	"$(ls -d "$D/vmrun/$B.n1" "$D/scratch/$B.n1" 2>/dev/null)" ""
expect_eq "slurmd's log says what was reclaimed for job $A" \
	"$(grep -c "slurm-vm-prolog: .*job $A no longer runs on n1 (slurmctld) but had left its guest's domain or files here: removed" "$LOG")" "1"
expect_eq "... and for job $B" "$(grep -c "slurm-vm-prolog: .*job $B no longer runs on n1 (slurmctld)" "$LOG")" "1"
expect_eq "what a running job holds is kept" "$(ls -d "$D/scratch/$K.n1" 2>/dev/null)" "$D/scratch/$K.n1"
expect_eq "... and not reported" "$(grep -c "job $K no longer runs" "$LOG")" "0"

scancel "$K"
svm_expect_nothing_left "after the reclaim"
cd / && rm -rf "$WORK"
svm_e2e_summary
