# Assertions for end-to-end tests: each prints one ok/FAIL line and counts.
# A test file sources this, runs its checks, and ends with svm_e2e_summary.
. "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"

export SLURM_CONF=$SVM_CLUSTER_DIR/etc/slurm.conf
IMG=$SVM_IMAGE_DIR/test.qcow2

SVM_PASSED=0
SVM_FAILED=0
SVM_E2E_RESULTS=${SVM_E2E_RESULTS:-}

svm_pass() { SVM_PASSED=$((SVM_PASSED + 1)); printf 'ok   %s\n' "$1"; }
svm_fail() {
	SVM_FAILED=$((SVM_FAILED + 1))
	printf 'FAIL %s\n' "$1"
	shift
	[ $# -gt 0 ] && printf '     %s\n' "$@"
	return 0
}

# svm_e2e_workdir NAME: sets WORK to a fresh directory NAME in the test
# user's home, made by the user (jobs run there), and changes into it.
svm_e2e_workdir() {
	WORK=$(getent passwd "$SVM_TEST_USER" | cut -d: -f6)/$1
	rm -rf "$WORK"
	svm_as_user mkdir -p "$WORK"
	cd "$WORK" || exit 1
}

# Runs "$@" as the test user; sets OUT, ERR and RC for the assertions.
svm_run() {
	local o e
	o=$(mktemp) e=$(mktemp)
	svm_as_user "$@" > "$o" 2> "$e" < /dev/null
	RC=$?
	OUT=$(cat "$o")
	ERR=$(cat "$e")
	rm -f "$o" "$e"
}

# expect_rc NAME WANT: the last svm_run exited WANT ("nonzero" for any but 0).
expect_rc() {
	local name=$1 want=$2
	if { [ "$want" = nonzero ] && [ "$RC" -ne 0 ]; } || [ "$RC" = "$want" ]; then
		svm_pass "$name"
	else
		svm_fail "$name" "exit $RC, wanted $want" "stdout: $OUT" "stderr: $ERR"
	fi
}

# expect_eq NAME GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then
		svm_pass "$1"
	else
		svm_fail "$1" "got:    $(printf '%q' "$2")" "wanted: $(printf '%q' "$3")"
	fi
}

# expect_match NAME TEXT REGEX (extended)
expect_match() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		svm_pass "$1"
	else
		svm_fail "$1" "no match for /$3/ in:" "$2"
	fi
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
	echo "$SVM_PASSED passed, $SVM_FAILED failed"
	[ "$SVM_FAILED" -eq 0 ]
}
