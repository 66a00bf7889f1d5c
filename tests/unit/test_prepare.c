/* slurm-vm image prepare: the guest script, the virt-customize argv, the
 * environment libguestfs gets and the error line picked from its stderr. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent_boot.h"
#include "image.h"
#include "prepare.h"
#include "vmconf.h"

static void test_script(void **state)
{
	char unit[2048], *s;

	(void)state;
	s = svm_prepare_script("org.slurm-vm.agent.0");
	assert_non_null(s);
	/* the unit the image gets is the shared generator's, on the agent
	 * the image holds, written verbatim between the heredoc markers */
	assert_int_equal(svm_agent_service_unit("org.slurm-vm.agent.0", SVM_PREPARE_AGENT, unit, sizeof(unit)), 0);
	{
		const char *mark = "<<'SVM_EOF'", *p = strstr(s, mark);

		assert_non_null(p);
		p = strchr(p, '\n') + 1;
		assert_memory_equal(p, unit, strlen(unit));
		assert_true(strncmp(p + strlen(unit), "SVM_EOF\n", 8) == 0);
	}
	assert_non_null(strstr(s, "AGENT=" SVM_PREPARE_AGENT "\n"));
	assert_non_null(strstr(s, "PORT=org.slurm-vm.agent.0\n"));
	/* enabled early through sysinit.target, not multi-user */
	assert_non_null(strstr(s, "ln -sfn /etc/systemd/system/slurm-vm-agent.service "
				  "/etc/systemd/system/sysinit.target.wants/slurm-vm-agent.service"));
	assert_null(strstr(s, "multi-user"));
	/* no systemd: inittab respawn, both dialects */
	assert_non_null(strstr(s, "svma:2345:respawn:$AGENT_START"));
	assert_non_null(strstr(s, "::respawn:$AGENT_START"));
	/* the udev rule as systemd's own, only where none exists */
	assert_non_null(strstr(s, "SYMLINK+=\"virtio-ports/$attr{name}\""));
	/* both initramfs builders, each only for drivers missing */
	assert_non_null(strstr(s, "/etc/initramfs-tools/modules"));
	assert_non_null(strstr(s, "update-initramfs -u -k"));
	assert_non_null(strstr(s, "add_drivers+="));
	assert_non_null(strstr(s, "dracut -f --regenerate-all"));
	/* only what booting needs goes into the initramfs; 9p and the
	 * rest are only checked for */
	assert_non_null(strstr(s, "\nBOOT_MODULES=\"virtio_pci virtio_blk virtio_scsi\"\n"));
	assert_non_null(strstr(s, "\nLATER_MODULES=\"virtio_console virtio_net 9pnet_virtio 9p\"\n"));
	free(s);
	/* a port that would add lines to the unit is refused */
	assert_null(svm_prepare_script("x\nExecStartPre=/bin/sh"));
	assert_null(svm_prepare_script("a b"));
}

static void test_customize_argv(void **state)
{
	char **argv;
	size_t n = 0;
	char joined[2048] = "";

	(void)state;
	argv = svm_prepare_customize_argv("/usr/bin/virt-customize", "/tmp/out.qcow2.ab12",
					  "/usr/libexec/slurm-vm/slurm-vm-agent", "/tmp/d/prepare.sh", 0);
	assert_non_null(argv);
	for (; argv[n]; n++) {
		strcat(joined, " ");
		strcat(joined, argv[n]);
	}
	assert_string_equal(joined,
		" /usr/bin/virt-customize --quiet --no-network --format qcow2 -a /tmp/out.qcow2.ab12"
		" --mkdir /usr/local/sbin"
		" --upload /usr/libexec/slurm-vm/slurm-vm-agent:" SVM_PREPARE_AGENT
		" --chmod 0755:" SVM_PREPARE_AGENT
		" --run /tmp/d/prepare.sh --selinux-relabel");
	svm_argv_free(argv);
	argv = svm_prepare_customize_argv("/usr/bin/virt-customize", "d", "a", "s", 1);
	assert_non_null(argv);
	assert_string_equal(argv[1], "--no-network");
	svm_argv_free(argv);
}

static const char *fake_env[][2] = {
	{ "HOME", "/home/alice" },
	{ "TMPDIR", "/scratch/alice" },
	{ "PATH", "/home/alice/bin:/usr/bin" },
	{ "LD_PRELOAD", "/home/alice/evil.so" },
	{ "SUPERMIN_KERNEL", "/opt/k/vmlinuz" },
	{ NULL, NULL },
};
static const char *(*fake_extra)[2];

