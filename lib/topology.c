#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <hwloc.h>

#include "cpuset.h"
#include "log.h"
#include "topology.h"

#define PCI_CLASS_INFINIBAND 0x0207
#define PCI_VENDOR_MELLANOX 0x15b3

static void bitmap_freep(hwloc_bitmap_t *b)
{
	if (*b)
		hwloc_bitmap_free(*b);
}

static void topology_destroyp(hwloc_topology_t *t)
{
	if (*t)
		hwloc_topology_destroy(*t);
}

#define _cleanup_bitmap_ __attribute__((cleanup(bitmap_freep)))
#define _cleanup_topology_ __attribute__((cleanup(topology_destroyp)))

void svm_topology_free(struct svm_topology *topo)
{
	if (!topo)
		return;
	for (unsigned i = 0; i < topo->n_cells; i++)
		free(topo->cells[i].pus);
	free(topo->cells);
	free(topo->hcas);
	free(topo->job_cpus);
	free(topo->emulator_cpus);
	free(topo->host_cpus);
	free(topo);
}

const struct svm_topo_pu *svm_topology_vcpu(const struct svm_topology *topo,
					    unsigned vcpu, unsigned *cell)
{
	for (unsigned c = 0; c < topo->n_cells; c++) {
		for (unsigned i = 0; i < topo->cells[c].n_pus; i++) {
			if (topo->cells[c].pus[i].vcpu == vcpu) {
				if (cell)
					*cell = c;
				return &topo->cells[c].pus[i];
			}
		}
	}
	return NULL;
}

uint64_t svm_topology_mem_mib(const struct svm_topology *topo)
{
	uint64_t sum = 0;

	for (unsigned c = 0; c < topo->n_cells; c++)
		sum += topo->cells[c].memory >> 20;
	return sum;
}

/* The host NUMA node local to PU, or NULL when none is allowed. */
static hwloc_obj_t pu_numa(hwloc_topology_t t, hwloc_obj_t pu)
{
	int i = hwloc_bitmap_first(pu->nodeset);

	if (i < 0)
		return NULL;
	return hwloc_get_numanode_obj_by_os_index(t, (unsigned)i);
}

/* Index of NODE among the cells built so far, or -1. */
static int cell_of(const struct svm_topology *topo, unsigned node)
{
	for (unsigned c = 0; c < topo->n_cells; c++)
		if (topo->cells[c].host_node == node)
			return (int)c;
	return -1;
}

/* The job's PUs and the emulator's, from the lists given and the host's. */
static int job_sets(hwloc_const_bitmap_t allowed, const char *cpus,
		    const char *reserved, hwloc_bitmap_t job, hwloc_bitmap_t emu,
		    int *shared)
{
	_cleanup_bitmap_ hwloc_bitmap_t res = hwloc_bitmap_alloc();
	char *a = NULL, *b = NULL;
	int ret = -1;

	if (!res)
		goto out;
	a = svm_cpuset_format(allowed);
	if (reserved && *reserved) {
		if (svm_cpuset_parse(reserved, res) < 0) {
			svm_error("reserved_cpus '%s' is not a CPU list (e.g. 0,1 or 0-3)", reserved);
			goto out;
		}
		if (!hwloc_bitmap_isincluded(res, allowed)) {
			svm_error("reserved_cpus %s names CPUs this host does not have or allow (allowed: %s)",
				  reserved, a ? a : "?");
			goto out;
		}
	}
	if (cpus) {
		if (svm_cpuset_parse(cpus, job) < 0) {
			svm_error("job CPU list '%s' is not a CPU list (e.g. 0-3,8-11)", cpus);
			goto out;
		}
		if (!hwloc_bitmap_isincluded(job, allowed)) {
			svm_error("job CPUs %s are not all on this host (allowed: %s)", cpus, a ? a : "?");
			goto out;
		}
		if (hwloc_bitmap_intersects(job, res)) {
			svm_error("reserved_cpus %s overlap the job's CPUs %s: emulator threads must not share the job's CPUs",
				  reserved, cpus);
			goto out;
		}
	} else {
		hwloc_bitmap_andnot(job, allowed, res);
		if (hwloc_bitmap_iszero(job)) {
			svm_error("no CPU left for the job: reserved_cpus %s takes every allowed CPU (%s)",
				  reserved, a ? a : "?");
			goto out;
		}
	}
	if (!hwloc_bitmap_iszero(res)) {
		hwloc_bitmap_copy(emu, res);
	} else {
		hwloc_bitmap_andnot(emu, allowed, job);
		if (hwloc_bitmap_iszero(emu)) {
			/* The site reserved nothing and the job has every PU:
			 * the emulator threads float over the job's PUs rather
			 * than the job failing.  Sites that want them apart set
			 * reserved_cpus (and keep those PUs out of Slurm). */
			hwloc_bitmap_copy(emu, job);
			*shared = 1;
		}
	}
	ret = 0;
out:
	free(a);
	free(b);
	return ret;
}

