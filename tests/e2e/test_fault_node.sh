#!/usr/bin/env bash
# What a node keeps of jobs whose prolog or epilog never ran to the end:
# a prolog killed by Slurm at PrologEpilogTimeout (the epilog after it
# removes the guest), a real epilog killed half-way by SIGKILL (guest,
# relay and files left), a "reboot" (the runtime directory wiped, the
# scratch directory, a VF reservation and a defined-but-dead domain still
# there) and an epilog that died after the domain went (state and scratch
# left).  The next VM job's prolog on the node asks slurmctld, removes what
# belongs to jobs that no longer run, says so in slurmd's log, keeps what
# belongs to a job that still runs, and the job itself runs.  Slurm drains
# the node for a killed prolog or epilog, saying so.  And libvirtd and
# virtlogd away while a prolog creates its domain: the job runs and the
# node stays in service when they are back within the prolog's wait; when
# they are not, the job fails with one line and the node drains with it.
# Needs tests/cluster/up and the test image.
set -u
. "$(dirname "$0")/lib.sh"
svm_e2e_workdir e2e-fault-node
D=$SVM_CLUSTER_DIR
LOG=$D/log/slurmd-n1.log

# Two real jobs that ended (native, quick): their ids are known to
# slurmctld as over.
svm_run srun -N1 -w n1 sh -c 'echo $SLURM_JOB_ID'
A=$OUT
svm_run srun -N1 -w n1 sh -c 'echo $SLURM_JOB_ID'
B=$OUT

# drained_with NAME REASON: n1 is drained with a reason matching REASON
# (Slurm's own, for a prolog or epilog it saw fail); then resumed.
drained_with() {
	local st
	for _ in $(seq 1 100); do
		st=$(sinfo -h -n n1 -o '%T %E')
		case $st in drain*) break ;; esac
		sleep 0.2
	done
	expect_match "$1" "$st" "^drain[a-z]* .*$2"
	scontrol update nodename=n1 state=resume
}

# ---- the prolog killed by Slurm (PrologEpilogTimeout, 8 s for this
# check) while it waits for a guest that never starts its agent: the job
# fails, Slurm drains the node for its prolog (a site whose
# PrologEpilogTimeout is below boot_timeout: the admin's to fix), and the
# epilog that follows removes the guest the killed prolog left
svm_noagent_image "$WORK/noagent.img"
cp "$SLURM_CONF" "$WORK/slurm.conf.saved"
echo "PrologEpilogTimeout=8" >> "$SLURM_CONF"
scontrol reconfigure
t0=$SECONDS
svm_run timeout 120 srun -N1 -w n1 -J prolog-killed --vm-image="$WORK/noagent.img" true
P=$(grep -o "slurm-vm-prolog: job [0-9]*: booting the guest of job [0-9]* on n1 from $WORK/noagent.img$" "$LOG" |
	tail -n1 | cut -d' ' -f3 | tr -d :)
expect_rc "prolog killed at PrologEpilogTimeout: the job fails" nonzero
expect_eq "... within 30 s" \
	"$([ $((SECONDS - t0)) -le 30 ] && echo yes || echo "after $((SECONDS - t0)) s")" "yes"
expect_match "... the user reads that the node's prolog failed" "$ERR" "[Pp]rolog"
drained_with "... Slurm drains the node, saying why" "[Pp]rolog"
expect_eq "... slurmd's log says it killed the prolog" \
	"$(grep -c "error: \[job $P\] prolog failed status=0:15$" "$LOG")" "1"
cp "$WORK/slurm.conf.saved" "$SLURM_CONF"
scontrol reconfigure
svm_expect_nothing_left "prolog killed at PrologEpilogTimeout" "$P"

# ---- the epilog killed half-way (SIGKILL by pid, while it waits for a
# libvirtd that is stopped): Slurm drains the node for it; the job's guest,
# relay and files stay until the next VM job's prolog on the node (below)
rm -f "$WORK/started"
svm_as_user sh -c 'cd "$1" && exec timeout 200 srun -N1 -w n1 -J epilog-killed --vm-image="$2" sh -c "echo up > started; exec sleep 300"' \
	sh "$WORK" "$IMG" > "$WORK/epi.out" 2> "$WORK/epi.err" < /dev/null &
EPI=$!
for _ in $(seq 1 600); do [ -s "$WORK/started" ] && break; sleep 0.2; done
E=$(squeue -h -n epilog-killed -o %i | head -n1)
own_libvirtd=0
if [ -s "$D/run/libvirtd.pid" ]; then
	own_libvirtd=1
	svm_stop_pidfile "$D/run/libvirtd.pid" libvirtd
else
	systemctl stop libvirtd
fi
scancel "$E"
epid=""
for _ in $(seq 1 100); do
	for p in $(pgrep -x slurm-vm-epilog); do
		tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "SLURM_JOB_ID=$E" && epid=$p
	done
	[ -n "$epid" ] && break
	sleep 0.1
