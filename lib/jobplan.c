/* The plan of a job's guest on one node (jobplan.h). */
#include "config.h"

#include <string.h>

#include "guest_words.h"
#include "jobplan.h"
#include "log.h"
#include "netjob.h"
#include "parse.h"

int svm_job_overlay(const struct svm_jobdir *dir, char *buf, size_t len)
{
	if (svm_path_join(buf, len, dir->scratch, "overlay.qcow2") < 0) {
		svm_error("cannot prepare the scratch directory %s", dir->scratch);
		return -1;
	}
	return 0;
}

/* The guest's memory: the user's --vm-mem, else the job's --mem on this
 * node, else the site default, else what the job's cells hold less what
 * the host keeps. */
static uint64_t guest_mem(const struct svm_config *conf, const struct svm_topology *topo,
			  const struct svm_plan_input *in)
{
	uint64_t have = svm_topology_mem_mib(topo);

	if (in->opts->mem_mib)
		return in->opts->mem_mib;
	if (in->job_mem)
		return in->job_mem;
	if (conf->default_mem)
		return conf->default_mem;
	return have > conf->host_mem_reserve ? have - conf->host_mem_reserve : 0;
}

/* NODELIST if the guests can be given it as slurmvm.nodes, else NULL
 * after one line in the log: names in the guests are a convenience, never
 * a reason to fail the job (the agent checks the list again). */
static const char *guest_nodes(const char *nodelist, uint32_t job)
{
	size_t n = nodelist ? strlen(nodelist) : 0;

	if (n == 0)
		return NULL;
	if (n > SVM_GW_NODES_MAX || strspn(nodelist, SVM_GW_NODES_CHARS) != n) {
		svm_info("the node list of job %u is %s: its guests get no host names for the job's nodes",
			 job, n > SVM_GW_NODES_MAX ? "longer than 16384 bytes" :
			 "not of letters, digits and ._-,[]");
		return NULL;
	}
	return nodelist;
}

int svm_job_plan(struct svm_job *job, struct svm_job_plan_buf *buf,
		 const struct svm_config *conf, const struct svm_jobdir *dir,
		 const struct svm_topology *topo, const struct svm_plan_input *in)
{
	const struct svm_options *opts = in->opts;

	memset(job, 0, sizeof(*job));
	memset(buf, 0, sizeof(*buf));
	if (svm_path_join(buf->console, sizeof(buf->console), dir->state, "console.log") < 0) {
		svm_error("cannot prepare the runtime directory %s", dir->state);
		return -1;
	}
	if (svm_job_overlay(dir, buf->overlay, sizeof(buf->overlay)) < 0)
		return -1;
	job->id = dir->job;
	job->node = dir->node;
	job->node_index = in->node_index;
	job->uid = in->uid;
	job->gid = in->gid;
	job->image = in->image;
	job->image_format = in->image_format;
	job->overlay = buf->overlay;
	job->mem_mib = guest_mem(conf, topo, in);
	job->hugepages = opts->hugepages >= 0 ? (enum svm_hugepages)opts->hugepages : conf->hugepages;
	job->ib = in->ib;
	job->agent_socket = dir->agent_sock;
	job->console_log = buf->console;
	job->network = conf->network;
	job->workdir = in->workdir && in->workdir[0] ? in->workdir : NULL;
	job->n_mounts = opts->n_mounts;
	job->mounts = opts->mounts;
	job->agent_medium = svm_config_agent_medium(conf, buf->medium, sizeof(buf->medium));
	if (svm_net_bridged(conf->network)) {
		if (svm_netjob_bridge_name(conf, dir->job, buf->bridge, sizeof(buf->bridge)) < 0)
			return -1;
		job->network_name = buf->bridge;
	}
	if (conf->network != SVM_NET_NONE) {
		svm_netjob_guest_ip(job->node_index, buf->ip, sizeof(buf->ip));
		job->ip = buf->ip;
		job->nodes = guest_nodes(in->nodelist, dir->job);
	}
	return 0;
}
