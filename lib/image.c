#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"

#define QCOW2_V2_HEADER 72
#define QCOW2_V3_HEADER 104
#define QCOW2_MAX_BACKING_NAME 1023
/* qemu's own limits (block/qcow2.h) */
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21

#define QCOW2_INCOMPAT_DIRTY (1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ULL << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ULL << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ULL << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ULL << 4)
#define QCOW2_INCOMPAT_KNOWN 0x1fULL

#define QCOW2_AUTOCLEAR_BITMAPS (1ULL << 0)
#define QCOW2_COMPRESSION_ZSTD 1

#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_DATA_FILE 0x44415441u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_CRYPTO 0x0537be77u
#define QCOW2_EXT_BITMAPS 0x23852875u

/* more of qemu's limits (block/qcow2.h, qcow2-bitmap.c) */
#define QCOW2_MAX_BACKING_FMT 16
#define QCOW2_MAX_REFTABLE (8ULL << 20)
#define QCOW2_MAX_L1 (32ULL << 20)
#define QCOW2_SNAPSHOT_HEADER 40ULL
#define QCOW2_MAX_SNAPSHOTS 65536ULL
#define QCOW2_MAX_BITMAPS 65535u
#define QCOW2_MAX_BITMAP_DIR (1024ULL * QCOW2_MAX_BITMAPS)

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

const char *svm_image_format_name(unsigned format)
{
	return format == SVM_FMT_QCOW2 ? "qcow2" : format == SVM_FMT_RAW ? "raw" : "unknown";
}

static const char *accepted(unsigned formats)
{
	if ((formats & (SVM_FMT_QCOW2 | SVM_FMT_RAW)) == (SVM_FMT_QCOW2 | SVM_FMT_RAW))
		return "qcow2 and raw images are";
	return formats & SVM_FMT_QCOW2 ? "qcow2 images are" : "raw images are";
}

const char *svm_image_magic(const unsigned char *h, size_t len)
{
	static const struct {
		const char *name;
		size_t off, len;
		const char *magic;
	} magics[] = {
		{ "qcow2", 0, 4, "QFI\xfb" },
		{ "vmdk", 0, 4, "KDMV" },
		{ "vmdk", 0, 4, "COWD" },
		{ "vmdk", 0, 21, "# Disk DescriptorFile" },
		{ "vdi", 64, 4, "\x7f\x10\xda\xbe" },
		{ "vhdx", 0, 8, "vhdxfile" },
		{ "vpc", 0, 8, "conectix" },
		{ "qed", 0, 4, "QED\0" },
		{ "luks", 0, 6, "LUKS\xba\xbe" },
		{ "parallels", 0, 16, "WithoutFreeSpace" },
		{ "parallels", 0, 16, "WithouFreSpacExt" },
		{ "bochs", 0, 22, "Bochs Virtual HD Image" },
		{ "cloop", 0, 22, "#!/bin/sh\n#V2.0 Format" },
	};

	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (len >= magics[i].off + magics[i].len &&
		    !memcmp(h + magics[i].off, magics[i].magic, magics[i].len))
			return magics[i].name;
	return NULL;
}

/* Copies the untrusted string P[0..N) for a message: printable ASCII only,
 * at most 200 characters. */
static void printable(char *dst, size_t size, const unsigned char *p, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && p[i] && k + 4 < size && k < 200; i++)
		dst[k++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	if (k < n && k >= 200 && k + 4 < size) {
		memcpy(dst + k, "...", 3);
		k += 3;
	}
	dst[k] = '\0';
}

/* The name of the external data file from the header extensions, or "". */
static void data_file_name(const unsigned char *h, size_t len, size_t off,
			   uint64_t cluster, char *name, size_t size)
{
	size_t end = len < cluster ? len : (size_t)cluster;

	name[0] = '\0';
	while (off + 8 <= end) {
		uint32_t type = be32(h + off), elen = be32(h + off + 4);

		if (type == QCOW2_EXT_END || elen > end - off - 8)
			return;
		if (type == QCOW2_EXT_DATA_FILE) {
			printable(name, size, h + off + 8, elen);
			return;
		}
		off += 8 + (((size_t)elen + 7) & ~(size_t)7);
	}
}

/* The checks below follow what QEMU's qcow2 driver (block/qcow2.c,
 * qcow2_do_open and qcow2_read_extensions) refuses when it opens the image
 * read-only as the overlay's backing file: an image that passes here must
 * not make the guest's start fail.  Where QEMU is lenient (a corrupt or
 * truncated image it would read as zeros) the check is stricter. */

