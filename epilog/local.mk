# slurm-vm-epilog: Epilog= in slurm.conf.
pkglibexec_PROGRAMS += epilog/slurm-vm-epilog
epilog_slurm_vm_epilog_SOURCES = epilog/epilog.c
epilog_slurm_vm_epilog_LDADD = $(svm_node_libs)
