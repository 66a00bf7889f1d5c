#!/usr/bin/env bash
# The job's own user attacks the runtime directory of its job (one VM job on
# n1, as the unprivileged test user):
#  - during the prolog a process of the user keeps swapping the agent
#    channel socket for a symbolic link to a root-only canary file, and
#    tries to write into the runtime directory (a full /run drains nodes);
#  - while the job runs, another user (nobody) tries to read the job's
#    state files, and the job user those that are root's alone;
#  - a process started by the relay must not outlive the epilog.
# After the job the canary is root's with its mode and content, the nodes
# are idle, and nothing of the relay is left.
set -u
. "$(dirname "$0")/lib.sh"
svm_e2e_workdir e2e-attack
RUN=$SVM_CLUSTER_DIR/vmrun
NODE=n1

# ---- the canary: root's, mode 0600, in a directory only root may enter
CANDIR=$(mktemp -d /var/tmp/svm-canary.XXXXXX)
CANARY=$CANDIR/canary
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$CANARY"
chmod 0600 "$CANARY"
CANSUM=$(sha256sum < "$CANARY")
# running (not a zombie waiting for init) and still the process we saw
running() {	# running PID START
	[ -n "$1" ] && [ -n "$2" ] &&
		awk -v s="$2" '{ exit !($22 == s && $3 != "Z" && $3 != "X") }' "/proc/$1/stat" 2>/dev/null
}
SLEEPER= SSTART=
cleanup() {
	running "$SLEEPER" "$SSTART" && kill -9 "$SLEEPER" 2>/dev/null
	[ -n "${APID:-}" ] && kill "$APID" 2>/dev/null
	rm -rf "$CANDIR"
	rm -f "$RUN"/junk.* 2>/dev/null
}
trap cleanup EXIT

# ---- the attacker, as the job user: runs until the prolog is done
cat > "$WORK/attack.sh" <<'EOS'
#!/bin/bash
# attack.sh RUNDIR STATEDIR CANARY LOG
run=$1 d=$2 canary=$3 log=$4 swapped=0
end=$((SECONDS + 240))
while [ $SECONDS -lt $end ] && [ ! -e "$d/outcome" ]; do
	for s in "$d/sock/agent.sock" "$d/agent.sock"; do
		if [ $swapped = 0 ] && [ -S "$s" ] && mv "$s" "$s.moved" 2>/dev/null; then
			ln -s "$canary" "$s" 2>/dev/null && echo "swapped $s" >> "$log"
			swapped=1
			# give the socket back after a while, so the job goes on
			( sleep 3; rm -f "$s"; mv "$s.moved" "$s" ) &
		fi
	done
	for t in "$run/junk.$$" "$d/junk" "$d/sock/junk" "$d/sock/agent.sock.x"; do
		if ( : > "$t" ) 2>/dev/null; then
			grep -qxF "wrote $t" "$log" 2>/dev/null || echo "wrote $t" >> "$log"
		fi
	done
	sleep 0.01
done
EOS
chmod 0755 "$WORK/attack.sh"
: > "$WORK/attack.log"
chown "$SVM_TEST_USER" "$WORK/attack.log"

# The job's step waits for the test's word (the guest sees the work dir).
cat > "$WORK/job.sh" <<'EOS'
#!/bin/sh
srun sh -c 'echo step-ran; i=0; while [ ! -e done ] && [ $i -lt 240 ]; do sleep 0.5; i=$((i+1)); done'
EOS
svm_run sh -c 'cd "$1" && sbatch --parsable -N1 -w "$2" --vm-image="$3" -o job.out job.sh' sh "$WORK" "$NODE" "$IMG"
expect_rc "sbatch of the VM job" 0
JOB=${OUT%%;*}
D=$RUN/$JOB.$NODE
svm_as_user "$WORK/attack.sh" "$RUN" "$D" "$CANARY" "$WORK/attack.log" &
APID=$!

# ---- while the job runs
for _ in $(seq 1 600); do
	[ -s "$D/outcome" ] && [ -s "$D/relay.pid" ] && grep -q step-ran "$WORK/job.out" 2>/dev/null && break
	sleep 0.5
