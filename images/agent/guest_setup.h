/* Applies the guest configuration (guest_config.h) at agent start: host
 * name, job network address, the job's node names in /etc/hosts, 9p
 * shares.  Idempotent: what is already in
 * place (set by the image's own init) is left alone. */
#ifndef SVM_GUEST_SETUP_H
#define SVM_GUEST_SETUP_H

#include <stddef.h>

#include "guest_config.h"

#define SVM_GS_DMI_DIR "/sys/firmware/dmi/entries"
#define SVM_GS_CMDLINE "/proc/cmdline"

/* Fills GC from the SMBIOS type 11 entries under DMI_DIR, then from the
 * kernel command line in CMDLINE, which wins where both give a value.
 * Missing files are no error; malformed values are logged and skipped. */
void svm_gs_read(struct svm_gc *gc, const char *dmi_dir, const char *cmdline);

/* Applies GC; every step logs one line on stderr and /dev/kmsg. Returns
 * the number of steps that failed (never fatal to the agent). */
int svm_gs_apply(const struct svm_gc *gc);

/* Writes GC as "slurmvm.KEY=VALUE" lines to F (--show-config). */
void svm_gs_print(const struct svm_gc *gc, void *f);

/* If CWD is at or below a share that could not be mounted, writes a note
 * saying so into BUF (" (share TAG at PATH was not mounted: WHY)") and
 * returns 1; else BUF is "" and it returns 0. */
int svm_gs_share_note(const char *cwd, char *buf, size_t len);

#endif