done
[ -n "$epid" ] && sleep 1 && kill -KILL "$epid"
if [ "$own_libvirtd" = 1 ]; then
	/usr/sbin/libvirtd -d -p "$D/run/libvirtd.pid"
else
	systemctl start libvirtd
fi
for _ in $(seq 1 100); do virsh -c "$SVM_LIBVIRT_URI" version > /dev/null 2>&1 && break; sleep 0.2; done
wait "$EPI"
expect_eq "epilog killed: it was running when killed" "$([ -n "$epid" ] && echo yes)" "yes"
drained_with "epilog killed: Slurm drains the node, saying why" "[Ee]pilog"
expect_match "epilog killed: its job's guest and files are left for the next prolog" \
	"$(svm_leftovers "$E" | tr '\n' ' ')" "domain: svm-$E-n1 .*vmrun entry: $E\.n1 .*scratch entry: $E\.n1"

# and one that still runs on n1 (native, one CPU, beside the VM job)
svm_run sbatch --parsable -N1 -n1 -w n1 -o /dev/null --wrap 'sleep 120'
K=$OUT
for _ in $(seq 1 50); do [ "$(squeue -h -j "$K" -o %T)" = RUNNING ] && break; sleep 0.2; done

# scratch/<job>.n1 as the prolog makes it: the user's, with an overlay
scratch() {
	mkdir -p "$D/scratch/$1.n1"
	: > "$D/scratch/$1.n1/overlay.qcow2"
	chown -R "$SVM_TEST_USER" "$D/scratch/$1.n1"
	chmod 0700 "$D/scratch/$1.n1"
}

# A, "rebooted": its runtime dir wiped, its scratch dir, a defined (not
# running) domain on its overlay, and a VF reservation left
scratch "$A"
cat > "$WORK/dom.xml" <<EOX
<domain type='qemu'><name>svm-$A-n1</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64'>hvm</type></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
<source file='$D/scratch/$A.n1/overlay.qcow2'/><target dev='vda' bus='virtio'/></disk></devices></domain>
EOX
virsh -c "$SVM_LIBVIRT_URI" define "$WORK/dom.xml" > /dev/null
mkdir -p "$D/vmrun/vf"
echo "job=$A node=n1" > "$D/vmrun/vf/0000:7f:00.2"
# B, its epilog killed after the domain went: state and scratch left
scratch "$B"
mkdir -p "$D/vmrun/$B.n1"
echo "svm-$B-n1" > "$D/vmrun/$B.n1/domain.started"
# K, still running: its (pretend) scratch dir must stay
scratch "$K"

L=$(svm_leftovers | tr '\n' ' ')
expect_match "the leftovers are in place" "$L" \
	"domain: .*svm-$A-n1 .*vmrun entry: .*$B\\.n1 .*scratch entry: .*$A\\.n1 .*IB reservation: job=$A node=n1"

# ---- the next VM job on n1
svm_run srun -N1 -w n1 --vm-image="$IMG" cat /sys/class/dmi/id/sys_vendor
expect_eq "the next VM job on the node runs" "$RC $OUT" "0 QEMU"
expect_eq "the rebooted job's domain is undefined" \
	"$(virsh -c "$SVM_LIBVIRT_URI" list --all --name | grep -c "^svm-$A-n1$")" "0"
expect_eq "... its scratch dir removed" "$(ls -d "$D/scratch/$A.n1" 2>/dev/null)" ""
expect_eq "... its VF reservation released" "$(ls "$D/vmrun/vf" 2>/dev/null | grep -v '^lock$')" ""
expect_eq "the half-torn-down job's state and scratch are removed" \
	"$(ls -d "$D/vmrun/$B.n1" "$D/scratch/$B.n1" 2>/dev/null)" ""
expect_eq "slurmd's log says what was reclaimed for job $A" \
	"$(grep -c "slurm-vm-prolog: .*job $A no longer runs on n1 (slurmctld) but had left its guest's domain or files here: removed" "$LOG")" "1"
expect_eq "... and for job $B" "$(grep -c "slurm-vm-prolog: .*job $B no longer runs on n1 (slurmctld)" "$LOG")" "1"
expect_eq "... and for the job whose epilog was killed" \
	"$(grep -c "slurm-vm-prolog: .*job $E no longer runs on n1 (slurmctld)" "$LOG")" "1"
expect_eq "... which left nothing" "$(svm_leftovers "$E")" ""
expect_eq "what a running job holds is kept" "$(ls -d "$D/scratch/$K.n1" 2>/dev/null)" "$D/scratch/$K.n1"
expect_eq "... and not reported" "$(grep -c "job $K no longer runs" "$LOG")" "0"

scancel "$K"
svm_expect_nothing_left "after the reclaim"

