/* The credentials that start the host's agent in a systemd 256+ guest:
 * what the guest's systemd gets must decode to the units we mean. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent_boot.h"
#include "vmconf.h"

static void test_base64(void **state)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	char out[16];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(svm_base64(v[i].in, strlen(v[i].in), out, sizeof(out)), 0);
		assert_string_equal(out, v[i].out);
	}
	/* "foobar" needs 9 bytes with the NUL */
	assert_int_equal(svm_base64("foobar", 6, out, 8), -1);
	assert_int_equal(svm_base64("foobar", 6, out, 9), 0);
}

static void test_port_names(void **state)
{
	(void)state;
	assert_true(svm_agent_port_ok("org.slurm-vm.agent.0"));
	assert_true(svm_agent_port_ok("a_b-9"));
	assert_false(svm_agent_port_ok(""));
	assert_false(svm_agent_port_ok(NULL));
	assert_false(svm_agent_port_ok("a b"));
	assert_false(svm_agent_port_ok("a\nExecStartPre=/bin/evil"));
	assert_false(svm_agent_port_ok("../x"));
	assert_false(svm_agent_port_ok("%n"));
}

static int b64val(char c)
{
	const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = strchr(tab, c);

	return c && p ? (int)(p - tab) : -1;
}

/* Decodes padded base64 IN into OUT (NUL-terminated). */
static void unb64(const char *in, char *out, size_t len)
{
	size_t o = 0, n = strlen(in);

	assert_int_equal(n % 4, 0);
	for (size_t i = 0; i < n; i += 4) {
		int a = b64val(in[i]), b = b64val(in[i + 1]);
		int c = in[i + 2] == '=' ? 0 : b64val(in[i + 2]);
		int d = in[i + 3] == '=' ? 0 : b64val(in[i + 3]);
		unsigned v;

		assert_true(a >= 0 && b >= 0 && c >= 0 && d >= 0);
		v = (unsigned)a << 18 | (unsigned)b << 12 | (unsigned)c << 6 | (unsigned)d;
		assert_true(o + 3 < len);
		out[o++] = (char)(v >> 16);
		if (in[i + 2] != '=')
			out[o++] = (char)(v >> 8 & 255);
		if (in[i + 3] != '=')
			out[o++] = (char)(v & 255);
	}
	out[o] = '\0';
}

/* The OEM strings as the guest's systemd reads them: each entry is
 * io.systemd.credential.binary:NAME=BASE64 and decodes to the unit. */
static void test_oem_entries(void **state)
{
	char *text = NULL, unit[2048], want[2048];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int n = 0;

	(void)state;
	assert_non_null(f);
	assert_int_equal(svm_agent_boot_oem(f, "org.slurm-vm.agent.0"), 0);
	fclose(f);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		const char *pre = "      <entry>io.systemd.credential.binary:";
		char *name, *eq, *end;

		assert_true(strncmp(line, pre, strlen(pre)) == 0);
		name = line + strlen(pre);
		eq = strchr(name, '=');
		end = strstr(name, "</entry>");
		assert_non_null(eq);
		assert_non_null(end);
		*eq = '\0';
		*end = '\0';
		unb64(eq + 1, unit, sizeof(unit));
		assert_int_equal(svm_agent_boot_unit("org.slurm-vm.agent.0", name, want, sizeof(want)), 0);
		assert_string_equal(unit, want);
		n++;
	}
	assert_int_equal(n, 3);
	free(text);

	/* the service runs the medium's agent on the configured port */
	assert_int_equal(svm_agent_boot_unit("p1", "systemd.extra-unit.slurm-vm-agent.service",
					     unit, sizeof(unit)), 0);
	assert_non_null(strstr(unit, "\nExecStart=" SVM_AGENT_MEDIUM_MOUNT
				     "/slurm-vm-agent --port /dev/virtio-ports/p1\n"));
	assert_non_null(strstr(unit, "\nRestart=always\n"));
	/* early: no network or multi-user ordering */
	assert_null(strstr(unit, "network"));
	assert_null(strstr(unit, "multi-user"));
	assert_int_equal(svm_agent_boot_unit("p1", "systemd.unit-dropin.sysinit.target",
					     unit, sizeof(unit)), 0);
	assert_string_equal(unit, "[Unit]\nWants=slurm-vm-agent.service\n");
	assert_int_equal(svm_agent_boot_unit("p1", "systemd.extra-unit.other.service",
					     unit, sizeof(unit)), -1);
	/* a port name that would add lines to the unit is refused */
	f = open_memstream(&text, &len);
	assert_int_equal(svm_agent_boot_oem(f, "x\nExecStartPre=/bin/sh"), -1);
	fclose(f);
	free(text);
}

/* One generator for both units: the credential one (medium's agent) and
 * the one slurm-vm image prepare installs (the agent in the image); they
 * differ only in what they run and where it lives. */
