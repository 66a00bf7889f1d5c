#!/usr/bin/env bash
# The job overlay across two hosts of the local cluster, brought up with
# SVM_NET=overlay tests/cluster/up: n2 is a host of its own (a network
# namespace with its own libvirtd), joined to n1's by a veth pair, the
# underlay.  As the unprivileged test user with the test image.
#
# Asserts: the guests of one job on n1 and n2 reach each other (TCP both
# ways, each asking for the other BY NAME: the job's node names are in
# each guest's /etc/hosts, beside the image's own lines), with the MTU
# lowered by the encapsulation; every frame between
# them crosses the veth inside VXLAN with the job's VNI on UDP port 4789,
# none bare (not a shared bridge); MPI over TCP between the two guests
# works on it; two jobs running at the same time as that one, one on each
# host, cannot reach its guests (same host: another bridge; other host:
# another VNI); after the jobs nothing is left in either host (domains,
# bridges, VXLAN devices).
set -u
. "$(dirname "$0")/../lib.sh"
if ! svm_n2_up; then
	svm_fail "the cluster is not up in overlay mode (SVM_NET=overlay tests/cluster/up)"
	svm_e2e_summary
	exit
fi
svm_e2e_workdir e2e-overlay
svm_as_user mpicc -O2 -o "$WORK/mpi_hello" "$SVM_TOP/tests/mpi/mpi_hello.c" || svm_fail "mpicc mpi_hello.c"
PORT=4789	# overlay_port (the default)
TMPD=$(mktemp -d)
DUMP=
cleanup() {
	[ -n "$DUMP" ] && kill "$DUMP" 2>/dev/null
	rm -rf "$TMPD"
}
trap cleanup EXIT

user_file() { # NAME: stdin to WORK/NAME, the user's, executable
	svm_as_user sh -c 'cat > "$1" && chmod +x "$1"' sh "$WORK/$1"
}
# In the guests (one task each): the guest's own address and NIC, the
# other guest of job A (its address, its node name), and fetch PORT [HOST]:
# the line the other guest (or HOST) serves on PORT, in got (tried for
# 30 s: the other guest may not serve yet).
user_file guestnet.sh <<'EOS'
#!/bin/sh
dev=$(ip -o -4 addr show | awk '$4 ~ /^169\.254\./ {print $2; exit}')
addr=$(ip -o -4 addr show dev "$dev" | awk '{print $4}')
peer=169.254.1.$((2 - SLURM_PROCID))
peer_name=n$((2 - SLURM_PROCID))
fetch() {
	for i in $(seq 1 30); do
		got=$(nc -w 2 "${2:-$peer}" "$1" < /dev/null) && [ -n "$got" ] && return
		sleep 1
	done
}
EOS
# job A, step 1: each guest serves one line and fetches the other's, by
# the other's node name
user_file reach.sh <<'EOS'
#!/bin/sh
. ./guestnet.sh
echo "NIC $(hostname) $addr mtu $(cat /sys/class/net/$dev/mtu)"
echo "HOSTS $(hostname) $(grep -v '^#' /etc/hosts | tr -s ' \t' '  ' | tr '\n' ';')"
nc -ll -p 7000 -e /bin/echo "hello from $(hostname)" &
srv=$!
fetch 7000 "$peer_name"
echo "GOT $(hostname) $got"
sleep 3	# the other guest may still be asking
kill $srv
EOS
# job A, step 3: both guests serve "A-<node>" on 7001 until WORK/stop; the
# first says "serving" once it has fetched the other's line
user_file serve.sh <<'EOS'
#!/bin/sh
. ./guestnet.sh
nc -ll -p 7001 -e /bin/echo "A-$(hostname)" &
srv=$!
fetch 7001
echo "PEER $(hostname) $got"
[ "$SLURM_PROCID" = 0 ] && [ -n "$got" ] && touch serving
for i in $(seq 1 240); do [ -e stop ] && break; sleep 0.5; done
kill $srv
EOS
# jobs B and C: their one guest asks both guest addresses on 7001
user_file probe.sh <<'EOS'
#!/bin/sh
. ./guestnet.sh
for a in 169.254.1.1 169.254.1.2; do
	echo "PROBE $(hostname) $addr $a [$(nc -w 3 "$a" 7001 < /dev/null 2>/dev/null)]"
