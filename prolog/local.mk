# slurm-vm-prolog: Prolog= in slurm.conf (with PrologFlags=Alloc).
pkglibexec_PROGRAMS += prolog/slurm-vm-prolog
prolog_slurm_vm_prolog_SOURCES = prolog/prolog.c prolog/prolog.h prolog/ready.c prolog/alloc.c \
	lib/netpeers.c lib/netpeers.h
prolog_slurm_vm_prolog_CFLAGS = $(AM_CFLAGS) $(HWLOC_CFLAGS)
prolog_slurm_vm_prolog_LDADD = $(svm_node_libs) $(SLURM_LIBS)
