#!/usr/bin/env bash
# The plugin as seen by a user of the cluster: options listed, bad images
# refused at submit with one line, jobs without the option untouched.
# Needs a running cluster (tests/cluster/up).
set -u
. "$(dirname "$0")/lib.sh"

svm_run srun --help
expect_match "srun --help lists --vm-image" "$OUT" '^ +--vm-image=FILE'
svm_run sbatch --help
expect_match "sbatch --help lists --vm-image" "$OUT" '^ +--vm-image=FILE'
svm_run salloc --help
expect_match "salloc --help lists --vm-image" "$OUT" '^ +--vm-image=FILE'

svm_run srun -N2 --vm-image=/nonexistent true
expect_rc "srun with a missing image fails" nonzero
expect_eq "srun with a missing image says why, in one line" "$ERR" \
	"srun: error: slurm-vm: cannot open image /nonexistent: No such file or directory"

svm_run sbatch -N2 --vm-image=/nonexistent --wrap true
expect_rc "sbatch with a missing image fails" nonzero
expect_eq "sbatch with a missing image says why, in one line" "$ERR" \
	"sbatch: error: slurm-vm: cannot open image /nonexistent: No such file or directory"

svm_run salloc -N2 --vm-image=/nonexistent true
expect_rc "salloc with a missing image fails" nonzero
expect_eq "salloc with a missing image says why" "$ERR" \
	"salloc: error: slurm-vm: cannot open image /nonexistent: No such file or directory"

svm_run env SLURM_VM_IMAGE=/etc/shadow srun -N1 true
expect_rc "SLURM_VM_IMAGE unreadable by the user fails" nonzero
expect_eq "an unreadable image is refused as the user" "$ERR" \
	"srun: error: slurm-vm: cannot open image /etc/shadow: Permission denied"

svm_run srun -N1 --vm-image=/tmp true
expect_eq "a directory is not an image" "$ERR" "srun: error: slurm-vm: image /tmp is a directory, not a disk image"

svm_run srun -N1 --vm-image= true
expect_eq "an empty --vm-image is refused" "$ERR" "srun: error: slurm-vm: --vm-image: empty image path"

for o in "srun: --vm-mem=lots" "srun: --vm-hugepages=4M" "srun: --vm-ib=maybe" "sbatch: --vm-mount=relative:/x" "salloc: --vm-mem=12"; do
	cmd=${o%%: *} opt=${o#*: }
	if [ "$cmd" = sbatch ]; then
		svm_run sbatch -N1 --vm-image="$SVM_IMAGE_DIR/test.qcow2" "$opt" --wrap true
	else
		svm_run "$cmd" -N1 --vm-image="$SVM_IMAGE_DIR/test.qcow2" "$opt" true
	fi
	expect_eq "$cmd $opt is refused at submit in one line" \
		"$(printf '%s\n' "$ERR" | wc -l) $RC" "1 1"
done
svm_run srun -N1 --vm-image="$SVM_IMAGE_DIR/test.qcow2" --vm-hugepages=4M true
expect_eq "the line names the option and the choices" "$ERR" \
	"srun: error: slurm-vm: --vm-hugepages: '4M' is not one of none|2M|1G"
svm_run env SLURM_VM_MEM=lots srun -N1 --vm-image="$SVM_IMAGE_DIR/test.qcow2" true
expect_eq "a bad SLURM_VM_MEM is refused, naming the variable" "$ERR" \
	"srun: error: slurm-vm: SLURM_VM_MEM: 'lots' is not a memory size in MiB or with a K/M/G/T suffix"
svm_run srun -N1 --vm-mem=1G true
expect_eq "VM options without --vm-image are refused" "$ERR" \
	"srun: error: slurm-vm: --vm-mem, --vm-hugepages, --vm-ib and --vm-mount need --vm-image"
svm_run srun -N1 --vm-image="$SVM_IMAGE_DIR/test.qcow2" --vm-mount=/etc:/x true
expect_eq "--vm-mount outside allowed_mounts is refused" "$ERR" \
	"srun: error: slurm-vm: --vm-mount: /etc (/etc) is not under a directory the site allows (allowed_mounts)"

# Hostile images are refused at submit, as the user, without running
# qemu-img on them.
T=$(svm_as_user mktemp -d)
svm_as_user qemu-img create -q -u -f qcow2 -b /etc/shadow -F raw "$T/backed.qcow2" 1G
svm_run srun -N1 --vm-image="$T/backed.qcow2" true
expect_eq "an image with a backing file is refused at submit" "$ERR" \
	"srun: error: slurm-vm: image $T/backed.qcow2 has a backing file (/etc/shadow): not allowed"
svm_as_user sh -c "head -c 100 /dev/zero > '$T/tiny.img'; printf 'QFI\373' | dd of='$T/trunc.qcow2' status=none"
svm_run srun -N1 --vm-image="$T/trunc.qcow2" true
expect_match "a truncated qcow2 is refused at submit" "$ERR" \
	"^srun: error: slurm-vm: image $T/trunc.qcow2 is truncated"
rm -rf "$T"

# Nothing was allocated for the refused jobs.
jobs=$(squeue -h -o %i | wc -l)
expect_eq "refused submissions left no job behind" "$jobs" "0"

svm_run srun -N2 hostname
expect_rc "srun -N2 hostname without --vm-image runs" 0
expect_eq "srun -N2 hostname prints two lines" "$(printf '%s\n' "$OUT" | wc -l)" "2"

svm_run srun -N2 -n4 sh -c 'echo "$SLURM_PROCID $SLURM_NODEID"; exit 0'
expect_eq "a plain 4-task job sees its ranks" "$(printf '%s\n' "$OUT" | cut -d' ' -f1 | sort | tr '\n' ' ')" "0 1 2 3 "

svm_run srun -N1 sh -c 'exit 7'
expect_rc "a plain job's exit code is kept" 7

svm_run srun -N1 id -u
expect_eq "a plain job runs as the user" "$OUT" "$(id -u "$SVM_TEST_USER")"

expect_nodes_idle "both nodes idle after the tests"
svm_e2e_summary