/* QEMU's qcow2_validate_table: ENTRIES of ENTRY_LEN bytes at OFF, at most
 * MAX_BYTES in all, cluster-aligned, ending below INT64_MAX. */
static int table_ok(const char *name, const char *table, uint64_t off, uint64_t entries,
		    const char *unit, uint64_t entry_len, uint64_t max_bytes, uint64_t cluster,
		    char *err, size_t errlen)
{
	if (entries > max_bytes / entry_len) {
		snprintf(err, errlen, "image %s has a corrupt qcow2 header: its %s of %" PRIu64 " %s is over QEMU's limit of %" PRIu64,
			 name, table, entries, unit, max_bytes / entry_len);
		return -1;
	}
	if ((uint64_t)INT64_MAX - entries * entry_len < off || off % cluster) {
		snprintf(err, errlen, "image %s has a corrupt qcow2 header: its %s offset %" PRIu64 " is invalid",
			 name, table, off);
		return -1;
	}
	return 0;
}

/* The header extensions from OFF to the end of the first cluster, as far
 * as the LEN bytes read reach: the ones QEMU refuses. */
static int extensions_ok(const char *name, const unsigned char *h, size_t len, size_t off,
			 uint64_t cluster, uint64_t autoclear, char *err, size_t errlen)
{
	uint64_t end = cluster;

	while (off < end && off + 8 <= len) {
		uint32_t type = be32(h + off), elen = be32(h + off + 4);

		off += 8;
		if (off > end || elen > end - off) {
			snprintf(err, errlen, "image %s has a corrupt qcow2 header: header extension 0x%08" PRIx32 " of %" PRIu32 " bytes runs past the first cluster",
				 name, type, elen);
			return -1;
		}
		switch (type) {
		case QCOW2_EXT_END:
			return 0;
		case QCOW2_EXT_BACKING_FORMAT:
			if (elen >= QCOW2_MAX_BACKING_FMT) {
				snprintf(err, errlen, "image %s has a corrupt qcow2 header: backing format name of %" PRIu32 " bytes (at most %d)",
					 name, elen, QCOW2_MAX_BACKING_FMT - 1);
				return -1;
			}
			break;
		case QCOW2_EXT_CRYPTO:
			snprintf(err, errlen, "image %s is encrypted: not supported", name);
			return -1;
		case QCOW2_EXT_BITMAPS:
			if (elen != 24) {
				snprintf(err, errlen, "image %s has a corrupt qcow2 header: bitmaps extension of %" PRIu32 " bytes (24 expected)",
					 name, elen);
				return -1;
			}
			if (!(autoclear & QCOW2_AUTOCLEAR_BITMAPS) || off + 24 > len)
				break;
			{
				uint32_t nb = be32(h + off), reserved = be32(h + off + 4);
				uint64_t dir_size = be64(h + off + 8), dir_off = be64(h + off + 16);

				if (reserved || nb == 0 || nb > QCOW2_MAX_BITMAPS || dir_off % cluster ||
				    dir_size > QCOW2_MAX_BITMAP_DIR) {
					snprintf(err, errlen, "image %s has a corrupt qcow2 header: invalid dirty bitmaps extension (%" PRIu32 " bitmaps, directory of %" PRIu64 " bytes at %" PRIu64 ")",
						 name, nb, dir_size, dir_off);
					return -1;
				}
			}
			break;
		default:
			break;
		}
		off += ((size_t)elen + 7) & ~(size_t)7;
	}
	return 0;
}

