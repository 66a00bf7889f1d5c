/* Image checks on hostile images that qemu-img builds in a temporary
 * directory: each rejection asserts the exact line the user reads. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "image.h"
#include "log.h"
#include "vmconf.h"
#include "testutil.h"

static char tmpdir[PATH_MAX];
static struct svm_config conf;
static char err[1024];
static char expect[2048];

static const char *tmp(const char *name)
{
	static char buf[4][PATH_MAX + 64];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
	return buf[k];
}

/* Runs qemu-img with ARGS (NULL-terminated), output discarded. */
static int qemu_img(const char *first, ...)
{
	const char *argv[32] = { "qemu-img", first };
	va_list ap;
	int n = 2, status;
	pid_t pid;

	va_start(ap, first);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp("qemu-img", (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int have_qemu_img(void)
{
	static int have = -1;

	if (have < 0)
		have = qemu_img("--version", NULL) == 0;
	return have;
}

#define NEED_QEMU_IMG() do { if (!have_qemu_img()) { print_message("qemu-img not installed: skipped\n"); skip(); } } while (0)

/* Overwrites LEN bytes at OFF of PATH. */
static void patch(const char *path, off_t off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, len, off), (ssize_t)len);
	close(fd);
}

static void check_rejects(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check_rejects(const char *path, const char *fmt, ...)
{
	struct svm_image_info info;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(expect, sizeof(expect), fmt, ap);
	va_end(ap);
	err[0] = '\0';
	assert_int_equal(svm_image_check(path, &conf, &info, err, sizeof(err)), -1);
	assert_string_equal(err, expect);
	assert_null(strchr(err, '\n'));
}

static int setup_group(void **state)
{
	(void)state;
	if (testutil_tmpdir(tmpdir, sizeof(tmpdir), "svm-test-image") < 0)
		return -1;
	svm_log_init(NULL, SVM_LOG_ERROR);
	return 0;
}

static int teardown_group(void **state)
{
	(void)state;
	testutil_rm_rf(tmpdir);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	svm_config_defaults(&conf);
	return 0;
}

static void test_good_qcow2(void **state)
{
	struct svm_image_info info;

	(void)state;
	NEED_QEMU_IMG();
	assert_int_equal(qemu_img("create", "-q", "-f", "qcow2", tmp("good.qcow2"), "10G", NULL), 0);
	assert_int_equal(svm_image_check(tmp("good.qcow2"), &conf, &info, err, sizeof(err)), 0);
	assert_int_equal(info.format, SVM_FMT_QCOW2);
	assert_int_equal(info.version, 3);
	assert_true(info.virtual_size == 10ULL << 30);

	assert_int_equal(qemu_img("create", "-q", "-f", "qcow2", "-o", "compat=0.10",
				  tmp("v2.qcow2"), "1G", NULL), 0);
	assert_int_equal(svm_image_check(tmp("v2.qcow2"), &conf, &info, err, sizeof(err)), 0);
	assert_int_equal(info.version, 2);
	assert_true(info.virtual_size == 1ULL << 30);

	/* 2 MiB clusters, extended L2 entries, zstd: all fine */
	assert_int_equal(qemu_img("create", "-q", "-f", "qcow2", "-o",
				  "cluster_size=2M,extended_l2=on,compression_type=zstd",
				  tmp("opts.qcow2"), "100G", NULL), 0);
	assert_int_equal(svm_image_check(tmp("opts.qcow2"), &conf, &info, err, sizeof(err)), 0);

	/* the image_dirs check resolves links before comparing */
	conf.image_dirs.n = 1;
	snprintf(conf.image_dirs.path[0], PATH_MAX, "%s", tmpdir);
	{
		char resolved[PATH_MAX];

		assert_int_equal(svm_image_resolve(tmp("good.qcow2"), &conf, resolved, err, sizeof(err)), 0);
		assert_int_equal(symlink("/etc/passwd", tmp("out-link")), 0);
		assert_int_equal(svm_image_resolve(tmp("out-link"), &conf, resolved, err, sizeof(err)), -1);
		snprintf(expect, sizeof(expect), "image %s (/etc/passwd) is not in an allowed image directory (image_dirs)",
			 tmp("out-link"));
		assert_string_equal(err, expect);
	}
}

static void test_backing_file(void **state)
{
	(void)state;
	NEED_QEMU_IMG();
	assert_int_equal(qemu_img("create", "-q", "-f", "qcow2", "-b", "/etc/shadow", "-F", "raw", "-u",
				  tmp("backing.qcow2"), "1G", NULL), 0);
	check_rejects(tmp("backing.qcow2"), "image %s has a backing file (/etc/shadow): not allowed",
		      tmp("backing.qcow2"));
	/* a backing file named with control characters is shown harmlessly */
	assert_int_equal(qemu_img("create", "-q", "-f", "qcow2", "-b", "/tmp/a\nb\033[2J", "-F", "raw", "-u",
				  tmp("backing2.qcow2"), "1G", NULL), 0);
	check_rejects(tmp("backing2.qcow2"), "image %s has a backing file (/tmp/a?b?[2J): not allowed",
		      tmp("backing2.qcow2"));
}

static void test_data_file(void **state)
{
	char opt[PATH_MAX + 32];

	(void)state;
	NEED_QEMU_IMG();
	snprintf(opt, sizeof(opt), "data_file=%s", tmp("data.raw"));
	assert_int_equal(qemu_img("create", "-q", "-f", "qcow2", "-o", opt, tmp("datafile.qcow2"), "1G", NULL), 0);
	check_rejects(tmp("datafile.qcow2"), "image %s has an external data file (%s): not allowed",
		      tmp("datafile.qcow2"), tmp("data.raw"));
}

/* A 4 KiB file with SIG at OFF (the rest zeros), checked as raw. */
static int raw_with(const char *name, size_t size, size_t off, const void *sig, size_t len)
{
	static unsigned char buf[70000];
	struct svm_image_info info;

	assert_true(size <= sizeof(buf) && off + len <= size);
	memset(buf, 0, size);
	memcpy(buf + off, sig, len);
	testutil_write_file(tmp(name), buf, size);
	err[0] = '\0';
	return svm_image_check(tmp(name), &conf, &info, err, sizeof(err));
}

static void test_raw(void **state)
{
	struct svm_image_info info;
	unsigned char buf[4096];
	uint32_t x = 12345;

	(void)state;
	/* disks: a partition table, a boot sector, a filesystem */
	assert_int_equal(raw_with("mbr.raw", 4096, 510, "\x55\xaa", 2), 0);
	assert_int_equal(svm_image_check(tmp("mbr.raw"), &conf, &info, err, sizeof(err)), 0);
	assert_int_equal(info.format, SVM_FMT_RAW);
	assert_int_equal(info.virtual_size, 4096);
	assert_int_equal(raw_with("gpt.raw", 4096, 512, "EFI PART", 8), 0);
	assert_int_equal(raw_with("gpt4k.raw", 16384, 4096, "EFI PART", 8), 0);
	assert_int_equal(raw_with("ext4.raw", 4096, 1080, "\x53\xef", 2), 0);
	assert_int_equal(raw_with("xfs.raw", 4096, 0, "XFSB", 4), 0);
	assert_int_equal(raw_with("iso.raw", 36864, 32769, "CD001", 5), 0);
	assert_int_equal(raw_with("btrfs.raw", 69632, 65600, "_BHRfS_M", 8), 0);
	assert_int_equal(raw_with("sqfs.raw", 4096, 0, "hsqs", 4), 0);
	assert_int_equal(raw_with("lvm.raw", 4096, 512, "LABELONE", 8), 0);
	assert_string_equal(svm_image_raw_kind((const unsigned char *)"XFSB", 4), "XFS filesystem");

	/* not disks: zeros, 4 KiB of noise, a text file, a signature cut off */
	memset(buf, 0, sizeof(buf));
	testutil_write_file(tmp("zeros.raw"), buf, sizeof(buf));
	check_rejects(tmp("zeros.raw"), "image %s is not a disk image: no partition table, boot sector or filesystem",
		      tmp("zeros.raw"));
	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
	buf[510] = 0;		/* a fixed seed, but say it: no chance signature */
	testutil_write_file(tmp("noise.raw"), buf, sizeof(buf));
	check_rejects(tmp("noise.raw"), "image %s is not a disk image: no partition table, boot sector or filesystem",
		      tmp("noise.raw"));
	testutil_write_file(tmp("notes.txt"), "#!/bin/sh\necho this is not a disk\n", 34);
	check_rejects(tmp("notes.txt"), "image %s is not a disk image: no partition table, boot sector or filesystem",
		      tmp("notes.txt"));
	assert_null(svm_image_raw_kind((const unsigned char *)"\x55", 1));
	assert_int_equal(raw_with("short.raw", 511, 510, "\x55", 1), -1);

	conf.image_formats = SVM_FMT_QCOW2;
	check_rejects(tmp("mbr.raw"), "image %s is not a qcow2 image (raw images are not accepted)",
		      tmp("mbr.raw"));
	conf.image_formats = SVM_FMT_RAW;
	if (have_qemu_img()) {
		assert_int_equal(qemu_img("create", "-q", "-f", "qcow2", tmp("only-raw.qcow2"), "1G", NULL), 0);
		check_rejects(tmp("only-raw.qcow2"), "image %s is in qcow2 format: only raw images are accepted",
			      tmp("only-raw.qcow2"));
	}
}

static void test_truncated(void **state)
{
	unsigned char hdr[48];
	uint64_t l1;
	int fd;

	(void)state;
	NEED_QEMU_IMG();
	assert_int_equal(qemu_img("create", "-q", "-f", "qcow2", tmp("trunc.qcow2"), "1T", NULL), 0);
	fd = open(tmp("trunc.qcow2"), O_RDONLY);
	assert_int_equal(read(fd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	close(fd);
	l1 = 0;
	for (int i = 40; i < 48; i++)
		l1 = l1 << 8 | hdr[i];
	/* cut inside the L1 table */
	assert_int_equal(truncate(tmp("trunc.qcow2"), (off_t)l1 + 64), 0);
	check_rejects(tmp("trunc.qcow2"), "image %s is truncated: its L1 table ends past the end of the file (%llu bytes)",
		      tmp("trunc.qcow2"), (unsigned long long)l1 + 64);
	/* cut inside the version 3 header */
	assert_int_equal(truncate(tmp("trunc.qcow2"), 100), 0);
	check_rejects(tmp("trunc.qcow2"), "image %s is truncated: 100 bytes, shorter than a qcow2 header",
		      tmp("trunc.qcow2"));
	assert_int_equal(truncate(tmp("trunc.qcow2"), 40), 0);
	check_rejects(tmp("trunc.qcow2"), "image %s is truncated: 40 bytes, shorter than a qcow2 header",
		      tmp("trunc.qcow2"));
}

static void test_huge(void **state)
{
	(void)state;
	NEED_QEMU_IMG();
	assert_int_equal(qemu_img("create", "-q", "-f", "qcow2", tmp("huge.qcow2"), "2T", NULL), 0);
	check_rejects(tmp("huge.qcow2"), "image %s has a virtual size of 2199023255552 bytes, over the limit of 1099511627776 bytes (max_image_size)",
		      tmp("huge.qcow2"));
	conf.max_image_size = 4ULL << 40;
	assert_int_equal(svm_image_check(tmp("huge.qcow2"), &conf, NULL, err, sizeof(err)), 0);
	/* a sparse raw file is as big as it claims */
	conf.max_image_size = 1ULL << 30;
	assert_int_equal(qemu_img("create", "-q", "-f", "raw", tmp("huge.raw"), "2G", NULL), 0);
	patch(tmp("huge.raw"), 510, "\x55\xaa", 2);
	check_rejects(tmp("huge.raw"), "image %s has a virtual size of 2147483648 bytes, over the limit of 1073741824 bytes (max_image_size)",
		      tmp("huge.raw"));
}

static void test_other_formats(void **state)
{
	static const char *const fmts[] = { "vmdk", "vdi", "vhdx", "vpc", "qed", "parallels" };

	(void)state;
	NEED_QEMU_IMG();
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		char name[64];

		snprintf(name, sizeof(name), "disk.%s", fmts[i]);
		if (qemu_img("create", "-q", "-f", fmts[i], tmp(name), "64M", NULL) != 0) {
			print_message("qemu-img cannot create %s: not checked\n", fmts[i]);
			continue;
		}
		check_rejects(tmp(name), "image %s is in %s format: only qcow2 and raw images are accepted",
			      tmp(name), fmts[i]);
	}
	/* qcow version 1 shares qcow2's magic */
	assert_int_equal(qemu_img("create", "-q", "-f", "qcow", tmp("v1.qcow"), "64M", NULL), 0);
	check_rejects(tmp("v1.qcow"), "image %s is qcow2 version 1: only versions 2 and 3 are supported",
		      tmp("v1.qcow"));
	testutil_write_file(tmp("disk.luks"), "LUKS\xba\xbe\0\x02", 8);
	check_rejects(tmp("disk.luks"), "image %s is in luks format: only qcow2 and raw images are accepted",
		      tmp("disk.luks"));
}

static void test_header_bits(void **state)
{
	static const unsigned char unknown[8] = { 0, 0, 0, 0, 0, 0, 0, 0x20 };
	static const unsigned char corrupt[8] = { 0, 0, 0, 0, 0, 0, 0, 0x02 };
	static const unsigned char aes[4] = { 0, 0, 0, 1 };
	static const unsigned char bits30[4] = { 0, 0, 0, 30 };

	(void)state;
	NEED_QEMU_IMG();
	assert_int_equal(qemu_img("create", "-q", "-f", "qcow2", tmp("bits.qcow2"), "1G", NULL), 0);
	patch(tmp("bits.qcow2"), 72, unknown, 8);
	check_rejects(tmp("bits.qcow2"), "image %s uses unknown qcow2 incompatible features (0x20): not allowed",
		      tmp("bits.qcow2"));
	patch(tmp("bits.qcow2"), 72, corrupt, 8);
	check_rejects(tmp("bits.qcow2"), "image %s is marked corrupt: repair it with qemu-img check -r all",
		      tmp("bits.qcow2"));

	assert_int_equal(qemu_img("create", "-q", "-f", "qcow2", tmp("aes.qcow2"), "1G", NULL), 0);
	patch(tmp("aes.qcow2"), 32, aes, 4);
	check_rejects(tmp("aes.qcow2"), "image %s is encrypted: not supported", tmp("aes.qcow2"));

	assert_int_equal(qemu_img("create", "-q", "-f", "qcow2", tmp("cb.qcow2"), "1G", NULL), 0);
	patch(tmp("cb.qcow2"), 20, bits30, 4);
	check_rejects(tmp("cb.qcow2"), "image %s has a corrupt qcow2 header: cluster_bits 30 is outside 9-21",
		      tmp("cb.qcow2"));
}

/* Big-endian N-byte VALUE at OFF of PATH. */
static void patch_be(const char *path, off_t off, uint64_t value, int n)
{
	unsigned char b[8];

	for (int i = 0; i < n; i++)
		b[i] = (unsigned char)(value >> (8 * (n - 1 - i)));
	patch(path, off, b, (size_t)n);
}

static uint64_t read_be(const char *path, off_t off, int n)
{
	unsigned char b[8];
	uint64_t v = 0;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, (size_t)n, off), n);
	close(fd);
	for (int i = 0; i < n; i++)
		v = v << 8 | b[i];
	return v;
}

/* A fresh 1 GiB qcow2 NAME made with qemu-img -o OPTS (NULL: defaults). */
static const char *fresh(const char *name, const char *opts)
{
	const char *path = tmp(name);

	if (opts)
		assert_int_equal(qemu_img("create", "-q", "-f", "qcow2", "-o", opts, path, "1G", NULL), 0);
	else
		assert_int_equal(qemu_img("create", "-q", "-f", "qcow2", path, "1G", NULL), 0);
	return path;
}

/* QEMU itself refuses PATH: the check matches a rule of QEMU's, not one
 * of its own. */
static void assert_qemu_refuses(const char *path)
{
	if (qemu_img("info", "-f", "qcow2", path, NULL) == 0)
		fail_msg("qemu-img opens %s (at offset 72: 0x%llx)", path,
			 (unsigned long long)read_be(path, 72, 8));
}

/* Each header rule of QEMU's qcow2 driver: an image patched to break it
 * is refused by qemu-img and by the check, with the line the user reads. */
static void test_qemu_rules(void **state)
{
	const char *p;
	uint64_t rt, l1;

	(void)state;
	NEED_QEMU_IMG();
	p = fresh("ro.qcow2", NULL);
	patch_be(p, 96, 7, 4);				/* refcount_order */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: refcount_order 7 is over 6 (64-bit refcounts)", p);

	p = fresh("extl2.qcow2", "cluster_size=4096");
	patch_be(p, 72, 0x10, 8);			/* extended L2, 4 KiB clusters */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: extended L2 entries need clusters of 16 KiB or more, not 4096 bytes", p);
	p = fresh("extl2-16k.qcow2", "cluster_size=16384,extended_l2=on");
	assert_int_equal(svm_image_check(p, &conf, NULL, err, sizeof(err)), 0);

	p = fresh("ct.qcow2", "compression_type=zstd");
	patch_be(p, 104, 2, 1);				/* compression type */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: unknown compression type 2", p);
	patch_be(p, 104, 0, 1);				/* zlib with the zstd bit */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: compression type zlib but the compression feature bit set", p);
	patch_be(p, 104, 1, 1);
	patch_be(p, 72, 0, 8);				/* zstd without it */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: compression type zstd but the compression feature bit unset", p);

	p = fresh("hl.qcow2", NULL);
	patch_be(p, 100, 96, 4);			/* header_length */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: header length 96 is invalid", p);
	patch_be(p, 100, 65536 + 8, 4);
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: header length 65544 is invalid", p);

	p = fresh("cb.qcow2", NULL);
	patch_be(p, 20, 8, 4);				/* cluster_bits */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: cluster_bits 8 is outside 9-21", p);

	p = fresh("inc.qcow2", NULL);
	patch_be(p, 72, 0x20, 8);			/* incompatible features */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s uses unknown qcow2 incompatible features (0x20): not allowed", p);

	p = fresh("crypt.qcow2", NULL);
	patch_be(p, 32, 3, 4);				/* crypt_method */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s is encrypted: not supported", p);

	p = fresh("rt.qcow2", NULL);
	rt = read_be(p, 48, 8);
	patch_be(p, 56, 0, 4);				/* refcount_table_clusters */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: it has no refcount table", p);
	patch_be(p, 56, 129, 4);			/* 129 x 64 KiB > 8 MiB */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: its refcount table of 129 clusters is over QEMU's limit of 128", p);
	patch_be(p, 56, 1, 4);
	patch_be(p, 48, rt + 512, 8);			/* refcount_table_offset */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: its refcount table offset %llu is invalid", p,
		      (unsigned long long)rt + 512);

	p = fresh("snap.qcow2", NULL);
	patch_be(p, 60, 512, 8);			/* snapshots_offset, unused */
	assert_int_equal(svm_image_check(p, &conf, NULL, err, sizeof(err)), 0);
	patch_be(p, 68, 1, 4);				/* ... and used */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: its snapshot table offset 512 is invalid", p);
	patch_be(p, 60, 0x30000, 8);
	patch_be(p, 68, 65537, 4);			/* nb_snapshots */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: its snapshot table of 65537 snapshots is over QEMU's limit of 65536", p);

	p = fresh("l1.qcow2", NULL);
	l1 = read_be(p, 40, 8);
	patch_be(p, 40, l1 + 8, 8);			/* l1_table_offset */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: its L1 table offset %llu is invalid", p,
		      (unsigned long long)l1 + 8);
	patch_be(p, 40, l1, 8);
	patch_be(p, 36, 4194305, 4);			/* l1_size */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: its L1 table of 4194305 entries is over QEMU's limit of 4194304", p);
	patch_be(p, 36, 1, 4);
	patch_be(p, 24, 1ULL << 40, 8);			/* size beyond what L1 maps */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: L1 table of 1 entries does not fit its virtual size of 1099511627776 bytes", p);

	/* header extensions, written where the first one starts */
	p = fresh("ext.qcow2", NULL);
	patch_be(p, 112, 0xe2792aca, 4);		/* backing format */
	patch_be(p, 116, 16, 4);
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: backing format name of 16 bytes (at most 15)", p);
	patch_be(p, 112, 0x23852875, 4);		/* dirty bitmaps */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: bitmaps extension of 16 bytes (24 expected)", p);
	patch_be(p, 112, 0x0537be77, 4);		/* LUKS header, no LUKS */
	assert_qemu_refuses(p);
	check_rejects(p, "image %s is encrypted: not supported", p);
	patch_be(p, 112, 0x12345678, 4);		/* any, too long */
	patch_be(p, 116, 65536, 4);
	assert_qemu_refuses(p);
	check_rejects(p, "image %s has a corrupt qcow2 header: header extension 0x12345678 of 65536 bytes runs past the first cluster", p);
}

