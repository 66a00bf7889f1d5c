#!/usr/bin/env bash
# Faults under a running VM job, injected as root from outside the guest,
# as the unprivileged test user sees them on the local cluster: QEMU killed,
# the guest kernel panicking or powering off, the guest agent killed (and
# restarted by the guest's init), libvirtd and slurmd restarted.  Each: what
# the user reads, that no node drains (none of these is a node fault), and
# that nothing of the job is left afterwards.  Needs tests/cluster/up and
# the test image (busybox, kernel boot).
set -u
. "$(dirname "$0")/lib.sh"
svm_e2e_workdir e2e-fault-guest
CONF=$SVM_CLUSTER_DIR/etc/vm.conf

# The faults come through the guest's keyboard: magic SysRq, all of its
# functions enabled on the test kernel's command line (vm.conf is read by
# each prolog; the last kernel_cmdline line wins).
cp "$CONF" "$WORK/vm.conf.saved"
echo "kernel_cmdline = $(cat "$SVM_IMAGE_DIR/cmdline") sysrq_always_enabled" >> "$CONF"
trap 'cp "$WORK/vm.conf.saved" "$CONF"' EXIT

# bg NAME SECS CMD...: runs CMD as the user in the work dir, in the
# background, for at most SECS (then timeout ends it: exit 124), with its
# output in NAME.out / NAME.err; BG is its pid, T0 when it started.
bg() {
	local name=$1 secs=$2
	shift 2
	svm_as_user sh -c 'cd "$1" && shift && exec timeout "$@"' sh "$WORK" "$secs" "$@" \
		> "$WORK/$name.out" 2> "$WORK/$name.err" < /dev/null &
	BG=$!
}

# bg_wait NAME: waits for the background command; sets RC, OUT, ERR and
# TOOK (the seconds since the call that waits, normally right after the
# fault).
bg_wait() {
	local t0=$SECONDS
	wait "$BG"
	RC=$?
	TOOK=$((SECONDS - t0))
	OUT=$(cat "$WORK/$1.out")
	ERR=$(cat "$WORK/$1.err")
}

# until_file FILE SECS: waits until FILE exists; 0 if it does.
until_file() {
	local end=$((SECONDS + $2))
	while [ ! -s "$1" ] && [ $SECONDS -lt $end ]; do sleep 0.2; done
	[ -s "$1" ]
}

# The one job of the test user on n1 (this script runs one at a time
# there; n2 has the time limit's job below).
user_job() { squeue -h -u "$SVM_TEST_USER" -w n1 -o %i | head -n1; }

# sysrq DOMAIN KEY: Alt+SysRq+KEY on the guest's keyboard.
sysrq() { virsh -c "$SVM_LIBVIRT_URI" send-key "$1" KEY_LEFTALT KEY_SYSRQ "KEY_$2" > /dev/null; }

# ---- the time limit hit while the guest boots, on n2 in the background
# while the checks below run on n1: a user's image that never starts its
# agent keeps the prolog waiting (boot_timeout is 300 s here); at the time
# limit (1 minute, Slurm's least) the prolog stops waiting, the guest is
# gone within seconds, and n2 stays in service.  Results at the end.
svm_noagent_image "$WORK/noagent.img"
svm_as_user sh -c 'cd "$1" && exec timeout 250 srun -N1 -w n2 -t 1 --vm-image="$2" true' \
	sh "$WORK" "$WORK/noagent.img" > "$WORK/tl.out" 2> "$WORK/tl.err" < /dev/null &
TL=$!
# its guest's name and when it went (epoch seconds): the first `virsh
# list` that answers without it (libvirtd restarted below answers none)
(
	seen="" end=$((SECONDS + 250))
	while [ $SECONDS -lt $end ]; do
		if l=$(virsh -c "$SVM_LIBVIRT_URI" list --name 2>/dev/null); then
			d=$(printf '%s\n' "$l" | grep -E '^svm-[0-9]+-n2$')
			if [ -n "$d" ]; then
				seen=$d
			elif [ -n "$seen" ]; then
				echo "$seen $(date +%s)" > "$WORK/tl.gone"
				break
			fi
		fi
		sleep 0.5
	done
) &
TLW=$!
SVM_IDLE_NODES=n1

# ---- scancel while the guest boots: the prolog stops waiting, the node
# is free within seconds, not after boot_timeout (300 s here)
svm_run sbatch --parsable -N1 -w n1 -o /dev/null --vm-image="$IMG" --wrap 'srun true'
J=$OUT
for _ in $(seq 1 150); do
	virsh -c "$SVM_LIBVIRT_URI" list --name 2>/dev/null | grep -q "^svm-$J-n1$" && break
	sleep 0.2
