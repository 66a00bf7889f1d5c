#!/usr/bin/env bash
# What a user may ask of a node, as the unprivileged test user on the local
# cluster: --vm-ib=pf is refused unless the site's ib_allowed lists it (at
# submit, and again in the prolog); a control character in a user's path
# never breaks a line of slurmd's log or a drain reason; the admin's
# scratch_dir keeps the mode the admin gave it.  Needs tests/cluster/up.
set -u
. "$(dirname "$0")/lib.sh"
svm_e2e_workdir e2e-ib-policy
CONF=$SVM_CLUSTER_DIR/etc/vm.conf
LOGS=("$SVM_CLUSTER_DIR"/log/slurmd-n1.log "$SVM_CLUSTER_DIR"/log/slurmd-n2.log)

# Lines of slurmd's logs written since mark_logs: each must start a record
# ("[2025-...] ..."), else a message was broken across lines.
mark_logs() { LOGMARK=(); for f in "${LOGS[@]}"; do LOGMARK+=("$(wc -l < "$f")"); done; }
new_log_lines() {
	local i=0
	for f in "${LOGS[@]}"; do
		tail -n +"$((LOGMARK[i] + 1))" "$f"
		i=$((i + 1))
	done
}

# ---- --vm-ib=pf at submit: one line, nothing allocated
jobs_before=$(squeue -h -u "$SVM_TEST_USER" | wc -l)
svm_run srun -N1 --vm-ib=pf --vm-image="$IMG" true
expect_rc "srun --vm-ib=pf is refused" nonzero
expect_eq "srun --vm-ib=pf: one line saying why" "$ERR" \
	"srun: error: slurm-vm: --vm-ib=pf is not allowed on this cluster (ib_allowed = none,vf)"
svm_run env SLURM_VM_IB=pf sbatch --vm-image="$IMG" --wrap true
expect_rc "sbatch with SLURM_VM_IB=pf is refused" nonzero
expect_eq "SLURM_VM_IB=pf: one line saying why" "$ERR" \
	"sbatch: error: slurm-vm: --vm-ib=pf is not allowed on this cluster (ib_allowed = none,vf)"
expect_eq "no job was queued" "$(squeue -h -u "$SVM_TEST_USER" | wc -l)" "$jobs_before"
expect_nodes_idle "nodes stay idle after refused submissions"

# ---- the prolog checks again: the site list changed after submission
cp "$CONF" "$WORK/vm.conf.orig"
echo "ib_allowed = none,pf,vf" >> "$CONF"
svm_run sbatch --hold -N1 -o pf.out --vm-ib=pf --vm-image="$IMG" --wrap true
expect_rc "sbatch --vm-ib=pf is accepted where ib_allowed lists pf" 0
JOB=$(printf '%s\n' "$OUT" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
cp "$WORK/vm.conf.orig" "$CONF"
scontrol release "$JOB"
for _ in $(seq 1 150); do
	[ -z "$(squeue -h -j "$JOB" 2>/dev/null)" ] && break
	sleep 0.2
done
expect_eq "the prolog refuses it with the same line" \
	"$(grep -c 'slurm-vm: --vm-ib=pf is not allowed on this cluster (ib_allowed = none,vf)' "$WORK/pf.out" 2>/dev/null)" "1"
expect_nodes_idle "the prolog's refusal is the user's: nodes stay idle"

# ---- newlines in a user's paths, and an admin's scratch_dir mode
chmod 0711 "$SVM_CLUSTER_DIR/scratch"
NLIMG=$WORK/$'a\nb.qcow2'
svm_as_user ln -s "$IMG" "$NLIMG"
mark_logs
svm_run srun -N1 --vm-image="$NLIMG" true
expect_rc "an image path with a newline fails the job" nonzero
expect_eq "the user sees one line" "$(printf '%s\n' "$ERR" | wc -l)" "1"
expect_match "the line is slurm-vm's" "$ERR" '^srun: error: slurm-vm: '
# the job's working directory reaches the prolog as it is
NLDIR=$WORK/$'nl\nerror: forged'
svm_as_user mkdir "$NLDIR"
svm_run sh -c 'cd "$1" && exec srun -N1 --vm-image="$2" true' sh "$NLDIR" "$IMG"
expect_rc "a working directory with a newline fails the job" nonzero
expect_eq "the user sees one line of slurm-vm" "$(printf '%s\n' "$ERR" | grep -c 'slurm-vm')" "1"
expect_match "the line names the directory, escaped" "$ERR" 'nl(\\n|\?)error: forged'
broken=$(new_log_lines | grep -v '^\[' || true)
expect_eq "no line of slurmd's log is broken by it" "$broken" ""
expect_match "slurmd's log has the user's failure on one line" "$(new_log_lines)" \
	'slurm-vm-prolog: job [0-9]+: .*nl(\\n|\?)error: forged'
expect_nodes_idle "nodes stay idle after the bad paths"
reasons=$(sinfo -h -N -o '%N|%E' | sort -u)
expect_eq "no drain reason, and none broken" "$(printf '%s\n' "$reasons" | grep -vc '^n[12]|')" "0"

svm_run srun -N1 --vm-image="$IMG" sh -c 'echo inside'
expect_rc "a job runs with the admin's scratch_dir at mode 0711" 0
expect_eq "the admin's scratch_dir keeps mode 0711 after jobs" \
	"$(stat -c %a "$SVM_CLUSTER_DIR/scratch")" "711"
chmod 0755 "$SVM_CLUSTER_DIR/scratch"

svm_e2e_summary
