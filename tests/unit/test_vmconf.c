#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "vmconf.h"
#include "testutil.h"

static int setup(void **state)
{
	(void)state;
	testutil_log_capture();
	return 0;
}

static void test_defaults(void **state)
{
	struct svm_config c;

	(void)state;
	svm_config_defaults(&c);
	assert_int_equal(c.domain_type, SVM_DOMAIN_KVM);
	assert_string_equal(c.libvirt_uri, "qemu:///system");
	assert_int_equal(c.hugepages, SVM_HUGEPAGES_NONE);
	assert_int_equal(c.ib, SVM_IB_NONE);
	assert_int_equal(c.image_formats, SVM_FMT_QCOW2 | SVM_FMT_RAW);
	assert_int_equal(c.boot_timeout, 300);
	assert_int_equal(c.check_timeout, 30);
	assert_int_equal(c.image_dirs.n, 0);
}

static void test_full_file(void **state)
{
	struct svm_config c;
	const char *text =
		"# site config\n"
		"libvirt_uri = qemu:///system\n"
		"domain_type = qemu   # software emulation\n"
		"\n"
		"   scratch_dir=/var/tmp/svm  \n"
		"image_dirs = /shared/images:/home/:\n"
		"image_formats = qcow2\n"
		"max_image_size = 100G\n"
		"reserved_cpus = 0,1\n"
		"host_mem_reserve = 2G\n"
		"hugepages = 2M\n"
		"hugepages_short = fallback\n"
		"ib = vf\n"
		"kernel = /boot/vmlinuz\n"
		"kernel_cmdline = console=ttyS0 root=/dev/vda\n"
		"boot_timeout = 120\n"
		"check_timeout = 45\n"
		"network = bridge\n"
		"network_name = svmbr\n"
		"shared_paths = /scratch\n"
		"agent_port = org.slurm-vm.agent.0\n";

	(void)state;
	svm_config_defaults(&c);
	assert_int_equal(svm_config_parse(&c, "vm.conf", text), 0);
	assert_int_equal(c.domain_type, SVM_DOMAIN_QEMU);
	assert_string_equal(c.scratch_dir, "/var/tmp/svm");
	assert_int_equal(c.image_dirs.n, 2);
	assert_string_equal(c.image_dirs.path[0], "/shared/images");
	assert_string_equal(c.image_dirs.path[1], "/home");
	assert_int_equal(c.image_formats, SVM_FMT_QCOW2);
	assert_true(c.max_image_size == 100ULL << 30);
	assert_string_equal(c.reserved_cpus, "0,1");
	assert_int_equal(c.host_mem_reserve, 2048);
	assert_int_equal(c.hugepages, SVM_HUGEPAGES_2M);
	assert_int_equal(c.hugepages_short, SVM_HP_SHORT_FALLBACK);
	assert_int_equal(c.ib, SVM_IB_VF);
	assert_string_equal(c.kernel_cmdline, "console=ttyS0 root=/dev/vda");
	assert_int_equal(c.boot_timeout, 120);
	assert_int_equal(c.check_timeout, 45);
	assert_string_equal(c.network_name, "svmbr");
	assert_int_equal(c.shared_paths.n, 1);
	assert_string_equal(testutil_last_error, "");
}

/* Each bad line is rejected with a message naming the file, line and key. */
static void test_errors(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "foo = 1\n", "vm.conf line 1: foo: unknown key 'foo'" },
		{ "\n\nhugepages = 4M\n", "vm.conf line 3: hugepages: '4M' is not one of none 2M 1G" },
		{ "domain_type = xen\n", "vm.conf line 1: domain_type: 'xen' is not one of kvm qemu" },
		{ "ib = maybe\n", "vm.conf line 1: ib: 'maybe' is not one of none pf vf auto" },
		{ "scratch_dir = relative/dir\n", "vm.conf line 1: scratch_dir: 'relative/dir' is not an absolute path" },
		{ "scratch_dir =\n", "vm.conf line 1: scratch_dir: '' is not an absolute path" },
		{ "image_dirs = /a:b\n", "vm.conf line 1: image_dirs: 'b' is not an absolute path" },
		{ "check_timeout = 3601\n", "vm.conf line 1: check_timeout: '3601' is not a number of seconds in 1..3600" },
		{ "boot_timeout = 0\n", "vm.conf line 1: boot_timeout: '0' is not a number of seconds in 1..86400" },
		{ "boot_timeout = 10s\n", "vm.conf line 1: boot_timeout: '10s' is not a number of seconds in 1..86400" },
		{ "host_mem_reserve = lots\n", "vm.conf line 1: host_mem_reserve: 'lots' is not a size (e.g. 2048, 512M, 4G)" },
		{ "image_formats = vmdk\n", "vm.conf line 1: image_formats: 'vmdk' is not a list of qcow2, raw" },
		{ "reserved_cpus = all\n", "vm.conf line 1: reserved_cpus: 'all' is not a CPU list (e.g. 0,1 or 0-3)" },
		{ "network_name = averyverylongname\n", "vm.conf line 1: network_name: 'averyverylongname' is not a name of 1 to 8 letters, digits, '-' or '_'" },
		{ "agent_port = a/b\n", "vm.conf line 1: agent_port: 'a/b' is not a virtio-serial port name (letters, digits, '.', '_', '-')" },
		{ "just a line\n", "vm.conf line 1: expected 'key = value'" },
		{ " = 5\n", "vm.conf line 1: missing key before '='" },
		{ "libvirt_uri =\n", "vm.conf line 1: libvirt_uri: empty libvirt URI" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct svm_config c;

		svm_config_defaults(&c);
		testutil_last_error[0] = '\0';
		assert_int_equal(svm_config_parse(&c, "vm.conf", cases[i].text), -1);
		assert_string_equal(testutil_last_error, cases[i].msg);
	}
}

