/* The topology model on real hwloc topologies (tests/topologies): the
 * properties the domain XML relies on, for every file, and the mirroring
 * and error cases one by one. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <hwloc.h>

#include "cpuset.h"
#include "log.h"
#include "topology.h"
#include "testutil.h"

static int setup(void **state)
{
	(void)state;
	testutil_log_capture();
	return 0;
}

#define topo_path(name) testutil_srcpath("topologies", name)

/* The reserved_cpus of each topology: the first core of each package, as
 * Slurm's CoreSpecCount would leave them. */
static const struct {
	const char *file, *reserved;
	unsigned cells, vcpus, sockets, cores, threads, hcas;
} fixtures[] = {
	{ "16amd64-8n2c-cpusets.xml", "0", 3, 9, 1, 9, 1, 0 },
	{ "16em64t-4s2c2t.xml", "0,8,1,9,2,10,3,11", 1, 8, 4, 1, 2, 0 },
	{ "16intel64-manyVFs.xml", "0,8", 2, 14, 2, 7, 1, 0 },
	{ "192em64t-24n8c2t.xml", "0,192,8,200,16,208,24,216,32,224,40,232,48,240,56,248,64,256,72,264,80,272,88,280,96,288,104,296,112,304,120,312,128,320,136,328,144,336,152,344,160,352,168,360,176,368,184,376",
	  24, 336, 24, 7, 2, 1 },
	{ "24em64t-2n6c2t-pci.xml", "0,12,1,13", 2, 20, 2, 5, 2, 1 },
	{ "32em64t-2n8c2t-pci-normalio.xml", "0,16,8,24", 2, 28, 2, 7, 2, 1 },
	{ "32em64t-2n8c2t-pci-wholeio.xml", "0,16,8,24", 2, 28, 2, 7, 2, 1 },
	{ "96em64t-4n4d3ca2co-pci.xml", "0-3,24-27,48-51,72-75", 4, 80, 16, 5, 1, 0 },
};

/* The properties the guest relies on, checked against hwloc itself. */
static void check_properties(const char *file, const struct svm_topology *t)
{
	hwloc_topology_t h;
	hwloc_bitmap_t seen = hwloc_bitmap_alloc(), job = hwloc_bitmap_alloc();
	hwloc_bitmap_t emu = hwloc_bitmap_alloc(), nodes = hwloc_bitmap_alloc();
	unsigned total = 0;

	assert_int_equal(hwloc_topology_init(&h), 0);
	assert_int_equal(hwloc_topology_set_xml(h, topo_path(file)), 0);
	assert_int_equal(hwloc_topology_load(h), 0);
	assert_int_equal(svm_cpuset_parse(t->job_cpus, job), 0);
	assert_int_equal(svm_cpuset_parse(t->emulator_cpus, emu), 0);

	assert_int_equal(t->sockets * t->cores * t->threads, t->n_vcpus);
	assert_false(hwloc_bitmap_intersects(job, emu));
	assert_false(hwloc_bitmap_iszero(emu));
	for (unsigned c = 0; c < t->n_cells; c++) {
		const struct svm_topo_cell *cell = &t->cells[c];

		assert_false(hwloc_bitmap_isset(nodes, cell->host_node));
		hwloc_bitmap_set(nodes, cell->host_node);
		assert_true(cell->n_pus > 0);
		for (unsigned i = 0; i < cell->n_pus; i++) {
			const struct svm_topo_pu *pu = &cell->pus[i];
			hwloc_obj_t o = hwloc_get_pu_obj_by_os_index(h, pu->os_index);
			unsigned cc;

			assert_non_null(o);
			/* no PU twice, only job PUs */
			assert_false(hwloc_bitmap_isset(seen, pu->os_index));
			hwloc_bitmap_set(seen, pu->os_index);
			assert_true(hwloc_bitmap_isset(job, pu->os_index));
			/* on its own host node, unless that node is not allowed */
			if (pu->local)
				assert_true(hwloc_bitmap_isset(o->nodeset, cell->host_node));
			else
				assert_true(hwloc_bitmap_iszero(o->nodeset));
			assert_true(pu->vcpu < t->n_vcpus);
			assert_ptr_equal(svm_topology_vcpu(t, pu->vcpu, &cc), pu);
			assert_int_equal(cc, c);
			total++;
		}
	}
	assert_int_equal(total, t->n_vcpus);
	assert_true(hwloc_bitmap_isequal(seen, job));
	hwloc_bitmap_free(seen);
	hwloc_bitmap_free(job);
	hwloc_bitmap_free(emu);
	hwloc_bitmap_free(nodes);
	hwloc_topology_destroy(h);
}

