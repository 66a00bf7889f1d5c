/* libFuzzer target for the qcow2 header parser and the format magic table:
 * the bytes of a user's image are the most hostile input slurm-vm reads. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct svm_image_info info;
	size_t len = size < SVM_IMAGE_HEAD ? size : SVM_IMAGE_HEAD;
	char err[1024];
	uint64_t claimed = 0;

	svm_image_magic(data, len);
	svm_image_raw_kind(data, len);
	/* the head as read from a file of exactly SIZE bytes */
	if (svm_image_qcow2_check("fuzz", data, len, size, &info, err, sizeof(err)) == 0 &&
	    info.virtual_size > 0 && info.format != SVM_FMT_QCOW2)
		__builtin_trap();
	/* and from a much longer file (only the head was read) */
	if (size >= 8)
		memcpy(&claimed, data + size - 8, 8);
	svm_image_qcow2_check("fuzz", data, len, claimed, &info, err, sizeof(err));
	if (memchr(err, '\n', strnlen(err, sizeof(err))))
		__builtin_trap();
	return 0;
}
