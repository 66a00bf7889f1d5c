/* The slurm-vm agent wire protocol (images/agent/PROTOCOL.md): frame
 * header, payload encoders and bounded decoders, the frame reader and the
 * byte buffer shared by the guest agent, the relay and slurm-vm-exec.
 * Nothing here allocates without a bound, logs or blocks.  Every decoder
 * takes the payload and its length and returns 0, or -1 with *WHY set to a
 * static one-line reason, never touching its outputs on failure. */
#ifndef SVM_AGENT_PROTO_H
#define SVM_AGENT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define SVM_AP_VERSION 1		/* the only version this code speaks */
#define SVM_AP_HDR_LEN 12
#define SVM_AP_MAX_PAYLOAD 65536
#define SVM_AP_MAGIC "slurm-vm"	/* 8 bytes, in HELLO and READY */
#define SVM_AP_MAGIC_LEN 8
#define SVM_AP_HELLO_LEN 12
#define SVM_AP_READY_LEN 16
#define SVM_AP_WINDOW (256u * 1024)	/* initial credit of each stream */
#define SVM_AP_MAX_ERROR_TEXT 1024
#define SVM_AP_MAX_STRINGS 65536	/* argv entries, env entries */
#define SVM_AP_MAX_EXEC_BYTES (4u * 1024 * 1024)	/* all EXEC frames of one process */
#define SVM_AP_MAX_GROUPS 65536
#define SVM_AP_MAX_CPU 16383		/* highest CPU number */
#define SVM_AP_MAX_CPUS (SVM_AP_MAX_CPU + 1)
#define SVM_AP_ENV_NAME_MAX 128

enum svm_ap_type {
	SVM_AP_HELLO = 1,	/* host -> agent, id 0 */
	SVM_AP_READY = 2,	/* agent -> host, id 0 */
	SVM_AP_ERROR = 3,	/* both ways */
	SVM_AP_EXEC = 4,	/* host -> agent: TLV parameters, repeatable */
	SVM_AP_START = 5,	/* host -> agent: run what EXEC described */
	SVM_AP_DATA = 6,	/* both ways, stream in the header */
	SVM_AP_EOF = 7,		/* both ways, stream in the header */
	SVM_AP_CREDIT = 8,	/* both ways, stream in the header */
	SVM_AP_SIGNAL = 9,	/* host -> agent */
	SVM_AP_WINSIZE = 10,	/* host -> agent */
	SVM_AP_EXIT = 11,	/* agent -> host, last frame of a process */
	SVM_AP_RAW = 12,	/* host -> agent, id 0: raw channel benchmark */
	SVM_AP_CONNECT = 13,	/* agent -> host: a guest connection, stream in the header */
	SVM_AP_TYPE_MAX = 13,
};

enum svm_ap_stream {
	SVM_AP_STDIN = 0,	/* host -> agent */
	SVM_AP_STDOUT = 1,	/* agent -> host (also the pty) */
	SVM_AP_STDERR = 2,	/* agent -> host */
	SVM_AP_AUX = 3,		/* both ways: the extra socket (PMI_FD) */
	SVM_AP_NSTREAMS = 4,	/* the fixed streams; connections follow */
};

/* Connection streams (CONNECT): a process's guest loopback listener (LISTEN
 * records) turns each accepted connection into stream CONN_FIRST + k, both
 * ways, with its own credit, never reused within the process. */
#define SVM_AP_CONN_FIRST SVM_AP_NSTREAMS
#define SVM_AP_MAX_CONNS 16		/* connections per process */
#define SVM_AP_STREAMS (SVM_AP_CONN_FIRST + SVM_AP_MAX_CONNS)	/* all stream numbers */
#define SVM_AP_MAX_LISTEN 8		/* LISTEN records per process */