static void test_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		struct svm_topology *t = NULL;

		print_message("%s\n", fixtures[i].file);
		assert_int_equal(svm_topology_load(topo_path(fixtures[i].file), NULL,
						   fixtures[i].reserved, &t), 0);
		assert_int_equal(t->n_cells, fixtures[i].cells);
		assert_int_equal(t->n_vcpus, fixtures[i].vcpus);
		assert_int_equal(t->sockets, fixtures[i].sockets);
		assert_int_equal(t->cores, fixtures[i].cores);
		assert_int_equal(t->threads, fixtures[i].threads);
		assert_int_equal(t->n_hcas, fixtures[i].hcas);
		{
			hwloc_bitmap_t a = hwloc_bitmap_alloc(), b = hwloc_bitmap_alloc();

			assert_int_equal(svm_cpuset_parse(t->emulator_cpus, a), 0);
			assert_int_equal(svm_cpuset_parse(fixtures[i].reserved, b), 0);
			assert_true(hwloc_bitmap_isequal(a, b));
			hwloc_bitmap_free(a);
			hwloc_bitmap_free(b);
		}
		check_properties(fixtures[i].file, t);
		svm_topology_free(t);
	}
}

static void test_two_sockets_smt(void **state)
{
	struct svm_topology *t = NULL;

	(void)state;
	assert_int_equal(svm_topology_load(topo_path("24em64t-2n6c2t-pci.xml"), NULL, "0,12,1,13", &t), 0);
	assert_string_equal(t->job_cpus, "2-11,14-23");
	assert_string_equal(t->emulator_cpus, "0-1,12-13");
	assert_string_equal(t->host_cpus, "0-23");
	assert_int_equal(t->numa_info, 1);
	/* vCPUs follow the host: core 1 of package 0 is PUs 2 and 14 */
	assert_int_equal(t->cells[0].host_node, 0);
	assert_int_equal(t->cells[0].pus[0].os_index, 2);
	assert_int_equal(t->cells[0].pus[0].vcpu, 0);
	assert_int_equal(t->cells[0].pus[1].os_index, 14);
	assert_int_equal(t->cells[0].pus[1].thread, 1);
	assert_int_equal(t->cells[0].pus[1].core, 0);
	assert_int_equal(t->cells[1].host_node, 1);
	assert_int_equal(t->cells[1].pus[0].os_index, 3);
	assert_int_equal(t->cells[1].pus[0].vcpu, 10);
	assert_int_equal(t->cells[1].pus[0].package, 1);
	assert_true(t->cells[0].memory == 19316633600ULL);
	assert_int_equal(svm_topology_mem_mib(t), 18421 + 18431);
	/* the ConnectX-3 on node 0 */
	assert_int_equal(t->n_hcas, 1);
	assert_string_equal(t->hcas[0].name, "mlx4_0");
	assert_int_equal(t->hcas[0].bus, 5);
	assert_int_equal(t->hcas[0].dev, 0);
	assert_int_equal(t->hcas[0].fn, 0);
	assert_int_equal(t->hcas[0].vendor, 0x15b3);
	assert_int_equal(t->hcas[0].host_node, 0);
	assert_int_equal(t->hcas[0].cell, 0);
	check_properties("24em64t-2n6c2t-pci.xml", t);
	svm_topology_free(t);
}

static void test_partial_allocation(void **state)
{
	struct svm_topology *t = NULL;

	(void)state;
	/* two whole cores of package 1: one cell on node 1, 1x2x2 */
	assert_int_equal(svm_topology_load(topo_path("24em64t-2n6c2t-pci.xml"), "1,13,3,15", NULL, &t), 0);
	assert_int_equal(t->n_cells, 1);
	assert_int_equal(t->cells[0].host_node, 1);
	assert_int_equal(t->sockets, 1);
	assert_int_equal(t->cores, 2);
	assert_int_equal(t->threads, 2);
	/* without reserved_cpus, the emulator gets what the job does not */
	assert_string_equal(t->emulator_cpus, "0,2,4-12,14,16-23");
	/* the HCA sits on node 0, where the job has nothing */
	assert_int_equal(t->hcas[0].cell, -1);
	check_properties("24em64t-2n6c2t-pci.xml", t);
	svm_topology_free(t);

	/* a core with both threads and two with one: threads collapse */
	assert_int_equal(svm_topology_load(topo_path("32em64t-2n8c2t-pci-normalio.xml"), "1-3,17", "0", &t), 0);
	assert_int_equal(t->n_vcpus, 4);
	assert_int_equal(t->sockets, 1);
	assert_int_equal(t->cores, 4);
	assert_int_equal(t->threads, 1);
	check_properties("32em64t-2n8c2t-pci-normalio.xml", t);
	svm_topology_free(t);

	/* packages with different numbers of job cores: one socket */
	assert_int_equal(svm_topology_load(topo_path("24em64t-2n6c2t-pci.xml"), "2,14,3,15,5,17", "0", &t), 0);
	assert_int_equal(t->n_cells, 2);
	assert_int_equal(t->sockets, 1);
	assert_int_equal(t->cores, 3);
	assert_int_equal(t->threads, 2);
	check_properties("24em64t-2n6c2t-pci.xml", t);
	svm_topology_free(t);
}

