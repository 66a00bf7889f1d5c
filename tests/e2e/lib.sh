# What end-to-end tests share: the cluster's settings and, through
# cluster/lib.sh, the assertions of tests/lib/assert.sh (svm_pass, svm_fail,
# expect_*, svm_run as the test user).  A test file sources this, runs its
# checks, and ends with svm_e2e_summary.
. "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"

export SLURM_CONF=$SVM_CLUSTER_DIR/etc/slurm.conf
IMG=$SVM_IMAGE_DIR/test.qcow2

SVM_E2E_RESULTS=${SVM_E2E_RESULTS:-}

# svm_e2e_workdir NAME: sets WORK to a fresh directory NAME in the test
# user's home, made by the user (jobs run there), and changes into it.
svm_e2e_workdir() {
	WORK=$(getent passwd "$SVM_TEST_USER" | cut -d: -f6)/$1
	rm -rf "$WORK"
	svm_as_user mkdir -p "$WORK"
	cd "$WORK" || exit 1
}

# Nodes are idle (not drained, not down) once the cluster settles.
expect_nodes_idle() {
	local states i
	# a node may show "completing" or "planned" for a few seconds after a job
	for i in $(seq 1 150); do
		states=$(sinfo -h -N -o '%N %T' | sort -u | tr '\n' ' ')
		[ "$states" = "n1 idle n2 idle " ] && break
		sleep 0.2
	done
	expect_eq "$1" "$states" "n1 idle n2 idle "
}

# slurmctld hands finished jobs to slurmdbd on its own schedule: polls until
# sacct shows JOB (the whole allocation, -X) in a final state, at most 60 s.
# Sets OUT to `sacct -n -P -j JOB -o FIELDS` (all steps) once it does.
svm_sacct_final() {
	local job=$1 fields=$2 end=$((SECONDS + 60)) state
	while :; do
		state=$(svm_as_user sacct -n -X -P -j "$job" -o State 2>/dev/null)
		case "$state" in
		""|PENDING|RUNNING|REQUEUED|RESIZING|SUSPENDED) ;;
		*) break ;;
		esac
		[ $SECONDS -ge $end ] && break
		sleep 0.2
	done
	svm_run sacct -n -P -j "$job" -o "$fields"
}

# Exit code of the whole job, as `sacct -n -X -j JOB -o ExitCode` prints it.
svm_sacct_exitcode() {
	svm_as_user sacct -n -X -j "$1" -o ExitCode 2>/dev/null | tr -d ' '
}

# Adds this file's counts to the results file of tests/check (if any) and
# prints the summary line.
svm_e2e_summary() {
	[ -n "$SVM_E2E_RESULTS" ] && echo "$SVM_PASSED $SVM_FAILED" >> "$SVM_E2E_RESULTS"
	svm_summary
}
