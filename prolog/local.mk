# slurm-vm-prolog: Prolog= in slurm.conf (with PrologFlags=Alloc).
pkglibexec_PROGRAMS += prolog/slurm-vm-prolog
prolog_slurm_vm_prolog_SOURCES = prolog/prolog.c prolog/prolog.h prolog/ready.c prolog/alloc.c prolog/alive.c prolog/reclaim.c \
	lib/netpeers.c lib/netpeers.h
prolog_slurm_vm_prolog_CFLAGS = $(AM_CFLAGS) $(HWLOC_CFLAGS)
prolog_slurm_vm_prolog_LDADD = $(svm_node_libs) $(SLURM_LIBS)

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_alive
tests_unit_test_alive_SOURCES = tests/unit/test_alive.c prolog/alive.c
tests_unit_test_alive_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/prolog
tests_unit_test_alive_LDADD = $(svm_node_libs) $(CMOCKA_LIBS) $(SLURM_LIBS)
TESTS += tests/unit/test_alive
endif
