/* The RAW channel benchmark (bench.h). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "bench.h"
#include "channel.h"

/* RAW: the benchmark's raw copy over the channel; blocks everything else
 * for its length, which is why it is only for an idle agent. */
void raw_bench(int mode, uint64_t bytes)
{
	static uint8_t buf[65536];
	uint8_t r[SVM_AP_RAW_LEN];
	uint64_t left = bytes;
	struct pollfd pfd = { .fd = ag.chan };
	ssize_t n;

	svm_ap_raw_encode(r, mode, bytes);
	if (mode == SVM_AP_RAW_SINK) {
		left -= svm_ap_reader_drain(&ag.rd, left);
		while (left) {
			pfd.events = POLLIN;
			if (poll(&pfd, 1, 30000) <= 0)
				break;
			/* As the agent reads the channel: same calls, same sizes. */
			n = chan_readv(buf, left < sizeof(buf) ? left : sizeof(buf));
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				break;
			if (n > 0)
				left -= (uint64_t)n;
		}
		send_frame(SVM_AP_RAW, 0, 0, r, sizeof(r));
		return;
	}
	send_frame(SVM_AP_RAW, 0, 0, r, sizeof(r));
	if (chan_flush_blocking(30000) < 0)
		return;
	memset(buf, 'r', sizeof(buf));
	while (left) {
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 30000) <= 0)
			break;
		n = write(ag.chan, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (n > 0)
			left -= (uint64_t)n;
	}
}
