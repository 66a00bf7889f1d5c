# Checks shared by tests/agent/host-test and tests/agent/guest-test.
# The caller sets: BUILD (build tree), TMP (scratch dir owned by TUSER),
# RELAY_SOCK, TUSER/TUID/TGID (the unprivileged job user), GUEST_CWD (a
# directory that exists where the process runs), and defines kill_guest
# (makes the agent or the whole guest vanish).
# shellcheck shell=bash

# shellcheck source=tests/lib/assert.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/assert.sh"

# The job user, from the one place that creates it (tests/lib/test-user).
ensure_user() {
	TUSER=$SVM_TEST_USER
	"$(dirname "${BASH_SOURCE[0]}")/../lib/test-user" "$TUSER" || exit 1
	TUID=$(id -u "$TUSER")
	TGID=$(id -g "$TUSER")
}

find_build() { # sets BUILD: the tree with exec/slurm-vm-exec
	local c
	for c in "${SVM_BUILD_DIR:-}" "$PWD" "$TOP" "$TOP/build"; do
		if [ -n "$c" ] && [ -x "$c/exec/slurm-vm-exec" ]; then BUILD=$(cd "$c" && pwd); return 0; fi
	done
	echo "cannot find a built tree (exec/slurm-vm-exec): set SVM_BUILD_DIR"
	echo "0 passed, 1 failed"
	exit 1
}


# exec_u ARGS... : slurm-vm-exec as the job user, bounded in time
exec_u() {
	svm_as_user timeout -k 5 120 "$BUILD/exec/slurm-vm-exec" --socket "$RELAY_SOCK" --cwd "$GUEST_CWD" "$@"
}

start_relay() { # CHANNEL: the relay as the job user, back once the agent is ready
	local t0=$SECONDS
	if svm_as_user "$BUILD/exec/slurm-vm-relay" --channel "$1" --listen "$RELAY_SOCK" \
		--daemon --timeout "${RELAY_TIMEOUT:-60}" --pidfile "$TMP/relay.pid" 2>> "$TMP/relay.log"; then
		svm_pass "relay started as $TUSER and the agent said ready ($((SECONDS - t0)) s)"
	else
		svm_fail "relay did not get ready: $(tail -n 1 "$TMP/relay.log")"
		return 1
	fi
	local mode owner
	mode=$(stat -c %a "$RELAY_SOCK") owner=$(stat -c %u "$RELAY_SOCK")
	if [ "$mode" = 600 ] && [ "$owner" = "$TUID" ]; then svm_pass "relay socket is mode 600, owned by $TUSER"
	else svm_fail "relay socket is mode $mode owned by uid $owner"; fi
}

