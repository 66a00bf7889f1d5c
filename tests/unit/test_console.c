/* Reasons read from a guest console that never reached the agent. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "console.h"

static int hint(const char *text, char *out, size_t len)
{
	return svm_console_hint(text, strlen(text), out, len);
}

static void test_old_systemd(void **state)
{
	char out[400];

	(void)state;
	assert_int_equal(hint("[    1.234567] systemd[1]: systemd 252.30-1~deb12u2 running in system mode (+PAM +AUDIT)\n"
			      "Debian GNU/Linux 12 n1 ttyS0\n\nn1 login: ", out, sizeof(out)), 1);
	assert_non_null(strstr(out, "systemd 252 is older than 256"));
	assert_non_null(strstr(out, "slurm-vm image prepare"));
	/* new enough: the login prompt is what tells */
	assert_int_equal(hint("systemd[1]: systemd 257.9-1~deb13u1 running in system mode\nn1 login: ", out, sizeof(out)), 1);
	assert_non_null(strstr(out, "login prompt"));
	assert_null(strstr(out, "older"));
	/* systemd says why it could not start the agent: that line, cleaned */
	assert_int_equal(hint("systemd[1]: systemd 257 running in system mode\n"
			      "[ TIME ] Timed out waiting for device \x1b[0;1;39mdev-disk-by\\x2did-virtio\\x2dslurm\\x2dvm\\x2dagent.device\r\n"
			      "[DEPEND] Dependency failed for slurm-vm-agent.service - slurm-vm guest agent.\r\n"
			      "n1 login: ", out, sizeof(out)), 1);
	assert_string_equal(out, "the guest's systemd could not start the slurm-vm agent: "
				 "\"[DEPEND] Dependency failed for slurm-vm-agent.service - slurm-vm guest agent.\"");
	/* other units failing say nothing about the agent */
	assert_int_equal(hint("[FAILED] Failed to start ssh.service\nn1 login: ", out, sizeof(out)), 1);
	assert_non_null(strstr(out, "login prompt"));
	/* new enough and still booting: nothing to say */
	assert_int_equal(hint("systemd[1]: systemd 257 running in system mode\n", out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void test_noise(void **state)
{
	char out[400], junk[512];

	(void)state;
	assert_int_equal(hint("", out, sizeof(out)), 0);
	assert_int_equal(hint("systemd ", out, sizeof(out)), 0);
	assert_int_equal(hint("systemd 99999999999 running in system mode", out, sizeof(out)), 0);
	assert_int_equal(hint("systemd abc running in system mode", out, sizeof(out)), 0);
	assert_int_equal(hint("systemd 0 running in system mode", out, sizeof(out)), 0);
	/* a version with no "running in system mode" after it is not PID 1's */
	assert_int_equal(hint("starting systemd 100 soon", out, sizeof(out)), 0);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 37 + 11);
	svm_console_hint(junk, sizeof(junk), out, sizeof(out));
	/* the text ends in the middle of the key */
	assert_int_equal(svm_console_hint("xx systemd 2", 12, out, sizeof(out)), 0);
}

static void test_last_line(void **state)
{
	char out[16];

	(void)state;
	svm_console_last_line("one\ntwo\r\n\n  ", 12, out, sizeof(out));
	assert_string_equal(out, "two");
	svm_console_last_line("a\x1b[0mb", 6, out, sizeof(out));
	assert_string_equal(out, "a?[0mb");
	svm_console_last_line("", 0, out, sizeof(out));
	assert_string_equal(out, "");
	svm_console_last_line("0123456789abcdefghij", 20, out, sizeof(out));
	assert_string_equal(out, "0123456789abcde");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_old_systemd),
		cmocka_unit_test(test_noise),
		cmocka_unit_test(test_last_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
