# Unit tests (cmocka), run by `make check`.
if HAVE_CMOCKA
unit_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
unit_ldadd = $(svm_node_libs) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_parse tests/unit/test_vmconf tests/unit/test_options
tests_unit_test_parse_SOURCES = tests/unit/test_parse.c
tests_unit_test_parse_CFLAGS = $(unit_cflags)
tests_unit_test_parse_LDADD = $(unit_ldadd)
tests_unit_test_vmconf_SOURCES = tests/unit/test_vmconf.c
tests_unit_test_vmconf_CFLAGS = $(unit_cflags)
tests_unit_test_vmconf_LDADD = $(unit_ldadd)
tests_unit_test_options_SOURCES = tests/unit/test_options.c
tests_unit_test_options_CFLAGS = $(unit_cflags)
tests_unit_test_options_LDADD = $(unit_ldadd)
TESTS += tests/unit/test_parse tests/unit/test_vmconf tests/unit/test_options
check_PROGRAMS += tests/unit/test_netjob
tests_unit_test_netjob_SOURCES = tests/unit/test_netjob.c lib/netpeers.c lib/netpeers.h
tests_unit_test_netjob_CFLAGS = $(unit_cflags)
tests_unit_test_netjob_LDADD = $(unit_ldadd) $(SLURM_LIBS)
TESTS += tests/unit/test_netjob
check_PROGRAMS += tests/unit/test_agent_boot
tests_unit_test_agent_boot_SOURCES = tests/unit/test_agent_boot.c
tests_unit_test_agent_boot_CFLAGS = $(unit_cflags)
tests_unit_test_agent_boot_LDADD = $(unit_ldadd)
TESTS += tests/unit/test_agent_boot
check_PROGRAMS += tests/unit/test_console
tests_unit_test_console_SOURCES = tests/unit/test_console.c
tests_unit_test_console_CFLAGS = $(unit_cflags)
tests_unit_test_console_LDADD = $(unit_ldadd)
TESTS += tests/unit/test_console
check_PROGRAMS += tests/unit/test_rmtree
tests_unit_test_rmtree_SOURCES = tests/unit/test_rmtree.c
tests_unit_test_rmtree_CFLAGS = $(unit_cflags)
tests_unit_test_rmtree_LDADD = $(unit_ldadd)
TESTS += tests/unit/test_rmtree
check_PROGRAMS += tests/unit/test_jobenv
tests_unit_test_jobenv_SOURCES = tests/unit/test_jobenv.c
tests_unit_test_jobenv_CFLAGS = $(unit_cflags)
tests_unit_test_jobenv_LDADD = $(unit_ldadd)
TESTS += tests/unit/test_jobenv
# the request from submit to prolog, encoded and decoded by one table
check_PROGRAMS += tests/unit/test_request
tests_unit_test_request_SOURCES = tests/unit/test_request.c
tests_unit_test_request_CFLAGS = $(unit_cflags)
tests_unit_test_request_LDADD = $(unit_ldadd)
TESTS += tests/unit/test_request
# the as-user checks of the request and the child that runs them
check_PROGRAMS += tests/unit/test_usercheck
tests_unit_test_usercheck_SOURCES = tests/unit/test_usercheck.c
tests_unit_test_usercheck_CFLAGS = $(unit_cflags)
tests_unit_test_usercheck_LDADD = $(unit_ldadd)
TESTS += tests/unit/test_usercheck

check_PROGRAMS += tests/unit/test_safefs tests/unit/test_spawn
tests_unit_test_safefs_SOURCES = tests/unit/test_safefs.c
tests_unit_test_safefs_CFLAGS = $(unit_cflags)
tests_unit_test_safefs_LDADD = $(unit_ldadd)
tests_unit_test_spawn_SOURCES = tests/unit/test_spawn.c
tests_unit_test_spawn_CFLAGS = $(unit_cflags)
tests_unit_test_spawn_LDADD = $(unit_ldadd)
TESTS += tests/unit/test_safefs tests/unit/test_spawn
endif

# lib/ in layers with no loops, and a plugin without libvirt or hwloc
# (needs the built objects: runs after them in make check).
TESTS += tests/layers
EXTRA_DIST += tests/layers

# Scripts run by tests/check, shipped in the tarball.
EXTRA_DIST += tests/check tests/demo tests/install-deps tests/valgrind-wrap tests/lib/test-user \
	tests/cluster/up tests/cluster/down tests/cluster/leftovers tests/cluster/lib.sh \
	tests/cluster/accounting.sh tests/e2e/test_accounting.sh \
	tests/e2e/lib.sh tests/e2e/pty-drive tests/e2e/test_plugin.sh \
	tests/e2e/test_vm.sh tests/e2e/test_jobs.sh tests/e2e/test_mpi.sh tests/e2e/disk/test_distro.sh tests/e2e/disk/test_mpi_distro.sh \
	tests/image/boot-test tests/image/boot-distro tests/image/prepare-test \
	tests/e2e/test_attack_teardown.sh tests/e2e/test_user_faults.sh tests/e2e/test_attack_runtime.sh \
	tests/e2e/test_ib_policy.sh tests/e2e/nothing-left tests/e2e/test_fault_guest.sh tests/e2e/test_fault_node.sh \
	tests/mpi/mpi_hello.c tests/mpi/mpi_abort.c tests/mpi/mpi_bench.c tests/mpi/build-in-image \
	bench/mpi-bench \
	bench/mpi-finalize-race bench/plugin-overhead bench/boot-phases bench/fault-soak \
	images/README.md images/build-test-image images/build-distro-image \
	images/test-image/agent-placeholder images/test-image/agent-service \
	images/test-image/initrd-init images/test-image/inittab \
	images/test-image/modules images/test-image/mpi-hello.c \
	images/test-image/rcS images/test-image/virtio-ports

# The job network across two hosts, as two network namespaces (root only;
# skips otherwise): the prolog's code builds it, traffic crosses as VXLAN.
TESTS += tests/net/overlay-test
EXTRA_DIST += tests/net/overlay-test bench/overlay-scale