run_checks() {
	local out rc err i pids

	out=$(exec_u -- id -u 2>&1); rc=$?
	if [ $rc -eq 0 ] && [ "$out" = "$TUID" ]; then svm_pass "id -u prints $TUID"; else svm_fail "id -u: rc $rc, '$out'"; fi

	exec_u -- true; rc=$?
	[ $rc -eq 0 ] && svm_pass "exit code 0" || svm_fail "true exits $rc"
	exec_u -- sh -c 'exit 3'; rc=$?
	[ $rc -eq 3 ] && svm_pass "exit code 3" || svm_fail "exit 3 gives $rc"
	exec_u -- sh -c 'kill -KILL $$'; rc=$?
	[ $rc -eq 137 ] && svm_pass "killed by SIGKILL: 137" || svm_fail "SIGKILL gives $rc"
	exec_u -- sh -c 'kill -SEGV $$'; rc=$?
	[ $rc -eq 139 ] && svm_pass "killed by SIGSEGV: 139" || svm_fail "SIGSEGV gives $rc"

	head -c 10000000 /dev/urandom > "$TMP/in.bin"
	out=$(exec_u -- cat < "$TMP/in.bin" | sha256sum | cut -d' ' -f1)
	if [ "$out" = "$(sha256sum < "$TMP/in.bin" | cut -d' ' -f1)" ]; then svm_pass "10 MB through stdin and stdout, sha256 identical"
	else svm_fail "10 MB round trip differs"; fi

	exec_u -- sh -c 'i=0; while [ $i -lt 200 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done' > "$TMP/o" 2> "$TMP/e"; rc=$?
	if [ $rc -eq 0 ] && [ "$(grep -c '^out' "$TMP/o")" = 200 ] && ! grep -q err "$TMP/o" &&
		[ "$(grep -c '^err' "$TMP/e")" = 200 ] && ! grep -q out "$TMP/e" &&
		[ "$(tail -n 1 "$TMP/o")" = out199 ]; then svm_pass "stdout and stderr separate and in order"
	else svm_fail "stdout/stderr mixed: $(head -c 200 "$TMP/o" | tr '\n' ' ') / $(head -c 200 "$TMP/e" | tr '\n' ' ')"; fi

	out=$(FOO='a b' exec_u -- sh -c 'echo "$FOO"')
	[ "$out" = "a b" ] && svm_pass "environment passed" || svm_fail "environment: '$out'"

	pids=()
	for i in $(seq 1 64); do
		exec_u -- sh -c "echo rank $i; exit $((i % 7))" > "$TMP/c.$i" 2>&1 &
		pids+=($!)
	done
	err=0
	for i in $(seq 1 64); do
		wait "${pids[$((i - 1))]}"; rc=$?
		[ $rc -eq $((i % 7)) ] && [ "$(cat "$TMP/c.$i")" = "rank $i" ] || err=$((err + 1))
	done
	[ $err -eq 0 ] && svm_pass "64 concurrent execs all complete with their output and status" || svm_fail "$err of 64 concurrent execs wrong"

	exec_u -- sh -c 'trap "echo got TERM; exit 7" TERM; echo started; while :; do sleep 1; done' > "$TMP/t" 2>&1 &
	i=$!
	for _ in $(seq 100); do grep -q started "$TMP/t" && break; sleep 0.1; done
	kill -TERM "$(pgrep -P "$i" -f slurm-vm-exec | head -n 1 || echo "$i")" 2>/dev/null
	wait "$i"; rc=$?
	if [ $rc -eq 7 ] && grep -q 'got TERM' "$TMP/t"; then svm_pass "SIGTERM from the host reaches the process"
	else svm_fail "SIGTERM: rc $rc, output '$(tr '\n' ' ' < "$TMP/t")'"; fi

	err=$(exec_u --cwd /nonexistent-dir -- true 2>&1); rc=$?
	if [ $rc -eq 127 ] && [[ $err == *"cannot change directory to /nonexistent-dir"* ]]; then svm_pass "bad cwd: 127, '$err'"
	else svm_fail "bad cwd: rc $rc, '$err'"; fi
	err=$(exec_u -- /no/such/program 2>&1); rc=$?
	if [ $rc -eq 127 ] && [[ $err == *"cannot execute /no/such/program"* ]]; then svm_pass "missing program: 127"
	else svm_fail "missing program: rc $rc, '$err'"; fi

	err=$(exec_u --uid 0 --gid 0 -- id -u 2>&1); rc=$?
	if [ $rc -eq 255 ] && [[ $err == slurm-vm-exec:* ]]; then svm_pass "uid 0 refused to the job user: '$err'"
	else svm_fail "uid 0 as the job user: rc $rc, '$err'"; fi
	err=$(timeout 60 "$BUILD/exec/slurm-vm-exec" --socket "$RELAY_SOCK" --cwd "$GUEST_CWD" -- id -u 2>&1); rc=$?
	if [ $rc -ne 0 ] && [[ $err == *"refusing to run id as uid 0"* ]]; then svm_pass "root without --root refused"
	else svm_fail "root without --root: rc $rc, '$err'"; fi
	out=$(timeout 60 "$BUILD/exec/slurm-vm-exec" --socket "$RELAY_SOCK" --cwd "$GUEST_CWD" --root -- id -u 2>&1)
	[ "$out" = 0 ] && svm_pass "root with --root runs as uid 0" || svm_fail "--root: '$out'"

	err=$(svm_as_user -u nobody timeout 30 "$BUILD/exec/slurm-vm-exec" \
		--socket "$RELAY_SOCK" -- true 2>&1); rc=$?
	if [ $rc -eq 255 ] && [[ $err == slurm-vm-exec:* ]]; then svm_pass "another user cannot use the relay: '$err'"
	else svm_fail "other user: rc $rc, '$err'"; fi

	err=$(timeout 30 "$BUILD/exec/slurm-vm-exec" --socket "$TMP/no-such.sock" -- true 2>&1); rc=$?
	if [ $rc -eq 255 ] && [[ $err == "slurm-vm-exec: cannot connect"* ]]; then svm_pass "missing socket: 255, '$err'"
	else svm_fail "missing socket: rc $rc, '$err'"; fi

	out=$(exec_u --pty -- sh -c 'tty; stty size' < /dev/null 2>&1 | tr -d '\r' | tr '\n' ' ')
	if [[ $out == /dev/pts/* ]]; then svm_pass "--pty gives a terminal: $out"; else svm_fail "--pty: '$out'"; fi

	out=$(exec_u --cpus 0 -- sh -c 'grep Cpus_allowed_list /proc/self/status' | awk '{print $2}')
	[ "$out" = 0 ] && svm_pass "--cpus 0 binds the process" || svm_fail "--cpus 0: '$out'"

	# The aux stream (PMI_FD): a socket relayed both ways.
	out=$(python3 - "$BUILD/exec/slurm-vm-exec" "$RELAY_SOCK" "$GUEST_CWD" "$TUID" "$TGID" <<'PY' 2>&1
import os, socket, subprocess, sys
exe, sock, cwd, uid, gid = sys.argv[1:6]
a, b = socket.socketpair()
os.set_inheritable(b.fileno(), True)
def drop():
    os.setgroups([]); os.setgid(int(gid)); os.setuid(int(uid))
p = subprocess.Popen(['timeout', '60', exe, '--socket', sock, '--cwd', cwd, '--aux-fd', str(b.fileno()),
    '--aux-env', 'PMI_FD', '--', 'sh', '-c', 'echo "fd=$PMI_FD" >&"$PMI_FD"; read x <&"$PMI_FD"; echo "got $x"'],
    pass_fds=[b.fileno()], stdout=subprocess.PIPE, preexec_fn=drop)
b.close()
msg = a.recv(100).decode().strip()
a.sendall(b'pong\n')
out = p.communicate(timeout=60)[0].decode().strip()
print(msg, out, p.returncode)
PY
)
	[ "$out" = "fd=3 got pong 0" ] && svm_pass "aux socket relayed both ways (PMI_FD=3)" || svm_fail "aux socket: '$out'"
}

# Connection streams (--listen, as for PMIx): a TCP server on this host's
# loopback, a client in the "guest" that finds a rewritten address in its
# variables; three connections, 1 MiB each way on one (beyond the credit
# window), and --mkdir made as the user.  Needs python3 where the process
# runs: host-test only.
run_conn_checks() {
	local out
	out=$(python3 - "$BUILD/exec/slurm-vm-exec" "$RELAY_SOCK" "$GUEST_CWD" "$TUID" "$TGID" "$TMP" <<'PY' 2>&1
import os, socket, subprocess, sys, threading
exe, sock, cwd, uid, gid, tmp = sys.argv[1:7]
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(8)
port = srv.getsockname()[1]
conns = []
def serve():
    while True:
        try: c, _ = srv.accept()
        except OSError: return
        conns.append(1)
        def echo(c=c):
            while True:
                d = c.recv(65536)
                if not d: break
                c.sendall(d)
            c.close()
        threading.Thread(target=echo, daemon=True).start()
threading.Thread(target=serve, daemon=True).start()
client = r"""
import os, socket, stat, sys
a, b = os.environ['V1'], os.environ['V2']
host, p = a.split('tcp4://')[1].split(':')
res = [a == b, a.startswith('pmix-server.7;tcp4://127.0.0.1:'), int(p) != int(sys.argv[1])]
got = []
for n in (5, 1 << 20, 7):
    s = socket.create_connection((host, int(p)))
    data = os.urandom(n)
    import threading
    t = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
    t.start()
    buf = b''
    while True:
        d = s.recv(65536)
        if not d: break
        buf += d
    t.join()
    got.append(buf == data)
    s.close()
st = os.stat(sys.argv[2])
res.append(stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and (st.st_mode & 0o777) == 0o700)
print(' '.join('y' if x else 'n' for x in res + got))
"""
def drop():
    os.setgroups([]); os.setgid(int(gid)); os.setuid(int(uid))
env = dict(os.environ, V1='pmix-server.7;tcp4://127.0.0.1:%d' % port, V2='pmix-server.7;tcp4://127.0.0.1:%d' % port)
d = tmp + '/nsdir/spmix_appdir_x'
p = subprocess.run(['timeout', '60', exe, '--socket', sock, '--cwd', cwd, '--listen', 'V1', '--listen', 'V2',
    '--mkdir', d, '--', 'python3', '-c', client, str(port), d], env=env, stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT, preexec_fn=drop, timeout=90)
print(p.stdout.decode().strip(), p.returncode, len(conns))
PY
)
	[ "$out" = "y y y y y y y 0 3" ] && svm_pass "--listen relays 3 guest connections to the host server (1 MiB each way), --mkdir as the user" ||
		svm_fail "--listen/--mkdir: '$out'"
	out=$(exec_u --listen NOPE -- true 2>&1)
	[[ $out == *"--listen NOPE: no such variable"* ]] && svm_pass "--listen of a missing variable fails with one line" ||
		svm_fail "--listen NOPE: '$out'"
}

# Last: the agent or guest vanishes under a running exec.
check_gone() {
	local rc err t0
	exec_u -- sleep 300 > "$TMP/g.out" 2> "$TMP/g.err" &
	local p=$!
	sleep 2
	t0=$SECONDS
	kill_guest
	wait "$p"; rc=$?
	err=$(head -n 1 "$TMP/g.err")
	if [ $rc -eq 255 ] && [[ $err == "slurm-vm-exec: "*"guest"* ]] && [ $((SECONDS - t0)) -lt 30 ]; then
		svm_pass "guest gone mid-run: exit 255 after $((SECONDS - t0)) s, '$err'"
	else
		svm_fail "guest gone mid-run: rc $rc after $((SECONDS - t0)) s, '$err'"
	fi
}

# guest_xml IMAGE_DIR JOB NODE [DOMAIN-XML ARGS...]: writes $TMP/domain.xml,
# the XML the prolog would start for job JOB on node NODE, printed by the
# product's own generator (`slurm-vm domain-xml`) from $TMP/vm.conf: type
# qemu (TCG), direct boot of IMAGE_DIR's kernel and initrd, 512 MiB, two of
# this host's CPUs, state and scratch under $TMP, plus the lines of
# $VMCONF_EXTRA.  Then prepares what the prolog prepares for that XML: the
# state directory (root, 0711) and, made by the test user, the scratch
# directory and the overlay over IMAGE_DIR/test.qcow2.  Sets NAME (the
# domain), STATE (its state directory) and CHANNEL (the agent's socket).
V="virsh -q -c qemu:///system"
guest_xml() {
	local img=$1 job=$2 node=$3 cpus
	shift 3
	cpus=$(python3 -c 'import os; print(",".join(map(str, sorted(os.sched_getaffinity(0))[:2])))') ||
		{ echo "cannot read this process's CPUs"; return 1; }
	# the test user's, searchable by libvirt: the relay's socket goes there
	chmod 0711 "$TMP" && chown "$TUID:$TGID" "$TMP" || return 1
	mkdir -p "$TMP/run" "$TMP/scratch" && chmod 0711 "$TMP/run" && chmod 0755 "$TMP/scratch" || return 1
	{
		echo "domain_type = qemu"
		echo "runtime_dir = $TMP/run"
		echo "scratch_dir = $TMP/scratch"
		echo "default_mem = 512"
		echo "network = none"
		echo "kernel = $img/vmlinuz"
		echo "initrd = $img/initrd.img"
		echo "kernel_cmdline = $(cat "$img/cmdline")"
		printf '%b' "${VMCONF_EXTRA:-}"
	} > "$TMP/vm.conf"
	"$BUILD/cli/slurm-vm" domain-xml --config "$TMP/vm.conf" --image "$img/test.qcow2" --image-format qcow2 \
		--job "$job" --node "$node" --uid "$TUID" --gid "$TGID" --cpus "$cpus" "$@" > "$TMP/domain.xml" ||
		{ echo "slurm-vm domain-xml failed"; return 1; }
	NAME=svm-$job-$node STATE=$TMP/run/$job.$node CHANNEL=$TMP/run/$job.$node/agent.sock
	grep -q "<name>$NAME</name>" "$TMP/domain.xml" || { echo "the XML does not name domain $NAME"; return 1; }
	install -d -m 0711 "$STATE" && install -d -m 0700 -o "$TUID" -g "$TGID" "$TMP/scratch/$job.$node" || return 1
	svm_as_user qemu-img create -q -f qcow2 -F qcow2 -b "$img/test.qcow2" "$TMP/scratch/$job.$node/overlay.qcow2" ||
		{ echo "cannot create an overlay of $img/test.qcow2"; return 1; }
}

# guest_start: starts $TMP/domain.xml as a transient domain.  The prolog
# connects to the agent's socket as root and hands the relay the
# connection; here the relay, run as the test user, connects itself, so
# the socket (libvirt's, root's) is given to that user.
guest_start() {
	$V create "$TMP/domain.xml" 2>&1 >/dev/null || return 1
	for _ in $(seq 50); do [ -S "$CHANNEL" ] && break; sleep 0.1; done
	chown "$TUID:$TGID" "$CHANNEL"
}

guest_cleanup() {
	[ -n "${NAME:-}" ] && $V destroy "$NAME" >/dev/null 2>&1
	[ -s "$TMP/relay.pid" ] && kill "$(cat "$TMP/relay.pid")" 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
