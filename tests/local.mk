# Unit tests (cmocka), run by `make check`.
if HAVE_CMOCKA
# The one helper file of the unit tests (log capture, temporary trees,
# files, the source tree's test data), linked into each of them.
check_LTLIBRARIES = tests/unit/libtestutil.la
tests_unit_libtestutil_la_SOURCES = tests/unit/testutil.c tests/unit/testutil.h
tests_unit_libtestutil_la_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -DSVM_SRCDIR='"$(abs_top_srcdir)"'
testutil_libs = tests/unit/libtestutil.la
unit_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
unit_ldadd = $(testutil_libs) $(svm_node_libs) $(CMOCKA_LIBS)

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
check_PROGRAMS += tests/unit/test_cpulist
tests_unit_test_cpulist_SOURCES = tests/unit/test_cpulist.c
tests_unit_test_cpulist_CFLAGS = $(unit_cflags)
tests_unit_test_cpulist_LDADD = $(unit_ldadd)
TESTS += tests/unit/test_cpulist
check_PROGRAMS += tests/unit/test_netjob
tests_unit_test_netjob_SOURCES = tests/unit/test_netjob.c lib/netpeers.c lib/netpeers.h \
	images/agent/etc_hosts.c images/agent/etc_hosts.h
tests_unit_test_netjob_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/images/agent
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
# one job's directory: paths, refused names, the prolog's outcome
check_PROGRAMS += tests/unit/test_jobdir
tests_unit_test_jobdir_SOURCES = tests/unit/test_jobdir.c
tests_unit_test_jobdir_CFLAGS = $(unit_cflags)
tests_unit_test_jobdir_LDADD = $(unit_ldadd)
TESTS += tests/unit/test_jobdir
endif

# lib/ in layers with no loops, and a plugin without libvirt or hwloc
# (needs the built objects: runs after them in make check).
TESTS += tests/layers
EXTRA_DIST += tests/layers

# Scripts run by tests/check, shipped in the tarball.
EXTRA_DIST += tests/check tests/demo tests/install-deps tests/valgrind-wrap tests/lib/test-user tests/lib/assert.sh \
	tests/cluster/up tests/cluster/down tests/cluster/leftovers tests/cluster/lib.sh \
	tests/cluster/accounting.sh tests/e2e/test_accounting.sh \
	tests/e2e/lib.sh tests/e2e/pty-drive tests/e2e/test_plugin.sh \
	tests/e2e/test_vm.sh tests/e2e/test_jobs.sh tests/e2e/test_mpi.sh tests/e2e/disk/test_distro.sh tests/e2e/disk/test_mpi_distro.sh tests/e2e/net/test_overlay.sh \
	tests/image/boot-test tests/image/boot-distro tests/image/prepare-test \
	tests/e2e/test_attack_teardown.sh tests/e2e/test_user_faults.sh tests/e2e/test_attack_runtime.sh \
	tests/e2e/test_ib_policy.sh tests/e2e/nothing-left tests/e2e/test_fault_guest.sh tests/e2e/test_fault_node.sh \
	tests/mpi/mpi_hello.c tests/mpi/mpi_abort.c tests/mpi/mpi_bench.c tests/mpi/build-in-image \
	bench/mpi-bench bench/mpi-soak \
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

# libFuzzer targets for the parsers of untrusted input, built with clang
# (FUZZ_CC) outside libtool, by `make fuzz` and by `make check`:
#   fuzz_image         the qcow2 header (lib/image.c)
#   fuzz_agent_proto   the agent protocol's decoders (lib/agent_proto.c)
#   fuzz_agent_config  the guest settings: SMBIOS OEM strings and kernel
#                      command line (images/agent/guest_config.c), the
#                      node list for /etc/hosts (images/agent/etc_hosts.c)
# `make check-fuzz` runs fuzz_image for 30 s on a seed of real headers;
# tests/fuzz/run SECONDS builds all (make fuzz) and runs the agent's two.
EXTRA_DIST += tests/fuzz/fuzz_image.c tests/fuzz/fuzz_agent_proto.c tests/fuzz/fuzz_agent_config.c
fuzz_programs = tests/fuzz/fuzz_image tests/fuzz/fuzz_agent_proto tests/fuzz/fuzz_agent_config
if HAVE_FUZZ_CC
fuzz_flags = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$(top_builddir)
check_SCRIPTS = $(fuzz_programs)
CLEANFILES += $(fuzz_programs)
fuzz: $(fuzz_programs)
tests/fuzz/fuzz_image: $(srcdir)/tests/fuzz/fuzz_image.c $(srcdir)/lib/image.c $(srcdir)/lib/image.h
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(fuzz_flags) -I$(srcdir)/lib $(srcdir)/tests/fuzz/fuzz_image.c $(srcdir)/lib/image.c -o $@
tests/fuzz/fuzz_agent_proto: $(srcdir)/tests/fuzz/fuzz_agent_proto.c $(srcdir)/lib/agent_proto.c $(srcdir)/lib/agent_proto.h
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(fuzz_flags) -I$(srcdir)/lib $(srcdir)/tests/fuzz/fuzz_agent_proto.c $(srcdir)/lib/agent_proto.c -o $@
tests/fuzz/fuzz_agent_config: $(srcdir)/tests/fuzz/fuzz_agent_config.c $(srcdir)/images/agent/guest_config.c $(srcdir)/images/agent/guest_config.h $(srcdir)/images/agent/etc_hosts.c $(srcdir)/images/agent/etc_hosts.h $(srcdir)/lib/guest_words.h
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(fuzz_flags) -I$(srcdir)/images/agent -I$(srcdir)/lib $(srcdir)/tests/fuzz/fuzz_agent_config.c $(srcdir)/images/agent/guest_config.c $(srcdir)/images/agent/etc_hosts.c -o $@
check-fuzz: tests/fuzz/fuzz_image
	rm -rf tests/fuzz/corpus && $(MKDIR_P) tests/fuzz/corpus
	for o in compat=0.10 compat=1.1 cluster_size=512 extended_l2=on; do \
		qemu-img create -q -f qcow2 -o $$o tests/fuzz/corpus/seed-$$o.qcow2 1G || exit 1; \
		head -c 4096 tests/fuzz/corpus/seed-$$o.qcow2 > tests/fuzz/corpus/$$o && rm tests/fuzz/corpus/seed-$$o.qcow2; \
	done
	tests/fuzz/fuzz_image -max_total_time=30 -max_len=65536 tests/fuzz/corpus
else
fuzz check-fuzz:
	@echo "no clang found by configure (FUZZ_CC): cannot build the fuzz targets" >&2; exit 1
endif
.PHONY: fuzz check-fuzz
