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

# Nodes are idle (not drained, not down) once the cluster settles: both,
# or those of SVM_IDLE_NODES (a test whose other node runs a job meanwhile).
expect_nodes_idle() {
	local states i nodes=${SVM_IDLE_NODES:-n1 n2} want="" n
	for n in $nodes; do want="$want$n idle "; done
	# a node may show "completing" or "planned" for a few seconds after a job
	for i in $(seq 1 150); do
		# (the whole list, filtered here: `sinfo -n` may show a node in
		# the state of another one of its partition)
		states=$(sinfo -h -N -o '%N %T' | sort -u | grep -E "^(${nodes// /|}) " | tr '\n' ' ')
		[ "$states" = "$want" ] && break
		sleep 0.2
	done
	if [ "$states" != "$want" ]; then
		echo "# nodes: $(sinfo -h -N -o '%N %T %C %E' | sort -u | tr '\n' ' ')" >&2
		echo "# jobs: $(squeue -h -a -o '%i %u %T %N %M %R' | tr '\n' ' ')" >&2
	fi
	expect_eq "$1" "$states" "$want"
}

# svm_noagent_image FILE: makes FILE, as the test user, a copy of the test
# image (raw) whose guest boots but never starts its agent (the image's
# /etc/default/slurm-vm-agent, which its init reads, sleeps instead): a
# user's broken image, which the prolog waits for until boot_timeout.
svm_noagent_image() {
	local f=$1
	svm_as_user sh -c 'printf "exec sleep 100000\n" > "$1.default" &&
		qemu-img convert -O raw "$2" "$1" &&
		printf "rm /etc/default/slurm-vm-agent\nwrite %s /etc/default/slurm-vm-agent\n" "$1.default" |
			/sbin/debugfs -w -f - "$1" > /dev/null 2>&1 && rm -f "$1.default"' sh "$f" "$IMG"
}

# Huge pages in use when the test started (a pool's size minus its free
# pages), per page size: the guests of ended jobs must give theirs back.
svm_hugepages_in_use() {
	local d
	for d in /sys/kernel/mm/hugepages/hugepages-*; do
		[ -r "$d/nr_hugepages" ] || continue
		printf '%s=%s ' "${d##*-}" "$(( $(cat "$d/nr_hugepages") - $(cat "$d/free_hugepages") ))"
	done
}
SVM_HP_IN_USE_AT_START=${SVM_HP_IN_USE_AT_START:-$(svm_hugepages_in_use)}

# What the cluster's jobs left on the host, one "what: which" line each
# (nothing when nothing is left).  With a job id, only that job's.
svm_leftovers() {
	local j=${1:-} pat d e
	pat=${j:+"^$j\."}
	pat=${pat:-'^[0-9]+\.'}
	d=$(svm_cluster_domains | grep -E "^svm-${j:-[0-9]+}-" | tr '\n' ' ')
	[ -n "$d" ] && echo "domain: $d"
	for e in vmrun scratch; do
		d=$(ls -A "$SVM_CLUSTER_DIR/$e" 2>/dev/null | grep -E "$pat" | tr '\n' ' ')
		[ -n "$d" ] && echo "$e entry: $d"
	done
	# VF/PF reservations (lib/ib.c): runtime_dir/vf/<bdf>, "job=J node=N"
	d=$(cat "$SVM_CLUSTER_DIR"/vmrun/vf/* 2>/dev/null | grep -E "^job=${j:-[0-9]+} " | tr '\n' ' ')
	[ -n "$d" ] && echo "IB reservation: $d"
	[ -n "$j" ] && return 0
	# the job bridges svm<job> and VXLAN devices svmv<hex job> (lib/netjob.c)
	d=$(svm_job_netdevs | tr '\n' ' ')
	[ -n "$d" ] && echo "network device: $d"
	# and in n2's host (SVM_NET=overlay)
	if svm_n2_up; then
		d=$(svm_job_netdevs "$SVM_N2_NETNS" | tr '\n' ' ')
		[ -n "$d" ] && echo "network device on n2's host: $d"
	fi
	# the cluster's guests, relays and execs name its directory or are ours
	d=$(pgrep -u "$SVM_TEST_USER" -a 2>/dev/null |
		grep -E "qemu.*$SVM_CLUSTER_DIR|slurm-vm-relay|slurm-vm-exec" | tr '\n' ' ')
	[ -n "$d" ] && echo "process: $d"
	d=$(svm_hugepages_in_use)
	[ "$d" != "$SVM_HP_IN_USE_AT_START" ] &&
		echo "huge pages in use: $d(at the start: $SVM_HP_IN_USE_AT_START)"
	return 0
}

# svm_expect_nothing_left [NAME [JOB]]: once the cluster settles (at most
# SVM_SETTLE seconds, default 30: epilogs may still run), nothing of the
# cluster's ended jobs (or of JOB) is left on the host (svm_leftovers) and
# both nodes are idle, not drained.  Two checks.
svm_expect_nothing_left() {
	local name=${1:-the cluster} j=${2:-} left end=$((SECONDS + ${SVM_SETTLE:-30}))
	while :; do
		left=$(svm_leftovers "$j")
		[ -z "$left" ] || [ $SECONDS -ge $end ] && break
		sleep 0.2
	done
	expect_eq "$name: nothing left${j:+ of job $j} (domains, runtime, scratch, devices, processes, huge pages)" "$left" ""
	expect_nodes_idle "$name: both nodes idle, not drained"
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

# What went wrong with JOB, on one line, for a failed check's details: its
# state and exit code (sacct) and the last slurm-vm error slurmd logged
# for it (a prolog's "not ready within ..." names the guest's console).
svm_job_story() {
	local job=$1 acct err
	acct=$(svm_as_user sacct -n -X -P -j "$job" -o State,ExitCode,NodeList 2>/dev/null | head -n 1)
	err=$(grep -hE "slurm-vm[a-z-]*: job $job: " "$SVM_CLUSTER_DIR"/log/slurmd-*.log 2>/dev/null |
		grep -E "error: |failed for a reason" | tail -n 2 | cut -c1-600 | tr '\n' ' ')
	printf 'job %s: %s; %s' "$job" "${acct:-no accounting record}" "${err:-no slurm-vm error in the slurmd logs}"
}

# A guest that did not boot in time under software emulation (a 2-core
# machine running two TCG guests) is not what an MPI or image test tests:
# true if JOB failed that way (its prolog's boot timeout).
svm_job_boot_timed_out() {
	grep -qhE "slurm-vm-prolog: job $1: .*(was not ready within|never became ready)" \
		"$SVM_CLUSTER_DIR"/log/slurmd-*.log 2>/dev/null
}

# Adds this file's counts to the results file of tests/check (if any) and
# prints the summary line.
svm_e2e_summary() {
	[ -n "$SVM_E2E_RESULTS" ] && echo "$SVM_PASSED $SVM_FAILED" >> "$SVM_E2E_RESULTS"
	svm_summary
}