static void test_not_images(void **state)
{
	(void)state;
	testutil_write_file(tmp("empty"), "", 0);
	check_rejects(tmp("empty"), "image %s is empty", tmp("empty"));
	assert_int_equal(mkdir(tmp("dir"), 0755), 0);
	check_rejects(tmp("dir"), "image %s is a directory, not a disk image", tmp("dir"));
	testutil_write_file(tmp("target.raw"), "x", 1);
	assert_int_equal(symlink(tmp("target.raw"), tmp("link.raw")), 0);
	check_rejects(tmp("link.raw"), "image %s is a symbolic link: not allowed (give the image's own path)",
		      tmp("link.raw"));
	check_rejects(tmp("missing.qcow2"), "cannot open image %s: No such file or directory",
		      tmp("missing.qcow2"));
	/* a FIFO must not block the check */
	assert_int_equal(mkfifo(tmp("fifo"), 0644), 0);
	check_rejects(tmp("fifo"), "image %s is not a regular file", tmp("fifo"));
	check_rejects("/dev/null", "image /dev/null is not a regular file");
	if (geteuid() != 0) {
		testutil_write_file(tmp("secret"), "x", 1);
		chmod(tmp("secret"), 0);
		check_rejects(tmp("secret"), "cannot open image %s: Permission denied", tmp("secret"));
	}
}

