/* The guest settings: "slurmvm.KEY=VALUE" words the prolog gives the guest
 * on its kernel command line (direct boot) and as SMBIOS type 11 OEM
 * strings (any boot), written by lib/domain_xml.c and read by the agent
 * (images/agent/guest_config.c).  This table is the one list of keys both
 * use.  Header only: the static agent compiles no file of lib/ but the
 * protocol. */
#ifndef SVM_GUEST_WORDS_H
#define SVM_GUEST_WORDS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SVM_GW_PREFIX "slurmvm."
#define SVM_GW_PREFIX_LEN (sizeof(SVM_GW_PREFIX) - 1)

enum svm_gw_key {
	SVM_GW_JOB,		/* the job id, decimal 1..999999999 */
	SVM_GW_HOSTNAME,	/* the node name: 1..64 of [A-Za-z0-9._-] */
	SVM_GW_IP,		/* the job network address "A.B.C.D/PREFIX" */
	SVM_GW_9P,		/* one share "TAG:PATH[:ro]", one word each */
	SVM_GW_NODES,		/* the job's nodes, Slurm hostlist ("n[1-2]") */
	SVM_GW_N
};

/* Where the prolog writes a word. */
#define SVM_GW_CMDLINE 1u	/* kernel command line, direct boot only */
#define SVM_GW_OEM 2u		/* SMBIOS OEM strings, every boot */

static const struct svm_gw_word {
	const char *key;		/* after the prefix, before '=' */
	unsigned where;			/* SVM_GW_CMDLINE | SVM_GW_OEM */
	const char *example;		/* a value the agent accepts */
} svm_gw_words[SVM_GW_N] = {
	[SVM_GW_JOB] = { "job", SVM_GW_OEM, "42" },
	[SVM_GW_HOSTNAME] = { "hostname", SVM_GW_CMDLINE | SVM_GW_OEM, "n1" },
	[SVM_GW_IP] = { "ip", SVM_GW_CMDLINE | SVM_GW_OEM, "10.1.2.3/24" },
	[SVM_GW_9P] = { "9p", SVM_GW_CMDLINE | SVM_GW_OEM, "svm0:/home/u:ro" },
	/* OEM only: a job's list may be kilobytes, past what the kernel keeps
	 * of its command line (2048 bytes on x86), which would cut off the
	 * words after it or the image's own */
	[SVM_GW_NODES] = { "nodes", SVM_GW_OEM, "gpu[01-03],login1" },
};

/* The longest slurmvm.nodes value the prolog writes (a longer list: no
 * word, the guests get no names), and its characters: those of Slurm's
 * compressed host lists of plain host names. */
#define SVM_GW_NODES_MAX 16384
#define SVM_GW_NODES_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-,[]"

/* The job network address of the job's node number INDEX (its place in
 * the job's node list, from 0), host byte order, in 169.254.0.0/16
 * (SVM_GW_NET_PREFIX): the one formula of the prolog (lib/netjob.c) and
 * of the agent, which names the other nodes' guests with it. */
#define SVM_GW_NET_PREFIX 16
#define SVM_GW_NET_NODES (254u * 254u)	/* distinct addresses; the next wraps */
static inline uint32_t svm_gw_node_ip(unsigned index)
{
	return (169u << 24) | (254u << 16) | ((1u + index / 254 % 254) << 8) | (1u + index % 254);
}

/* The key KEY[0..LEN) (no prefix, no '='): its enum svm_gw_key, or -1
 * when it is none of ours. */
static inline int svm_gw_lookup(const char *key, size_t len)
{
	for (int k = 0; k < SVM_GW_N; k++)
		if (strlen(svm_gw_words[k].key) == len && memcmp(svm_gw_words[k].key, key, len) == 0)
			return k;
	return -1;
}

#endif
