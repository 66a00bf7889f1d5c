#include "config.h"

#include <stdio.h>

#include "log.h"

static struct {
	svm_log_sink sink;
	enum svm_log_level max_level;
} log_ctx = {
	.sink = svm_log_stderr,
	.max_level = SVM_LOG_INFO,
};

void svm_log_init(svm_log_sink sink, enum svm_log_level max_level)
{
	log_ctx.sink = sink ? sink : svm_log_stderr;
	log_ctx.max_level = max_level;
}

svm_log_sink svm_log_current_sink(void)
{
	return log_ctx.sink;
}

enum svm_log_level svm_log_current_level(void)
{
	return log_ctx.max_level;
}

void svm_log_stderr(enum svm_log_level level, const char *msg)
{
	(void)level;
	fprintf(stderr, "slurm-vm: %s\n", msg);
}

void svm_vlog(enum svm_log_level level, const char *fmt, va_list ap)
{
	char buf[1024];

	if (level > log_ctx.max_level)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_ctx.sink(level, buf);
}

void svm_log(enum svm_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	svm_vlog(level, fmt, ap);
	va_end(ap);
}
