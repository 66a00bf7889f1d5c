/* The guest agent's shared state and helpers (agent.c), for its parts:
 * proc.c (the processes it runs), flow.c (their stdio and its credits),
 * channel.c (the host channel, its frames and sessions) and bench.c (the
 * raw channel benchmark).  One thread: nothing here is locked, and no
 * function blocks except where its comment says so. */
#ifndef SVM_AGENT_H
#define SVM_AGENT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent_proto.h"

#define DEFAULT_PORT "/dev/virtio-ports/org.slurm-vm.agent.0"
#define MAX_PROCS 4096
#define OUT_HIGH_WATER (1024 * 1024)	/* stop reading children above this */
#define OUT_MAX (64 * 1024 * 1024)	/* hard bound of the channel out buffer */
#define DRAIN_GRACE_MS 1000		/* stdio of an exited process left open */
#define RETRY_MS 1000			/* host end closed: look again after */
#define AUX_FD 3			/* where the child finds the aux socket */
#define PIPE_SIZE SVM_AP_WINDOW		/* child stdio pipes: one window each */
#define PORT_BUF 4096			/* a virtio port read returns one such buffer */
#define CHAN_READS 8			/* channel reads per wakeup, at most */

enum { MODE_PORT, MODE_LISTEN, MODE_FD };

enum proc_state { P_ASSEMBLING, P_FAILED, P_RUNNING };

struct sink {			/* host -> child */
	int fd;
	struct svm_buf buf;
	uint32_t credit;	/* bytes the host may still send */
	uint32_t owed;		/* credit to give back */
	int eof;		/* host sent EOF: close when drained */
};

struct source {			/* child -> host */
	int fd;
	uint64_t credit;	/* bytes we may still send */
};

struct proc {
	uint32_t id;
	unsigned gen;		/* session it belongs to */
	enum proc_state state;
	struct svm_ap_exec req;
	uint8_t fail_code;	/* P_FAILED: exit code sent at START */
	pid_t pid;
	int pty;
	struct sink in[SVM_AP_STREAMS];	/* STDIN, AUX, connections used */
	struct source out[SVM_AP_STREAMS];	/* STDOUT, STDERR, AUX, connections */
	int lfd;		/* loopback listener (LISTEN records), or -1 */
	unsigned nconn;		/* connections accepted so far */
	int errfd;		/* exec error pipe, -1 once read */
	int exited, status;
	long long exit_ms;
};

/* The agent: its channel to the host and the processes it runs. */
struct agent {
	int mode;
	const char *port;
	const char *listen_path;
	int given_fd;
	int verbose;
	int chan;		/* -1: none */
	int listen_fd;
	int hup;		/* port mode: host end closed, waiting */
	long long retry_at;
	int hello;		/* session started by a HELLO */
	int announced;
	unsigned gen;
	struct svm_ap_reader rd;
	struct svm_buf out;
	unsigned rr;		/* round-robin start among processes */
	struct proc *procs[MAX_PROCS];
	size_t nprocs;
	int sigpipe[2];
	volatile sig_atomic_t term;
};

extern struct agent ag;

/* Logs one line "slurm-vm-agent: ..." to stderr. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Milliseconds of the monotonic clock. */
long long now_ms(void);
/* Closes *FD if open and sets it to -1. */
void close_fd(int *fd);
/* 0, or -1 with errno if FD cannot be made non-blocking. */
int set_nonblock(int fd);

#endif