/* EXEC parameters: TLV records, u16 tag, u16 length, value. */
enum svm_ap_tag {
	SVM_AP_T_ARG = 1,	/* one argv string (no NUL) */
	SVM_AP_T_ENV = 2,	/* one NAME=VALUE string */
	SVM_AP_T_CWD = 3,	/* absolute path */
	SVM_AP_T_UID = 4,	/* u32 */
	SVM_AP_T_GID = 5,	/* u32 */
	SVM_AP_T_GROUPS = 6,	/* u32 array, may repeat */
	SVM_AP_T_CPUS = 7,	/* u32 array of CPU numbers, may repeat */
	SVM_AP_T_FLAGS = 8,	/* u32, SVM_AP_F_* */
	SVM_AP_T_WINSIZE = 9,	/* u16 rows, u16 cols (with SVM_AP_F_PTY) */
	SVM_AP_T_AUXENV = 10,	/* name of the variable that gets the aux fd */
	SVM_AP_T_RLIMIT = 11,	/* u32 resource, u64 soft, u64 hard; may repeat */
	SVM_AP_T_LISTEN = 12,	/* name of a variable holding tcp4://A.B.C.D:PORT: relay it */
	SVM_AP_T_MKDIR = 13,	/* absolute directory the child creates as the user */
};

#define SVM_AP_F_PTY 0x1u	/* run on a new pty; stdout carries it */
#define SVM_AP_F_ROOT 0x2u	/* uid 0 is wanted, explicitly */
#define SVM_AP_F_AUX 0x4u	/* give the child a socket relayed as AUX */
#define SVM_AP_F_ALL (SVM_AP_F_PTY | SVM_AP_F_ROOT | SVM_AP_F_AUX)
#define SVM_AP_NRLIMITS 16		/* RLIMIT_* numbers 0..15 */
#define SVM_AP_RLIM_INFINITY UINT64_MAX

/* ERROR codes: what kind of failure; the text says the rest. */
enum svm_ap_err {
	SVM_AP_E_PROTO = 1,	/* malformed, unknown or oversized frame */
	SVM_AP_E_VERSION = 2,	/* no common protocol version */
	SVM_AP_E_ID = 3,	/* unknown or busy process id */
	SVM_AP_E_EXEC = 4,	/* the process could not be started */
	SVM_AP_E_PERM = 5,	/* refused by policy (uid 0, peer) */
	SVM_AP_E_LIMIT = 6,	/* a resource limit was reached */
	SVM_AP_E_GONE = 7,	/* the agent or the guest is gone */
};

#define SVM_AP_RAW_SINK 1	/* host sends N raw bytes, agent discards */
#define SVM_AP_RAW_SOURCE 2	/* agent sends N raw bytes */

struct svm_ap_hdr {
	uint8_t type;
	uint8_t stream;
	uint16_t flags;		/* 0 in version 1 */
	uint32_t id;		/* process id, chosen by the host; 0: channel */
	uint32_t len;		/* payload bytes */
};

/* ------------------------------------------------------------ header */
void svm_ap_hdr_encode(const struct svm_ap_hdr *h, uint8_t out[SVM_AP_HDR_LEN]);
/* Decodes the first SVM_AP_HDR_LEN bytes of BUF; -1 if LEN is too short. */
int svm_ap_hdr_decode(const uint8_t *buf, size_t len, struct svm_ap_hdr *h);
/* 0 if H is a frame this version accepts (type, stream, flags, id, length
 * for the type); -1 and *WHY otherwise. */
int svm_ap_hdr_check(const struct svm_ap_hdr *h, const char **why);
/* Printable name of a frame type ("?" when unknown). */
const char *svm_ap_type_name(unsigned type);

/* ------------------------------------------------------------ buffer */
/* A growable byte queue; ->max bounds its size (appends beyond fail). */
struct svm_buf {
	uint8_t *data;
	size_t off;		/* first unread byte */
	size_t len;		/* end of the data */
	size_t cap;
	size_t max;
};

static inline size_t svm_buf_used(const struct svm_buf *b)
{
	return b->len - b->off;
}

/* Makes room for N more bytes and returns where to write them (NULL: over
 * ->max or out of memory); svm_buf_commit() then accounts what was put. */
uint8_t *svm_buf_reserve(struct svm_buf *b, size_t n);
void svm_buf_commit(struct svm_buf *b, size_t n);
int svm_buf_append(struct svm_buf *b, const void *p, size_t n);
void svm_buf_consume(struct svm_buf *b, size_t n);
void svm_buf_clear(struct svm_buf *b);
void svm_buf_free(struct svm_buf *b);

/* Appends one frame (header + payload) to B; -1 if it does not fit. */
int svm_ap_put(struct svm_buf *b, unsigned type, unsigned stream,
	       uint32_t id, const void *payload, size_t len);