static void test_service_unit(void **state)
{
	char cred[2048], inst[2048], want[2048];
	const char *p, *q;

	(void)state;
	assert_int_equal(svm_agent_service_unit("org.slurm-vm.agent.0", "/usr/local/sbin/slurm-vm-agent",
						inst, sizeof(inst)), 0);
	assert_non_null(strstr(inst, "\nExecStart=/usr/local/sbin/slurm-vm-agent --port "
				     "/dev/virtio-ports/org.slurm-vm.agent.0\n"));
	assert_non_null(strstr(inst, "\nRequiresMountsFor=/usr/local/sbin\n"));
	assert_non_null(strstr(inst, "\nDescription=slurm-vm guest agent (installed in the image)\n"));
	assert_null(strstr(inst, SVM_AGENT_MEDIUM_MOUNT));
	assert_non_null(strstr(inst, "\nRestart=always\n"));
	assert_non_null(strstr(inst, "\nDefaultDependencies=no\n"));

	/* the credential unit is the same generator on the medium's path */
	assert_int_equal(svm_agent_boot_unit("org.slurm-vm.agent.0", "systemd.extra-unit.slurm-vm-agent.service",
					     cred, sizeof(cred)), 0);
	assert_int_equal(svm_agent_service_unit("org.slurm-vm.agent.0", SVM_AGENT_MEDIUM_MOUNT "/slurm-vm-agent",
						want, sizeof(want)), 0);
	assert_string_equal(cred, want);
	/* the medium's mount is wanted, not required: a device timeout early
	 * in a slow boot must not fail the agent for good; each restart of
	 * the agent queues the mount again */
	assert_non_null(strstr(cred, "\nWantsMountsFor=" SVM_AGENT_MEDIUM_MOUNT "\n"));
	assert_null(strstr(cred, "Requires"));
	assert_non_null(strstr(cred, "\nRestart=always\n"));
	assert_non_null(strstr(cred, "\nStartLimitIntervalSec=0\n"));
	assert_non_null(strstr(cred, "(the host's, from its medium)"));
	/* line by line, the two differ only in Description, *MountsFor and
	 * ExecStart */
	for (p = cred, q = inst; *p && *q;) {
		size_t lp = strcspn(p, "\n"), lq = strcspn(q, "\n");

		if (strncmp(p, "Description=", 12) && strncmp(p, "WantsMountsFor=", 15) && strncmp(p, "RequiresMountsFor=", 18) &&
		    strncmp(p, "ExecStart=", 10)) {
			assert_int_equal(lp, lq);
			assert_memory_equal(p, q, lp);
		}
		p += lp + (p[lp] == '\n');
		q += lq + (q[lq] == '\n');
	}
	assert_int_equal(*p, '\0');
	assert_int_equal(*q, '\0');

	/* a path that would break the unit is refused */
	assert_int_equal(svm_agent_service_unit("p1", "relative/agent", inst, sizeof(inst)), -1);
	assert_int_equal(svm_agent_service_unit("p1", "/usr/bin/a b", inst, sizeof(inst)), -1);
	assert_int_equal(svm_agent_service_unit("p1", "/usr/bin/%n", inst, sizeof(inst)), -1);
	assert_int_equal(svm_agent_service_unit("p1", "/usr/bin/a\nExecStartPre=/bin/sh", inst, sizeof(inst)), -1);
	assert_int_equal(svm_agent_service_unit("p1", "/usr/bin/", inst, sizeof(inst)), -1);
	assert_int_equal(svm_agent_service_unit("p1", "/usr/../bin/a", inst, sizeof(inst)), -1);
	assert_int_equal(svm_agent_service_unit("p 1", "/usr/bin/a", inst, sizeof(inst)), -1);
	assert_int_equal(svm_agent_service_unit("p1", NULL, inst, sizeof(inst)), -1);
	/* and a buffer too small */
	assert_int_equal(svm_agent_service_unit("p1", "/usr/bin/a", inst, 100), -1);
	assert_int_equal(svm_agent_service_unit("p1", "/a", inst, sizeof(inst)), 0);
	assert_non_null(strstr(inst, "\nRequiresMountsFor=/\n"));
}

static void test_config_medium(void **state)
{
	struct svm_config c;
	char err[256], buf[4096];

	(void)state;
	svm_config_defaults(&c);
	snprintf(c.libexec_dir, sizeof(c.libexec_dir), "/nonexistent-slurm-vm");
	/* the default medium is optional */
	assert_null(svm_config_agent_medium(&c, buf, sizeof(buf)));
	assert_int_equal(svm_config_set(&c, "agent_medium", "/opt/svm/agent.img", err, sizeof(err)), 0);
	assert_string_equal(svm_config_agent_medium(&c, buf, sizeof(buf)), "/opt/svm/agent.img");
	assert_int_equal(svm_config_set(&c, "agent_medium", "none", err, sizeof(err)), 0);
	assert_null(svm_config_agent_medium(&c, buf, sizeof(buf)));
	assert_int_equal(svm_config_set(&c, "agent_medium", "relative.img", err, sizeof(err)), -1);
	assert_int_equal(svm_config_set(&c, "agent_port", "a b", err, sizeof(err)), -1);
	assert_int_equal(svm_config_set(&c, "agent_port", "org.example.port", err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_port_names),
		cmocka_unit_test(test_oem_entries),
		cmocka_unit_test(test_service_unit),
		cmocka_unit_test(test_config_medium),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