done
EOS
user_file job-a.sh <<'EOS'
#!/bin/sh
# the batch step may start before the other node's guest is up
for i in 1 2 3 4 5 6; do srun -N2 -n2 true 2>/dev/null && break; sleep 5; done
timeout 120 srun -N2 -n2 ./reach.sh > reach.out 2>&1; echo "STEP reach $?"
timeout 240 srun -N2 -n2 --mpi=pmi2 ./mpi_hello > mpi.out 2>&1; echo "STEP mpi $?"
timeout 200 srun -N2 -n2 ./serve.sh > serve.out 2>&1; echo "STEP serve $?"
EOS

# ---- job A, with the underlay captured (the host side of the veth)
tcpdump -i "$SVM_VETH_N1" -n -U -w "$TMPD/u.pcap" "udp port $PORT or net 169.254.0.0/16" 2>/dev/null &
DUMP=$!
sleep 1
svm_run sh -c "cd '$WORK' && sbatch --parsable -N2 -n2 -o job-a.log --vm-image='$IMG' ./job-a.sh"
expect_rc "sbatch of job A (two nodes) is accepted" 0
A=${OUT%%;*}
for _ in $(seq 1 1500); do
	[ -e "$WORK/serving" ] && break
	[ -z "$(squeue -h -j "$A" 2>/dev/null)" ] && break
	sleep 0.2
done
expect_eq "job A's guests serve each other on port 7001" "$([ -e "$WORK/serving" ] && echo serving)" serving
VX=svmv$(printf %x "$A")
expect_match "n1's host: VXLAN $VX of job A, VNI $A, local $SVM_UNDER_N1, port $PORT" \
	"$(ip -d link show "$VX" 2>&1)" "vxlan id $A local $SVM_UNDER_N1 .*dstport $PORT"
expect_match "n2's host: its own VXLAN $VX of job A, VNI $A, local $SVM_UNDER_N2" \
	"$(svm_n2 ip -d link show "$VX" 2>&1)" "vxlan id $A local $SVM_UNDER_N2 .*dstport $PORT"
# (tests/cluster/up writes vm.conf's default, network = auto)
expect_match "n1's prolog chose the overlay itself (network = auto, the nodes' two underlay addresses)" \
	"$(grep -h "job $A: network = auto" "$SVM_CLUSTER_DIR"/log/slurmd-n1.log 2>/dev/null)" \
	"job $A: network = auto: overlay, the nodes are on more than one host \(2 nodes\)"

# ---- jobs B (on n2) and C (on n1), while A serves: they reach none of A's guests
svm_as_user sh -c "cd '$WORK' && timeout 300 srun -N1 -w n2 --vm-image='$IMG' ./probe.sh" > "$TMPD/b.out" 2>&1 &
b=$!
svm_as_user sh -c "cd '$WORK' && timeout 300 srun -N1 -w n1 --vm-image='$IMG' ./probe.sh" > "$TMPD/c.out" 2>&1 &
c=$!
wait $b; rb=$?
wait $c; rc=$?
expect_eq "job B (n2) and job C (n1) ran while A served" "$rb $rc $([ -e "$WORK/serving" ] && [ -n "$(squeue -h -j "$A")" ] && echo A-running)" "0 0 A-running"
expect_eq "job B's guest on n2 (169.254.1.1) reaches no guest of A (A's n2 guest 169.254.1.2 shares its host, not its bridge)" \
	"$(grep '^PROBE' "$TMPD/b.out")" \
	"$(printf 'PROBE n2 169.254.1.1/16 169.254.1.1 []\nPROBE n2 169.254.1.1/16 169.254.1.2 []')"
expect_eq "job C's guest on n1 (169.254.1.1) reaches no guest of A (A's n2 guest 169.254.1.2 is on the other host, another VNI)" \
	"$(grep '^PROBE' "$TMPD/c.out")" \
	"$(printf 'PROBE n1 169.254.1.1/16 169.254.1.1 []\nPROBE n1 169.254.1.1/16 169.254.1.2 []')"
