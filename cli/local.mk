# Topology, domain XML, image checks, InfiniBand: library parts, the
# slurm-vm admin command, their unit tests, golden files and fuzz target.
lib_libslurmvm_la_SOURCES += \
	lib/cpulist.c lib/cpulist.h \
	lib/topology.c lib/topology.h \
	lib/ib.c lib/ib.h \
	lib/image.c lib/image.h \
	lib/domain_xml.c lib/domain_xml.h

bin_PROGRAMS += cli/slurm-vm
cli_slurm_vm_SOURCES = cli/slurm-vm.c
cli_slurm_vm_CFLAGS = $(AM_CFLAGS) $(HWLOC_CFLAGS)
cli_slurm_vm_LDADD = lib/libslurmvm.la
