/* The request from submit to prolog (lib/request.c): what the plugin
 * encodes, the prolog decodes to the same options; what cannot travel is
 * refused with one line naming the option. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "options.h"
#include "request.h"
#include "vmconf.h"

/* A fake slurmd: the variables set, in order. */
struct vars {
	int n;
	char name[8][32];
	char value[8][16384];
};

static int put(void *ctx, const char *name, const char *value)
{
	struct vars *v = ctx;

	assert_true(v->n < 8);
	snprintf(v->name[v->n], sizeof(v->name[0]), "%s", name);
	snprintf(v->value[v->n], sizeof(v->value[0]), "%s", value);
	v->n++;
	return 0;
}

static const char *get(void *ctx, const char *name)
{
	struct vars *v = ctx;

	for (int i = 0; i < v->n; i++)
		if (!strcmp(v->name[i], name))
			return v->value[i];
	return NULL;
}

static int put_fails(void *ctx, const char *name, const char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return -1;
}

static void test_round_trip(void **state)
{
	static struct svm_options in, out;
	static struct vars v;
	char err[512];

	(void)state;
	svm_options_init(&in);
	assert_int_equal(svm_opt_image(&in, "img.qcow2", err, sizeof(err)), 0);
	assert_int_equal(svm_opt_mem(&in, "4G", err, sizeof(err)), 0);
	assert_int_equal(svm_opt_hugepages(&in, "2M", err, sizeof(err)), 0);
	assert_int_equal(svm_opt_ib(&in, "vf", err, sizeof(err)), 0);
	assert_int_equal(svm_opt_mount(&in, "/home/u/data:/data:ro", err, sizeof(err)), 0);
	assert_int_equal(svm_opt_mount(&in, "/scratch/u:/scratch/u", err, sizeof(err)), 0);
	assert_int_equal(svm_request_encode(&in, "/home/u/img.qcow2", put, &v, err, sizeof(err)), 0);
	/* what the prolog's environment holds */
	assert_int_equal(v.n, 5);
	assert_string_equal(v.name[0], "VM_IMAGE");
	assert_string_equal(v.value[0], "/home/u/img.qcow2");
	assert_string_equal(v.name[1], "VM_MEM");
	assert_string_equal(v.value[1], "4096");
	assert_string_equal(v.name[2], "VM_HUGEPAGES");
	assert_string_equal(v.value[2], "2M");
	assert_string_equal(v.name[3], "VM_IB");
	assert_string_equal(v.value[3], "vf");
	assert_string_equal(v.name[4], "VM_MOUNTS");
	assert_string_equal(v.value[4], "/home/u/data:/data:ro,/scratch/u:/scratch/u");

	assert_int_equal(svm_request_decode(&out, get, &v, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(out.image, "/home/u/img.qcow2");
	assert_int_equal(out.mem_mib, 4096);
	assert_int_equal(out.hugepages, SVM_HUGEPAGES_2M);
	assert_int_equal(out.ib, SVM_IB_VF);
	assert_int_equal(out.n_mounts, 2);
	assert_string_equal(out.mounts[0].src, "/home/u/data");
	assert_string_equal(out.mounts[0].dst, "/data");
	assert_int_equal(out.mounts[0].readonly, 1);
	assert_string_equal(out.mounts[1].src, "/scratch/u");
	assert_string_equal(out.mounts[1].dst, "/scratch/u");
	assert_int_equal(out.mounts[1].readonly, 0);

	/* only the image: only VM_IMAGE, and the defaults come back */
	svm_options_init(&in);
	assert_int_equal(svm_opt_image(&in, "/i.raw", err, sizeof(err)), 0);
	v.n = 0;
	assert_int_equal(svm_request_encode(&in, NULL, put, &v, err, sizeof(err)), 0);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.name[0], "VM_IMAGE");
	assert_string_equal(v.value[0], "/i.raw");
	assert_int_equal(svm_request_decode(&out, get, &v, err, sizeof(err)), 0);
	assert_string_equal(out.image, "/i.raw");
	assert_int_equal(out.mem_mib, 0);
	assert_int_equal(out.hugepages, -1);
	assert_int_equal(out.ib, -1);
	assert_int_equal(out.n_mounts, 0);

	/* a failing setenv fails the request, its own message logged */
	assert_int_equal(svm_request_encode(&in, NULL, put_fails, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "");
}

/* The comma separates mounts: one inside a path would make two of one. */
static void test_comma(void **state)
{
	static struct svm_options in, out;
	static struct vars v;
	char err[512];

	(void)state;
	svm_options_init(&in);
	assert_int_equal(svm_opt_image(&in, "/i.qcow2", err, sizeof(err)), 0);
	/* the option refuses it ... */
	assert_int_equal(svm_opt_mount(&in, "/a,b:/c", err, sizeof(err)), -1);
	/* ... and so does the request, whoever filled the options */
	in.n_mounts = 1;
	snprintf(in.mounts[0].src, sizeof(in.mounts[0].src), "/a,/etc");
	snprintf(in.mounts[0].dst, sizeof(in.mounts[0].dst), "/c");
	assert_int_equal(svm_request_encode(&in, NULL, put, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "--vm-mount: '/a,/etc:/c' has a comma, which cannot be passed to the prolog");
	snprintf(in.mounts[0].src, sizeof(in.mounts[0].src), "/a");
	snprintf(in.mounts[0].dst, sizeof(in.mounts[0].dst), "/c,d");
	v.n = 0;
	assert_int_equal(svm_request_encode(&in, NULL, put, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "--vm-mount: '/a:/c,d' has a comma, which cannot be passed to the prolog");

	/* decoded, commas split: each part must be a mount */
	v.n = 0;
	put(&v, "VM_IMAGE", "/i.qcow2");
	put(&v, "VM_MOUNTS", "/a:/b,/etc");
	assert_int_equal(svm_request_decode(&out, get, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "--vm-mount: '/etc' is not SRC:DST[:ro] with absolute paths");
}

/* What the prolog refuses of a request the user wrote by hand. */
static void test_decode_bad(void **state)
{
	static struct svm_options out, in;
	static struct vars v;
	char err[512], big[9000];

	(void)state;
	put(&v, "VM_IMAGE", "/i.qcow2");
	put(&v, "VM_MEM", "lots");
	assert_int_equal(svm_request_decode(&out, get, &v, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, "--vm-mem: ", 10), 0);
	v.n = 1;
	memset(big, 'x', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	put(&v, "VM_MOUNTS", big);
	assert_int_equal(svm_request_decode(&out, get, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "--vm-mount: too many or too long mounts");
	/* too long to encode: refused at submit */
	svm_options_init(&in);
	for (int i = 0; i < 3; i++) {
		in.mounts[i].src[0] = '/';
		memset(in.mounts[i].src + 1, 's', 3000);
		snprintf(in.mounts[i].dst, sizeof(in.mounts[i].dst), "/d%d", i);
	}
	in.n_mounts = 3;
	v.n = 0;
	assert_int_equal(svm_request_encode(&in, "/i", put, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "--vm-mount: the mounts are longer than 8191 bytes in all");
	assert_int_equal(v.n, 1);	/* VM_IMAGE only, then the refusal */
}

/* Every value of every enumerated option arrives as it was given. */
static void test_round_trip_values(void **state)
{
	static const char *const hp[] = { "none", "2M", "1G" };
	static const char *const ib[] = { "none", "pf", "vf" };
	static struct svm_options in, out;
	static struct vars v;
	char err[512];

	(void)state;
	for (int i = 0; i < 3; i++) {
		svm_options_init(&in);
		assert_int_equal(svm_opt_image(&in, "/i.qcow2", err, sizeof(err)), 0);
		assert_int_equal(svm_opt_hugepages(&in, hp[i], err, sizeof(err)), 0);
		assert_int_equal(svm_opt_ib(&in, ib[i], err, sizeof(err)), 0);
		assert_int_equal(svm_opt_mem(&in, i == 2 ? "65536" : "64M", err, sizeof(err)), 0);
		v.n = 0;
		assert_int_equal(svm_request_encode(&in, NULL, put, &v, err, sizeof(err)), 0);
		assert_int_equal(svm_request_decode(&out, get, &v, err, sizeof(err)), 0);
		assert_int_equal(out.hugepages, in.hugepages);
		assert_int_equal(out.ib, in.ib);
		assert_int_equal(out.mem_mib, i == 2 ? 65536 : 64);
	}
	/* the table names each value once, as slurmd and the options know it */
	for (size_t i = 0; i < svm_request_n_vars; i++) {
		assert_int_equal(strncmp(svm_request_vars[i].name, "VM_", 3), 0);
		assert_int_equal(strncmp(svm_request_vars[i].opt, "--vm-", 5), 0);
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(svm_request_vars[i].name, svm_request_vars[k].name);
	}
}

/* Decodes the one variable NAME=VALUE next to a good image; returns what
 * decode returned, the message in ERR. */
static int decode_one(struct svm_options *out, const char *name, const char *value,
		      char *err, size_t errlen)
{
	static struct vars v;

	v.n = 0;
	if (strcmp(name, "VM_IMAGE"))
		put(&v, "VM_IMAGE", "/i.qcow2");
	put(&v, name, value);
	return svm_request_decode(out, get, &v, err, errlen);
}

/* Each value the prolog is handed is checked as the option would be, and
 * the line names the option the user knows. */
static void test_decode_each(void **state)
{
	static struct svm_options out;
	static struct vars v;
	char err[512], mounts[2048];
	size_t off = 0;

	(void)state;
	assert_int_equal(decode_one(&out, "VM_IMAGE", "", err, sizeof(err)), -1);
	assert_string_equal(err, "--vm-image: empty image path");
	assert_int_equal(decode_one(&out, "VM_IMAGE", "/a\nb", err, sizeof(err)), -1);
	assert_string_equal(err, "--vm-image: image path must not contain a newline or a comma");
	assert_int_equal(decode_one(&out, "VM_MEM", "32M", err, sizeof(err)), -1);
	assert_string_equal(err, "--vm-mem: '32M' is less than the 64 MiB a guest needs");
	assert_int_equal(decode_one(&out, "VM_HUGEPAGES", "3M", err, sizeof(err)), -1);
	assert_string_equal(err, "--vm-hugepages: '3M' is not one of none|2M|1G");
	/* auto is the site's to choose, not the user's */
	assert_int_equal(decode_one(&out, "VM_IB", "auto", err, sizeof(err)), -1);
	assert_string_equal(err, "--vm-ib: 'auto' is not one of none|pf|vf");
	assert_int_equal(decode_one(&out, "VM_MOUNTS", "/a/../etc:/x", err, sizeof(err)), -1);
	assert_string_equal(err, "--vm-mount: '/a/../etc:/x': paths must not contain '..'");

	/* empty mounts and empty parts are none; 16 mounts, not 17 */
	assert_int_equal(decode_one(&out, "VM_MOUNTS", "", err, sizeof(err)), 0);
	assert_int_equal(out.n_mounts, 0);
	assert_int_equal(decode_one(&out, "VM_MOUNTS", ",/a:/b,,", err, sizeof(err)), 0);
	assert_int_equal(out.n_mounts, 1);
	for (int i = 0; i < 17; i++)
		off += (size_t)snprintf(mounts + off, sizeof(mounts) - off, "%s/s%d:/d%d", i ? "," : "", i, i);
	assert_int_equal(decode_one(&out, "VM_MOUNTS", mounts, err, sizeof(err)), -1);
	assert_string_equal(err, "--vm-mount: more than 16 mounts");
	*strrchr(mounts, ',') = '\0';
	assert_int_equal(decode_one(&out, "VM_MOUNTS", mounts, err, sizeof(err)), 0);
	assert_int_equal(out.n_mounts, 16);
	assert_string_equal(out.mounts[15].dst, "/d15");

	/* decode starts from nothing: the last request's values do not stay */
	assert_int_equal(decode_one(&out, "VM_MEM", "128", err, sizeof(err)), 0);
	assert_int_equal(out.n_mounts, 0);
	assert_int_equal(out.mem_mib, 128);
	assert_int_equal(decode_one(&out, "VM_IB", "pf", err, sizeof(err)), 0);
	assert_int_equal(out.mem_mib, 0);
	assert_int_equal(out.ib, SVM_IB_PF);
	/* no image: not a VM job, whatever else is set */
	v.n = 0;
	put(&v, "VM_MEM", "128");
	assert_int_equal(svm_request_decode(&out, get, &v, err, sizeof(err)), 0);
	assert_string_equal(out.image, "");
	/* the first bad value in table order is the one reported */
	v.n = 0;
	put(&v, "VM_IB", "all");
	put(&v, "VM_MEM", "lots");
	put(&v, "VM_IMAGE", "/i");
	assert_int_equal(svm_request_decode(&out, get, &v, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, "--vm-mem: ", 10), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_comma),
		cmocka_unit_test(test_decode_bad),
		cmocka_unit_test(test_round_trip_values),
		cmocka_unit_test(test_decode_each),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