int svm_image_qcow2_check(const char *name, const unsigned char *h, size_t len,
			  uint64_t file_size, struct svm_image_info *info,
			  char *err, size_t errlen)
{
	uint32_t version, cluster_bits, crypt, l1_size, backing_size, hdr_len = QCOW2_V2_HEADER;
	uint32_t refcount_order = 4, nb_snapshots, compression = 0;
	uint64_t backing_off, size, l1_off, rt_off, rt_clusters, incompat = 0, autoclear = 0;
	uint64_t cluster, l2_cover, snap_off;
	char what[256];

	if (len < QCOW2_V2_HEADER || file_size < QCOW2_V2_HEADER || memcmp(h, "QFI\xfb", 4)) {
		snprintf(err, errlen, "image %s is truncated: %" PRIu64 " bytes, shorter than a qcow2 header",
			 name, file_size);
		return -1;
	}
	version = be32(h + 4);
	backing_off = be64(h + 8);
	backing_size = be32(h + 16);
	cluster_bits = be32(h + 20);
	size = be64(h + 24);
	crypt = be32(h + 32);
	l1_size = be32(h + 36);
	l1_off = be64(h + 40);
	rt_off = be64(h + 48);
	rt_clusters = be32(h + 56);
	snap_off = be64(h + 60);
	nb_snapshots = be32(h + 68);

	if (version != 2 && version != 3) {
		snprintf(err, errlen, "image %s is qcow2 version %" PRIu32 ": only versions 2 and 3 are supported",
			 name, version);
		return -1;
	}
	if (cluster_bits < QCOW2_MIN_CLUSTER_BITS || cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
		snprintf(err, errlen, "image %s has a corrupt qcow2 header: cluster_bits %" PRIu32 " is outside %d-%d",
			 name, cluster_bits, QCOW2_MIN_CLUSTER_BITS, QCOW2_MAX_CLUSTER_BITS);
		return -1;
	}
	cluster = 1ULL << cluster_bits;
	if (version == 3) {
		if (len < QCOW2_V3_HEADER || file_size < QCOW2_V3_HEADER) {
			snprintf(err, errlen, "image %s is truncated: %" PRIu64 " bytes, shorter than a qcow2 header",
				 name, file_size);
			return -1;
		}
		incompat = be64(h + 72);
		autoclear = be64(h + 88);
		refcount_order = be32(h + 96);
		hdr_len = be32(h + 100);
		if (hdr_len < QCOW2_V3_HEADER || hdr_len > cluster || hdr_len % 8) {
			snprintf(err, errlen, "image %s has a corrupt qcow2 header: header length %" PRIu32 " is invalid",
				 name, hdr_len);
			return -1;
		}
		if (file_size < hdr_len) {
			snprintf(err, errlen, "image %s is truncated: %" PRIu64 " bytes, shorter than its qcow2 header (%" PRIu32 " bytes)",
				 name, file_size, hdr_len);
			return -1;
		}
		/* the compression type byte exists in longer headers only */
		if (hdr_len > QCOW2_V3_HEADER && len > QCOW2_V3_HEADER)
			compression = h[QCOW2_V3_HEADER];
	}
	if (backing_off != 0) {
		if (backing_size > QCOW2_MAX_BACKING_NAME || backing_off > len ||
		    backing_size > len - backing_off || backing_size == 0)
			snprintf(what, sizeof(what), "name unreadable");
		else
			printable(what, sizeof(what), h + backing_off, backing_size);
		snprintf(err, errlen, "image %s has a backing file (%s): not allowed", name, what);
		return -1;
	}
	if (incompat & QCOW2_INCOMPAT_DATA_FILE) {
		data_file_name(h, len, hdr_len, cluster, what, sizeof(what));
		if (what[0])
			snprintf(err, errlen, "image %s has an external data file (%s): not allowed", name, what);
		else
			snprintf(err, errlen, "image %s has an external data file: not allowed", name);
		return -1;
	}
	if (incompat & ~QCOW2_INCOMPAT_KNOWN) {
		snprintf(err, errlen, "image %s uses unknown qcow2 incompatible features (0x%" PRIx64 "): not allowed",
			 name, (uint64_t)(incompat & ~QCOW2_INCOMPAT_KNOWN));
		return -1;
	}
	if (incompat & QCOW2_INCOMPAT_CORRUPT) {
		snprintf(err, errlen, "image %s is marked corrupt: repair it with qemu-img check -r all", name);
		return -1;
	}
	if (compression > QCOW2_COMPRESSION_ZSTD) {
		snprintf(err, errlen, "image %s has a corrupt qcow2 header: unknown compression type %" PRIu32,
			 name, compression);
		return -1;
	}
	if (!compression != !(incompat & QCOW2_INCOMPAT_COMPRESSION)) {
		snprintf(err, errlen, "image %s has a corrupt qcow2 header: compression type %s but the compression feature bit %s",
			 name, compression ? "zstd" : "zlib", compression ? "unset" : "set");
		return -1;
	}
	/* extended L2 entries split a cluster into 32 subclusters of 512 bytes or more */
	if ((incompat & QCOW2_INCOMPAT_EXTL2) && cluster / 32 < 512) {
		snprintf(err, errlen, "image %s has a corrupt qcow2 header: extended L2 entries need clusters of 16 KiB or more, not %" PRIu64 " bytes",
			 name, cluster);
		return -1;
	}
	if (refcount_order > 6) {
		snprintf(err, errlen, "image %s has a corrupt qcow2 header: refcount_order %" PRIu32 " is over 6 (64-bit refcounts)",
			 name, refcount_order);
		return -1;
	}
	if (crypt != 0) {
		snprintf(err, errlen, "image %s is encrypted: not supported", name);
		return -1;
	}
	if (rt_clusters == 0) {
		snprintf(err, errlen, "image %s has a corrupt qcow2 header: it has no refcount table", name);
		return -1;
	}
	if (table_ok(name, "refcount table", rt_off, rt_clusters, "clusters", cluster, QCOW2_MAX_REFTABLE,
		     cluster, err, errlen) < 0 ||
	    (nb_snapshots &&	/* QEMU 7.2 looks at the offset only then */
	     table_ok(name, "snapshot table", snap_off, nb_snapshots, "snapshots", QCOW2_SNAPSHOT_HEADER,
		     QCOW2_SNAPSHOT_HEADER * QCOW2_MAX_SNAPSHOTS, cluster, err, errlen) < 0) ||
	    table_ok(name, "L1 table", l1_off, l1_size, "entries", 8, QCOW2_MAX_L1, cluster, err, errlen) < 0)
		return -1;

	/* The L1 table must cover the virtual size and lie inside the file. */
	l2_cover = cluster * (cluster / ((incompat & QCOW2_INCOMPAT_EXTL2) ? 16 : 8));
	if ((uint64_t)l1_size < size / l2_cover + (size % l2_cover != 0)) {
		snprintf(err, errlen, "image %s has a corrupt qcow2 header: L1 table of %" PRIu32 " entries does not fit its virtual size of %" PRIu64 " bytes",
			 name, l1_size, size);
		return -1;
	}
	if (rt_off == 0) {
		snprintf(err, errlen, "image %s has a corrupt qcow2 header: its refcount table overlaps the header", name);
		return -1;
	}
	if (l1_size && (l1_off > file_size || (uint64_t)l1_size * 8 > file_size - l1_off)) {
		snprintf(err, errlen, "image %s is truncated: its L1 table ends past the end of the file (%" PRIu64 " bytes)",
			 name, file_size);
		return -1;
	}
	if (rt_off > file_size || rt_clusters > (file_size - rt_off) / cluster + 1) {
		snprintf(err, errlen, "image %s is truncated: its refcount table ends past the end of the file (%" PRIu64 " bytes)",
			 name, file_size);
		return -1;
	}
	if (extensions_ok(name, h, len, hdr_len, cluster, autoclear, err, errlen) < 0)
		return -1;
	info->format = SVM_FMT_QCOW2;
	info->version = version;
	info->virtual_size = size;
	info->file_size = file_size;
	return 0;
}

