/* Small I/O helpers shared by slurm-vm-exec and slurm-vm-relay. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hostio.h"

long long svm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int svm_unix_connect(const char *path, char *err, size_t errsize)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errsize, "socket path too long");
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errsize, "%s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;

		snprintf(err, errsize, "%s", strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		snprintf(err, errsize, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int svm_write_some(int fd, struct svm_buf *b)
{
	while (svm_buf_used(b)) {
		ssize_t n = write(fd, b->data + b->off, svm_buf_used(b));

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		svm_buf_consume(b, (size_t)n);
	}
	return 0;
}

int svm_write_all(int fd, const void *p, size_t n, size_t *done)
{
	const char *c = p;
	size_t off = 0;

	while (off < n) {
		ssize_t k = write(fd, c + off, n - off);

		if (k < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			poll(&pfd, 1, -1);
			continue;
		}
		if (k < 0) {
			*done = off;
			return -1;
		}
		off += (size_t)k;
	}
	*done = off;
	return 0;
}
