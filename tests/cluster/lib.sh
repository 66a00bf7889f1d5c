# Shared settings of the local test cluster (sourced by up, down, tests).
# Everything the cluster owns lives below SVM_CLUSTER_DIR; nothing is written
# to the system's own Slurm or munge configuration.

SVM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SVM_BUILD_DIR=${SVM_BUILD_DIR:-$SVM_TOP/build}
SVM_CLUSTER_DIR=${SVM_CLUSTER_DIR:-/var/tmp/slurm-vm-cluster}
SVM_TEST_USER=${SVM_TEST_USER:-svmtest}
# The test guest (images/build-test-image): kernel and initrd for direct
# boot, test.qcow2 as the users' image.
SVM_IMAGE_DIR=${SVM_IMAGE_DIR:-/var/tmp/slurm-vm-image}
SVM_CLUSTER_NAME=svmtest
# Ports away from the defaults, so a site slurmd on this host is untouched.
SVM_CTLD_PORT=${SVM_CTLD_PORT:-16817}
SVM_N1_PORT=$((SVM_CTLD_PORT + 1))
SVM_N2_PORT=$((SVM_CTLD_PORT + 2))
# Accounting (accounting.sh): slurmdbd, and its private MariaDB on 127.0.0.1.
SVM_DBD_PORT=$((SVM_CTLD_PORT + 3))
SVM_DB_PORT=$((SVM_CTLD_PORT + 4))
SVM_LIBVIRT_URI=qemu:///system
# SVM_NET=overlay (tests/cluster/up): node n2 is a host of its own, a
# network namespace joined to this one by a veth pair (the underlay: n1's
# address on the host side, n2's inside), with its own libvirtd and
# virtlogd in a mount namespace whose /run/libvirt is theirs.  Its jobs'
# bridges, VXLAN devices and domains live there; svm_n2 runs a command in
# that "host" (nothing when the cluster is in the default mode).
SVM_N2_NETNS=svmtest-n2
SVM_UNDER_N1=198.19.0.1
SVM_UNDER_N2=198.19.0.2
SVM_VETH_N1=svm-u1
SVM_VETH_N2=svm-u2
SVM_N2_MNTNS=$SVM_CLUSTER_DIR/ns/mnt-n2

svm_log() { printf 'cluster: %s\n' "$*" >&2; }
svm_die() { printf 'cluster: error: %s\n' "$*" >&2; exit 1; }

# True if PID is a live process: a zombie waiting to be reaped (by a PID 1
# that may take seconds here) no longer counts.
svm_running() {
	local state
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# True if the pid in FILE names a live process.
svm_pid_alive() {
	local pid
	[ -s "$1" ] || return 1
	pid=$(cat "$1" 2>/dev/null) || return 1
	svm_running "$pid"
}

# Stops the process whose pid is in FILE: TERM, then KILL after a grace time.
svm_stop_pidfile() {
	local file=$1 name=$2 pid i
	[ -s "$file" ] || return 0
	# the first word: relay.pid also holds a start time and a uid
	read -r pid _ < "$file"
	if svm_running "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 1 100); do
			svm_running "$pid" || break
			sleep 0.1
		done
		if svm_running "$pid"; then
			svm_log "$name (pid $pid) ignored SIGTERM, killing it"
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	rm -f "$file"
}

# The devices of job networks (lib/netjob.c: the bridge svm<job in hex>,
# the VXLAN device svmv<job in hex>) in this network namespace, or in
# NETNS: one name a line.
svm_job_netdevs() {
	ip ${1:+-n "$1"} -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' |
		grep -E '^svm(v[0-9a-f]+|[0-9a-f]+)$' || true
}

# True when the cluster is up in SVM_NET=overlay mode (n2's namespaces exist).
svm_n2_up() { [ -e "/run/netns/$SVM_N2_NETNS" ] && mountpoint -q "$SVM_N2_MNTNS" 2>/dev/null; }

# svm_n2 CMD...: runs CMD in n2's network and mount namespaces (its
# libvirtd through qemu:///system, its devices through ip and /sys).
svm_n2() { nsenter --net="/run/netns/$SVM_N2_NETNS" --mount="$SVM_N2_MNTNS" -- "$@"; }

# The libvirt domains of this cluster's jobs: named svm-JOB-NODE, with their
# disk under this cluster's scratch dir (another cluster on the same host
# may use the same names).
# In overlay mode, n2's libvirtd too.  svm_host_domains [svm_n2]: one host's.
svm_host_domains() {
	local dom
	for dom in $("$@" virsh -c "$SVM_LIBVIRT_URI" list --all --name 2>/dev/null | grep -E '^svm-[0-9]+-n[12]$'); do
		"$@" virsh -c "$SVM_LIBVIRT_URI" dumpxml "$dom" 2>/dev/null | grep -q "$SVM_CLUSTER_DIR/scratch/" && echo "$dom"
	done
	return 0
}
svm_cluster_domains() {
	svm_host_domains
	if svm_n2_up; then svm_host_domains svm_n2; fi
	return 0
}

# Commands run as the unprivileged test user (svm_as_user, svm_run) get
# the cluster's client environment.
# shellcheck source=tests/lib/assert.sh
. "$SVM_TOP/tests/lib/assert.sh"
SVM_USER_ENV=(SLURM_CONF="$SVM_CLUSTER_DIR/etc/slurm.conf" PATH="/usr/local/bin:/usr/bin:/bin")
