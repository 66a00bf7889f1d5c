/* The job's nodes as the job network sees them: rank from SLURM_NODELIST
 * order (the rank that picks each guest's MAC and IP), underlay address
 * from NodeAddr (overlay_resolve = nodeaddr: what slurmctld uses to reach
 * the node, asked once) or from the name NODE+overlay_name_suffix
 * (overlay_resolve = name: "n1-ib" for the address on the IPoIB or
 * high-speed interface, from the site's hosts file or DNS).
 *
 * Linked with libslurm (hostlist, node table), so compiled into the
 * programs that have it, the prolog and the CLI, rather than the plugin's
 * library. */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

#include "log.h"
#include "netpeers.h"

/* Resolves HOST to an IPv4 address.  0, or -1 after logging. */
static int resolve(const char *node, const char *host, struct in_addr *out)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host, NULL, &hints, &res);

	if (rc != 0 || !res) {
		svm_error("cannot find the underlay address of node %s (%s): %s", node, host,
			  gai_strerror(rc));
		return -1;
	}
	*out = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
	freeaddrinfo(res);
	return 0;
}

/* "NODE=A.B.C.D" entries of OVER for NODE. */
static int overridden(const char *const *over, size_t n_over, const char *node,
		      struct in_addr *out)
{
	size_t len = strlen(node);

	for (size_t i = 0; i < n_over; i++)
		if (!strncmp(over[i], node, len) && over[i][len] == '=')
			return inet_pton(AF_INET, over[i] + len + 1, out) == 1;
	return 0;
}

int svm_netpeers_get(const struct svm_config *conf, const char *nodelist, const char *self,
		     const char *const *over, size_t n_over, struct svm_peer **out,
		     size_t *n_out, size_t *self_out)
{
	node_info_msg_t *nodes = NULL;
	struct svm_peer *peers = NULL;
	hostlist_t hl = NULL;
	size_t n = 0, me = (size_t)-1;
	char *name;
	int count, rc = -1;

	*out = NULL;
	*n_out = 0;
	hl = slurm_hostlist_create(nodelist);
	count = hl ? slurm_hostlist_count(hl) : 0;
	if (count <= 0) {
		svm_error("cannot read the job's node list '%.200s'", nodelist);
		goto out;
	}
	peers = calloc((size_t)count, sizeof(*peers));
	if (!peers) {
		svm_error("cannot list %d nodes: out of memory", count);
		goto out;
	}
	while ((name = slurm_hostlist_shift(hl))) {
		struct svm_peer *p = &peers[n];
		char host[160];
		int bad = snprintf(p->node, sizeof(p->node), "%s", name) >= (int)sizeof(p->node);

		free(name);
		if (bad || n >= (size_t)count) {
			svm_error("node name too long or node list changed in '%.200s'", nodelist);
			goto out;
		}
		p->rank = (unsigned)n;
		if (!strcmp(p->node, self))
			me = n;
		n++;
		if (overridden(over, n_over, p->node, &p->addr))
			continue;
		if (conf->overlay_resolve == SVM_RESOLVE_NAME) {
			snprintf(host, sizeof(host), "%s%s", p->node, conf->overlay_name_suffix);
			if (resolve(p->node, host, &p->addr) < 0)
				goto out;
			continue;
		}
		if (!nodes && (slurm_load_node(0, &nodes, SHOW_ALL) != SLURM_SUCCESS || !nodes)) {
			svm_error("cannot get the nodes' addresses from slurmctld: %s",
				  slurm_strerror(slurm_get_errno()));
			nodes = NULL;
			goto out;
		}
		{
			const char *addr = NULL;

			for (uint32_t i = 0; i < nodes->record_count; i++)
				if (nodes->node_array[i].name && !strcmp(nodes->node_array[i].name, p->node)) {
					addr = nodes->node_array[i].node_addr;
					break;
				}
			if (resolve(p->node, addr && *addr ? addr : p->node, &p->addr) < 0)
				goto out;
		}
	}
	if (me == (size_t)-1) {
		svm_error("node %s is not in the job's node list '%.200s'", self, nodelist);
		goto out;
	}
	*out = peers;
	*n_out = n;
	*self_out = me;
	peers = NULL;
	rc = 0;
out:
	free(peers);
	if (nodes)
		slurm_free_node_info_msg(nodes);
	if (hl)
		slurm_hostlist_destroy(hl);
	return rc;
}

/* The number of nodes in NODELIST (0 if it does not parse). */
static int node_count(const char *nodelist)
{
	hostlist_t hl = slurm_hostlist_create(nodelist);
	int n = hl ? slurm_hostlist_count(hl) : 0;

	if (hl)
		slurm_hostlist_destroy(hl);
	return n;
}

int svm_netpeers_up(const struct svm_config *conf, uint32_t job, const char *nodelist,
		    const char *self, const char *const *over, size_t n_over, unsigned *mtu)
{
	struct svm_peer *peers = NULL;
	size_t n = 0, me = 0;
	int rc;

	*mtu = 0;
	if (conf->network == SVM_NET_OVERLAY &&
	    svm_netpeers_get(conf, nodelist, self, over, n_over, &peers, &n, &me) < 0)
		return -1;
	/* auto: a one-node job needs no addresses (nor the slurmctld query);
	 * nodes whose addresses do not resolve get the bridge, said in the
	 * log, rather than a failed job */
	if (conf->network == SVM_NET_AUTO && node_count(nodelist) > 1 &&
	    svm_netpeers_get(conf, nodelist, self, over, n_over, &peers, &n, &me) < 0) {
		svm_info("job %" PRIu32 ": network = auto: no underlay address for every node, the job's guests on this host only share a bridge",
			 job);
		peers = NULL;
		n = 0;
	}
	rc = svm_netjob_up(conf, job, peers, n, me, mtu);
	free(peers);
	return rc;
}
