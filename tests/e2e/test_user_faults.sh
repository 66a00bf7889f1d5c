#!/usr/bin/env bash
# Jobs that fail for a reason of the user's, as the unprivileged test user
# on the local cluster: each fails with one line on stderr that says why,
# at submit or in the prolog before any guest boots, and both nodes stay
# in service (idle, not drained).  Needs tests/cluster/up and the test image.
set -u
. "$(dirname "$0")/lib.sh"
svm_e2e_workdir e2e-faults

# None of these jobs should get as far as booting a guest: a job still
# running after this many seconds has missed its check.
LIMIT=${SVM_FAULTS_LIMIT:-120}

# Runs srun -Q (no "queued" chatter) as the user in directory $1.
srun_in() {
	local d=$1
	shift
	svm_run sh -c 'cd "$1" && shift && exec timeout "$0" srun -Q "$@"' "$LIMIT" "$d" "$@"
}

# A case that drained the nodes must not fail the cases after it.
resume_nodes() {
	local drained
	drained=$(sinfo -h -N -t drain,drng -o %N | sort -u | paste -sd, -)
	[ -n "$drained" ] && scontrol update nodename="$drained" state=resume
	return 0
}

# The slurm-vm lines of stderr, deduplicated (each node's prolog reports).
vm_lines() { printf '%s\n' "$ERR" | grep 'slurm-vm: ' | sed 's/^.*slurm-vm: /slurm-vm: /' | sort -u; }

# expect_user_fault NAME LINE: the job failed, its stderr has the one
# slurm-vm line LINE, and the nodes are idle.
expect_user_fault() {
	expect_rc "$1: the job fails" nonzero
	expect_eq "$1: the user reads one line saying why" "$(vm_lines)" "$2"
	expect_nodes_idle "$1: both nodes stay idle, not drained"
	resume_nodes
}

# ---- a qcow2 whose refcount_order QEMU refuses (made by qemu-img, then
# the header's byte patched): refused at submit
svm_as_user qemu-img create -q -f qcow2 "$WORK/ro7.qcow2" 64M
svm_as_user sh -c "printf '\\007' | dd of='$WORK/ro7.qcow2' bs=1 seek=99 conv=notrunc status=none"
srun_in "$WORK" -N2 --vm-image="$WORK/ro7.qcow2" true
expect_user_fault "refcount_order 7" \
	"slurm-vm: image $WORK/ro7.qcow2 has a corrupt qcow2 header: refcount_order 7 is over 6 (64-bit refcounts)"
expect_eq "... refused at submit, in one line" "$ERR" \
	"srun: error: slurm-vm: image $WORK/ro7.qcow2 has a corrupt qcow2 header: refcount_order 7 is over 6 (64-bit refcounts)"

# ---- a text file is no raw disk
svm_as_user sh -c "printf 'just some notes\\n%.0s' \$(seq 1 300) > '$WORK/notes.img'"
srun_in "$WORK" -N2 --vm-image="$WORK/notes.img" true
expect_user_fault "a text file as the image" \
	"slurm-vm: image $WORK/notes.img is not a disk image: no partition table, boot sector or filesystem"
svm_run "$SVM_BUILD_DIR/cli/slurm-vm" image check --config "$SVM_CLUSTER_DIR/etc/vm.conf" "$WORK/notes.img"
expect_eq "slurm-vm image check refuses it too" "$RC $ERR" \
	"1 slurm-vm: image $WORK/notes.img is not a disk image: no partition table, boot sector or filesystem"

# ---- a working directory whose name is not UTF-8 (libvirt's XML cannot
# carry it): the prolog refuses it before starting anything
BAD=$WORK/$'\xff'
svm_as_user mkdir "$BAD"
srun_in "$BAD" -N2 --vm-image="$IMG" true
expect_user_fault "a working directory named with a non-UTF-8 byte" \
	"slurm-vm: the working directory $WORK/? has a name that is not UTF-8 text (byte 0xff): the guest cannot be given it"

# ---- a working directory removed while the job is pending
GONE=$WORK/gone
svm_as_user mkdir "$GONE"
o=$(mktemp) e=$(mktemp)
svm_as_user sh -c 'cd "$1" && exec timeout "$3" srun -Q -N2 --begin=now+4 --vm-image="$2" true' \
	sh "$GONE" "$IMG" "$LIMIT" \
	> "$o" 2> "$e" < /dev/null &
pid=$!
sleep 1.5
svm_as_user rmdir "$GONE"
wait "$pid"
RC=$? OUT=$(cat "$o") ERR=$(cat "$e")
rm -f "$o" "$e"
expect_user_fault "a working directory removed while pending" \
	"slurm-vm: the job's working directory $GONE is gone: No such file or directory"

# ---- more memory than the node has
srun_in "$WORK" -N2 --vm-image="$IMG" --vm-mem=100T true
expect_rc "--vm-mem=100T: the job fails" nonzero
expect_match "--vm-mem=100T: the user is told the node cannot give it" "$(vm_lines)" \
	"^slurm-vm: --vm-mem: 104857600 MiB is more than this node can give a guest: [0-9]+ MiB \(the job's NUMA nodes hold [0-9]+ MiB, the host keeps [0-9]+\)$"
expect_eq "--vm-mem=100T: in one line" "$(vm_lines | wc -l)" "1"
expect_nodes_idle "--vm-mem=100T: both nodes stay idle, not drained"
resume_nodes

# none of these booted a guest
expect_eq "no guest was started" "$(svm_cluster_domains)" ""

cd / && rm -rf "$WORK"
svm_e2e_summary
