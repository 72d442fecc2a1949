/* SPDX-License-Identifier: MIT */
/*
 * accesslog.h - the access log file: opened when a configuration snapshot
 * is built, closed when the snapshot is freed, so a reload reopens it (and
 * so does a rotation that reloads). Lines are formatted and buffered per
 * worker by accesslog.c's hp_accesslog_record() (proxy_priv.h).
 */
#ifndef HP_PROXY_ACCESSLOG_H
#define HP_PROXY_ACCESSLOG_H

#include <stddef.h>

struct hp_accesslog;
struct hp_config_access_log;

/* Open <conf>->path ("-" = stdout) for appending. Returns NULL with a
 * one-line reason in <err>. */
struct hp_accesslog *hp_accesslog_open(const struct hp_config_access_log *conf, char *err,
				       size_t errlen);
/* Close and free. NULL is allowed. */
void hp_accesslog_close(struct hp_accesslog *log);
/* Open the file again under the same descriptor (log rotation). Returns 0
 * or -errno; stdout is left alone. */
int hp_accesslog_reopen(struct hp_accesslog *log);
/* Append <len> bytes of whole lines with as few write(2) calls as it takes. */
void hp_accesslog_write(struct hp_accesslog *log, const char *p, size_t len);

#endif
