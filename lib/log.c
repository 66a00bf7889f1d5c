#include "config.h"

#include <stdio.h>
#include <string.h>

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

size_t svm_log_escape(char *dst, size_t len, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (!len)
		return 0;
	for (; *src; src++) {
		unsigned char c = (unsigned char)*src;
		char esc[4];
		size_t n = 1;

		esc[0] = (char)c;
		if (c == '\n' || c == '\r' || c == '\t') {
			esc[0] = '\\';
			esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			n = 2;
		} else if (c < 0x20 || c == 0x7f) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 15];
			n = 4;
		}
		if (o + n >= len)
			break;	/* never half an escape */
		memcpy(dst + o, esc, n);
		o += n;
	}
	dst[o] = '\0';
	return o;
}

void svm_vlog(enum svm_log_level level, const char *fmt, va_list ap)
{
	char raw[1024], buf[1024];

	if (level > log_ctx.max_level)
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	/* One message, one line, whatever the user put in a path: every sink
	 * (slurmd's log, syslog, the job's stderr) gets it escaped. */
	svm_log_escape(buf, sizeof(buf), raw);
	log_ctx.sink(level, buf);
}

void svm_log(enum svm_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	svm_vlog(level, fmt, ap);
	va_end(ap);
}

const char *svm_log_safe(const char *name, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (len < 8) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		int plain = *p >= 0x20 && *p < 0x7f && *p != '\\' && *p != '\'' && *p != '"';

		if (o + (plain ? 1 : 4) + 4 > len) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (plain) {
			buf[o++] = (char)*p;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 15];
		}
	}
	buf[o] = '\0';
	return buf;
}
