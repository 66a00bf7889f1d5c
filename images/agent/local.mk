# slurm-vm-agent: the guest agent, installed where image builders find it.
# Static, so the guest needs nothing else;
# it shares only the protocol code with the host side.
pkglibexec_PROGRAMS += images/agent/slurm-vm-agent
images_agent_slurm_vm_agent_SOURCES = images/agent/agent.c images/agent/agent.h \
	images/agent/proc.c images/agent/proc.h images/agent/flow.c images/agent/flow.h \
	images/agent/channel.c images/agent/channel.h images/agent/bench.c images/agent/bench.h \
	lib/agent_proto.c lib/agent_proto.h \
	images/agent/guest_config.c images/agent/guest_config.h lib/guest_words.h \
	images/agent/etc_hosts.c images/agent/etc_hosts.h \
	images/agent/guest_setup.c images/agent/guest_setup.h
images_agent_slurm_vm_agent_CPPFLAGS = -I$(top_srcdir)/lib -I$(top_builddir)
# Sanitizer runtimes cannot be linked statically: the agent opts out of
# --enable-sanitizers (its protocol code is sanitized in the unit tests).
images_agent_slurm_vm_agent_CFLAGS = $(WARN_CFLAGS)
images_agent_slurm_vm_agent_LDFLAGS = -all-static
EXTRA_DIST += images/agent/PROTOCOL.md

# The agent medium (lib/agent_boot.h): a small read-only ext4 filesystem
# holding the static agent, which the prolog attaches to every guest so that
# images with systemd 256+ run this host's agent with no preparation.  Made
# with mkfs.ext4 -d (no mount), with a fixed UUID and hash seed.
if HAVE_MKFS_EXT4
agentmediumdir = $(pkglibexecdir)
agentmedium_DATA = images/agent/slurm-vm-agent.img
CLEANFILES += images/agent/slurm-vm-agent.img
images/agent/slurm-vm-agent.img: images/agent/slurm-vm-agent$(EXEEXT)
	$(AM_V_GEN)rm -rf $@.d $@.tmp && mkdir -p $@.d && \
	cp images/agent/slurm-vm-agent$(EXEEXT) $@.d/slurm-vm-agent && \
	chmod 0755 $@.d $@.d/slurm-vm-agent && touch -d @0 $@.d/slurm-vm-agent $@.d && \
	$(MKFS_EXT4) -q -F -t ext4 -O ^has_journal -N 16 -m 0 \
		-L slurm-vm-agent -U 5d1b5e6a-0c2e-4d7b-9a61-7a9e1c0f2b33 \
		-E root_owner=0:0,hash_seed=5d1b5e6a-0c2e-4d7b-9a61-7a9e1c0f2b33 \
		-d $@.d $@.tmp 4M > /dev/null && \
	rm -rf $@.d && mv $@.tmp $@
endif

# The parsers of the guest configuration (OEM strings, command line),
# sanitized here like the rest of the unit tests.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_agent_config
tests_unit_test_agent_config_SOURCES = tests/unit/test_agent_config.c \
	images/agent/guest_config.c images/agent/guest_config.h lib/guest_words.h \
	images/agent/etc_hosts.c images/agent/etc_hosts.h
tests_unit_test_agent_config_CPPFLAGS = -I$(top_srcdir)/images/agent -I$(top_srcdir)/lib -I$(top_builddir)
tests_unit_test_agent_config_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_agent_config_LDADD = $(CMOCKA_LIBS)
TESTS += tests/unit/test_agent_config
endif
EXTRA_DIST += tests/agent/config-test
