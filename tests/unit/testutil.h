/* The helpers the unit tests share: what the code under test logged,
 * temporary trees and files, the source tree's test data.  Setup errors
 * fail the running test through cmocka's asserts. */
#ifndef SVM_TESTUTIL_H
#define SVM_TESTUTIL_H

#include <stddef.h>

/* What was logged since testutil_log_capture(): every error line, each
 * ending in '\n' (cut when full), and the last error and info line. */
extern char testutil_errors[8192];
extern char testutil_last_error[1024];
extern char testutil_last_info[1024];

/* Empties the three above and sends every log level into them. */
void testutil_log_capture(void);
/* Drops every log line (a failure whose message the test does not read). */
void testutil_log_quiet(void);

/* Creates a 0700 directory $TMPDIR/NAME.XXXXXX (TMPDIR: /tmp if unset) in
 * BUF of LEN bytes; returns 0, or -1 with errno. */
int testutil_tmpdir(char *buf, size_t len, const char *name);
/* Removes TREE and everything under it, as rm -rf; a missing TREE is fine. */
void testutil_rm_rf(const char *tree);
/* Creates PATH and its missing parents, mode 0755, as mkdir -p. */
void testutil_mkdirs(const char *path);
/* Writes LEN bytes of DATA as PATH (created 0644 or truncated). */
void testutil_write_file(const char *path, const void *data, size_t len);
/* Writes the string S as PATH. */
void testutil_write_str(const char *path, const char *s);
/* The whole of PATH NUL-terminated (caller frees), NULL if it cannot be
 * opened. */
char *testutil_read_file(const char *path);
/* The source tree's tests/SUB/NAME, in one of two static buffers (so two
 * can be used in one call). */
const char *testutil_srcpath(const char *sub, const char *name);

#endif