/* The parser alone, on headers built by hand. */
static void test_parser_bounds(void **state)
{
	unsigned char h[512];
	struct svm_image_info info;

	(void)state;
	memset(h, 0, sizeof(h));
	memcpy(h, "QFI\xfb\0\0\0\x03", 8);
	h[23] = 16;				/* cluster_bits */
	h[31] = 1;				/* size 1 byte */
	h[39] = 1;				/* l1_size */
	h[45] = 1;				/* l1 at 0x10000 */
	h[53] = 2;				/* refcount table at 0x20000 */
	h[59] = 1;
	h[103] = 104;				/* header length */
	assert_int_equal(svm_image_qcow2_check("x", h, sizeof(h), 0x30000, &info, err, sizeof(err)), 0);
	/* backing name past the bytes read */
	h[15] = 0xff; h[14] = 0xff;		/* backing offset 0xffff */
	h[19] = 10;
	assert_int_equal(svm_image_qcow2_check("x", h, sizeof(h), 0x30000, &info, err, sizeof(err)), -1);
	assert_string_equal(err, "image x has a backing file (name unreadable): not allowed");
	h[15] = 0; h[14] = 0; h[19] = 0;
	/* header length not a multiple of 8 */
	h[103] = 105;
	assert_int_equal(svm_image_qcow2_check("x", h, sizeof(h), 0x30000, &info, err, sizeof(err)), -1);
	assert_string_equal(err, "image x has a corrupt qcow2 header: header length 105 is invalid");
	h[103] = 104;
	/* L1 too small for the size */
	h[24] = 1;
	assert_int_equal(svm_image_qcow2_check("x", h, sizeof(h), 0x30000, &info, err, sizeof(err)), -1);
	assert_string_equal(err, "image x has a corrupt qcow2 header: L1 table of 1 entries does not fit its virtual size of 72057594037927937 bytes");
	h[24] = 0;
	/* the refcount table past the end */
	assert_int_equal(svm_image_qcow2_check("x", h, sizeof(h), 0x18000, &info, err, sizeof(err)), -1);
	assert_string_equal(err, "image x is truncated: its refcount table ends past the end of the file (98304 bytes)");
	/* dirty bitmaps, in use (autoclear bit 0): QEMU checks the extension */
	h[95] = 1;
	memcpy(h + 104, "\x23\x85\x28\x75\0\0\0\x18", 8);	/* 24 bytes: */
	h[115] = 1;						/* 1 bitmap, */
	h[127] = 0x40;						/* 64-byte dir */
	h[133] = 3;						/* at 0x30000 */
	assert_int_equal(svm_image_qcow2_check("x", h, sizeof(h), 0x40000, &info, err, sizeof(err)), 0);
	h[115] = 0;
	assert_int_equal(svm_image_qcow2_check("x", h, sizeof(h), 0x40000, &info, err, sizeof(err)), -1);
	assert_string_equal(err, "image x has a corrupt qcow2 header: invalid dirty bitmaps extension (0 bitmaps, directory of 64 bytes at 196608)");
	h[115] = 1;
	h[135] = 8;						/* unaligned */
	assert_int_equal(svm_image_qcow2_check("x", h, sizeof(h), 0x40000, &info, err, sizeof(err)), -1);
	h[95] = 0;						/* not in use: ignored */
	assert_int_equal(svm_image_qcow2_check("x", h, sizeof(h), 0x40000, &info, err, sizeof(err)), 0);
	memset(h + 104, 0, 32);
	/* the magic is somebody else's */
	assert_string_equal(svm_image_magic(h, sizeof(h)), "qcow2");
	assert_null(svm_image_magic((const unsigned char *)"hello", 5));
}

