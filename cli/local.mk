# The slurm-vm admin command, the unit tests of the node layer (topology,
# domain XML, image checks, InfiniBand), golden files and fuzz target.
bin_PROGRAMS += cli/slurm-vm
cli_slurm_vm_SOURCES = cli/slurm-vm.c cli/prepare.c cli/prepare.h lib/netpeers.c lib/netpeers.h
cli_slurm_vm_CFLAGS = $(AM_CFLAGS) $(HWLOC_CFLAGS)
cli_slurm_vm_LDADD = $(svm_node_libs) $(SLURM_LIBS)

# Unit tests; SVM_SRCDIR finds tests/topologies and tests/golden (also in
# make distcheck, where the source tree is read-only).
if HAVE_CMOCKA
svm_xml_test_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(HWLOC_CFLAGS) $(LIBVIRT_CFLAGS) \
	-DSVM_SRCDIR='"$(abs_top_srcdir)"'
svm_xml_test_ldadd = $(testutil_libs) $(svm_node_libs) $(CMOCKA_LIBS) $(HWLOC_LIBS) $(LIBVIRT_LIBS)
check_PROGRAMS += tests/unit/test_topology
tests_unit_test_topology_SOURCES = tests/unit/test_topology.c
tests_unit_test_topology_CFLAGS = $(svm_xml_test_cflags)
tests_unit_test_topology_LDADD = $(svm_xml_test_ldadd)
TESTS += tests/unit/test_topology
check_PROGRAMS += tests/unit/test_image
tests_unit_test_image_SOURCES = tests/unit/test_image.c
tests_unit_test_image_CFLAGS = $(svm_xml_test_cflags)
tests_unit_test_image_LDADD = $(svm_xml_test_ldadd)
TESTS += tests/unit/test_image
check_PROGRAMS += tests/unit/test_ib
tests_unit_test_ib_SOURCES = tests/unit/test_ib.c
tests_unit_test_ib_CFLAGS = $(svm_xml_test_cflags)
tests_unit_test_ib_LDADD = $(svm_xml_test_ldadd)
TESTS += tests/unit/test_ib
check_PROGRAMS += tests/unit/test_domain_xml
tests_unit_test_domain_xml_SOURCES = tests/unit/test_domain_xml.c
tests_unit_test_domain_xml_CFLAGS = $(svm_xml_test_cflags)
tests_unit_test_domain_xml_LDADD = $(svm_xml_test_ldadd)
TESTS += tests/unit/test_domain_xml
check_PROGRAMS += tests/unit/test_prepare
tests_unit_test_prepare_SOURCES = tests/unit/test_prepare.c cli/prepare.c cli/prepare.h
tests_unit_test_prepare_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/cli
tests_unit_test_prepare_CFLAGS = $(svm_xml_test_cflags)
tests_unit_test_prepare_LDADD = $(svm_xml_test_ldadd)
TESTS += tests/unit/test_prepare
endif
EXTRA_DIST += tests/topologies/README.md \
	tests/topologies/16amd64-8n2c-cpusets.xml \
	tests/topologies/16em64t-4s2c2t.xml \
	tests/topologies/16intel64-manyVFs.xml \
	tests/topologies/192em64t-24n8c2t.xml \
	tests/topologies/24em64t-2n6c2t-pci.xml \
	tests/topologies/32em64t-2n8c2t-pci-normalio.xml \
	tests/topologies/32em64t-2n8c2t-pci-wholeio.xml \
	tests/topologies/96em64t-4n4d3ca2co-pci.xml

# The command as admins run it, and the real libvirtd's verdict (skips
# without libvirtd).  tests/xml/regen rewrites the golden files.
TESTS += tests/xml/cli-test tests/xml/validate-libvirtd
EXTRA_DIST += tests/xml/cli-test tests/xml/validate-libvirtd tests/xml/regen \
	tests/golden/16amd64-8n2c-cpusets-hp2M-ibnone.xml \
	tests/golden/16amd64-8n2c-cpusets-hpnone-ibnone.xml \
	tests/golden/16em64t-4s2c2t-features.xml \
	tests/golden/16em64t-4s2c2t-agent-medium.xml \
	tests/golden/16em64t-4s2c2t-hp2M-ibnone.xml \
	tests/golden/16em64t-4s2c2t-hpnone-ibnone.xml \
	tests/golden/16intel64-manyVFs-hp2M-ibnone.xml \
	tests/golden/16intel64-manyVFs-hpnone-ibnone.xml \
	tests/golden/192em64t-24n8c2t-hp2M-ibnone.xml \
	tests/golden/192em64t-24n8c2t-hp2M-ibpf.xml \
	tests/golden/192em64t-24n8c2t-hp2M-ibvf.xml \
	tests/golden/192em64t-24n8c2t-hpnone-ibnone.xml \
	tests/golden/192em64t-24n8c2t-hpnone-ibpf.xml \
	tests/golden/192em64t-24n8c2t-hpnone-ibvf.xml \
	tests/golden/24em64t-2n6c2t-pci-hp2M-ibnone.xml \
	tests/golden/24em64t-2n6c2t-pci-hp2M-ibpf.xml \
	tests/golden/24em64t-2n6c2t-pci-hp2M-ibvf.xml \
	tests/golden/24em64t-2n6c2t-pci-hpnone-ibnone.xml \
	tests/golden/24em64t-2n6c2t-pci-hpnone-ibpf.xml \
	tests/golden/24em64t-2n6c2t-pci-hpnone-ibvf.xml \
	tests/golden/24em64t-2n6c2t-pci-partial-ibpf.xml \
	tests/golden/24em64t-2n6c2t-pci-qemu-hp1G.xml \
	tests/golden/32em64t-2n8c2t-pci-normalio-hp2M-ibnone.xml \
	tests/golden/32em64t-2n8c2t-pci-normalio-hp2M-ibpf.xml \
	tests/golden/32em64t-2n8c2t-pci-normalio-hp2M-ibvf.xml \
	tests/golden/32em64t-2n8c2t-pci-normalio-hpnone-ibnone.xml \
	tests/golden/32em64t-2n8c2t-pci-normalio-hpnone-ibpf.xml \
	tests/golden/32em64t-2n8c2t-pci-normalio-hpnone-ibvf.xml \
	tests/golden/32em64t-2n8c2t-pci-normalio-ragged.xml \
	tests/golden/32em64t-2n8c2t-pci-wholeio-hp2M-ibnone.xml \
	tests/golden/32em64t-2n8c2t-pci-wholeio-hp2M-ibpf.xml \
	tests/golden/32em64t-2n8c2t-pci-wholeio-hp2M-ibvf.xml \
	tests/golden/32em64t-2n8c2t-pci-wholeio-hpnone-ibnone.xml \
	tests/golden/32em64t-2n8c2t-pci-wholeio-hpnone-ibpf.xml \
	tests/golden/32em64t-2n8c2t-pci-wholeio-hpnone-ibvf.xml \
	tests/golden/96em64t-4n4d3ca2co-pci-hp2M-ibnone.xml \
	tests/golden/96em64t-4n4d3ca2co-pci-hpnone-ibnone.xml

# The qcow2 parser's fuzz target is built with the others (tests/local.mk).
