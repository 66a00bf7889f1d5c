/* Zero-touch guests: how a user image whose systemd is 256 or newer starts
 * this host's guest agent with no preparation.  The domain gets two things:
 *
 *   - a read-only virtio disk, serial "slurm-vm-agent", holding an ext4
 *     filesystem with the static slurm-vm-agent (built with the agent,
 *     installed as slurm-vm-agent.img beside it);
 *   - SMBIOS type 11 OEM strings carrying systemd system credentials
 *     (io.systemd.credential.binary:NAME=BASE64), which systemd-debug-
 *     generator turns into units: a mount unit for the medium, the agent's
 *     service, and a drop-in that makes sysinit.target want the service.
 *
 * Systemd older than 256 ignores those credentials: such images carry an
 * agent of their own (slurm-vm image prepare), whose unit of the same name
 * the generated one shadows on newer systemd, so the guest always runs the
 * host's agent when it can. */
#ifndef SVM_AGENT_BOOT_H
#define SVM_AGENT_BOOT_H

#include <stddef.h>
#include <stdio.h>

/* The disk serial of the medium, as the guest sees it in
 * /dev/disk/by-id/virtio-<serial>. */
#define SVM_AGENT_MEDIUM_SERIAL "slurm-vm-agent"
/* Where the guest mounts the medium. */
#define SVM_AGENT_MEDIUM_MOUNT "/run/slurmvm"
/* The medium's file name in libexec_dir. */
#define SVM_AGENT_MEDIUM_FILE "slurm-vm-agent.img"

/* 1 if PORT (the virtio-serial port name) is safe to write into a unit
 * file: letters, digits, '.', '_', '-', at most 63 bytes. */
int svm_agent_port_ok(const char *port);

/* The text of slurm-vm-agent.service, which runs EXEC_PATH on the
 * virtio-serial PORT (/dev/virtio-ports/PORT) early at boot and restarts
 * it: the credential unit runs the medium's agent, slurm-vm image prepare
 * installs one running the agent it put in the image.  Fills BUF
 * (NUL-terminated); 0, or -1 for a PORT or EXEC_PATH that cannot go into
 * a unit, or when BUF is too small. */
int svm_agent_service_unit(const char *port, const char *exec_path, char *buf, size_t len);

/* Writes the <entry> lines of the OEM strings that make systemd 256+
 * start the agent on PORT, indented for <oemStrings>.  0, or -1 after
 * logging (a port name that cannot go into a unit). */
int svm_agent_boot_oem(FILE *f, const char *port);

/* The text of the credential NAME (one of those svm_agent_boot_oem writes)
 * decoded, for tests: fills BUF (NUL-terminated).  0, or -1 if unknown or
 * too long. */
int svm_agent_boot_unit(const char *port, const char *name, char *buf, size_t len);

/* Base64 (RFC 4648, padded) of LEN bytes of DATA into OUT of OUTLEN bytes,
 * NUL-terminated.  0, or -1 when OUT is too small. */
int svm_base64(const void *data, size_t len, char *out, size_t outlen);

#endif
