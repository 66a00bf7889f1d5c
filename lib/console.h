/* What a guest's serial console says about a boot that never reached the
 * agent: the text is the guest's (untrusted, any bytes), read here only to
 * give the user a reason instead of a bare timeout. */
#ifndef SVM_CONSOLE_H
#define SVM_CONSOLE_H

#include <stddef.h>

/* Looks at the console text BUF (LEN bytes, not NUL-terminated) and writes
 * a one-line hint into OUT: the image's systemd is older than 256 (it
 * cannot start the agent from the medium), or the guest reached a login
 * prompt without an agent.  Returns 1 with a hint, 0 with OUT empty. */
int svm_console_hint(const char *buf, size_t len, char *out, size_t outlen);

/* The last non-empty line of BUF, printable ASCII only ('?' for the
 * rest), into OUT. */
void svm_console_last_line(const char *buf, size_t len, char *out, size_t outlen);

#endif
