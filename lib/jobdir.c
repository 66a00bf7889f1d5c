#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobdir.h"
#include "log.h"
#include "parse.h"
#include "safefs.h"

int svm_node_name_ok(const char *node)
{
	size_t n = strlen(node);

	return n > 0 && n <= 64 && node[0] != '.' && node[0] != '-' &&
	       strspn(node, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

int svm_jobdir_init(struct svm_jobdir *dir, const struct svm_config *conf,
		    uint32_t job, const char *node)
{
	char leaf[96];

	memset(dir, 0, sizeof(*dir));
	if (!node || !svm_node_name_ok(node)) {
		svm_error("bad node name '%s'", node ? node : "");
		return -1;
	}
	dir->job = job;
	strcpy(dir->node, node);
	snprintf(leaf, sizeof(leaf), "%u.%s", job, node);
	if (svm_domain_name(job, node, dir->domain, sizeof(dir->domain)) < 0)
		return -1;
	if (svm_path_join(dir->state, sizeof(dir->state), conf->runtime_dir, leaf) < 0 ||
	    svm_path_join(dir->agent_sock, sizeof(dir->agent_sock), dir->state, SVM_AGENT_SOCK) < 0 ||
	    svm_path_join(dir->relay_sock, sizeof(dir->relay_sock), dir->state, SVM_RELAY_SOCK) < 0 ||
	    svm_path_join(dir->scratch, sizeof(dir->scratch), conf->scratch_dir, leaf) < 0) {
		svm_error("runtime or scratch path too long for job %u on %s", job, node);
		return -1;
	}
	return 0;
}

int svm_state_write(const char *dir, const char *name, const char *text, uid_t reader)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	size_t n = strlen(text);
	int fd, rc = -1;

	if (svm_path_join(path, sizeof(path), dir, name) < 0) {
		svm_error("cannot write %s: path too long", name);
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		svm_error("cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	/* an earlier file of that name may have had another mode */
	if (fchmod(fd, 0600) < 0 || svm_fd_grant_read(fd, reader) < 0 ||
	    write(fd, text, n) != (ssize_t)n || fsync(fd) < 0) {
		svm_error("cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	/* readers see the old file or the new one, never half of it */
	if (rename(tmp, path) < 0) {
		svm_error("cannot rename %s: %s", tmp, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	close(fd);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

int svm_outcome_write(const struct svm_jobdir *dir, const char *msg)
{
	char buf[1200];
	int n;

	n = msg ? snprintf(buf, sizeof(buf), "error: %s\n", msg)
		: snprintf(buf, sizeof(buf), "ok\n");
	if (n < 0 || (size_t)n >= sizeof(buf))
		buf[sizeof(buf) - 2] = '\n';
	return svm_state_write(dir->state, "outcome", buf, dir->user);
}

ssize_t svm_state_read(const char *dir, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	if (len == 0 || svm_path_join(path, sizeof(path), dir, name) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return n;
}

int svm_outcome_read(const struct svm_jobdir *dir, char *msg, size_t len)
{
	char buf[1200];

	if (svm_state_read(dir->state, "outcome", buf, sizeof(buf)) < 0)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	if (!strcmp(buf, "ok"))
		return 1;
	if (!strncmp(buf, "error: ", 7)) {
		snprintf(msg, len, "%s", buf + 7);
		return 0;
	}
	snprintf(msg, len, "unreadable prolog outcome '%.100s'", buf);
	return 0;
}

int svm_domain_name(uint32_t job, const char *node, char *buf, size_t len)
{
	if (!node || !svm_node_name_ok(node)) {
		svm_error("node name '%s' is not a plain host name (letters, digits, '.', '_', '-')",
			  node ? node : "");
		return -1;
	}
	if (snprintf(buf, len, "svm-%" PRIu32 "-%s", job, node) >= (int)len) {
		svm_error("domain name for job %" PRIu32 " on %s is too long", job, node);
		return -1;
	}
	return 0;
}