/* Little-endian 16 bits. */
static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

const char *svm_image_raw_kind(const unsigned char *h, size_t len)
{
	static const struct {
		const char *name;
		size_t off, len;
		const char *magic;
	} sigs[] = {
		{ "GPT partition table", 512, 8, "EFI PART" },
		{ "GPT partition table", 4096, 8, "EFI PART" },	/* 4 KiB sectors */
		{ "LVM physical volume", 512, 8, "LABELONE" },
		{ "XFS filesystem", 0, 4, "XFSB" },
		{ "squashfs filesystem", 0, 4, "hsqs" },
		{ "ISO 9660 filesystem", 32769, 5, "CD001" },
		{ "btrfs filesystem", 65536 + 64, 8, "_BHRfS_M" },
	};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (len >= sigs[i].off + sigs[i].len &&
		    !memcmp(h + sigs[i].off, sigs[i].magic, sigs[i].len))
			return sigs[i].name;
	/* ext2/3/4: s_magic of the superblock at 1024 */
	if (len >= 1082 && le16(h + 1080) == 0xef53)
		return "ext2/3/4 filesystem";
	/* an MBR, or a boot sector of FAT, NTFS, a boot loader */
	if (len >= 512 && h[510] == 0x55 && h[511] == 0xaa)
		return "boot sector";
	return NULL;
}

