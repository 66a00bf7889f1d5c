/* Logging shared by the plugin, the prolog/epilog and the command-line tools.
 * Each program installs its sink once; library code only calls svm_error()
 * and friends.  Messages never span lines and carry no trailing newline. */
#ifndef SVM_LOG_H
#define SVM_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum svm_log_level {
	SVM_LOG_ERROR = 0,
	SVM_LOG_INFO = 1,
	SVM_LOG_VERBOSE = 2,
	SVM_LOG_DEBUG = 3,
};

typedef void (*svm_log_sink)(enum svm_log_level level, const char *msg);

/* Installs SINK (NULL: stderr with the "slurm-vm: " prefix).  Messages above
 * MAX_LEVEL are dropped before formatting. */
void svm_log_init(svm_log_sink sink, enum svm_log_level max_level);

/* The sink and level in force, to wrap them. */
svm_log_sink svm_log_current_sink(void);
enum svm_log_level svm_log_current_level(void);

/* The sink that writes "slurm-vm: MSG\n" to stderr. */
/* The default sink: "slurm-vm: MSG" on stderr, whatever the level. */
void svm_log_stderr(enum svm_log_level level, const char *msg);

/* Copies SRC to DST (LEN bytes, always terminated) with control characters
 * escaped: newline, CR and tab as \n \r \t, the others and DEL as \xHH,
 * so the result is one line.  Truncates at an escape boundary.  Returns
 * the length written.  svm_vlog applies it to every message. */
size_t svm_log_escape(char *dst, size_t len, const char *src);

/* Formats one message, escaped to one line, and hands it to the sink when
 * LEVEL is within the threshold; svm_vlog takes a va_list. */
void svm_log(enum svm_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void svm_vlog(enum svm_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define svm_error(...) svm_log(SVM_LOG_ERROR, __VA_ARGS__)
#define svm_info(...) svm_log(SVM_LOG_INFO, __VA_ARGS__)
#define svm_verbose(...) svm_log(SVM_LOG_VERBOSE, __VA_ARGS__)
#define svm_debug(...) svm_log(SVM_LOG_DEBUG, __VA_ARGS__)

/* NAME as one safe piece of a log line in BUF: control characters, quotes,
 * backslashes and non-ASCII bytes written as \xNN, cut with "..." to fit
 * LEN.  Returns BUF. */
const char *svm_log_safe(const char *name, char *buf, size_t len);

#endif