static void test_overlay_argv(void **state)
{
	char **argv = svm_image_overlay_argv(NULL, "/home/u/img.qcow2", SVM_FMT_QCOW2, 1073741824,
				       "/var/lib/slurm-vm/42-n1.qcow2");
	const char *want[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-b", "/home/u/img.qcow2",
			       "-F", "qcow2", "-u", "/var/lib/slurm-vm/42-n1.qcow2", "1073741824", NULL };

	(void)state;
	assert_non_null(argv);
	for (int i = 0; want[i]; i++)
		assert_string_equal(argv[i], want[i]);
	assert_null(argv[12]);
	svm_argv_free(argv);
	svm_argv_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_good_qcow2, setup),
		cmocka_unit_test_setup(test_backing_file, setup),
		cmocka_unit_test_setup(test_data_file, setup),
		cmocka_unit_test_setup(test_raw, setup),
		cmocka_unit_test_setup(test_truncated, setup),
		cmocka_unit_test_setup(test_huge, setup),
		cmocka_unit_test_setup(test_other_formats, setup),
		cmocka_unit_test_setup(test_header_bits, setup),
		cmocka_unit_test_setup(test_qemu_rules, setup),
		cmocka_unit_test_setup(test_not_images, setup),
		cmocka_unit_test_setup(test_parser_bounds, setup),
		cmocka_unit_test_setup(test_overlay_argv, setup),
	};

	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
