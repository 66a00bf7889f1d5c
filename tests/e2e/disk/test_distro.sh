#!/usr/bin/env bash
# A stock distribution image, booted through its own boot loader, runs jobs
# with no preparation: Debian 13 (systemd 257) gets the host's agent from
# the read-only medium through SMBIOS systemd credentials.  Needs the
# cluster up with SVM_BOOT=disk and images/build-distro-image's output in
# SVM_DISTRO_DIR.  As the unprivileged test user.
set -u
. "$(dirname "$0")/../lib.sh"
SVM_DISTRO_DIR=${SVM_DISTRO_DIR:-/var/tmp/slurm-vm-distro}
DIMG=$SVM_DISTRO_DIR/trixie.qcow2
svm_e2e_workdir e2e-distro
uid=$(id -u "$SVM_TEST_USER")

expect_eq "the cluster boots guests from their disk" "${SVM_BOOT:-}" disk
[ -r "$DIMG" ] || { svm_fail "the Debian 13 image exists" "$DIMG is missing (images/build-distro-image)"; svm_e2e_summary; exit; }

# ---- a user's own image, untouched: nothing of slurm-vm in it
svm_run "$SVM_BUILD_DIR/cli/slurm-vm" image check "$DIMG"
expect_rc "slurm-vm image check accepts the stock image" 0

# ---- srun -N2: tasks in both guests, in the image's userland
svm_run sh -c "cd '$WORK' && srun -N2 -n2 --vm-image='$DIMG' sh -c '. /etc/os-release; echo \$(hostname) \$VERSION_CODENAME \$(cat /sys/class/dmi/id/sys_vendor) \$(id -u) \$(pwd); echo from-\$(hostname) > out.\$(hostname); getent hosts n1 n2 > hosts.\$(hostname)'"
expect_rc "srun -N2 --vm-image with a Debian 13 disk image runs" 0
expect_eq "each task ran in its node's Debian 13 guest, as the user, in the working directory" \
	"$(printf '%s\n' "$OUT" | sort)" "n1 trixie QEMU $uid $WORK
n2 trixie QEMU $uid $WORK"
expect_eq "the guests wrote into the shared working directory as the user" \
	"$(stat -c '%U %n' "$WORK"/out.n1 "$WORK"/out.n2 2>/dev/null | sed "s|$WORK/||")" \
	"$SVM_TEST_USER out.n1
$SVM_TEST_USER out.n2"
expect_eq "in each guest the job's node names resolve to their guests' job network addresses" \
	"$(cat "$WORK"/hosts.n1 "$WORK"/hosts.n2 2>/dev/null | awk '{print $1, $2}' | tr '\n' ';')" \
	"169.254.1.1 n1;169.254.1.2 n2;169.254.1.1 n1;169.254.1.2 n2;"
# ---- sbatch: steps in the same guests; the agent, exit codes and signals
# as for native tasks (steps of one allocation: two boots, not one a step)
cat > "$WORK/two-steps.sh" <<'EOS'
#!/bin/sh
srun -N2 -n2 cat /proc/sys/kernel/random/boot_id | sort > boot1
srun -N1 -n1 sh -c 'cat /proc/self/cgroup; findmnt -n -o OPTIONS /run/slurmvm | tr , "\n" | grep -x ro; systemctl --version | head -n1 | cut -d" " -f1-2' > agent.out
srun -N1 -n1 sh -c 'exit 7'
echo "EXIT7 $?"
srun -N1 -n1 sh -c 'kill -USR1 $$' 2> usr1.err
echo "USR1 $?"
srun -N2 -n2 cat /proc/sys/kernel/random/boot_id | sort > boot2
cmp -s boot1 boot2 && echo "SAMEBOOT yes" || echo "SAMEBOOT no"
echo "DISTINCT $(sort -u boot1 | wc -l)"
EOS
chmod +x "$WORK/two-steps.sh"
chown "$SVM_TEST_USER" "$WORK/two-steps.sh"
svm_run sh -c "cd '$WORK' && sbatch -W -N2 -o two-steps.out --vm-image='$DIMG' ./two-steps.sh"
expect_rc "sbatch --vm-image with its steps completes" 0
expect_eq "the host's agent runs from its read-only medium under the image's systemd" "$(cat "$WORK/agent.out" 2>/dev/null)" "0::/system.slice/slurm-vm-agent.service
ro
systemd 257"
expect_match "a step's exit code is srun's" "$(cat "$WORK/two-steps.out" 2>/dev/null)" "EXIT7 7"
expect_match "a task killed by a signal is reported as for a native task" "$(cat "$WORK/usr1.err" 2>/dev/null)" "task 0: User defined signal 1"
expect_match "all steps ran in the same two guests" "$(cat "$WORK/two-steps.out" 2>/dev/null)" "SAMEBOOT yes"
expect_match "one guest per node" "$(cat "$WORK/two-steps.out" 2>/dev/null)" "DISTINCT 2"

# ---- scancel while the guests boot leaves nothing behind
svm_run sh -c "cd '$WORK' && sbatch -N2 -o cancel.out --vm-image='$DIMG' --wrap 'srun true' | awk '{print \$4}'"
job=$OUT
for i in $(seq 1 150); do
	[ -n "$(virsh -c "$LIBVIRT_DEFAULT_URI" list --name 2>/dev/null | grep "^svm-$job-")" ] && break
	sleep 0.2
done
svm_run scancel "$job"
expect_rc "scancel of a job whose guests are booting" 0
svm_expect_nothing_left "the cancelled job" "$job"

# ---- an image whose systemd is older than 256 (Debian 12, systemd 252):
# the user prepares it once, then it runs like the other one
OLD=${SVM_PREPARE_IMAGE:-/var/tmp/svm-prepare-bookworm/bookworm.qcow2}
if [ -r "$OLD" ]; then
	svm_run sh -c "cd '$WORK' && '$SVM_BUILD_DIR/cli/slurm-vm' image prepare --config '$SVM_CLUSTER_DIR/etc/vm.conf' --agent '$SVM_BUILD_DIR/images/agent/slurm-vm-agent' '$OLD' '$WORK/bookworm-svm.qcow2'"
	expect_rc "slurm-vm image prepare makes a Debian 12 image ready" 0
	expect_match "and says how long it took" "$ERR$OUT" "prepared .*bookworm-svm.qcow2 in [0-9]+ s"
	svm_run sh -c "cd '$WORK' && srun -N2 -n2 --vm-image='$WORK/bookworm-svm.qcow2' sh -c '. /etc/os-release; echo \$(hostname) \$VERSION_CODENAME \$(id -u) \$(pwd); exit 3'"
	expect_rc "a task in the prepared image returns its exit code" 3
	expect_eq "tasks ran in both prepared Debian 12 guests, as the user, in the working directory" \
		"$(printf '%s\n' "$OUT" | sort)" "n1 bookworm $uid $WORK
n2 bookworm $uid $WORK"
else
	svm_fail "the Debian 12 image for image prepare exists" "$OLD is missing (images/build-distro-image --release bookworm)"
fi
expect_nodes_idle "the nodes are idle at the end"

svm_e2e_summary
