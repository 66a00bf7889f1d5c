/* The host channel (virtio-serial port, unix socket or a given fd): opens
 * and reopens it, reads and dispatches the host's frames, queues the
 * agent's in ag.out (written by the main loop).  A session starts with
 * HELLO; losing the channel ends it and every process of it. */
#ifndef SVM_AGENT_CHANNEL_H
#define SVM_AGENT_CHANNEL_H

#include "agent.h"

/* Queues a frame for the host; dropped (and said) beyond OUT_MAX. */
void send_frame(unsigned type, unsigned stream, uint32_t id, const void *p, size_t n);
/* Queues ERROR CODE for process ID, text from FMT. */
void send_error(uint32_t id, uint32_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Queues EXIT for process ID. */
void send_exit(uint32_t id, int how, int value, int core);
/* Queues CREDIT of N bytes for stream STREAM of process ID. */
void send_credit(uint32_t id, unsigned stream, uint32_t n);
/* Ends the session (WHY is logged): kills its processes, forgets the
 * queued output, waits for a new HELLO. */
void session_end(const char *why);
/* Opens the channel (once for --fd, accepts for --listen-unix); 0, or -1
 * with errno. */
int chan_open(void);
/* The channel failed or closed (WHY): ends the session; a port is looked
 * at again after RETRY_MS, anything else is closed. */
void chan_lost(const char *why);
/* Reads the channel and handles every whole frame, a few reads at most. */
void chan_read(void);
/* One read of the channel into DST: readv() of one port buffer per
 * segment on a virtio port.  As read(). */
ssize_t chan_readv(uint8_t *dst, size_t room);
/* Writes all of ag.out, blocking up to TIMEOUT_MS per wait; 0 or -1. */
int chan_flush_blocking(int timeout_ms);

#endif