/* ------------------------------------------------------------ reader */
/* Cuts a byte stream into frames.  Data is read straight into the reader
 * (svm_ap_reader_space/commit); svm_ap_reader_next() returns the frames.
 * An unsynced reader discards bytes until a HELLO (or READY) frame with the
 * magic starts: that is how either side finds frame boundaries again after
 * a reconnection left half a frame in the channel. */
struct svm_ap_reader {
	uint8_t buf[SVM_AP_HDR_LEN + SVM_AP_MAX_PAYLOAD];
	size_t have;		/* bytes in buf */
	size_t pos;		/* start of the next frame in buf */
	uint64_t skip;		/* payload bytes of an oversized frame to drop */
	int synced;
	uint8_t sync_type;	/* SVM_AP_HELLO or SVM_AP_READY */
};

/* Empties R; unless SYNCED it discards bytes until a SYNC_TYPE frame. */
void svm_ap_reader_init(struct svm_ap_reader *r, unsigned sync_type, int synced);
/* Where to read into, and how many bytes fit (never 0). */
uint8_t *svm_ap_reader_space(struct svm_ap_reader *r, size_t *n);
void svm_ap_reader_commit(struct svm_ap_reader *r, size_t n);

enum svm_ap_next {
	SVM_AP_NEED_MORE = 0,	/* no whole frame buffered */
	SVM_AP_FRAME = 1,	/* *H and *PAYLOAD (valid until the next call) */
	SVM_AP_BAD = 2,		/* a bad frame was consumed; *H says which, *WHY why */
};
/* Returns the next frame.  A header that fails svm_ap_hdr_check() is
 * SVM_AP_BAD; its payload is dropped (streamed out if it is oversized), so
 * the reader stays on frame boundaries. */
enum svm_ap_next svm_ap_reader_next(struct svm_ap_reader *r, struct svm_ap_hdr *h,
				    const uint8_t **payload, const char **why);

/* Drops up to MAX bytes that follow the last frame returned (the raw bytes
 * of a RAW exchange); returns how many were dropped. */
size_t svm_ap_reader_drain(struct svm_ap_reader *r, size_t max);

/* ------------------------------------------------------------ payloads */
int svm_ap_hello_encode(uint8_t out[SVM_AP_HELLO_LEN], uint16_t vmin, uint16_t vmax);
int svm_ap_hello_decode(const uint8_t *p, size_t n, uint16_t *vmin, uint16_t *vmax,
			const char **why);
/* The version both sides speak: the highest in both ranges, or -1. */
int svm_ap_negotiate(uint16_t vmin, uint16_t vmax);
void svm_ap_ready_encode(uint8_t out[SVM_AP_READY_LEN], uint16_t version, uint16_t flags,
			 uint32_t max_payload);
int svm_ap_ready_decode(const uint8_t *p, size_t n, uint16_t *version, uint16_t *flags,
			uint32_t *max_payload, const char **why);
#define SVM_AP_READY_ANNOUNCE 0x1u	/* sent unasked at agent start */

/* u32 payloads: CREDIT (bytes, >= 1), SIGNAL (1..64). */
void svm_ap_u32_encode(uint8_t out[4], uint32_t v);
int svm_ap_credit_decode(const uint8_t *p, size_t n, uint32_t *bytes, const char **why);
int svm_ap_signal_decode(const uint8_t *p, size_t n, int *signo, const char **why);
void svm_ap_winsize_encode(uint8_t out[4], uint16_t rows, uint16_t cols);
int svm_ap_winsize_decode(const uint8_t *p, size_t n, uint16_t *rows, uint16_t *cols,
			  const char **why);

#define SVM_AP_EXIT_CODE 0	/* value is the exit code */
#define SVM_AP_EXIT_SIGNAL 1	/* value is the signal number */
#define SVM_AP_EXIT_LEN 8
void svm_ap_exit_encode(uint8_t out[SVM_AP_EXIT_LEN], int how, int value, int core);
int svm_ap_exit_decode(const uint8_t *p, size_t n, int *how, int *value, int *core,
		       const char **why);

/* ERROR: u32 code, then text.  Encoding truncates the text to the bound;
 * decoding copies it into TEXT (SIZE >= 1), NUL-terminated, with control
 * characters replaced by '?' so it can be printed on one line. */
