#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "slurmdlog.h"

static struct {
	char program[32];
	char logfile[4096];
	unsigned job;
} sd = { .program = "slurm-vm" };

/* Expands %n (node) and %h (host) in a SlurmdLogFile value. */
static void expand(const char *in, const char *node, const char *host,
		   char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 1 < len; in++) {
		const char *sub = NULL;

		if (in[0] == '%' && in[1] == 'n')
			sub = node;
		else if (in[0] == '%' && in[1] == 'h')
			sub = host;
		if (sub) {
			size_t n = strlen(sub);

			if (o + n >= len)
				break;
			memcpy(out + o, sub, n);
			o += n;
			in++;
			continue;
		}
		out[o++] = *in;
	}
	out[o] = '\0';
}

static enum svm_log_level level_of(const char *v)
{
	if (!strcasecmp(v, "quiet") || !strcasecmp(v, "fatal") || !strcasecmp(v, "error"))
		return SVM_LOG_ERROR;
	if (!strcasecmp(v, "info"))
		return SVM_LOG_INFO;
	if (!strcasecmp(v, "verbose"))
		return SVM_LOG_VERBOSE;
	if (!strncasecmp(v, "debug", 5))
		return SVM_LOG_DEBUG;
	return SVM_LOG_INFO;
}

enum svm_log_level svm_slurmdlog_parse(const char *buf, const char *node,
				       const char *host, char *logfile, size_t len)
{
	enum svm_log_level level = SVM_LOG_INFO;
	const char *p = buf;

	logfile[0] = '\0';
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char line[4096], *eq, *key, *val, *end;

		if (n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			if ((end = strchr(line, '#')))
				*end = '\0';
			key = line;
			while (isspace((unsigned char)*key))
				key++;
			eq = strchr(key, '=');
			if (eq) {
				*eq = '\0';
				val = eq + 1;
				for (end = eq; end > key && isspace((unsigned char)end[-1]); )
					*--end = '\0';
				while (isspace((unsigned char)*val))
					val++;
				for (end = val + strlen(val); end > val && isspace((unsigned char)end[-1]); )
					*--end = '\0';
				if (!strcasecmp(key, "SlurmdLogFile"))
					expand(val, node, host, logfile, len);
				else if (!strcasecmp(key, "SlurmdDebug"))
					level = level_of(val);
			}
		}
		p = nl ? nl + 1 : NULL;
	}
	return level;
}

static void sink(enum svm_log_level level, const char *msg)
{
	static const char *const tag[] = { "error: ", "", "", "debug: " };
	char line[1400], ts[64];
	struct timeval tv;
	struct tm tm;
	int fd, n;

	fprintf(stderr, "%s: %s%s\n", sd.program, tag[level], msg);
	if (!sd.logfile[0]) {
		syslog(level == SVM_LOG_ERROR ? LOG_ERR :
		       level == SVM_LOG_DEBUG ? LOG_DEBUG : LOG_INFO,
		       "job %u: %s", sd.job, msg);
		return;
	}
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "[%s.%03ld] %s%s: job %u: %s\n", ts,
		     (long)(tv.tv_usec / 1000), tag[level], sd.program, sd.job, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* one write per line, appended: slurmd writes the same file */
	fd = open(sd.logfile, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) < 0)
		errno = 0;
	close(fd);
}

void svm_slurmdlog_init(const char *program, const char *slurm_conf,
			const char *node, unsigned job)
{
	enum svm_log_level level = SVM_LOG_INFO;
	char host[256] = "", *buf = NULL;
	FILE *f;

	snprintf(sd.program, sizeof(sd.program), "%s", program);
	sd.job = job;
	sd.logfile[0] = '\0';
	if (slurm_conf && *slurm_conf && (f = fopen(slurm_conf, "re"))) {
		buf = calloc(1, 1 << 20);
		if (buf) {
			size_t n = fread(buf, 1, (1 << 20) - 1, f);

			buf[n] = '\0';
			gethostname(host, sizeof(host) - 1);
			level = svm_slurmdlog_parse(buf, node ? node : "", host,
						    sd.logfile, sizeof(sd.logfile));
			free(buf);
		}
		fclose(f);
	}
	if (!sd.logfile[0])
		openlog(sd.program, LOG_PID, LOG_DAEMON);
	svm_log_init(sink, level);
}
