# Unit tests (cmocka), run by `make check`.
if HAVE_CMOCKA
unit_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
unit_ldadd = lib/libslurmvm.la $(CMOCKA_LIBS)

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
endif

# Scripts run by tests/check, shipped in the tarball.
EXTRA_DIST += tests/check tests/demo tests/install-deps tests/valgrind-wrap tests/lib/test-user \
	tests/cluster/up tests/cluster/down tests/cluster/leftovers tests/cluster/lib.sh \
	tests/cluster/accounting.sh tests/e2e/test_accounting.sh \
	tests/e2e/lib.sh tests/e2e/pty-drive tests/e2e/test_plugin.sh \
	tests/e2e/test_vm.sh tests/e2e/test_jobs.sh tests/e2e/test_mpi.sh tests/e2e/disk/test_distro.sh tests/e2e/disk/test_mpi_distro.sh \
	tests/image/boot-test \
	tests/mpi/mpi_hello.c tests/mpi/mpi_abort.c tests/mpi/mpi_bench.c tests/mpi/build-in-image \
	bench/mpi-bench \
	bench/mpi-finalize-race \
	images/README.md images/build-test-image \
	images/test-image/agent-placeholder images/test-image/agent-service \
	images/test-image/initrd-init images/test-image/inittab \
	images/test-image/modules images/test-image/mpi-hello.c \
	images/test-image/rcS images/test-image/virtio-ports

# The job network across two hosts, as two network namespaces (root only;
# skips otherwise): the prolog's code builds it, traffic crosses as VXLAN.
TESTS += tests/net/overlay-test
EXTRA_DIST += tests/net/overlay-test bench/overlay-scale
