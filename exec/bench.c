/* slurm-vm-exec --bench-raw (bench.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "exec.h"
#include "hostio.h"

/* --bench-raw: time a raw copy over an agent channel (no relay). */
int bench_raw(const char *spec)
{
	static uint8_t buf[65536];
	uint8_t p[SVM_AP_RAW_LEN];
	struct svm_ap_hdr h;
	const uint8_t *pl;
	const char *why;
	char *end;
	unsigned long long bytes, left;
	int mode;
	long long t0, t1;

	if (strncmp(spec, "sink:", 5) == 0)
		mode = SVM_AP_RAW_SINK;
	else if (strncmp(spec, "source:", 7) == 0)
		mode = SVM_AP_RAW_SOURCE;
	else
		die("--bench-raw wants sink:BYTES or source:BYTES, not '%s'", spec);
	bytes = strtoull(strchr(spec, ':') + 1, &end, 10);
	if (*end || bytes == 0)
		die("--bench-raw wants a byte count, not '%s'", spec);
	svm_ap_raw_encode(p, mode, bytes);
	if (svm_ap_put(&ex.out, SVM_AP_RAW, 0, 0, p, sizeof(p)) < 0)
		die("out of memory");
	t0 = svm_now_ms();
	fcntl(ex.sock, F_SETFL, fcntl(ex.sock, F_GETFL) & ~O_NONBLOCK);
	if (svm_write_some(ex.sock, &ex.out) < 0 || svm_buf_used(&ex.out))
		die("cannot write to %s: %s", ex.socket, strerror(errno));
	left = bytes;
	if (mode == SVM_AP_RAW_SINK) {
		memset(buf, 's', sizeof(buf));
		while (left) {
			ssize_t n = write(ex.sock, buf, left < sizeof(buf) ? left : sizeof(buf));

			if (n <= 0)
				die("cannot write to %s: %s", ex.socket, strerror(errno));
			left -= (unsigned long long)n;
		}
	}
	/* Then the RAW answer; for SOURCE the raw bytes follow it. */
	for (;;) {
		size_t room;
		uint8_t *d = svm_ap_reader_space(&ex.rd, &room);
		ssize_t n = read(ex.sock, d, room);
		enum svm_ap_next r;

		if (n <= 0)
			die("lost the agent on %s during the raw copy", ex.socket);
		svm_ap_reader_commit(&ex.rd, (size_t)n);
		/* Every whole frame read so far (a second READY for a repeated
		 * HELLO may come first), not one per read. */
		while ((r = svm_ap_reader_next(&ex.rd, &h, &pl, &why)) == SVM_AP_FRAME &&
		       h.type != SVM_AP_RAW)
			;
		if (r == SVM_AP_BAD)
			die("protocol error during the raw copy: %s", why);
		if (r == SVM_AP_FRAME)
			break;
	}
	if (mode == SVM_AP_RAW_SOURCE) {
		left -= svm_ap_reader_drain(&ex.rd, left);
		while (left) {
			ssize_t n = read(ex.sock, buf, left < sizeof(buf) ? left : sizeof(buf));

			if (n <= 0)
				die("lost the agent on %s during the raw copy", ex.socket);
			left -= (unsigned long long)n;
		}
	}
	t1 = svm_now_ms();
	if (t1 == t0)
		t1++;
	printf("raw %s: %llu bytes in %.3f s: %.1f MB/s\n", mode == SVM_AP_RAW_SINK ? "sink" : "source",
	       bytes, (t1 - t0) / 1000.0, bytes / 1e6 / ((t1 - t0) / 1000.0));
	return 0;
}
