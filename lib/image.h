/* Checks on the user's disk image, done by reading its header here: the
 * image is untrusted, so no qemu-img or libvirt probe ever parses it as
 * root.  Accepted: qcow2 (versions 2 and 3) without backing file, external
 * data file, encryption or unknown incompatible feature, and whose header
 * QEMU would open, and raw (a file that carries no other image format's
 * magic and looks like a disk: a partition table, a boot sector or a
 * filesystem), as far as vm.conf's image_formats allows, with a virtual
 * size up to max_image_size. */
#ifndef SVM_IMAGE_H
#define SVM_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "vmconf.h"

/* Bytes of the image read for the check: the qcow2 header and its
 * extensions live in the first cluster; 64 KiB covers the usual one.  The
 * 4 KiB more reach the btrfs superblock of a raw image (at 64 KiB). */
#define SVM_IMAGE_HEAD (65536 + 4096)

struct svm_image_info {
	unsigned format;	/* SVM_FMT_QCOW2 or SVM_FMT_RAW */
	unsigned version;	/* qcow2 version */
	uint64_t virtual_size;	/* bytes the guest sees */
	uint64_t file_size;
};

/* Checks the image PATH against CONF.  Opens it without following a
 * symbolic link in its last component and without blocking on a FIFO.
 * Returns 0 with INFO filled, or -1 with one line in ERR (e.g. "image
 * /x.qcow2 has a backing file (/etc/shadow): not allowed"). */
int svm_image_check(const char *path, const struct svm_config *conf,
		    struct svm_image_info *info, char *err, size_t errlen);

/* Parses the qcow2 header in HEAD (the first LEN bytes of a file of
 * FILE_SIZE bytes), for the image called NAME in messages.  Returns 0 with
 * INFO filled, or -1 with one line in ERR.  Pure: the fuzz target's entry. */
int svm_image_qcow2_check(const char *name, const unsigned char *head, size_t len,
			  uint64_t file_size, struct svm_image_info *info,
			  char *err, size_t errlen);

/* What makes the first LEN bytes of a raw image HEAD look like a disk (a
 * static string: "GPT partition table", "ext2/3/4 filesystem", "boot
 * sector", ...), or NULL for a file that is none of those.  Pure. */
const char *svm_image_raw_kind(const unsigned char *head, size_t len);

/* The format whose magic starts HEAD ("qcow2", "vmdk", ...), or NULL. */
const char *svm_image_magic(const unsigned char *head, size_t len);

/* Resolves PATH (realpath) into RESOLVED (PATH_MAX bytes) and, when CONF
 * lists image_dirs, checks that it lies below one of them.  0, or -1 with
 * one line in ERR. */
int svm_image_resolve(const char *path, const struct svm_config *conf,
		      char *resolved, char *err, size_t errlen);

/* "qcow2" or "raw". */
const char *svm_image_format_name(unsigned format);

/* The argv that creates OVERLAY, a qcow2 whose backing file is IMAGE in
 * FORMAT with VIRTUAL_SIZE bytes (from svm_image_check): qemu-img create -u
 * never opens the user's image.  NULL-terminated; free with svm_argv_free.
 * NULL when out of memory. */
char **svm_image_overlay_argv(const char *qemu_img, const char *image, unsigned format,
			      uint64_t virtual_size, const char *overlay);

/* Frees a NULL-terminated array of malloc'd strings and the array; ARGV
 * may be NULL. */
void svm_argv_free(char **argv);

#endif
