/* A bounded log for text that others control (the guest's agent writes
 * what the relay logs): each line printable ASCII and cut to a length,
 * lines rate-limited (a burst, then a steady rate), and a total after
 * which the log says so once and stays silent. */
#ifndef SVM_LOGLIMIT_H
#define SVM_LOGLIMIT_H

#include <stddef.h>

struct svm_loglimit {
	size_t line_max;		/* bytes of a line, newline included */
	unsigned burst;			/* lines at once */
	unsigned per_sec;		/* lines per second after the burst */
	unsigned long long total_max;	/* bytes in all */
	/* state, zero to start */
	double tokens;
	long long last_ms;
	int started, closed;
	unsigned long long written;
	unsigned long dropped;
};

/* Turns TEXT, logged at NOW_MS, into the line to write, in OUT (OUTLEN at
 * least line_max + 1): printable ASCII, cut to line_max with its newline,
 * prefixed with the count of lines dropped since the last one written.
 * Returns its length, or 0 when the line is dropped. */
size_t svm_loglimit_line(struct svm_loglimit *l, long long now_ms, const char *text,
			 char *out, size_t outlen);

#endif