done
expect_match "the job's step runs in its guest" "$(cat "$WORK/job.out" 2>/dev/null)" "step-ran"
wait "$APID" 2>/dev/null
APID=

readable() {	# readable USER FILE...: the files USER can read, or list
	local u=$1 f
	shift
	for f in "$@"; do
		if [ -d "$f" ]; then
			svm_as_user -u "$u" ls "$f" > /dev/null 2>&1 && echo "$f"
		else
			svm_as_user -u "$u" cat "$f" > /dev/null 2>&1 && echo "$f"
		fi
	done
	return 0
}
files=$(ls -A "$D" | sed "s|^|$D/|")
expect_eq "another user can neither list nor read the job's state files" \
	"$(readable nobody "$RUN" "$D" $files | tr '\n' ' ')" ""
root_only=$(printf '%s\n' $files | grep -Ev '/(outcome|cpumap|relay\.sock)$')
expect_eq "the job user cannot read the state files that are root's (relay.pid, logs, domain.xml)" \
	"$(readable "$SVM_TEST_USER" "$D" $root_only | tr '\n' ' ')" ""
expect_eq "the job user reads its outcome" "$(svm_as_user cat "$D/outcome" 2>&1)" "ok"

RELAY=$(awk '{print $1}' "$D/relay.pid")
RSTART=$(awk '{print $22}' "/proc/$RELAY/stat" 2>/dev/null)
expect_eq "the relay runs as the job user" "$(ps -o user= -p "$RELAY")" "$SVM_TEST_USER"
expect_eq "the relay runs in a cgroup of its own" \
	"$(awk -F: '$1 == "0" {print $3}' "/proc/$RELAY/cgroup")" "/slurm-vm/$JOB.$NODE"
expect_eq "the relay's file size limit caps its log (RLIMIT_FSIZE, hard too)" \
	"$(awk '/^Max file size/ {print $4, $5}' "/proc/$RELAY/limits")" "2097152 2097152"
# The relay starts a process of its own (it forks and execs a shell that
# leaves a sleeper behind), as a relay taken over by the user could.
rm -f "$WORK/sleeper.pid"
timeout 60 gdb -q -n -batch -p "$RELAY" \
	-ex "call (int)system(\"/bin/sleep 1001 & echo \$! > $WORK/sleeper.pid\")" > "$WORK/gdb.out" 2>&1
for _ in $(seq 1 20); do [ -s "$WORK/sleeper.pid" ] && break; sleep 0.2; done
SLEEPER=$(cat "$WORK/sleeper.pid" 2>/dev/null)
SSTART=$(awk '{print $22}' "/proc/$SLEEPER/stat" 2>/dev/null)
expect_match "a process started by the relay runs (gdb made the relay fork one)" "$SLEEPER" '^[0-9]+$'

# ---- the job ends
svm_as_user touch "$WORK/done"
for _ in $(seq 1 300); do
	[ -z "$(squeue -h -j "$JOB" 2>/dev/null)" ] && [ ! -e "$D" ] && break
	sleep 0.5
done
expect_eq "the epilog removed the state directory" "$(ls -d "$D" 2>/dev/null)" ""
alive=
running "$RELAY" "$RSTART" && alive="relay $RELAY"
running "$SLEEPER" "$SSTART" && alive="$alive sleeper $SLEEPER"
expect_eq "after the epilog no relay and no process it started is left" "$alive" ""
cg=
for m in /sys/fs/cgroup /sys/fs/cgroup/unified; do
	[ "$(stat -fc %T "$m" 2>/dev/null)" = cgroup2fs ] && [ -e "$m/slurm-vm/$JOB.$NODE" ] && cg="$m/slurm-vm/$JOB.$NODE"
done
expect_eq "the relay's cgroup is gone" "$cg" ""

expect_eq "the canary is still root's, mode 0600" "$(stat -c '%U:%G %a' "$CANARY")" "root:root 600"
expect_eq "the canary's content is unchanged" "$(sha256sum < "$CANARY")" "$CANSUM"
expect_eq "the user could not swap the agent socket nor write into the runtime directory" \
	"$(tr '\n' ';' < "$WORK/attack.log")" ""
expect_nodes_idle "the nodes are idle, not drained"
svm_e2e_summary
