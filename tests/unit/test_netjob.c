/* The job network's derivations: VNI, device names, guest MAC and IP, the
 * per-peer batch text, the VNI holder in `ip -d -o link` output, the
 * node list to peers (hostlist order, overrides, name resolution), and the
 * guests' /etc/hosts agreeing with all that. */
#include "config.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <slurm/slurm.h>

#include "domain_xml.h"
#include "etc_hosts.h"
#include "jobdir.h"
#include "netjob.h"
#include "netpeers.h"
#include "vmconf.h"

static void test_vni(void **state)
{
	struct svm_config conf;

	(void)state;
	svm_config_defaults(&conf);
	assert_int_equal(svm_netjob_vni(&conf, 42), 42);
	assert_int_equal(svm_netjob_vni(&conf, 42 + (1u << 24)), 42);
	assert_int_equal(svm_netjob_vni(&conf, UINT32_MAX), 0xffffff);
	conf.overlay_vni_offset = 1000;
	assert_int_equal(svm_netjob_vni(&conf, 42), 1042);
	assert_int_equal(svm_netjob_vni(&conf, 0xffffff), 999);
	assert_int_equal(svm_netjob_vni(&conf, UINT32_MAX), 999);
}

static void test_names(void **state)
{
	struct svm_config conf;
	char br[SVM_NET_IFNAMSIZ], vx[SVM_NET_IFNAMSIZ];

	(void)state;
	svm_config_defaults(&conf);
	assert_int_equal(svm_netjob_names(&conf, 42, br, vx), 0);
	assert_string_equal(br, "svm2a");
	assert_string_equal(vx, "svmv2a");
	/* every 32-bit job id fits IFNAMSIZ behind the longest prefix allowed:
	 * the decimal names did not ("jobnet4294967295" is 16) */
	strcpy(conf.network_name, "jobnet");
	assert_int_equal(svm_netjob_bridge_name(&conf, UINT32_MAX, br, sizeof(br)), 0);
	assert_string_equal(br, "jobnetffffffff");
	assert_int_equal(svm_netjob_bridge_name(&conf, 10000000, br, sizeof(br)), 0);
	assert_int_equal(svm_netjob_names(&conf, UINT32_MAX, br, vx), 0);
	assert_string_equal(vx, "jobnetvffffffff");
	assert_true(strlen(vx) <= 15);
}

static void test_config(void **state)
{
	struct svm_config conf;

	(void)state;
	svm_config_defaults(&conf);
	assert_int_equal(conf.overlay_port, 4789);
	assert_int_equal(conf.network, SVM_NET_AUTO);
	assert_int_equal(svm_config_parse(&conf, "t", "network = auto\n"), 0);
	assert_int_equal(conf.network, SVM_NET_AUTO);
	/* auto makes bridge names too: the same prefix limit */
	assert_int_equal(svm_config_parse(&conf, "t", "network_name = slurmvm\n"), -1);
	svm_config_defaults(&conf);
	assert_int_equal(svm_config_parse(&conf, "t",
		"network = overlay\noverlay_port = 8472\noverlay_vni_offset = 7\n"
		"overlay_mtu = 9000\noverlay_resolve = name\noverlay_name_suffix = -ib\n"), 0);
	assert_int_equal(conf.network, SVM_NET_OVERLAY);
	assert_int_equal(conf.overlay_port, 8472);
	assert_int_equal(conf.overlay_vni_offset, 7);
	assert_int_equal(conf.overlay_mtu, 9000);
	assert_int_equal(conf.overlay_resolve, SVM_RESOLVE_NAME);
	assert_string_equal(conf.overlay_name_suffix, "-ib");
	/* a prefix that leaves no room for the hex job id and the 'v' */
	assert_int_equal(svm_config_parse(&conf, "t", "network = overlay\nnetwork_name = slurmvm\n"), -1);
	svm_config_defaults(&conf);
	assert_int_equal(svm_config_parse(&conf, "t", "network_name = slurmvm\nnetwork = bridge\n"), -1);
	svm_config_defaults(&conf);
	assert_int_equal(svm_config_parse(&conf, "t", "network = libvirt\nnetwork_name = slurmvm\n"), 0);
	assert_int_equal(svm_config_parse(&conf, "t", "overlay_port = 0\n"), -1);
	assert_int_equal(svm_config_parse(&conf, "t", "overlay_vni_offset = 16777216\n"), -1);
	assert_int_equal(svm_config_parse(&conf, "t", "overlay_mtu = 100\n"), -1);
	assert_int_equal(svm_config_parse(&conf, "t", "overlay_name_suffix = a b\n"), -1);
}

static void test_mac_ip(void **state)
{
	char mac[24], ip[24], cidr[32];

	(void)state;
	svm_netjob_guest_mac(0x123456, 258, mac, sizeof(mac));
	assert_string_equal(mac, "52:12:34:56:01:02");
	svm_netjob_guest_mac(0xff00002a, 0, mac, sizeof(mac));
	assert_string_equal(mac, "52:00:00:2a:00:00");
	svm_netjob_guest_addr(0, ip, sizeof(ip));
	assert_string_equal(ip, "169.254.1.1");
	svm_netjob_guest_addr(999, ip, sizeof(ip));
	assert_string_equal(ip, "169.254.4.238");
	svm_netjob_guest_ip(999, cidr, sizeof(cidr));
	assert_string_equal(cidr, "169.254.4.238/16");
}

