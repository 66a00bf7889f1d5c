/* slurm-vm-exec's state and its way out, shared by its parts: exec.c (the
 * command line), translate.c (a Slurm task into that command line),
 * client.c (the request and its stdio over the relay's socket) and
 * bench.c (--bench-raw). */
#ifndef SVM_EXEC_H
#define SVM_EXEC_H

#include <stdint.h>
#include <netinet/in.h>
#include <termios.h>

#include "agent_proto.h"

#define PID 1			/* our only process id on the connection */
#define HELLO_TIMEOUT_MS 60000
#define EXIT_FAIL 255
#define CREDIT_BATCH (64u * 1024)
#define EXTRA_WINDOW (1024u * 1024)	/* granted on top of SVM_AP_WINDOW */

struct exec_state {
	const char *socket;
	int sock;
	struct svm_ap_reader rd;
	struct svm_buf out;
	int sigpipe[2];
	int pty;
	int tty_raw;
	struct termios tty_saved;
	uint32_t credit[SVM_AP_STREAMS];	/* what we may send on STDIN, AUX, connections */
	uint32_t owed[SVM_AP_STREAMS];		/* what we read of STDOUT, STDERR, AUX, conns */
	int in_fd[SVM_AP_STREAMS];		/* host fds read for STDIN, AUX, connections */
	int out_fd[SVM_AP_STREAMS];		/* host fds written for the others */
	struct sockaddr_in target;		/* --listen: where guest connections go */
	const char *target_var;
	int exited, code;
	int signal;			/* the signal that killed the process, or 0 */
	int task;			/* task mode: die of that signal too */
	char last_error[SVM_AP_MAX_ERROR_TEXT + 1];	/* from the relay or agent */
};

extern struct exec_state ex;

/* Restores the terminal if we made it raw. */
void restore_tty(void);
/* Says "slurm-vm-exec: ..." on stderr and exits EXIT_FAIL. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
