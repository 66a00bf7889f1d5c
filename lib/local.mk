# libslurmvm: code shared by the plugin, prolog, epilog and CLI.
noinst_LTLIBRARIES += lib/libslurmvm.la
lib_libslurmvm_la_SOURCES = \
	lib/log.c lib/log.h \
	lib/parse.c lib/parse.h \
	lib/options.c lib/options.h \
	lib/vmconf.c lib/vmconf.h \
	lib/jobdir.c lib/jobdir.h \
	lib/basedir.c lib/basedir.h \
	lib/spawn.c lib/spawn.h \
	lib/jobenv.c lib/jobenv.h \
	lib/slurmdlog.c lib/slurmdlog.h \
	lib/teardown.c lib/teardown.h \
	lib/mounts.c lib/mounts.h
# The plugin is a shared object: everything it links must be PIC.
lib_libslurmvm_la_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) $(HWLOC_CFLAGS)
lib_libslurmvm_la_LIBADD = $(LIBVIRT_LIBS) $(HWLOC_LIBS)