/* Builds the cells and positions of the job's PUs. */
static int build_cells(hwloc_topology_t t, hwloc_const_bitmap_t job,
		       struct svm_topology *topo)
{
	unsigned n_numa = (unsigned)hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
	unsigned n = (unsigned)hwloc_bitmap_weight(job);
	hwloc_obj_t *pus = NULL, *pkgs = NULL, *cores = NULL;
	unsigned *pkg_cores = NULL, *pkg_pus = NULL, *core_pus = NULL;
	unsigned n_pkgs = 0, n_cores = 0, k = 0;
	int ret = -1;

	pus = calloc(n, sizeof(*pus));
	pkgs = calloc(n, sizeof(*pkgs));
	cores = calloc(n, sizeof(*cores));
	pkg_cores = calloc(n, sizeof(*pkg_cores));
	pkg_pus = calloc(n, sizeof(*pkg_pus));
	core_pus = calloc(n, sizeof(*core_pus));
	topo->cells = calloc(n_numa ? n_numa : 1, sizeof(*topo->cells));
	if (!pus || !pkgs || !cores || !pkg_cores || !pkg_pus || !core_pus || !topo->cells) {
		svm_error("cannot build the topology model: %s", strerror(ENOMEM));
		goto out;
	}

	/* Cells: NUMA nodes holding job PUs, in logical order. */
	for (hwloc_obj_t nd = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, NULL); nd;
	     nd = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, nd)) {
		if (!hwloc_bitmap_intersects(nd->cpuset, job))
			continue;
		topo->cells[topo->n_cells].host_node = nd->os_index;
		topo->cells[topo->n_cells].memory = nd->attr->numanode.local_memory;
		topo->n_cells++;
	}
	if (topo->n_cells == 0) {
		/* Every job PU lost its local node to the cpuset: use the first. */
		hwloc_obj_t nd = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, 0);

		if (!nd) {
			svm_error("the topology has no NUMA node");
			goto out;
		}
		topo->cells[0].host_node = nd->os_index;
		topo->cells[0].memory = nd->attr->numanode.local_memory;
		topo->n_cells = 1;
	}
	for (unsigned c = 0; c < topo->n_cells; c++) {
		topo->cells[c].pus = calloc(n, sizeof(*topo->cells[c].pus));
		if (!topo->cells[c].pus) {
			svm_error("cannot build the topology model: %s", strerror(ENOMEM));
			goto out;
		}
	}

	/* PUs in logical order: package, core, thread. */
	for (hwloc_obj_t pu = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PU, NULL); pu && k < n;
	     pu = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PU, pu)) {
		hwloc_obj_t pkg, core, nd;
		struct svm_topo_pu *p;
		unsigned pi, ci;
		int c;

		if (!hwloc_bitmap_isset(job, pu->os_index))
			continue;
		pkg = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, pu);
		core = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_CORE, pu);
		if (!core)
			core = pu;
		for (pi = 0; pi < n_pkgs && pkgs[pi] != pkg; pi++)
			;
		if (pi == n_pkgs)
			pkgs[n_pkgs++] = pkg;
		for (ci = 0; ci < n_cores && cores[ci] != core; ci++)
			;
		if (ci == n_cores) {
			cores[n_cores++] = core;
			pkg_cores[pi]++;
		}
		pkg_pus[pi]++;
		core_pus[ci]++;

		nd = pu_numa(t, pu);
		c = nd ? cell_of(topo, nd->os_index) : -1;
		p = &topo->cells[c < 0 ? 0 : c].pus[topo->cells[c < 0 ? 0 : c].n_pus++];
		p->os_index = pu->os_index;
		p->vcpu = k;
		p->package = pi;
		p->core = pkg_cores[pi] - 1;
		p->thread = core_pus[ci] - 1;
		p->local = c >= 0;
		pus[k++] = pu;
	}
	if (k != n) {
		svm_error("the topology lists %u of the job's %u CPUs", k, n);
		goto out;
	}
	topo->n_vcpus = n;

	/* Guest CPU topology: mirror each level that is uniform. */
	topo->threads = core_pus[0];
	for (unsigned i = 1; i < n_cores; i++)
		if (core_pus[i] != topo->threads)
			topo->threads = 1;
	topo->sockets = n_pkgs;
	for (unsigned i = 0; i < n_pkgs; i++)
		if (pkg_pus[i] != pkg_pus[0] || pkg_pus[i] % topo->threads)
			topo->sockets = 1;
	topo->cores = n / topo->sockets / topo->threads;
	ret = 0;
