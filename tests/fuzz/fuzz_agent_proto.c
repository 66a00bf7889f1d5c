/* libFuzzer target: every decoder of the agent protocol on untrusted bytes.
 * The input is cut into frames by the reader (synced or not, by the first
 * byte), and each frame's payload goes through the decoder of its type, the
 * way the agent, the relay and slurm-vm-exec consume them. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agent_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void payload(const struct svm_ap_hdr *h, const uint8_t *p, struct svm_ap_exec *e)
{
	const char *why;
	uint16_t a, b;
	uint32_t u;
	int x, y, z;
	uint64_t q;
	char text[64];

	switch (h->type) {
	case SVM_AP_HELLO: svm_ap_hello_decode(p, h->len, &a, &b, &why); break;
	case SVM_AP_READY: svm_ap_ready_decode(p, h->len, &a, &b, &u, &why); break;
	case SVM_AP_ERROR: svm_ap_error_decode(p, h->len, &u, text, sizeof(text), &why); break;
	case SVM_AP_EXEC:
		if (svm_ap_exec_add(e, p, h->len, &why) < 0)
			svm_ap_exec_free(e);
		break;
	case SVM_AP_START:
		if (svm_ap_exec_check(e, &why) == 0 && e->argv[e->argc] != NULL)
			__builtin_trap();
		/* what the agent does with LISTEN variables */
		for (size_t i = 0; i < e->envc; i++) {
			static char out[SVM_AP_MAX_PAYLOAD + 32];
			size_t s0, s1;
			uint32_t ad;
			uint16_t po;

			if (svm_ap_tcp4_find(e->envp[i], &s0, &s1, &ad, &po, &why) == 0 &&
			    (s0 >= s1 || s1 > strlen(e->envp[i])))
				__builtin_trap();
			svm_ap_tcp4_rewrite(e->envp[i], 1234, out, sizeof(out), &why);
		}
		svm_ap_exec_free(e);
		break;
	case SVM_AP_CREDIT: svm_ap_credit_decode(p, h->len, &u, &why); break;
	case SVM_AP_SIGNAL: svm_ap_signal_decode(p, h->len, &x, &why); break;
	case SVM_AP_WINSIZE: svm_ap_winsize_decode(p, h->len, &a, &b, &why); break;
	case SVM_AP_EXIT: svm_ap_exit_decode(p, h->len, &x, &y, &z, &why); break;
	case SVM_AP_RAW: svm_ap_raw_decode(p, h->len, &x, &q, &why); break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct svm_ap_reader r;
	struct svm_ap_exec e;
	size_t off = 1, step;

	if (size < 1)
		return 0;
	svm_ap_exec_init(&e);
	svm_ap_reader_init(&r, (data[0] & 1) ? SVM_AP_READY : SVM_AP_HELLO, data[0] & 2);
	step = (size_t)(data[0] >> 2) * 97 + 1;	/* vary how reads split frames */
	while (off < size) {
		size_t room, k;
		uint8_t *d = svm_ap_reader_space(&r, &room);
		struct svm_ap_hdr h;
		const uint8_t *p;
		const char *why;
		enum svm_ap_next n;

		if (room == 0)
			__builtin_trap();
		k = size - off < step ? size - off : step;
		if (k > room)
			k = room;
		memcpy(d, data + off, k);
		svm_ap_reader_commit(&r, k);
		off += k;
		while ((n = svm_ap_reader_next(&r, &h, &p, &why)) != SVM_AP_NEED_MORE) {
			if (n == SVM_AP_FRAME) {
				if (h.len > SVM_AP_MAX_PAYLOAD)
					__builtin_trap();
				payload(&h, p, &e);
			}
		}
	}
	svm_ap_exec_free(&e);
	return 0;
}
