/* Small I/O helpers shared by slurm-vm-exec and slurm-vm-relay. */
#ifndef SVM_HOSTIO_H
#define SVM_HOSTIO_H

#include <stddef.h>

#include "agent_proto.h"

/* Monotonic milliseconds. */
long long svm_now_ms(void);

/* Connects a non-blocking, close-on-exec stream socket to the unix socket
 * PATH; returns it, or -1 with the reason in ERR (strerror text) and
 * errno set. */
int svm_unix_connect(const char *path, char *err, size_t errsize);

/* Writes what it can of B to FD without blocking; 0, or -1 on an error
 * other than EAGAIN/EINTR (errno set). */
int svm_write_some(int fd, struct svm_buf *b);

/* Writes all of P to FD, waiting with poll() if FD is non-blocking; -1
 * with errno on failure.  EINTR returns -1 with errno EINTR and *DONE
 * set to what was written, so the caller can handle the signal. */
int svm_write_all(int fd, const void *p, size_t n, size_t *done);

#endif