static void test_no_numa_info(void **state)
{
	struct svm_topology *t = NULL;

	(void)state;
	assert_int_equal(svm_topology_load(topo_path("16em64t-4s2c2t.xml"), "2-3,6-7,10-11,14-15", NULL, &t), 0);
	assert_int_equal(t->numa_info, 0);
	assert_int_equal(t->n_cells, 1);
	assert_int_equal(t->cells[0].host_node, 0);
	/* packages 2 and 3, two cores each, two threads per core */
	assert_int_equal(t->sockets, 2);
	assert_int_equal(t->cores, 2);
	assert_int_equal(t->threads, 2);
	svm_topology_free(t);
}

static void test_restricted_cpuset(void **state)
{
	struct svm_topology *t = NULL;

	(void)state;
	assert_int_equal(svm_topology_load(topo_path("16amd64-8n2c-cpusets.xml"), NULL, "0", &t), 0);
	assert_string_equal(t->host_cpus, "0-3,5-6,12-15");
	assert_string_equal(t->job_cpus, "1-3,5-6,12-15");
	/* nodes 4 and 5 hold no CPU; PUs 1, 12-15 have no allowed node */
	assert_int_equal(t->n_cells, 3);
	assert_int_equal(t->cells[0].host_node, 1);
	assert_int_equal(t->cells[1].host_node, 2);
	assert_int_equal(t->cells[2].host_node, 3);
	assert_int_equal(t->cells[0].n_pus, 7);
	assert_int_equal(t->cells[0].pus[0].os_index, 1);
	assert_int_equal(t->cells[0].pus[0].local, 0);
	assert_int_equal(t->cells[0].pus[1].os_index, 2);
	assert_int_equal(t->cells[0].pus[1].local, 1);
	check_properties("16amd64-8n2c-cpusets.xml", t);
	svm_topology_free(t);

	/* PU 4 exists on the machine but is outside the allowed cpuset */
	assert_int_equal(svm_topology_load(topo_path("16amd64-8n2c-cpusets.xml"), "2-4", "0", &t), -1);
	assert_string_equal(testutil_last_error, "job CPUs 2-4 are not all on this host (allowed: 0-3,5-6,12-15)");
	assert_int_equal(svm_topology_load(topo_path("16amd64-8n2c-cpusets.xml"), NULL, "4", &t), -1);
	assert_string_equal(testutil_last_error, "reserved_cpus 4 names CPUs this host does not have or allow (allowed: 0-3,5-6,12-15)");
	/* only PUs without an allowed node: the first allowed node */
	assert_int_equal(svm_topology_load(topo_path("16amd64-8n2c-cpusets.xml"), "12-15", "0", &t), 0);
	assert_int_equal(t->n_cells, 1);
	assert_int_equal(t->cells[0].host_node, 1);
	svm_topology_free(t);
}

/* Slurm's abstract ids follow hwloc's logical order: on this Xeon the
 * first two logical PUs are the two threads of core 0 (hwloc-calc
 * --physical-output --intersect PU PU:0-3 says 0,12,2,14). */
static void test_slurm_cpus(void **state)
{
	const char *f = topo_path("24em64t-2n6c2t-pci.xml");
	char *os;

	(void)state;
	os = svm_topology_slurm_cpus(f, "0-3");
	assert_non_null(os);
	assert_string_equal(os, "0,2,12,14");
	free(os);
	os = svm_topology_slurm_cpus(f, "0-23");
	assert_non_null(os);
	assert_string_equal(os, "0-23");
	free(os);
	assert_null(svm_topology_slurm_cpus(f, "20-24"));
	assert_string_equal(testutil_last_error, "Slurm's CPU ids 20-24 are not all on this host (it has 24 usable CPUs)");
	assert_null(svm_topology_slurm_cpus(f, "x"));
}

