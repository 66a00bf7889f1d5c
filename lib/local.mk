# lib/: code shared by the programs, in three layers with no loops
# (tests/layers checks it).  Each layer lists its own sources.
#
#   libsvmcore   libc only: names and paths of a job (jobdir), options, the
#                site config (vmconf), the request from submit to prolog
#                (request) and the prolog's environment (jobenv), CPU lists and the
#                CPU map (cpulist), image checks, mounts, logging, the agent's boot
#                units and console hints.  Linked by the plugin, which every
#                srun, sbatch and slurmstepd loads: it must stay small.
#   libsvmnode   hwloc and libvirt: topology, CPU sets, InfiniBand, domain
#                XML, the job network, spawning helpers, tree removal,
#                teardown.  For the prolog, epilog and CLI.  Uses core.
#   libsvmproto  the agent protocol, shared by exec, relay and the agent.
noinst_LTLIBRARIES += lib/libsvmcore.la lib/libsvmnode.la lib/libsvmproto.la

lib_libsvmcore_la_SOURCES = \
	lib/log.c lib/log.h \
	lib/parse.c lib/parse.h \
	lib/cpulist.c lib/cpulist.h \
	lib/options.c lib/options.h \
	lib/vmconf.c lib/vmconf.h \
	lib/jobdir.c lib/jobdir.h \
	lib/request.c lib/request.h \
	lib/jobenv.c lib/jobenv.h \
	lib/slurmdlog.c lib/slurmdlog.h \
	lib/image.c lib/image.h \
	lib/mounts.c lib/mounts.h \
	lib/agent_boot.c lib/agent_boot.h \
	lib/console.c lib/console.h \
	lib/usercheck.c lib/usercheck.h \
	lib/safefs.c lib/safefs.h \
	lib/loglimit.c lib/loglimit.h \
	lib/basedir.c lib/basedir.h

lib_libsvmnode_la_SOURCES = \
	lib/cpuset.c lib/cpuset.h \
	lib/topology.c lib/topology.h \
	lib/ib.c lib/ib.h \
	lib/domain_xml.c lib/domain_xml.h lib/guest_words.h \
	lib/jobplan.c lib/jobplan.h \
	lib/netjob.c lib/netjob.h \
	lib/spawn.c lib/spawn.h \
	lib/asuser.c lib/asuser.h \
	lib/relayproc.c lib/relayproc.h \
	lib/rmtree.c lib/rmtree.h \
	lib/teardown.c lib/teardown.h
lib_libsvmnode_la_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) $(HWLOC_CFLAGS)
# (the programs link core after node: svm_node_libs)
lib_libsvmnode_la_LIBADD = $(LIBVIRT_LIBS) $(HWLOC_LIBS)

lib_libsvmproto_la_SOURCES = lib/agent_proto.c lib/agent_proto.h

# What the programs link, by layer.
svm_core_libs = lib/libsvmcore.la
svm_node_libs = lib/libsvmnode.la lib/libsvmcore.la
svm_proto_libs = lib/libsvmproto.la lib/libsvmcore.la
