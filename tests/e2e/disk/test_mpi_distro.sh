#!/usr/bin/env bash
# MPI as users run it, in the stock Debian 13 image (SVM_BOOT=disk cluster):
# programs compiled with the image's own mpicc (tests/mpi/build-in-image),
# MPICH 4.2 with srun --mpi=pmi2 and Open MPI 5 with srun --mpi=pmix, two
# ranks per guest and as many ranks as the guests have vCPUs; MPI_Abort
# ends the step promptly under both; sacct records the exit codes; many
# steps back to back leave nothing behind.  As the unprivileged test user.
# One sbatch job holds the guests for all the steps (two TCG boots, not one
# per step).  SVM_MPI_SOAK (default 10): pmix and pmi2 steps back to back.
set -u
. "$(dirname "$0")/../lib.sh"
SVM_DISTRO_DIR=${SVM_DISTRO_DIR:-/var/tmp/slurm-vm-distro}
DIMG=$SVM_DISTRO_DIR/trixie.qcow2
BIN=$SVM_DISTRO_DIR/trixie-mpi
SOAK=${SVM_MPI_SOAK:-10}
NCPU=$(nproc)		# each node's CPUs (tests/cluster/up): the guests get them
ALL=$((2 * NCPU))
svm_e2e_workdir e2e-mpi-distro

[ -r "$DIMG" ] || { svm_fail "the Debian 13 image exists" "$DIMG is missing (images/build-distro-image)"; svm_e2e_summary; exit; }
if "$SVM_TOP/tests/mpi/build-in-image" "$DIMG" "$BIN" > "$WORK/build.log" 2>&1; then
	svm_pass "tests/mpi/*.c compiled with the image's mpicc.mpich and mpicc.openmpi"
else
	svm_fail "tests/mpi/*.c compiled with the image's mpicc" "$(tail -n 3 "$WORK/build.log")"
	svm_e2e_summary
	exit
fi
for p in mpi_hello mpi_abort; do
	for m in mpich openmpi; do
		svm_as_user cp "$BIN/$p.$m" "$WORK/"
	done
done

