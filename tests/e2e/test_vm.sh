#!/usr/bin/env bash
# VM jobs end to end, as the unprivileged test user on the local cluster:
# guests boot on both nodes shaped like the host, tasks run inside them,
# and nothing is left behind.  Needs tests/cluster/up and the test image.
set -u
. "$(dirname "$0")/lib.sh"
svm_e2e_workdir e2e-vm

# Runs a command as the user in the work dir (the job's working directory,
# which the guests see at the same path).
in_work() { svm_run sh -c 'cd "$1" && shift && exec "$@"' sh "$WORK" "$@"; }

# ---- one batch job, two nodes, several steps in the same guests
cat > "$WORK/job.sh" <<'EOS'
#!/bin/sh
#SBATCH -N2
#SBATCH --ntasks-per-node=1
#SBATCH --exclusive
#SBATCH -o batch.out
echo "BATCHHOST $(cat /proc/sys/kernel/random/boot_id)"
srun sh -c 'echo "VENDOR $(hostname) $(cat /sys/class/dmi/id/sys_vendor)"; echo "UID $(id -u)"; echo "BOOT1 $(hostname) $(cat /proc/sys/kernel/random/boot_id)"; echo "SHAPE $(hostname) numa=$(ls -d /sys/devices/system/node/node[0-9]* | wc -l) cpus=$(grep -c ^processor /proc/cpuinfo) bound=$(nproc)"; echo "CWD $(pwd)"'
srun sh -c 'echo "BOOT2 $(hostname) $(cat /proc/sys/kernel/random/boot_id)"'
srun -N1 -n2 --cpu-bind=cores sh -c 'echo "BIND $SLURM_LOCALID $(nproc) $(grep Cpus_allowed_list /proc/self/status | cut -f2)"'
srun -N1 -n1 sh -c 'exit 7'
echo "STEPRC $?"
head -c 5000000 /dev/urandom > stdin.bin
srun -N1 -n1 cat < stdin.bin > stdout.bin
echo "STDIN $(sha256sum < stdin.bin | cut -c1-64) $(sha256sum < stdout.bin | cut -c1-64)"
srun -N1 -n1 sh -c 'echo to-out; echo to-err >&2' > split.out 2> split.err
echo "SPLIT $(cat split.out) / $(cat split.err)"
srun -N1 -n1 sh -c 'echo written-by-guest > from-guest.txt'
EOS
in_work sbatch --wait --vm-image="$IMG" job.sh
expect_rc "sbatch --vm-image job with srun steps completes" 0
JOB=$(printf '%s\n' "$OUT" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
B=$(cat "$WORK/batch.out" 2>/dev/null)
expect_eq "the batch script itself runs on the host" "$(printf '%s\n' "$B" | sed -n 's/^BATCHHOST //p')" "$(cat /proc/sys/kernel/random/boot_id)"
expect_eq "srun steps run inside a QEMU guest on both nodes" \
	"$(printf '%s\n' "$B" | grep '^VENDOR' | sort | tr '\n' ';')" "VENDOR n1 QEMU;VENDOR n2 QEMU;"
expect_eq "tasks in the guest run as the job user" \
	"$(printf '%s\n' "$B" | grep '^UID' | sort -u)" "UID $(id -u "$SVM_TEST_USER")"
b1=$(printf '%s\n' "$B" | sed -n 's/^BOOT1 //p' | sort)
b2=$(printf '%s\n' "$B" | sed -n 's/^BOOT2 //p' | sort)
expect_eq "two steps of a job run in the same guests (same boot ids)" "$b2" "$b1"
expect_eq "each node has its own guest" "$(printf '%s\n' "$b1" | awk '{print $2}' | sort -u | wc -l)" "2"
ncpu=$(nproc)
hostnuma=$(ls -d /sys/devices/system/node/node[0-9]* | wc -l)
# The job has the whole nodes (--exclusive, no reserved_cpus): every host
# PU is a vCPU, and Slurm's binding of the one task per node holds inside.
expect_eq "each guest mirrors the host (NUMA cells, CPUs) and keeps Slurm's CPU binding" \
	"$(printf '%s\n' "$B" | grep '^SHAPE' | sort | tr '\n' ';')" \
	"SHAPE n1 numa=$hostnuma cpus=$ncpu bound=$ncpu;SHAPE n2 numa=$hostnuma cpus=$ncpu bound=$ncpu;"
expect_eq "srun --cpu-bind=cores: each task bound to its own vCPU, as Slurm bound it" \
	"$(printf '%s\n' "$B" | grep '^BIND' | sort | awk '{print $3 "/" $4}' | tr '\n' ' ')" "1/0 1/1 "
expect_eq "the job's working directory is the task's cwd in the guest" \
	"$(printf '%s\n' "$B" | grep '^CWD' | sort -u)" "CWD $WORK"
expect_eq "a task's exit code reaches srun" "$(printf '%s\n' "$B" | sed -n 's/^STEPRC //p')" "7"
s=$(printf '%s\n' "$B" | sed -n 's/^STDIN //p')
expect_eq "5 MB on stdin come back byte-identical" "${s% *}" "${s#* }"
expect_eq "stdout and stderr stay separate" "$(printf '%s\n' "$B" | sed -n 's/^SPLIT //p')" "to-out / to-err"
expect_eq "a file the guest writes in the shared cwd is on the host" "$(cat "$WORK/from-guest.txt" 2>/dev/null)" "written-by-guest"
expect_eq "that file belongs to the job user on the host" "$(stat -c %U "$WORK/from-guest.txt" 2>/dev/null)" "$SVM_TEST_USER"
[ -n "$JOB" ] && svm_expect_nothing_left "job $JOB" "$JOB"

# ---- huge pages: the guest's memory comes out of the host's pool
HP=/sys/kernel/mm/hugepages/hugepages-2048kB
hp_saved=$(cat "$HP/nr_hugepages")
echo 300 > "$HP/nr_hugepages"
hp_before=$(cat "$HP/free_hugepages")
in_work sbatch --wait -N1 -n1 -o hp.out --vm-image="$IMG" --vm-mem=256M --vm-hugepages=2M \
	--wrap 'echo "DURING $(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)"; srun grep MemTotal /proc/meminfo'
expect_rc "a job with --vm-hugepages=2M runs" 0
H=$(cat "$WORK/hp.out" 2>/dev/null)
expect_eq "the host pool shrinks by the guest's 256 MiB (128 pages) during the job" \
	"$(printf '%s\n' "$H" | sed -n 's/^DURING //p')" "$((hp_before - 128))"
for _ in $(seq 1 50); do [ "$(cat "$HP/free_hugepages")" = "$hp_before" ] && break; sleep 0.2; done
expect_eq "the pool is whole again after the job" "$(cat "$HP/free_hugepages")" "$hp_before"
echo 16 > "$HP/nr_hugepages"
in_work srun -N1 -n1 --vm-image="$IMG" --vm-mem=256M --vm-hugepages=2M true
expect_rc "a guest larger than the huge page pool fails the job" nonzero
expect_match "... saying so" "$ERR" "slurm-vm: not enough huge pages for the guest's 256 MiB: host NUMA node 0 has 16 free 2M huge pages, the guest needs 128"
expect_nodes_idle "a short pool leaves the nodes in service"
echo "$hp_saved" > "$HP/nr_hugepages"

# ---- a guest that does not boot fails the job, not the node
# (a disk by its boot sector signature, so the check lets it through, but
# nothing to boot on it)
head -c $((64 << 20)) /dev/zero > "$WORK/broken.raw"
printf '\125\252' | dd of="$WORK/broken.raw" bs=1 seek=510 conv=notrunc status=none
chown "$SVM_TEST_USER" "$WORK/broken.raw"
in_work srun -N2 --vm-image="$WORK/broken.raw" true
expect_rc "a job whose guest does not boot fails" nonzero
expect_match "the user is told the guest did not become ready" "$ERR" "slurm-vm: .*(not ready|never became ready)"
expect_nodes_idle "a broken image leaves both nodes idle, not drained"
svm_expect_nothing_left "after the failed boot"

# ---- the epilog is idempotent: run again for a finished job, it finds
# nothing to do and says so by succeeding
for n in n1 n2; do
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SLURM_CONF="$SLURM_CONF" SLURM_JOB_ID="$JOB" \
		SLURM_JOB_UID="$(id -u "$SVM_TEST_USER")" SLURM_JOB_GID="$(id -g "$SVM_TEST_USER")" \
		SLURMD_NODENAME=$n SPANK_VM_IMAGE="$IMG" "$SVM_BUILD_DIR/epilog/slurm-vm-epilog"
	expect_eq "the epilog run again for job $JOB on $n succeeds" "$?" "0"
done

# ---- a node fault (libvirtd unreachable) drains the node, naming the cause
cp "$SVM_CLUSTER_DIR/etc/vm.conf" "$WORK/vm.conf.saved"
echo "libvirt_uri = qemu+unix:///system?socket=/nonexistent/libvirt-sock" >> "$SVM_CLUSTER_DIR/etc/vm.conf"
in_work srun -N1 -n1 -w n1 --vm-image="$IMG" true
expect_rc "a job on a node whose libvirtd is unreachable fails" nonzero
expect_match "... telling the user why" "$ERR" "slurm-vm: cannot connect to libvirt"
reason=$(sinfo -h -n n1 -o '%T %E')
expect_match "the node is drained with a reason that names the cause" "$reason" "^drain.* slurm-vm: cannot connect to libvirt"
cp "$WORK/vm.conf.saved" "$SVM_CLUSTER_DIR/etc/vm.conf"
scontrol update nodename=n1 state=resume
expect_nodes_idle "the node returns to service once resumed"

# ---- the cluster still runs plain jobs natively right after
svm_run srun -N2 cat /proc/sys/kernel/random/boot_id
expect_rc "a job without --vm-image runs right after" 0
expect_eq "... natively on the host (the host's boot id)" "$(printf '%s\n' "$OUT" | sort -u)" "$(cat /proc/sys/kernel/random/boot_id)"

svm_e2e_summary