static void test_long_line(void **state)
{
	struct svm_config c;
	size_t n = 5000;
	char *text = malloc(n + 16);

	(void)state;
	assert_non_null(text);
	strcpy(text, "kernel_cmdline = ");
	memset(text + 17, 'x', n - 17);
	text[n] = '\0';
	svm_config_defaults(&c);
	assert_int_equal(svm_config_parse(&c, "vm.conf", text), -1);
	assert_string_equal(testutil_last_error, "vm.conf line 1: line longer than 4095 bytes");
	free(text);
}

static void test_load_file(void **state)
{
	struct svm_config c;
	char path[] = "/tmp/svm-conf-XXXXXX";
	int fd = mkstemp(path);
	const char *text = "domain_type = qemu\nboot_timeout = 30\n";

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);
	assert_int_equal(svm_config_load(&c, path, 0), 0);
	assert_int_equal(c.domain_type, SVM_DOMAIN_QEMU);
	assert_int_equal(c.boot_timeout, 30);
	unlink(path);
	/* a missing file: an error, unless the caller allows it */
	assert_int_equal(svm_config_load(&c, path, 1), 0);
	assert_int_equal(c.domain_type, SVM_DOMAIN_KVM);
	assert_int_equal(svm_config_load(&c, path, 0), -1);
	assert_non_null(strstr(testutil_last_error, "cannot open config"));
}

/* The one lookup: plugstack config= or --config first, then vm.conf next
 * to slurm.conf when there is one, then the built-in path. */
static void test_config_path(void **state)
{
	char dir[] = "/tmp/svm-conf-XXXXXX", slurm_conf[64], vm_conf[64], buf[128];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(slurm_conf, sizeof(slurm_conf), "%s/slurm.conf", dir);
	snprintf(vm_conf, sizeof(vm_conf), "%s/vm.conf", dir);
	/* no vm.conf beside slurm.conf: the built-in path */
	assert_int_equal(svm_config_path(NULL, slurm_conf, buf, sizeof(buf)), 1);
	assert_string_equal(buf, SVM_DEFAULT_CONFIG);
	assert_int_equal(svm_config_path(NULL, NULL, buf, sizeof(buf)), 1);
	assert_string_equal(buf, SVM_DEFAULT_CONFIG);
	assert_int_equal(svm_config_path(NULL, "", buf, sizeof(buf)), 1);
	fd = open(vm_conf, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(svm_config_path(NULL, slurm_conf, buf, sizeof(buf)), 0);
	assert_string_equal(buf, vm_conf);
	/* a relative SLURM_CONF is not looked beside */
	assert_int_equal(svm_config_path(NULL, "slurm.conf", buf, sizeof(buf)), 1);
	assert_string_equal(buf, SVM_DEFAULT_CONFIG);
	/* the given path wins, existing or not */
	assert_int_equal(svm_config_path("/nonexistent/vm.conf", slurm_conf, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/nonexistent/vm.conf");
	assert_int_equal(svm_config_path("/a/very/long/path/vm.conf", NULL, buf, 8), -1);
	unlink(vm_conf);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, setup),
		cmocka_unit_test_setup(test_full_file, setup),
		cmocka_unit_test_setup(test_errors, setup),
		cmocka_unit_test_setup(test_long_line, setup),
		cmocka_unit_test_setup(test_load_file, setup),
		cmocka_unit_test_setup(test_config_path, setup),
	};

	return cmocka_run_group_tests_name("vmconf", tests, NULL, NULL);
}
