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
endif

# Scripts run by tests/check, shipped in the tarball.
EXTRA_DIST += tests/check tests/demo tests/install-deps tests/valgrind-wrap tests/lib/test-user \
	tests/cluster/up tests/cluster/down tests/cluster/leftovers tests/cluster/lib.sh \
	tests/cluster/accounting.sh tests/e2e/test_accounting.sh \
	tests/e2e/lib.sh tests/e2e/pty-drive tests/e2e/test_plugin.sh \
	tests/e2e/test_vm.sh tests/e2e/test_jobs.sh tests/e2e/test_mpi.sh \
	tests/e2e/test_ib_policy.sh \
	tests/image/boot-test \
	tests/mpi/mpi_hello.c tests/mpi/mpi_abort.c tests/mpi/mpi_bench.c \
	bench/mpi-bench \
	bench/mpi-finalize-race \
	images/README.md images/build-test-image \
	images/test-image/agent-placeholder images/test-image/agent-service \
	images/test-image/initrd-init images/test-image/inittab \
	images/test-image/modules images/test-image/mpi-hello.c \
	images/test-image/rcS images/test-image/virtio-ports
