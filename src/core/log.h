/* SPDX-License-Identifier: MIT */
/*
 * log.h - diagnostics to stderr with levels.
 *
 * One line per message: "2026-11-21T10:00:00Z hotpath[pid] level: text".
 * The level comes from HOTPATH_LOG_LEVEL or the config (error, warn, info,
 * debug). Lines are written with one write(2) each, so threads never
 * interleave within a line. The access log is separate (proxy/accesslog).
 */
#ifndef HP_CORE_LOG_H
#define HP_CORE_LOG_H

#include <stdbool.h>

enum hp_log_level {
	HP_LOG_ERROR,
	HP_LOG_WARN,
	HP_LOG_INFO,
	HP_LOG_DEBUG,
};

/* Set the threshold: messages above it are dropped. */
void hp_log_set_level(enum hp_log_level level);
enum hp_log_level hp_log_get_level(void);
/* Parse "error", "warn", "info" or "debug"; false if none of them. */
bool hp_log_parse_level(const char *s, enum hp_log_level *out);
/* Log one line at <level>. */
void hp_log(enum hp_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define hp_log_error(...) hp_log(HP_LOG_ERROR, __VA_ARGS__)
#define hp_log_warn(...) hp_log(HP_LOG_WARN, __VA_ARGS__)
#define hp_log_info(...) hp_log(HP_LOG_INFO, __VA_ARGS__)
#define hp_log_debug(...)                                   \
	do {                                                \
		if (hp_log_get_level() >= HP_LOG_DEBUG)     \
			hp_log(HP_LOG_DEBUG, __VA_ARGS__);  \
	} while (0)

#endif