int svm_image_check(const char *path, const struct svm_config *conf,
		    struct svm_image_info *info, char *err, size_t errlen)
{
	unsigned char *head = NULL;
	struct svm_image_info tmp = { 0 };
	const char *magic;
	struct stat st;
	size_t want, got = 0;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			snprintf(err, errlen, "image %s is a symbolic link: not allowed (give the image's own path)", path);
		else
			snprintf(err, errlen, "cannot open image %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot stat image %s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "image %s is a directory, not a disk image", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "image %s is not a regular file", path);
		goto out;
	}
	if (st.st_size == 0) {
		snprintf(err, errlen, "image %s is empty", path);
		goto out;
	}
	want = (uint64_t)st.st_size < SVM_IMAGE_HEAD ? (size_t)st.st_size : SVM_IMAGE_HEAD;
	head = calloc(1, SVM_IMAGE_HEAD);
	if (!head) {
		snprintf(err, errlen, "cannot check image %s: %s", path, strerror(ENOMEM));
		goto out;
	}
	while (got < want) {
		ssize_t n = pread(fd, head + got, want - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read image %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}

	magic = svm_image_magic(head, got);
	if (magic && !strcmp(magic, "qcow2")) {
		if (!(conf->image_formats & SVM_FMT_QCOW2)) {
			snprintf(err, errlen, "image %s is in qcow2 format: only %s accepted", path,
				 accepted(conf->image_formats));
			goto out;
		}
		if (svm_image_qcow2_check(path, head, got, (uint64_t)st.st_size, &tmp, err, errlen) < 0)
			goto out;
	} else if (magic) {
		snprintf(err, errlen, "image %s is in %s format: only %s accepted", path, magic,
			 accepted(conf->image_formats));
		goto out;
	} else {
		if (!(conf->image_formats & SVM_FMT_RAW)) {
			snprintf(err, errlen, "image %s is not a qcow2 image (raw images are not accepted)", path);
			goto out;
		}
		/* anything else would boot nothing: the user would wait out
		 * the boot timeout to learn it */
		if (!svm_image_raw_kind(head, got)) {
			snprintf(err, errlen, "image %s is not a disk image: no partition table, boot sector or filesystem",
				 path);
			goto out;
		}
		tmp.format = SVM_FMT_RAW;
		tmp.virtual_size = (uint64_t)st.st_size;
		tmp.file_size = (uint64_t)st.st_size;
	}
	if (conf->max_image_size && tmp.virtual_size > conf->max_image_size) {
		snprintf(err, errlen, "image %s has a virtual size of %" PRIu64 " bytes, over the limit of %" PRIu64 " bytes (max_image_size)",
			 path, tmp.virtual_size, conf->max_image_size);
		goto out;
	}
	if (info)
		*info = tmp;
	ret = 0;
out:
	free(head);
	if (fd >= 0)
		close(fd);
	return ret;
}

int svm_image_resolve(const char *path, const struct svm_config *conf,
		      char *resolved, char *err, size_t errlen)
{
	char dir[PATH_MAX];

	if (!realpath(path, resolved)) {
		snprintf(err, errlen, "cannot open image %s: %s", path, strerror(errno));
		return -1;
	}
	if (conf->image_dirs.n == 0)
		return 0;
	for (int i = 0; i < conf->image_dirs.n; i++) {
		size_t n;

		/* The directories may themselves be links: compare real paths. */
		if (!realpath(conf->image_dirs.path[i], dir))
			continue;
		n = strlen(dir);
		if (n == 1 || (!strncmp(resolved, dir, n) && resolved[n] == '/'))
			return 0;
	}
	snprintf(err, errlen, "image %s (%s) is not in an allowed image directory (image_dirs)", path, resolved);
	return -1;
}

void svm_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

char **svm_image_overlay_argv(const char *qemu_img, const char *image, unsigned format,
			      uint64_t virtual_size, const char *overlay)
{
	char size[32];
	const char *args[] = {
		qemu_img ? qemu_img : "qemu-img", "create", "-q", "-f", "qcow2",
		"-b", image, "-F", svm_image_format_name(format), "-u", overlay, size,
	};
	size_t n = sizeof(args) / sizeof(args[0]);
	char **argv = calloc(n + 1, sizeof(*argv));

	if (!argv)
		return NULL;
	snprintf(size, sizeof(size), "%" PRIu64, virtual_size);
	for (size_t i = 0; i < n; i++) {
		argv[i] = strdup(args[i]);
		if (!argv[i]) {
			svm_argv_free(argv);
			return NULL;
		}
	}
	return argv;
}