# ---- libvirtd and virtlogd away while a job's prolog creates its domain
# (the node's daemons restarted as a job starts): no node fault while they
# come back within the prolog's wait (20 s), a node fault when they do not.
# virtlogd is stopped before the job, so the create fails on its socket;
# its sockets too where systemd has them, or the first connect starts it.
virtlogd_stop() {
	if [ "$own_libvirtd" = 1 ]; then
		svm_stop_pidfile "$D/run/virtlogd.pid" virtlogd
	else
		systemctl stop virtlogd.socket virtlogd-admin.socket virtlogd
	fi
}
virtlogd_start() {
	if [ "$own_libvirtd" = 1 ]; then
		/usr/sbin/virtlogd -d -p "$D/run/virtlogd.pid"
	else
		systemctl start virtlogd.socket virtlogd-admin.socket virtlogd
	fi
}
# create_job NAME CMD...: a job on n1 as the user, in the background (BG),
# output in NAME.out/.err; MARK is where slurmd's log stood before it.
create_job() {
	local name=$1
	shift
	MARK=$(wc -l < "$LOG")
	svm_as_user sh -c 'cd "$1" && shift && exec timeout 200 srun -N1 -w n1 "$@"' sh "$WORK" \
		-J "$name" --vm-image="$IMG" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" < /dev/null &
	BG=$!
}
# since_mark: slurmd's log since MARK; job_since_mark: the job it booted
since_mark() { tail -n "+$((MARK + 1))" "$LOG"; }
job_since_mark() {
	since_mark | grep -o "slurm-vm-prolog: job [0-9]*: booting the guest of job [0-9]* on n1 from $IMG$" |
		tail -n1 | cut -d' ' -f3 | tr -d :
}
bg_wait() {
	wait "$BG"
	RC=$?
	OUT=$(cat "$WORK/$1.out")
	ERR=$(cat "$WORK/$1.err")
}

# Back in time: once the prolog says it retries, libvirtd is restarted
# too (its connection closes under the prolog), then virtlogd started.
# Before the retry, the create's error drained the node and failed the job.
virtlogd_stop
create_job create-retry cat /sys/class/dmi/id/sys_vendor
for _ in $(seq 1 300); do
	since_mark | grep -q "went away during the domain create of svm-[0-9]*-n1 " && break
	kill -0 "$BG" 2>/dev/null || break
	sleep 0.2
done
if [ "$own_libvirtd" = 1 ]; then
	svm_stop_pidfile "$D/run/libvirtd.pid" libvirtd
	virtlogd_start
	/usr/sbin/libvirtd -d -p "$D/run/libvirtd.pid"
else
	systemctl stop libvirtd
	virtlogd_start
	systemctl start libvirtd
fi
for _ in $(seq 1 100); do virsh -c "$SVM_LIBVIRT_URI" version > /dev/null 2>&1 && break; sleep 0.2; done
bg_wait create-retry
R=$(job_since_mark)
expect_eq "daemons away during the domain create: the job runs" "$RC $OUT" "0 QEMU"
expect_eq "... slurmd's log says the prolog retried on virtlogd's socket, once" \
	"$(since_mark | grep -c "slurm-vm-prolog: job $R: libvirtd or virtlogd went away during the domain create of svm-$R-n1 (Failed to connect socket to '[^']*virtlogd-sock': [A-Za-z ]*): retrying for up to 20 s$")" "1"
expect_eq "... and that the create went through" \
	"$(since_mark | grep -c "slurm-vm-prolog: job $R: the domain create of svm-$R-n1 went through after [0-9.]* s, [0-9]* tries$")" "1"
expect_eq "... and logged no error" "$(since_mark | grep -c "error: slurm-vm-prolog: job $R: ")" "0"
svm_expect_nothing_left "daemons away during the domain create" "$R"
case $(sinfo -h -n n1 -o %T) in drain*) scontrol update nodename=n1 state=resume ;; esac

# Away for longer than the prolog waits: a node fault, said once
virtlogd_stop
create_job create-away true
bg_wait create-away
virtlogd_start
R=$(job_since_mark)
expect_rc "daemons away for longer than the prolog waits: the job fails" nonzero
L=$(printf '%s\n' "$ERR" | grep 'slurm-vm: ' | sed 's/^.*slurm-vm: /slurm-vm: /' | sort -u)
expect_eq "... the user reads one line of slurm-vm's" "$(printf '%s\n' "$L" | grep -c .)" "1"
expect_match "... which says why" "$L" \
	"^slurm-vm: cannot start the guest: libvirtd or virtlogd did not come back within 20 s: Failed to connect socket to '[^']*virtlogd-sock': [A-Za-z ]*$"
drained_with "... the node drains, saying why" "slurm-vm: cannot start the guest: libvirtd or virtlogd did not come back"
expect_eq "... slurmd's log says it retried once" \
	"$(since_mark | grep -c "slurm-vm-prolog: job $R: libvirtd or virtlogd went away during the domain create")" "1"
svm_expect_nothing_left "daemons away for longer than the prolog waits" "$R"
cd / && rm -rf "$WORK"
svm_e2e_summary
