/* The prolog and epilog write to slurmd's own log file, where admins look,
 * in slurmd's format and at slurmd's level (SlurmdLogFile and SlurmdDebug
 * in slurm.conf); without a log file they use syslog.  Every line also goes
 * to stderr, which slurmd keeps at debug2. */
#ifndef SVM_SLURMDLOG_H
#define SVM_SLURMDLOG_H

#include "log.h"

/* Sets up the sink for PROGRAM ("slurm-vm-prolog") on NODE for JOB, from
 * SLURM_CONF (may be NULL or empty: syslog at info level). */
void svm_slurmdlog_init(const char *program, const char *slurm_conf,
			const char *node, unsigned job);

/* Parses SlurmdLogFile and SlurmdDebug out of the slurm.conf text BUF;
 * LOGFILE gets the path with %n and %h expanded ("" if none).  Returns the
 * svm log level.  Exposed for the unit tests. */
enum svm_log_level svm_slurmdlog_parse(const char *buf, const char *node,
				       const char *host, char *logfile, size_t len);

#endif
