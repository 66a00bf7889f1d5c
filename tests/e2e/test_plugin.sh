#!/usr/bin/env bash
# The plugin as seen by a user of the cluster: options listed, bad images
# refused at submit with one line, jobs without the option untouched.
# Needs a running cluster (tests/cluster/up).
set -u
. "$(dirname "$0")/lib.sh"
export SLURM_CONF=$SVM_CLUSTER_DIR/etc/slurm.conf

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
expect_eq "a directory is not an image" "$ERR" "srun: error: slurm-vm: image /tmp is not a regular file"

svm_run srun -N1 --vm-image= true
expect_eq "an empty --vm-image is refused" "$ERR" "srun: error: slurm-vm: --vm-image: empty image path"

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