static void peer(struct svm_peer *p, const char *node, unsigned rank, const char *addr)
{
	strcpy(p->node, node);
	p->rank = rank;
	assert_int_equal(inet_pton(AF_INET, addr, &p->addr), 1);
}

static void test_batch(void **state)
{
	struct svm_peer p[4];
	char *fdb, *neigh;

	(void)state;
	peer(&p[0], "n1", 0, "10.0.0.1");
	peer(&p[1], "n2", 1, "10.0.0.2");
	peer(&p[2], "n3", 2, "10.0.0.1");	/* on this host: the bridge has it */
	peer(&p[3], "n4", 3, "10.0.0.4");
	fdb = svm_netjob_batch(SVM_BATCH_FDB, "svmv2a", 42, p, 4, 0);
	neigh = svm_netjob_batch(SVM_BATCH_NEIGH, "svmv2a", 42, p, 4, 0);
	assert_non_null(fdb);
	assert_non_null(neigh);
	assert_string_equal(fdb,
		"fdb replace 52:00:00:2a:00:01 dev svmv2a dst 10.0.0.2 self permanent\n"
		"fdb replace 52:00:00:2a:00:03 dev svmv2a dst 10.0.0.4 self permanent\n");
	assert_string_equal(neigh,
		"neigh replace 169.254.1.2 lladdr 52:00:00:2a:00:01 dev svmv2a nud permanent\n"
		"neigh replace 169.254.1.4 lladdr 52:00:00:2a:00:03 dev svmv2a nud permanent\n");
	free(fdb);
	free(neigh);
	/* a job alone on its host: nothing to batch */
	fdb = svm_netjob_batch(SVM_BATCH_FDB, "svmv2a", 42, p, 1, 0);
	assert_string_equal(fdb, "");
	free(fdb);
}

static void test_vni_holder(void **state)
{
	static const char out[] =
		"3: vxsite@eth0: <BROADCAST,MULTICAST> mtu 1450 qdisc noop state DOWN mode DEFAULT \\    link/ether 1a:8e:11:97:cd:80 brd ff:ff:ff:ff:ff:ff \\    vxlan id 420 local 10.9.9.1 dev eth0 srcport 0 0 dstport 4789 nolearning ttl auto\n"
		"7: svmv2a: <BROADCAST,MULTICAST,UP> mtu 1450 qdisc noqueue master svm2a \\    link/ether 2a:8e:11:97:cd:80 brd ff:ff:ff:ff:ff:ff \\    vxlan id 42 local 10.9.9.1 srcport 0 0 dstport 4789 nolearning proxy ttl auto\n"
		"8: other: <BROADCAST> mtu 1450 \\    vxlan id 43 local 10.9.9.1 srcport 0 0 dstport 8472 ttl auto\n";
	char name[SVM_NET_IFNAMSIZ];

	(void)state;
	assert_int_equal(svm_netjob_vni_holder(out, 42, 4789, name), 1);
	assert_string_equal(name, "svmv2a");
	assert_int_equal(svm_netjob_vni_holder(out, 420, 4789, name), 1);
	assert_string_equal(name, "vxsite");
	/* VNI 4 is no prefix match of 42 or 420 */
	assert_int_equal(svm_netjob_vni_holder(out, 4, 4789, name), 0);
	/* the same VNI on another port is another network */
	assert_int_equal(svm_netjob_vni_holder(out, 43, 4789, name), 0);
	assert_int_equal(svm_netjob_vni_holder(out, 43, 8472, name), 1);
	assert_int_equal(svm_netjob_vni_holder("", 42, 4789, name), 0);
}

static void test_peers(void **state)
{
	const char *over[] = { "n1=10.0.0.1", "n2=10.0.0.2", "n10=10.0.0.10" };
	struct svm_config conf;
	struct svm_peer *p = NULL;
	size_t n = 0, me = 0;
	char a[INET_ADDRSTRLEN];

	(void)state;
	svm_config_defaults(&conf);
	conf.overlay_resolve = SVM_RESOLVE_NAME;
	/* hostlist order is the rank order of node_index() */
	assert_int_equal(svm_netpeers_get(&conf, "n[1-2,10]", "n2", over, 3, &p, &n, &me), 0);
	assert_int_equal(n, 3);
	assert_int_equal(me, 1);
	assert_string_equal(p[2].node, "n10");
	assert_int_equal(p[2].rank, 2);
	assert_string_equal(inet_ntop(AF_INET, &p[2].addr, a, sizeof(a)), "10.0.0.10");
	free(p);
	/* no override: NODE + suffix through the resolver */
	strcpy(conf.overlay_name_suffix, "host");
	assert_int_equal(svm_netpeers_get(&conf, "local", "local", NULL, 0, &p, &n, &me), 0);
	assert_string_equal(inet_ntop(AF_INET, &p[0].addr, a, sizeof(a)), "127.0.0.1");
	free(p);
	/* a node that does not resolve, a node not in the list */
	conf.overlay_name_suffix[0] = '\0';
	assert_int_equal(svm_netpeers_get(&conf, "n[1-2]", "n1", over, 1, &p, &n, &me), -1);
	assert_int_equal(svm_netpeers_get(&conf, "n[1-2]", "n3", over, 2, &p, &n, &me), -1);
	assert_int_equal(svm_netpeers_get(&conf, "", "n1", over, 2, &p, &n, &me), -1);
}