static const char *fake_get(const char *name)
{
	for (int i = 0; fake_env[i][0]; i++)
		if (!strcmp(fake_env[i][0], name))
			return fake_env[i][1];
	for (int i = 0; fake_extra && fake_extra[i][0]; i++)
		if (!strcmp(fake_extra[i][0], name))
			return fake_extra[i][1];
	return NULL;
}

static int has(char **env, const char *s)
{
	for (; *env; env++)
		if (!strcmp(*env, s))
			return 1;
	return 0;
}

static int has_name(char **env, const char *name)
{
	for (; *env; env++)
		if (!strncmp(*env, name, strlen(name)) && (*env)[strlen(name)] == '=')
			return 1;
	return 0;
}

static void test_env(void **state)
{
	static const char *settings[][2] = { { "LIBGUESTFS_BACKEND_SETTINGS", "force_kvm" },
					     { "LIBGUESTFS_PATH", "/opt/appl" }, { NULL, NULL } };
	struct svm_config c;
	char **env;

	(void)state;
	svm_config_defaults(&c);
	fake_extra = NULL;
	env = svm_prepare_env(&c, NULL, fake_get);
	assert_non_null(env);
	assert_true(has(env, "HOME=/home/alice"));
	assert_true(has(env, "TMPDIR=/scratch/alice"));
	assert_true(has(env, "LIBGUESTFS_BACKEND=direct"));
	assert_true(has(env, "SUPERMIN_KERNEL=/opt/k/vmlinuz"));
	/* the user's PATH and anything else stay behind */
	assert_false(has(env, "PATH=/home/alice/bin:/usr/bin"));
	assert_true(has_name(env, "PATH"));
	assert_false(has_name(env, "LD_PRELOAD"));
	assert_false(has_name(env, "LIBGUESTFS_BACKEND_SETTINGS"));
	assert_false(has_name(env, "LIBGUESTFS_PATH"));
	svm_argv_free(env);

	/* a site that runs its guests under TCG: the appliance too; a
	 * fixed appliance is used */
	c.domain_type = SVM_DOMAIN_QEMU;
	env = svm_prepare_env(&c, "/usr/libexec/slurm-vm/appliance", fake_get);
	assert_non_null(env);
	assert_true(has(env, "LIBGUESTFS_BACKEND_SETTINGS=force_tcg"));
	assert_true(has(env, "LIBGUESTFS_PATH=/usr/libexec/slurm-vm/appliance"));
	svm_argv_free(env);

	/* what the user set wins */
	fake_extra = settings;
	env = svm_prepare_env(&c, "/usr/libexec/slurm-vm/appliance", fake_get);
	assert_non_null(env);
	assert_true(has(env, "LIBGUESTFS_BACKEND_SETTINGS=force_kvm"));
	assert_false(has(env, "LIBGUESTFS_BACKEND_SETTINGS=force_tcg"));
	assert_true(has(env, "LIBGUESTFS_PATH=/opt/appl"));
	assert_false(has(env, "LIBGUESTFS_PATH=/usr/libexec/slurm-vm/appliance"));
	svm_argv_free(env);
	fake_extra = NULL;
}

static void test_pick_error(void **state)
{
	char out[256];

	(void)state;
	svm_prepare_pick_error("[   0.0] Examining the guest ...\n"
			       "virt-customize: error: no operating systems were found in the guest image\n"
			       "\n"
			       "If reporting bugs, run virt-customize with debugging enabled and include the \n"
			       "complete output:\n"
			       "\n"
			       "  virt-customize -v -x [...]\n", out, sizeof(out));
	assert_string_equal(out, "no operating systems were found in the guest image");
	/* the guest script's reason beats virt-customize's summary */
	svm_prepare_pick_error("slurm-vm-prepare: init: systemd\n"
			       "slurm-vm-prepare: error: update-initramfs -u -k 6.1 failed\n"
			       "virt-customize: error: prepare.sh: command exited with an error\n"
			       "\n  virt-customize -v -x [...]\n", out, sizeof(out));
	assert_string_equal(out, "update-initramfs -u -k 6.1 failed");
	svm_prepare_pick_error("qemu-img: Could not open 'x': No such file\n", out, sizeof(out));
	assert_string_equal(out, "qemu-img: Could not open 'x': No such file");
	svm_prepare_pick_error("first\nsecond\n  hint\n\n", out, sizeof(out));
	assert_string_equal(out, "second");
	svm_prepare_pick_error("", out, sizeof(out));
	assert_string_equal(out, "");
	svm_prepare_pick_error("a\x1b[31mred\n", out, sizeof(out));
	assert_string_equal(out, "a [31mred");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_script),
		cmocka_unit_test(test_customize_argv),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_pick_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