out:
	free(pus);
	free(pkgs);
	free(cores);
	free(pkg_cores);
	free(pkg_pus);
	free(core_pus);
	return ret;
}

static int pci_is_hca(hwloc_obj_t pci)
{
	return pci->attr->pcidev.class_id == PCI_CLASS_INFINIBAND ||
	       pci->attr->pcidev.vendor_id == PCI_VENDOR_MELLANOX;
}

static int cmp_hca(const void *a, const void *b)
{
	return strcmp(((const struct svm_topo_pci *)a)->name,
		      ((const struct svm_topo_pci *)b)->name);
}

static int find_hcas(hwloc_topology_t t, struct svm_topology *topo)
{
	unsigned n = 0;

	for (hwloc_obj_t os = hwloc_get_next_osdev(t, NULL); os; os = hwloc_get_next_osdev(t, os))
		n++;
	if (n == 0)
		return 0;
	topo->hcas = calloc(n, sizeof(*topo->hcas));
	if (!topo->hcas) {
		svm_error("cannot list the InfiniBand adapters: %s", strerror(ENOMEM));
		return -1;
	}
	for (hwloc_obj_t os = hwloc_get_next_osdev(t, NULL); os; os = hwloc_get_next_osdev(t, os)) {
		struct svm_topo_pci *h = &topo->hcas[topo->n_hcas];
		hwloc_obj_t pci = os->parent, anc;

		if (os->attr->osdev.type != HWLOC_OBJ_OSDEV_OPENFABRICS || !os->name)
			continue;
		while (pci && pci->type != HWLOC_OBJ_PCI_DEVICE)
			pci = pci->parent;
		if (!pci || !pci_is_hca(pci))
			continue;
		if (strlen(os->name) >= sizeof(h->name))
			continue;
		strcpy(h->name, os->name);
		h->domain = pci->attr->pcidev.domain;
		h->bus = pci->attr->pcidev.bus;
		h->dev = pci->attr->pcidev.dev;
		h->fn = pci->attr->pcidev.func;
		h->vendor = pci->attr->pcidev.vendor_id;
		h->device = pci->attr->pcidev.device_id;
		h->class_id = pci->attr->pcidev.class_id;
		anc = hwloc_get_non_io_ancestor_obj(t, os);
		h->host_node = -1;
		if (anc && anc->nodeset && hwloc_bitmap_weight(anc->nodeset) == 1)
			h->host_node = hwloc_bitmap_first(anc->nodeset);
		h->cell = h->host_node >= 0 ? cell_of(topo, (unsigned)h->host_node) : -1;
		topo->n_hcas++;
	}
	qsort(topo->hcas, topo->n_hcas, sizeof(*topo->hcas), cmp_hca);
	return 0;
}

