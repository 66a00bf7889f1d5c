# spank_vm.so: the SPANK plugin loaded by srun/sbatch/salloc and slurmstepd.
plugin_LTLIBRARIES = spank/spank_vm.la
plugindir = $(slurm_plugindir)
spank_spank_vm_la_SOURCES = \
	spank/spank_vm.c spank/plugin.h \
	spank/args.c \
	spank/submit.c \
	spank/remote.c
spank_spank_vm_la_LIBADD = $(svm_core_libs)
# Export only the SPANK interface: the plugin shares a process with Slurm.
spank_spank_vm_la_LDFLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^(plugin_|slurm_spank_|spank_options)'
