#include "config.h"

#include <stdio.h>
#include <string.h>

#include "console.h"

/* The version systemd announces as PID 1: "systemd 252.30-1~deb12u2
 * running in system mode" (kernel log style on the console), the last one
 * in BUF; 0 if none. */
static unsigned systemd_version(const char *buf, size_t len)
{
	static const char key[] = "systemd ";
	static const char tail[] = " running in system mode";
	unsigned found = 0;

	for (size_t i = 0; i + sizeof(key) - 1 < len; i++) {
		size_t j = i + sizeof(key) - 1;
		unsigned v = 0;
		int digits = 0;

		if (memcmp(buf + i, key, sizeof(key) - 1) != 0)
			continue;
		while (j < len && buf[j] >= '0' && buf[j] <= '9' && digits < 5) {
			v = v * 10 + (unsigned)(buf[j] - '0');
			j++;
			digits++;
		}
		if (!digits || v == 0)
			continue;
		/* the version string runs up to the blank before "running" */
		while (j < len && j - i < 80 && buf[j] != ' ' && buf[j] != '\n')
			j++;
		if (j + sizeof(tail) - 1 <= len && memcmp(buf + j, tail, sizeof(tail) - 1) == 0)
			found = v;
	}
	return found;
}

static int has_login_prompt(const char *buf, size_t len)
{
	static const char key[] = " login:";

	for (size_t i = 0; i + sizeof(key) - 1 <= len; i++)
		if (memcmp(buf + i, key, sizeof(key) - 1) == 0)
			return 1;
	return 0;
}

/* The last line where the guest's systemd reports one of our units
 * failing ("[FAILED] Failed to mount run-slurmvm.mount", "[ TIME ] Timed
 * out waiting for device ...slurm\x2dvm...", "[DEPEND] Dependency failed
 * for slurm-vm-agent.service"), copied into OUT as printable ASCII. */
static int unit_failure(const char *buf, size_t len, char *out, size_t outlen)
{
	static const char *const marks[] = { "FAILED", "TIME ", "DEPEND" };
	static const char *const units[] = { "slurm-vm", "slurmvm", "slurm\\x2dvm" };
	size_t start = 0, best = 0, bestlen = 0;
	int found = 0;

	while (start < len) {
		size_t end = start, n;
		int mark = 0, unit = 0;
		char line[512];

		while (end < len && buf[end] != '\n')
			end++;
		n = end - start < sizeof(line) - 1 ? end - start : sizeof(line) - 1;
		memcpy(line, buf + start, n);
		line[n] = '\0';
		for (size_t i = 0; i < n; i++)
			if (line[i] == '\0')
				line[i] = ' ';
		for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
			mark |= strstr(line, marks[i]) != NULL;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			unit |= strstr(line, units[i]) != NULL;
		if (mark && unit) {
			best = start;
			bestlen = n;
			found = 1;
		}
		start = end + 1;
	}
	if (!found || !outlen)
		return 0;
	{
		size_t o = 0;

		for (size_t i = 0; i < bestlen && o + 1 < outlen; i++) {
			unsigned char c = (unsigned char)buf[best + i];

			if (c == '\r' || (c == ' ' && (o == 0 || out[o - 1] == ' ')))
				continue;
			out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		}
		while (o > 0 && out[o - 1] == ' ')
			o--;
		out[o] = '\0';
	}
	return 1;
}

int svm_console_hint(const char *buf, size_t len, char *out, size_t outlen)
{
	unsigned v = systemd_version(buf, len);
	char line[200];

	out[0] = '\0';
	if (v && v < 256) {
		snprintf(out, outlen,
			 "the image's systemd %u is older than 256 and cannot start the host's agent by itself: make the image ready with 'slurm-vm image prepare IN OUT'",
			 v);
		return 1;
	}
	if (unit_failure(buf, len, line, sizeof(line))) {
		snprintf(out, outlen, "the guest's systemd could not start the slurm-vm agent: \"%s\"", line);
		return 1;
	}
	if (has_login_prompt(buf, len)) {
		snprintf(out, outlen,
			 "the guest booted to a login prompt but no slurm-vm agent answered: make the image ready with 'slurm-vm image prepare IN OUT'");
		return 1;
	}
	return 0;
}

void svm_console_last_line(const char *buf, size_t len, char *out, size_t outlen)
{
	size_t end = len, start, o = 0;

	if (!outlen)
		return;
	while (end > 0 && (buf[end - 1] == '\n' || buf[end - 1] == '\r' || buf[end - 1] == ' '))
		end--;
	start = end;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	for (size_t i = start; i < end && o + 1 < outlen; i++)
		out[o++] = (buf[i] >= 0x20 && buf[i] < 0x7f) ? buf[i] : '?';
	out[o] = '\0';
}