static void test_errors(void **state)
{
	struct svm_topology *t = NULL;
	const char *f = topo_path("24em64t-2n6c2t-pci.xml");

	(void)state;
	assert_int_equal(svm_topology_load(f, "0-3", "3", &t), -1);
	assert_string_equal(testutil_last_error, "reserved_cpus 3 overlap the job's CPUs 0-3: emulator threads must not share the job's CPUs");
	/* nothing reserved, the job has every PU: the emulator shares them */
	assert_int_equal(svm_topology_load(f, NULL, NULL, &t), 0);
	assert_string_equal(t->emulator_cpus, "0-23");
	assert_int_equal(t->emulator_shared, 1);
	assert_int_equal(t->n_vcpus, 24);
	svm_topology_free(t);
	t = NULL;
	assert_int_equal(svm_topology_load(f, "0-23", "", &t), 0);
	assert_int_equal(t->emulator_shared, 1);
	svm_topology_free(t);
	t = NULL;
	assert_int_equal(svm_topology_load(f, "0-11", NULL, &t), 0);
	assert_int_equal(t->emulator_shared, 0);
	svm_topology_free(t);
	t = NULL;
	assert_int_equal(svm_topology_load(f, NULL, "0-23", &t), -1);
	assert_string_equal(testutil_last_error, "no CPU left for the job: reserved_cpus 0-23 takes every allowed CPU (0-23)");
	assert_int_equal(svm_topology_load(f, "0-", "1", &t), -1);
	assert_string_equal(testutil_last_error, "job CPU list '0-' is not a CPU list (e.g. 0-3,8-11)");
	assert_int_equal(svm_topology_load(f, "20-30", "1", &t), -1);
	assert_string_equal(testutil_last_error, "job CPUs 20-30 are not all on this host (allowed: 0-23)");
	assert_int_equal(svm_topology_load(f, "2", "x", &t), -1);
	assert_string_equal(testutil_last_error, "reserved_cpus 'x' is not a CPU list (e.g. 0,1 or 0-3)");
	assert_int_equal(svm_topology_load("/nonexistent/topo.xml", "2", "1", &t), -1);
	assert_string_equal(testutil_last_error, "cannot read the topology /nonexistent/topo.xml: No such file or directory");
	assert_null(t);
}

static void test_hca_filter(void **state)
{
	struct svm_topology *t = NULL;

	(void)state;
	/* Cisco usNIC verbs devices are Ethernet, not InfiniBand */
	assert_int_equal(svm_topology_load(topo_path("16intel64-manyVFs.xml"), NULL, "0", &t), 0);
	assert_int_equal(t->n_hcas, 0);
	svm_topology_free(t);
	assert_int_equal(svm_topology_load(topo_path("32em64t-2n8c2t-pci-normalio.xml"), NULL, "0", &t), 0);
	assert_int_equal(t->n_hcas, 1);
	assert_string_equal(t->hcas[0].name, "mlx5_0");
	assert_true(t->hcas[0].host_node >= 0);
	assert_int_equal(t->cells[t->hcas[0].cell].host_node, t->hcas[0].host_node);
	svm_topology_free(t);
}

static void test_cpulist(void **state)
{
	hwloc_bitmap_t s = hwloc_bitmap_alloc();
	char *str;

	(void)state;
	assert_int_equal(svm_cpuset_parse("0-3,8-11", s), 0);
	str = svm_cpuset_format(s);
	assert_string_equal(str, "0-3,8-11");
	free(str);
	assert_int_equal(svm_cpuset_parse("7", s), 0);
	assert_int_equal(hwloc_bitmap_weight(s), 1);
	assert_int_equal(svm_cpuset_parse("65535", s), 0);
	assert_int_equal(svm_cpuset_parse("65536", s), -1);
	assert_true(hwloc_bitmap_iszero(s));
	assert_int_equal(svm_cpuset_parse("", s), -1);
	assert_int_equal(svm_cpuset_parse(NULL, s), -1);
	assert_int_equal(svm_cpuset_parse("3-1", s), -1);
	assert_int_equal(svm_cpuset_parse("1,", s), -1);
	assert_int_equal(svm_cpuset_parse(",1", s), -1);
	assert_int_equal(svm_cpuset_parse("1 2", s), -1);
	assert_int_equal(svm_cpuset_parse("-1", s), -1);
	assert_int_equal(svm_cpuset_parse("1--2", s), -1);
	assert_int_equal(svm_cpuset_parse("0x1", s), -1);
	hwloc_bitmap_zero(s);
	str = svm_cpuset_format(s);
	assert_string_equal(str, "");
	free(str);
	hwloc_bitmap_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_slurm_cpus, setup),
		cmocka_unit_test_setup(test_fixtures, setup),
		cmocka_unit_test_setup(test_two_sockets_smt, setup),
		cmocka_unit_test_setup(test_partial_allocation, setup),
		cmocka_unit_test_setup(test_no_numa_info, setup),
		cmocka_unit_test_setup(test_restricted_cpuset, setup),
		cmocka_unit_test_setup(test_errors, setup),
		cmocka_unit_test_setup(test_hca_filter, setup),
		cmocka_unit_test_setup(test_cpulist, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