/* Loads this machine's topology (XML NULL) or a saved one, with I/O. */
static int load_hwloc(const char *xml, hwloc_topology_t *out)
{
	hwloc_topology_t t;

	if (hwloc_topology_init(&t) < 0) {
		svm_error("cannot initialize hwloc: %s", strerror(errno ? errno : ENOMEM));
		return -1;
	}
	if (xml && hwloc_topology_set_xml(t, xml) < 0) {
		svm_error("cannot read the topology %s: %s", xml, strerror(errno));
		hwloc_topology_destroy(t);
		return -1;
	}
	hwloc_topology_set_io_types_filter(t, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
	if (hwloc_topology_load(t) < 0) {
		svm_error("cannot load the topology of %s: %s", xml ? xml : "this machine",
			  strerror(errno));
		hwloc_topology_destroy(t);
		return -1;
	}
	*out = t;
	return 0;
}

char *svm_topology_slurm_cpus(const char *xml, const char *abstract)
{
	_cleanup_topology_ hwloc_topology_t t = NULL;
	_cleanup_bitmap_ hwloc_bitmap_t abs = hwloc_bitmap_alloc();
	_cleanup_bitmap_ hwloc_bitmap_t os = hwloc_bitmap_alloc();
	hwloc_const_bitmap_t allowed;
	hwloc_obj_t pu = NULL;
	unsigned k = 0;

	if (!abs || !os) {
		svm_error("cannot map Slurm's CPU ids: %s", strerror(ENOMEM));
		return NULL;
	}
	if (svm_cpuset_parse(abstract, abs) < 0) {
		svm_error("Slurm's CPU list '%s' is not a CPU list", abstract);
		return NULL;
	}
	if (load_hwloc(xml, &t) < 0)
		return NULL;
	allowed = hwloc_topology_get_allowed_cpuset(t);
	/* Slurm numbers the PUs it may use socket by socket, core by core,
	 * thread by thread: hwloc's logical order of the allowed PUs. */
	while ((pu = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PU, pu))) {
		if (!hwloc_bitmap_isset(allowed, pu->os_index))
			continue;
		if (hwloc_bitmap_isset(abs, (int)k))
			hwloc_bitmap_set(os, pu->os_index);
		k++;
	}
	if (hwloc_bitmap_weight(os) != hwloc_bitmap_weight(abs)) {
		svm_error("Slurm's CPU ids %s are not all on this host (it has %u usable CPUs)",
			  abstract, k);
		return NULL;
	}
	return svm_cpuset_format(os);
}

int svm_topology_load(const char *xml, const char *cpus, const char *reserved,
		      struct svm_topology **out)
{
	_cleanup_topology_ hwloc_topology_t t = NULL;
	_cleanup_bitmap_ hwloc_bitmap_t job = hwloc_bitmap_alloc();
	_cleanup_bitmap_ hwloc_bitmap_t emu = hwloc_bitmap_alloc();
	struct svm_topology *topo = NULL;
	hwloc_const_bitmap_t allowed;
	hwloc_obj_t nd;
	int emu_shared = 0;
	int ret = -1;

	if (!job || !emu) {
		svm_error("cannot initialize hwloc: %s", strerror(ENOMEM));
		goto out;
	}
	if (load_hwloc(xml, &t) < 0)
		goto out;
	allowed = hwloc_topology_get_allowed_cpuset(t);
	if (job_sets(allowed, cpus, reserved, job, emu, &emu_shared) < 0)
		goto out;

	topo = calloc(1, sizeof(*topo));
	if (!topo) {
		svm_error("cannot build the topology model: %s", strerror(ENOMEM));
		goto out;
	}
	if (build_cells(t, job, topo) < 0 || find_hcas(t, topo) < 0)
		goto out;
	nd = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, 0);
	topo->numa_info = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE) > 1 ||
			  (nd && nd->attr->numanode.local_memory > 0);
	topo->emulator_shared = emu_shared;
	topo->job_cpus = svm_cpuset_format(job);
	topo->emulator_cpus = svm_cpuset_format(emu);
	topo->host_cpus = svm_cpuset_format(allowed);
	if (!topo->job_cpus || !topo->emulator_cpus || !topo->host_cpus) {
		svm_error("cannot build the topology model: %s", strerror(ENOMEM));
		goto out;
	}
	*out = topo;
	topo = NULL;
	ret = 0;
out:
	svm_topology_free(topo);
	return ret;
}
