#include "config.h"

#include <stdio.h>
#include <string.h>

#include "loglimit.h"

static size_t put_clean(char *out, size_t o, size_t end, const char *s)
{
	for (; *s && o < end; s++)
		out[o++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	return o;
}

size_t svm_loglimit_line(struct svm_loglimit *l, long long now_ms, const char *text,
			 char *out, size_t outlen)
{
	static const char closing[] = "log limit reached: further messages are dropped";
	size_t max = l->line_max < outlen ? l->line_max : outlen - 1, o = 0;
	int last = 0;

	if (max < sizeof(closing) + 1 || l->closed)
		return 0;
	if (!l->started) {
		l->tokens = l->burst;
		l->last_ms = now_ms;
		l->started = 1;
	}
	if (now_ms > l->last_ms) {
		l->tokens += (double)(now_ms - l->last_ms) * l->per_sec / 1000.0;
		if (l->tokens > l->burst)
			l->tokens = l->burst;
		l->last_ms = now_ms;
	}
	if (l->tokens < 1.0) {
		l->dropped++;
		return 0;
	}
	l->tokens -= 1.0;
	/* the last line that fits announces the silence */
	if (l->written + 2 * max > l->total_max) {
		text = closing;
		last = 1;
	}
	if (l->dropped) {
		char note[64];

		snprintf(note, sizeof(note), "(%lu lines dropped) ", l->dropped);
		o = put_clean(out, o, max - 1, note);
		l->dropped = 0;
	}
	o = put_clean(out, o, max - 1, text);
	out[o++] = '\n';
	out[o] = '\0';
	l->written += o;
	l->closed = last;
	return o;
}