done
# (libvirt shows it running or, for a moment, paused)
expect_match "scancel while booting: the guest is up, the prolog has no outcome yet" \
	"$(virsh -c "$SVM_LIBVIRT_URI" domstate "svm-$J-n1" 2>&1) $(ls "$SVM_CLUSTER_DIR/vmrun/$J.n1/outcome" 2>&1 | sed 's/.*: //')" \
	"^(running|paused) No such file or directory$"
svm_as_user scancel "$J"
t0=$SECONDS
for _ in $(seq 1 300); do
	[ -z "$(squeue -h -j "$J" 2>/dev/null)" ] && [ -z "$(svm_leftovers "$J")" ] && break
	sleep 0.2
done
expect_eq "scancel while booting: the job and its guest are gone within 20 s" \
	"$([ $((SECONDS - t0)) -le 20 ] && echo yes || echo "after $((SECONDS - t0)) s")" "yes"
svm_expect_nothing_left "scancel while booting" "$J"

# ---- a step whose guest dies under it: srun fails within seconds with
# the exec's line, exit 255, whichever way the guest went
for fault in qemu-killed panic poweroff; do
	rm -f "$WORK/started"
	bg "$fault" 180 srun -N1 -w n1 --vm-image="$IMG" sh -c 'echo up > started; exec sleep 300'
	if ! until_file "$WORK/started" 120; then
		bg_wait "$fault"
		svm_fail "$fault: the step started" "exit $RC" "$ERR"
		continue
	fi
	J=$(user_job)
	case $fault in
	qemu-killed) kill -KILL "$(cat "/run/libvirt/qemu/svm-$J-n1.pid")" ;;
	panic) sysrq "svm-$J-n1" C ;;
	poweroff) sysrq "svm-$J-n1" O ;;
	esac
	bg_wait "$fault"
	expect_eq "$fault: srun fails with exit 255" "$RC" "255"
	expect_eq "$fault: ... within seconds (at most 15)" "$([ "$TOOK" -le 15 ] && echo yes || echo "$TOOK s")" "yes"
	expect_match "$fault: the user reads that the guest is gone" "$ERR" \
		"^slurm-vm-exec: lost the guest agent: .*\(the guest or QEMU is gone\)$"
	svm_expect_nothing_left "$fault" "$J"
done

# ---- the agent killed mid-step (SysRq+I kills every process but init,
# which starts the agent again): the step fails cleanly, a later step of
# the same job runs in the same guest
cat > "$WORK/agent.sh" <<'EOS'
#!/bin/sh
srun sh -c 'cat /proc/sys/kernel/random/boot_id > boot1; exec sleep 300'
echo "RC1 $?"
# a moment for the guest's init to start the agent again
sleep 3
timeout 60 srun cat /proc/sys/kernel/random/boot_id > boot2
echo "RC2 $?"
EOS
rm -f "$WORK/boot1" "$WORK/boot2"
bg agent 240 sbatch --wait -N1 -w n1 -o agent.log --vm-image="$IMG" agent.sh
if until_file "$WORK/boot1" 120; then
	J=$(user_job)
	sysrq "svm-$J-n1" I
fi
bg_wait agent
L=$(cat "$WORK/agent.log" 2>/dev/null)
expect_eq "agent killed: the running step fails with exit 255" "$(printf '%s\n' "$L" | grep '^RC1')" "RC1 255"
expect_match "agent killed: ... the user reads why" "$L" \
	"^slurm-vm-exec: the guest agent restarted \(it announced a fresh start\): the process is lost$"
expect_eq "agent killed: a later step of the same job runs" "$(printf '%s\n' "$L" | grep '^RC2')" "RC2 0"
expect_eq "agent killed: ... in the same guest (same boot id)" \
	"$(cat "$WORK/boot2" 2>/dev/null)" "$(cat "$WORK/boot1" 2>/dev/null)"
svm_expect_nothing_left "agent killed" "$J"