size_t svm_ap_error_encode(uint8_t *out, size_t size, uint32_t code, const char *text);
int svm_ap_error_decode(const uint8_t *p, size_t n, uint32_t *code, char *text,
			size_t size, const char **why);

/* RAW (the channel benchmark): MODE (SVM_AP_RAW_SINK or _SOURCE) and the
 * byte count, SVM_AP_RAW_LEN bytes; decoding -1 with *WHY if malformed. */
#define SVM_AP_RAW_LEN 16
void svm_ap_raw_encode(uint8_t out[SVM_AP_RAW_LEN], int mode, uint64_t bytes);
int svm_ap_raw_decode(const uint8_t *p, size_t n, int *mode, uint64_t *bytes,
		      const char **why);

/* ------------------------------------------------------------ exec */
/* A process request, as built by the host or decoded by the agent.
 * Decoded strings are NUL-terminated copies owned by the struct. */
struct svm_ap_exec {
	char **argv;		/* argc entries + NULL */
	size_t argc;
	char **envp;		/* envc entries + NULL */
	size_t envc;
	char *cwd;
	uint32_t uid, gid;
	int have_uid, have_gid;
	uint32_t *groups;
	size_t ngroups;
	uint32_t *cpus;
	size_t ncpus;
	uint32_t flags;
	uint16_t rows, cols;
	char *auxenv;
	/* Resource limits for the process (Linux RLIMIT_* numbers below
	 * SVM_AP_NRLIMITS; bit R of rlimit_set says limit R was given;
	 * SVM_AP_RLIM_INFINITY is unlimited). */
	uint32_t rlimit_set;
	uint64_t rlimit_cur[SVM_AP_NRLIMITS], rlimit_max[SVM_AP_NRLIMITS];
	/* Variables whose tcp4:// address the agent points at its own
	 * loopback listener (LISTEN), and a directory to create (MKDIR). */
	char *listen[SVM_AP_MAX_LISTEN];
	size_t nlisten;
	char *mkdir;
	size_t bytes;		/* EXEC payload bytes taken so far */
	size_t argv_cap, envp_cap;	/* decoder bookkeeping */
};

/* Empties E; svm_ap_exec_free frees what decoding allocated (E may be NULL). */
void svm_ap_exec_init(struct svm_ap_exec *e);
void svm_ap_exec_free(struct svm_ap_exec *e);
/* Adds one EXEC frame's records to E.  -1 with *WHY on a malformed record
 * or an exceeded bound; E then holds what came before and must be freed. */
int svm_ap_exec_add(struct svm_ap_exec *e, const uint8_t *p, size_t n, const char **why);
/* 0 if E is complete enough to run: argv, uid, gid, absolute cwd. */
int svm_ap_exec_check(const struct svm_ap_exec *e, const char **why);

/* Iterates the TLV records of one EXEC payload: 1 and the record, 0 at the
 * end, -1 with *WHY on a truncated record. */
int svm_ap_tlv_next(const uint8_t *p, size_t n, size_t *pos, uint16_t *tag,
		    const uint8_t **val, uint16_t *vlen, const char **why);

/* Appends the EXEC frames describing E and the START frame for ID to B.
 * Host-side values (argv, envp, cwd, ids, groups, cpus, flags, rows, cols,
 * auxenv) are read; bytes is ignored.  -1 if a string is too long for one
 * record or B is full. */
int svm_ap_exec_encode(struct svm_buf *b, uint32_t id, const struct svm_ap_exec *e);

/* ------------------------------------------------------------ addresses */
/* Finds the TCP address in a variable's value such as PMIx's
 * "pmix-server.123;tcp4://127.0.0.1:4567": *START and *END delimit
 * "A.B.C.D:PORT" after the first "tcp4://", *ADDR (host order) and *PORT
 * (1..65535) are its parts.  -1 with *WHY if there is none or it is
 * malformed. */
int svm_ap_tcp4_find(const char *value, size_t *start, size_t *end, uint32_t *addr,
		     uint16_t *port, const char **why);
/* Writes ENVSTR ("NAME=VALUE") into OUT with its tcp4 address replaced by
 * 127.0.0.1:PORT; -1 with *WHY if it has none or OUT is too small. */
int svm_ap_tcp4_rewrite(const char *envstr, uint16_t port, char *out, size_t size,
			const char **why);

#endif
