# slurm-vm-agent: the guest agent, installed where image builders find it.
# Static, so the guest needs nothing else;
# it shares only the protocol code with the host side.
pkglibexec_PROGRAMS += images/agent/slurm-vm-agent
images_agent_slurm_vm_agent_SOURCES = images/agent/agent.c lib/agent_proto.c lib/agent_proto.h
images_agent_slurm_vm_agent_CPPFLAGS = -I$(top_srcdir)/lib -I$(top_builddir)
# Sanitizer runtimes cannot be linked statically: the agent opts out of
# --enable-sanitizers (its protocol code is sanitized in the unit tests).
images_agent_slurm_vm_agent_CFLAGS = $(WARN_CFLAGS)
images_agent_slurm_vm_agent_LDFLAGS = -all-static
EXTRA_DIST += images/agent/PROTOCOL.md