cat > "$WORK/steps.sh" <<EOS
#!/bin/sh
# The batch step may start before the other node's guest is up: wait for a step on both.
for i in 1 2 3 4 5 6; do srun -N2 -n2 true 2>/dev/null && break; sleep 5; done
hung=0
step() { # NAME SRUN-ARGS...: one step, its rc and duration
	name=\$1; shift
	# after two steps that hung, the rest would only hang too: say so
	# and stop (the checks below fail on what is missing), so that a
	# broken MPI costs minutes, not the whole CI budget
	if [ \$hung -ge 2 ]; then echo "STEP \$name skipped-after-2-hung-steps 0"; return; fi
	t0=\$(date +%s)
	timeout 240 srun "\$@" > "\$name.out" 2> "\$name.err"
	rc=\$?
	# Open MPI 5.0's own MPI_Init race (a rank takes a peer's first
	# message before its MPI_COMM_WORLD is set up and dies of SIGSEGV;
	# README, Limitations): say so and take that step once more
	case " \$* " in *" ./mpi_hello.openmpi "*) hello=1 ;; *) hello=0 ;; esac
	if [ \$hello = 1 ] && [ \$rc != 0 ] && [ \$rc != 124 ] && grep -q 'Caught signal 11' "\$name.err" &&
	   grep -q 'ompi_mpi_init' "\$name.err" && grep -q 'mca_pml_ob1_recv_frag_callback_match' "\$name.err"; then
		echo "INITRACE \$name \$rc \$((\$(date +%s) - t0))"
		mv "\$name.err" "\$name.initrace.err"
		timeout 240 srun "\$@" > "\$name.out" 2> "\$name.err"
		rc=\$?
	fi
	[ \$rc = 124 ] && hung=\$((hung + 1))
	echo "STEP \$name \$rc \$((\$(date +%s) - t0))"
}
step pmi2 -N2 -n4 --mpi=pmi2 ./mpi_hello.mpich
step pmix -N2 -n4 --mpi=pmix ./mpi_hello.openmpi
step pmi2all -N2 -n$ALL --mpi=pmi2 ./mpi_hello.mpich
step pmixall -N2 -n$ALL --mpi=pmix ./mpi_hello.openmpi
step pmi2abort -N2 -n4 --mpi=pmi2 ./mpi_abort.mpich
step pmixabort -N2 -n4 --mpi=pmix ./mpi_abort.openmpi
for i in \$(seq 1 $SOAK); do step pmixsoak\$i -N2 -n4 --mpi=pmix ./mpi_hello.openmpi; done
for i in \$(seq 1 $SOAK); do step pmi2soak\$i -N2 -n4 --mpi=pmi2 ./mpi_hello.mpich; done
EOS
chmod +x "$WORK/steps.sh"
chown "$SVM_TEST_USER" "$WORK/steps.sh"
run_steps() {
	rm -f "$WORK"/steps.log "$WORK"/*.out "$WORK"/*.err
	svm_run sh -c "cd '$WORK' && timeout $((900 + 60 * SOAK)) sbatch -W -N2 -n$ALL -o steps.log --vm-image='$DIMG' ./steps.sh"
	job=$(printf '%s\n' "$OUT" | awk '/Submitted batch job/ {print $4}')
}
run_steps
# a guest that missed boot_timeout (two TCG guests on two cores) is not an
# MPI failure: say so and take the job once more; a second miss fails
if [ "$RC" != 0 ] && [ -n "$job" ] && svm_job_boot_timed_out "$job"; then
	echo "# $(svm_job_story "$job")"
	echo "# a guest did not boot in time: the job once more"
	run_steps
fi
[ "$RC" = 0 ] || OUT="$OUT
$([ -n "$job" ] && svm_job_story "$job")
steps.log: $(head -c 1500 "$WORK/steps.log" 2>/dev/null)"
expect_rc "sbatch of the MPI steps in the Debian 13 guests completes" 0
LOG=$(cat "$WORK/steps.log" 2>/dev/null)
st() { printf '%s\n' "$LOG" | awk -v n="$1" '$1 == "STEP" && $2 == n {print $3}'; }
secs() { printf '%s\n' "$LOG" | awk -v n="$1" '$1 == "STEP" && $2 == n {print $4}'; }

# hello NAME N: the step printed N ranks of size N in two QEMU guests, sum right
hello() {
	local name=$1 n=$2 r
	r=$(grep '^rank ' "$WORK/$name.out" 2>/dev/null | sort -n -k2)
	expect_eq "$name: srun exits 0" "$(st "$name")" 0
	expect_eq "$name: $n ranks of $n, each in a QEMU guest" \
		"$(printf '%s\n' "$r" | awk '{print $2, $4, $7}' | tr '\n' ';')" \
		"$(for i in $(seq 0 $((n - 1))); do printf '%s %s (QEMU);' "$i" "$n"; done)"
	expect_eq "$name: the ranks are in two different guests, $((n / 2)) in each" \
		"$(printf '%s\n' "$r" | awk '{print $6}' | sort | uniq -c | awk '{print $2 ":" $1}' | tr '\n' ' ')" \
		"n1:$((n / 2)) n2:$((n / 2)) "
	expect_eq "$name: Allreduce gives the sum of the ranks on every rank" \
		"$(printf '%s\n' "$r" | awk '{print $NF}' | sort -u)" "$((n * (n - 1) / 2))"
}
hello pmi2 4
hello pmi2all "$ALL"
hello pmix 4
hello pmixall "$ALL"

for a in pmi2abort pmixabort; do
	expect_eq "$a: MPI_Abort makes srun fail" "$([ -n "$(st $a)" ] && [ "$(st $a)" != 0 ] && [ "$(st $a)" != 124 ] && echo failed)" failed
	# (106 s here under TCG with two ranks per guest, 2 cores for two
	# guests: the line is srun's own timeout, as in test_mpi.sh)
	expect_eq "$a: ... before the step's own 240 s timeout" "$([ -n "$(secs $a)" ] && [ "$(st $a)" != 124 ] && echo prompt)" prompt
	echo "# $a: the step ended $(secs $a) s after it started"
	expect_match "$a: ... and the user sees the abort" "$(cat "$WORK/$a.err" 2>/dev/null)" "rank 1 aborting"
done

# the steps Open MPI's init race hit, each taken once more (steps.sh)
NRACE=0
for r in $(printf '%s\n' "$LOG" | awk '$1 == "INITRACE" {print $2}'); do
	NRACE=$((NRACE + 1))
	echo "# $r: a rank died of SIGSEGV in Open MPI's MPI_Init (a peer's message before MPI_COMM_WORLD was set up): the step once more; its first line: $(head -n 1 "$WORK/$r.initrace.err")"
done

ok=0
for i in $(seq 1 "$SOAK"); do [ "$(st pmixsoak$i)" = 0 ] && grep -q "^rank 3 of 4" "$WORK/pmixsoak$i.out" && ok=$((ok + 1)); done
expect_eq "$SOAK --mpi=pmix steps back to back all succeed" "$ok" "$SOAK"
ok=0
for i in $(seq 1 "$SOAK"); do [ "$(st pmi2soak$i)" = 0 ] && grep -q "^rank 3 of 4" "$WORK/pmi2soak$i.out" && ok=$((ok + 1)); done
expect_eq "$SOAK --mpi=pmi2 steps (2 ranks per guest) back to back all succeed" "$ok" "$SOAK"

# ---- sacct: the steps' exit codes, as for native steps (0:0 for the
# hellos; MPI_Abort's step is not 0:0)
if [ -n "$job" ]; then
	svm_sacct_final "$job" JobName,ExitCode
	steps=$(printf '%s\n' "$OUT" | grep '^mpi_' | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')
	# (the Open MPI init crashes above are the only hello steps that
	# may have another exit code, and theirs is signal 11)
	expect_eq "sacct: every hello step exited 0:0 (but the $NRACE Open MPI init crashes: 0:11)" \
		"$(printf '%s\n' "$OUT" | awk -F'|' '$1 ~ /^mpi_hello/ && $2 != "0:0" && !($1 == "mpi_hello.openmpi" && $2 == "0:11")' | head -n 3) $(printf '%s\n' "$OUT" | awk -F'|' '$1 ~ /^mpi_hello/ && $2 == "0:11"' | wc -l)" \
		" $NRACE"
	expect_eq "sacct: the MPI_Abort steps have a non-zero exit code" \
		"$(printf '%s\n' "$OUT" | awk -F'|' '$1 ~ /^mpi_abort/ && $2 != "0:0" {n++} END {print n + 0}')" \
		2
	echo "# sacct: $steps; abort steps: $(printf '%s\n' "$OUT" | awk -F'|' '$1 ~ /^mpi_abort/ {printf "%s=%s ", $1, $2}')"
fi

# ---- nothing left behind
svm_expect_nothing_left "after the MPI job"
expect_eq "no MPI rank left on the host" "$(pgrep -u "$SVM_TEST_USER" -a 2>/dev/null | grep -E 'mpi_(hello|abort)' || true)" ""
svm_e2e_summary
