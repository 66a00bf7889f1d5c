#!/usr/bin/env bash
# The epilog removes what a user left in their job's directories, as root,
# without being turned against the node: a directory swapped for a symbolic
# link to root's files during the removal, a chain deeper than PATH_MAX, a
# node list longer than 4096 bytes.  Each ends with the files removed, root's
# files intact and the nodes in service.  Needs tests/cluster/up.
set -u
. "$(dirname "$0")/lib.sh"
svm_e2e_workdir e2e-attack-teardown

in_work() { svm_run sh -c 'cd "$1" && shift && exec "$@"' sh "$WORK" "$@"; }
SCRATCH=$SVM_CLUSTER_DIR/scratch
RUNTIME=$SVM_CLUSTER_DIR/vmrun

# Root's directory the attack aims at, with a file only root may read.
CANARY_DIR=$(mktemp -d /var/tmp/svm-canary.XXXXXX)
chmod 0755 "$CANARY_DIR"
echo "root's secret" > "$CANARY_DIR/canary"
chmod 0600 "$CANARY_DIR/canary"
cleanup() {
	[ -n "${SWAPPER:-}" ] && kill "$SWAPPER" 2>/dev/null
	rm -rf "$CANARY_DIR"
}
trap cleanup EXIT

# ---- job A (n1): its scratch dir holds directories d1..d40, each with a
# file named like root's canary, and next to each a link l<i> to root's
# directory; once the job ends, the user swaps each d<i> with its l<i>
# (renameat2 RENAME_EXCHANGE) as fast as they can, while the epilog runs.
cat > "$WORK/attack.sh" <<EOS
#!/bin/bash
cd "$SCRATCH/\$SLURM_JOB_ID.\$SLURMD_NODENAME" || exit 1
for i in \$(seq 1 40); do
	mkdir d\$i && : > d\$i/canary || exit 1
	for f in \$(seq 1 30); do : > d\$i/f\$f; done
	ln -s "$CANARY_DIR" l\$i
done
touch ready
while [ ! -e go ]; do sleep 0.2; done
EOS
# ---- job B (n2): a chain of directories deeper than PATH_MAX
cat > "$WORK/deep.sh" <<EOS
#!/bin/bash
cd "$SCRATCH/\$SLURM_JOB_ID.\$SLURMD_NODENAME" || exit 1
n=\$(printf 'x%.0s' \$(seq 1 200))
for i in \$(seq 1 30); do mkdir "\$n" && cd -P "\$n" || exit 1; done
: > bottom && echo "DEEP \$i"
EOS
cat > "$WORK/swap.py" <<'EOS'
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
top, end, swaps = sys.argv[1], time.time() + 120, 0
fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
names = [(b"d%d" % i, b"l%d" % i) for i in range(1, 41)]
while time.time() < end and os.path.exists(top):
    for a, b in names:
        swaps += libc.renameat2(fd, a, fd, b, 2) == 0  # RENAME_EXCHANGE
print(swaps)
EOS
chmod 0755 "$WORK/attack.sh" "$WORK/deep.sh"
chmod 0644 "$WORK/swap.py"

in_work sbatch -N1 -w n1 -o attack.out --vm-image="$IMG" attack.sh
JA=$(printf '%s\n' "$OUT" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
in_work sbatch -N1 -w n2 -o deep.out --vm-image="$IMG" deep.sh
JB=$(printf '%s\n' "$OUT" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
SA=$SCRATCH/$JA.n1
SB=$SCRATCH/$JB.n2
for _ in $(seq 1 900); do [ -e "$SA/ready" ] && break; sleep 0.2; done
expect_eq "the attacking job filled its scratch dir" "$([ -e "$SA/ready" ] && echo yes)" "yes"
expect_eq "... which is the job user's" "$(stat -c %U "$SA" 2>/dev/null)" "$SVM_TEST_USER"

svm_as_user python3 "$WORK/swap.py" "$SA" > "$WORK/swaps.out" 2>&1 &
SWAPPER=$!
sleep 1
svm_as_user touch "$SA/go"
for _ in $(seq 1 900); do
	[ -z "$(squeue -h -j "$JA,$JB" -o %i 2>/dev/null)" ] && break
	sleep 0.2
done
wait "$SWAPPER"
SWAPPER=
expect_match "the user swapped directories and links during the epilog" "$(cat "$WORK/swaps.out")" "^[1-9][0-9]*$"
expect_eq "root's file the links pointed at still exists, root's, intact" \
	"$(stat -c '%U %a' "$CANARY_DIR/canary" 2>/dev/null) $(cat "$CANARY_DIR/canary" 2>/dev/null)" \
	"root 600 root's secret"
expect_eq "the deep chain was built (deeper than PATH_MAX)" "$(cat "$WORK/deep.out" 2>/dev/null)" "DEEP 30"
expect_nodes_idle "both nodes stay in service (not drained)"
expect_eq "the attacked scratch dir is removed" "$(ls -d "$SA" 2>/dev/null)" ""
expect_eq "the scratch dir with the deep chain is removed" "$(ls -d "$SB" 2>/dev/null)" ""
expect_eq "no runtime dir of either job is left" "$(ls -d "$RUNTIME/$JA.n1" "$RUNTIME/$JB.n2" 2>/dev/null)" ""

# ---- a node list longer than 4096 bytes (a large job): the epilog, run
# with the environment slurmd gives it, succeeds for a plain job and for
# the leftovers of a VM job, and removes those.
nodes="n[1-2]"
for i in $(seq 1 900); do nodes="$nodes,big$i"; done
J=$((4000000 + RANDOM))
run_epilog() {
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SLURM_CONF="$SLURM_CONF" SLURM_JOB_ID="$J" \
		SLURM_JOB_UID="$SVM_TEST_UID" SLURM_JOB_GID="$(id -g "$SVM_TEST_USER")" \
		SLURM_JOB_USER="$SVM_TEST_USER" SLURMD_NODENAME=n1 SLURM_NODELIST="$nodes" \
		SLURM_JOB_WORK_DIR="$WORK" "$@" "$SVM_BUILD_DIR/epilog/slurm-vm-epilog"
}
run_epilog
expect_eq "a plain job with a ${#nodes}-byte node list: the epilog exits 0" "$?" "0"
mkdir -p "$RUNTIME/$J.n1/sock" "$SCRATCH/$J.n1/sub"
echo ok > "$RUNTIME/$J.n1/outcome"
chown "$SVM_TEST_USER" "$RUNTIME/$J.n1/sock" "$SCRATCH/$J.n1" "$SCRATCH/$J.n1/sub"
chmod 0700 "$SCRATCH/$J.n1"
run_epilog
expect_eq "leftovers of a VM job with that node list: the epilog exits 0" "$?" "0"
expect_eq "... and removes them" "$(ls -d "$RUNTIME/$J.n1" "$SCRATCH/$J.n1" 2>/dev/null)" ""
run_epilog SPANK_VM_IMAGE="$IMG"
expect_eq "a VM job with that node list: the epilog exits 0" "$?" "0"
expect_nodes_idle "the nodes are still in service"

svm_e2e_summary