svm_as_user touch "$WORK/stop"
for _ in $(seq 1 600); do
	[ -z "$(squeue -h -j "$A" 2>/dev/null)" ] && break
	sleep 0.2
done
kill "$DUMP" 2>/dev/null; wait "$DUMP" 2>/dev/null; DUMP=

# ---- what job A's guests saw
expect_eq "job A's steps all exit 0" "$(grep '^STEP' "$WORK/job-a.log" | tr '\n' ' ')" \
	"STEP reach 0 STEP mpi 0 STEP serve 0 "
expect_eq "each guest has its address on a NIC of MTU 1450 (the veth's 1500 less VXLAN's 50)" \
	"$(grep '^NIC' "$WORK/reach.out" | sort | tr '\n' ' ')" \
	"NIC n1 169.254.1.1/16 mtu 1450 NIC n2 169.254.1.2/16 mtu 1450 "
H="127.0.0.1 localhost;::1 localhost ip6-localhost ip6-loopback;169.254.1.1 n1;169.254.1.2 n2;"
expect_eq "each guest's /etc/hosts: the image's own lines, then the job's nodes n1 n2 with their guests' addresses" \
	"$(grep '^HOSTS' "$WORK/reach.out" | sort)" "$(printf 'HOSTS n1 %s\nHOSTS n2 %s' "$H" "$H")"
expect_eq "the guests of n1 and n2 reach each other over TCP by node name" \
	"$(grep '^GOT' "$WORK/reach.out" | sort | tr '\n' ' ')" \
	"GOT n1 hello from n2 GOT n2 hello from n1 "
R=$(grep '^rank ' "$WORK/mpi.out" | sort)
expect_eq "MPI: 2 ranks, one in each guest" "$(printf '%s\n' "$R" | awk '{print $2, $4, $6}' | tr '\n' ';')" "0 2 n1;1 2 n2;"
expect_eq "MPI: Allreduce over TCP between the guests gives 1 on both ranks" \
	"$(printf '%s\n' "$R" | awk '{print $NF}' | sort -u)" 1
tcpdump -r "$TMPD/u.pcap" -n 2>/dev/null > "$TMPD/u.txt"
svm_check "the veth carried job A's frames from n1 to n2 as VXLAN VNI $A on UDP $PORT" \
	grep -Eq "$SVM_UNDER_N1\.[0-9]+ > $SVM_UNDER_N2\.$PORT: VXLAN.*vni $A( |\$)" "$TMPD/u.txt"
svm_check "... and from n2 to n1" \
	grep -Eq "$SVM_UNDER_N2\.[0-9]+ > $SVM_UNDER_N1\.$PORT: VXLAN.*vni $A( |\$)" "$TMPD/u.txt"
svm_check "... inside them, the TCP between the guests (port 7000)" \
	grep -Eq "169\.254\.1\.[12]\.[0-9]+ > 169\.254\.1\.[12]\.7000: Flags" "$TMPD/u.txt"
svm_check "... and the MPI ranks' TCP (other ports)" \
	bash -c "grep -E '169\.254\.1\.[12]\.[0-9]+ > 169\.254\.1\.[12]\.[0-9]+: Flags' '$TMPD/u.txt' | grep -vqE '\.700[01]: |\.700[01] >'"
expect_eq "no guest frame crossed the veth bare (169.254.0.0/16 outside VXLAN)" \
	"$(tcpdump -r "$TMPD/u.pcap" -n 'net 169.254.0.0/16' 2>/dev/null | head -n 3)" ""
expect_eq "only job A's VNI on the underlay (B and C, one node each, send nothing)" \
	"$(grep -o 'vni [0-9]*' "$TMPD/u.txt" | sort -u)" "vni $A"

# ---- nothing left in either host (svm_leftovers looks in n2's namespace too)
svm_expect_nothing_left "after the overlay jobs"
expect_eq "n2's host: no bridge or VXLAN device of a job" \
	"$(svm_job_netdevs "$SVM_N2_NETNS" | tr '\n' ' ')" ""
svm_e2e_summary