# ---- libvirtd, virtlogd and slurmd restarted while a step runs: it keeps
# going, later steps run, and the epilog (of the new slurmd, through the
# new libvirtd) still tears the guest down.  virtlogd is stopped for real,
# not re-executed: QEMU's end of the console log is gone while the guest
# writes to its console (SysRq+H prints the SysRq help there).
D=$SVM_CLUSTER_DIR
cat > "$WORK/daemons.sh" <<'EOS'
#!/bin/sh
srun sh -c 'echo up > started; while [ ! -e go ]; do sleep 0.5; done; echo SURVIVED'
echo "RC1 $?"
srun sh -c 'echo AFTER'
echo "RC2 $?"
EOS
rm -f "$WORK/started" "$WORK/go"
bg daemons 240 sbatch --wait -N1 -w n1 -o daemons.log --vm-image="$IMG" daemons.sh
if until_file "$WORK/started" 120; then
	J=$(user_job)
	if [ -s "$D/run/libvirtd.pid" ]; then
		svm_stop_pidfile "$D/run/virtlogd.pid" virtlogd
		sysrq "svm-$J-n1" H
		svm_stop_pidfile "$D/run/libvirtd.pid" libvirtd
		/usr/sbin/virtlogd -d -p "$D/run/virtlogd.pid"
		/usr/sbin/libvirtd -d -p "$D/run/libvirtd.pid"
	else
		systemctl stop virtlogd
		sysrq "svm-$J-n1" H
		systemctl restart libvirtd virtlogd
	fi
	for _ in $(seq 1 100); do virsh -c "$SVM_LIBVIRT_URI" version > /dev/null 2>&1 && break; sleep 0.2; done
	svm_stop_pidfile "$D/run/slurmd-n1.pid" slurmd-n1
	setsid /usr/sbin/slurmd -D -N n1 -f "$SLURM_CONF" >> "$D/log/slurmd-n1.out" 2>&1 < /dev/null &
	echo $! > "$D/run/slurmd-n1.pid"
	for _ in $(seq 1 100); do scontrol show node n1 | grep -q 'State=[A-Z+]*ALLOCATED' && break; sleep 0.2; done
	expect_eq "daemons restarted: the guest still runs" \
		"$(virsh -c "$SVM_LIBVIRT_URI" domstate "svm-$J-n1" 2>&1)" "running"
	svm_as_user touch "$WORK/go"
fi
bg_wait daemons
L=$(cat "$WORK/daemons.log" 2>/dev/null)
expect_rc "daemons restarted: the job completes" 0
expect_eq "daemons restarted: the running step kept going" "$(printf '%s\n' "$L" | grep -E '^(SURVIVED|RC1)' | tr '\n' ' ')" "SURVIVED RC1 0 "
expect_eq "daemons restarted: a later step runs" "$(printf '%s\n' "$L" | grep -E '^(AFTER|RC2)' | tr '\n' ' ')" "AFTER RC2 0 "
svm_expect_nothing_left "daemons restarted" "$J"

# ---- libvirtd restarting while a job ends: the epilog waits for it
# instead of failing (a failed epilog drains the node), and tears down
cat > "$WORK/epi.sh" <<'EOS'
#!/bin/sh
srun sh -c 'echo up > started; sleep 300'
EOS
rm -f "$WORK/started"
bg epi 240 sbatch --wait -N1 -w n1 -o epi.log --vm-image="$IMG" epi.sh
if until_file "$WORK/started" 120; then
	J=$(user_job)
	if [ -s "$D/run/libvirtd.pid" ]; then
		svm_stop_pidfile "$D/run/libvirtd.pid" libvirtd
		scancel "$J"
		sleep 4
		/usr/sbin/libvirtd -d -p "$D/run/libvirtd.pid"
	else
		systemctl stop libvirtd
		scancel "$J"
		sleep 4
		systemctl start libvirtd
	fi
fi
bg_wait epi
expect_match "libvirtd restarting during the epilog: the epilog waited for it" \
	"$(grep "job $J" "$D/log/slurmd-n1.log" 2>/dev/null)" "does not answer; trying again"
svm_expect_nothing_left "libvirtd restarting during the epilog" "$J"

# ---- the time limit while the guest booted (started at the top)
wait "$TL"
RC=$?
wait "$TLW"
ERR=$(cat "$WORK/tl.err")
read -r dom gone < "$WORK/tl.gone" || dom="" gone=""
J=${dom#svm-}
J=${J%-n2}
end=$(date -d "$(svm_as_user sacct -n -X -j "${J:-0}" -o End 2>/dev/null | tr -d ' ')" +%s 2>/dev/null)
expect_eq "time limit while booting: the job ends at its time limit" \
	"$(svm_as_user sacct -n -X -j "${J:-0}" -o State 2>/dev/null | tr -d ' ')" "TIMEOUT"
echo "# time limit while booting: srun exit $RC"
expect_rc "time limit while booting: srun fails" nonzero
# (Slurm's own words: srun waited for the node's prolog, which the time
# limit ended; sacct says TIMEOUT)
expect_eq "time limit while booting: ... the user reads Slurm's lines" "$ERR" \
	"srun: error: Nodes n2 are still not ready
srun: error: Something is wrong with the boot of the nodes."
expect_eq "time limit while booting: the prolog stopped waiting (slurmd's log)" \
	"$(grep -c "slurm-vm-prolog: job $J: job $J ended (time limit) while its guest was booting$" "$D/log/slurmd-n2.log")" "1"
expect_eq "time limit while booting: the guest is gone within 15 s of the limit, not after boot_timeout" \
	"$([ -n "$end" ] && [ -n "$gone" ] && [ $((gone - end)) -le 15 ] && echo yes || echo "end ${end:-?}, gone ${gone:-?}")" "yes"
SVM_IDLE_NODES=
svm_expect_nothing_left "time limit while booting" "$J"

svm_e2e_summary