/* network = auto: the overlay only for a job on more than one host */
static void test_auto(void **state)
{
	struct svm_peer p[3] = { { "n1", 0, { 0 } }, { "n2", 1, { 0 } }, { "n3", 2, { 0 } } };

	(void)state;
	inet_pton(AF_INET, "10.1.0.1", &p[0].addr);
	inet_pton(AF_INET, "10.1.0.2", &p[1].addr);
	inet_pton(AF_INET, "10.1.0.1", &p[2].addr);
	assert_int_equal(svm_netjob_auto(p, 3), SVM_NET_OVERLAY);
	assert_int_equal(svm_netjob_auto(p, 2), SVM_NET_OVERLAY);
	/* one node; two nodes on one host; no addresses */
	assert_int_equal(svm_netjob_auto(p, 1), SVM_NET_BRIDGE);
	p[1].addr = p[0].addr;
	assert_int_equal(svm_netjob_auto(p, 3), SVM_NET_BRIDGE);
	assert_int_equal(svm_netjob_auto(NULL, 0), SVM_NET_BRIDGE);
	/* loopback (NodeAddr=127.0.0.1, nodes sharing one machine) */
	inet_pton(AF_INET, "127.0.0.1", &p[0].addr);
	inet_pton(AF_INET, "10.1.0.2", &p[1].addr);
	assert_int_equal(svm_netjob_auto(p, 2), SVM_NET_BRIDGE);
}

/* The agent's /etc/hosts line of each node (images/agent/etc_hosts.c, its
 * own expander) names the address the prolog gives that node's guest:
 * slurm_hostlist_find's index (prolog.c node_index) through
 * svm_netjob_guest_addr, for lists as Slurm prints them. */
static void test_hosts_agree(void **state)
{
	static const char *const lists[] = {
		"n[1-2]", "n[1-2,10]", "gpu[01-03],login1", "n[08-10],m[098-101]",
		"rack1-[007-009],x", "n[0-599]", "n[3-4,1],m2", "n[1-010]",
	};

	(void)state;
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		hostlist_t hl = slurm_hostlist_create(lists[l]);
		const char *why = NULL;
		size_t len;
		char *text = svm_eh_render(NULL, 0, lists[l], &len, &why), *name, *line = text;
		int count = hl ? slurm_hostlist_count(hl) : -1, i = 0;

		assert_non_null(text);
		assert_int_equal(count, svm_eh_expand(lists[l], strlen(lists[l]), NULL, NULL, &why));
		line = strchr(line, '\n') + 1;	/* the begin marker */
		while ((name = slurm_hostlist_shift(hl))) {
			char want[128], ip[24];
			hostlist_t all = slurm_hostlist_create(lists[l]);

			assert_int_equal(slurm_hostlist_find(all, name), i);
			slurm_hostlist_destroy(all);
			svm_netjob_guest_addr((unsigned)i, ip, sizeof(ip));
			snprintf(want, sizeof(want), "%s\t%s\n", ip, name);
			if (strncmp(line, want, strlen(want)) != 0)
				print_error("%s: node %d: want %s", lists[l], i, want);
			assert_int_equal(strncmp(line, want, strlen(want)), 0);
			line += strlen(want);
			free(name);
			i++;
		}
		assert_string_equal(line, SVM_EH_END "\n");
		slurm_hostlist_destroy(hl);
		free(text);
	}
}

/* One formula: the prolog's address of node i is svm_gw_node_ip(i), one
 * per node up to SVM_GW_NET_NODES, then it wraps. */
static void test_one_formula(void **state)
{
	static unsigned char seen[65536];
	char ip[24], want[24];

	(void)state;
	memset(seen, 0, sizeof(seen));
	for (unsigned i = 0; i < SVM_GW_NET_NODES; i++) {
		uint32_t a = svm_gw_node_ip(i);

		snprintf(want, sizeof(want), "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
		svm_netjob_guest_addr(i, ip, sizeof(ip));
		assert_string_equal(ip, want);
		assert_int_equal(a >> 16, 0xa9fe);
		assert_true((a & 255) != 0 && (a & 255) != 255);
		assert_int_equal(seen[a & 0xffff], 0);
		seen[a & 0xffff] = 1;
	}
	assert_int_equal(svm_gw_node_ip(SVM_GW_NET_NODES), svm_gw_node_ip(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vni),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_auto),
		cmocka_unit_test(test_mac_ip),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_vni_holder),
		cmocka_unit_test(test_peers),
		cmocka_unit_test(test_hosts_agree),
		cmocka_unit_test(test_one_formula),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
