# Host side of the guest agent: slurm-vm-exec (one per task) and
# slurm-vm-relay (one per guest), on the protocol library they share with
# the agent.

pkglibexec_PROGRAMS += exec/slurm-vm-exec exec/slurm-vm-relay
exec_hostio = exec/hostio.c exec/hostio.h
exec_slurm_vm_exec_SOURCES = exec/exec.c exec/exec.h exec/translate.c exec/translate.h \
	exec/client.c exec/client.h exec/bench.c exec/bench.h $(exec_hostio)
exec_slurm_vm_exec_LDADD = $(svm_proto_libs)
# Started once per task: do not load libvirt and friends for nothing.
exec_slurm_vm_exec_LDFLAGS = -Wl,--as-needed
exec_slurm_vm_relay_SOURCES = exec/relay.c $(exec_hostio)
exec_slurm_vm_relay_LDADD = $(svm_proto_libs)
exec_slurm_vm_relay_LDFLAGS = -Wl,--as-needed

# Protocol unit tests.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_agent_proto
tests_unit_test_agent_proto_SOURCES = tests/unit/test_agent_proto.c
tests_unit_test_agent_proto_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_agent_proto_LDADD = $(svm_proto_libs) $(CMOCKA_LIBS)
TESTS += tests/unit/test_agent_proto
endif

# Host-only integration test: agent, relay and exec over unix sockets.
TESTS += tests/agent/host-test
EXTRA_DIST += tests/agent/host-test tests/agent/guest-test tests/agent/lib.sh \
	tests/fuzz/run bench/agent-bench
