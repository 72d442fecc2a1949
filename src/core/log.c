/* SPDX-License-Identifier: MIT */
/*
 * log.c - leveled diagnostics on stderr, one write(2) per line.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int current_level = HP_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void hp_log_set_level(enum hp_log_level level)
{
	atomic_store(&current_level, (int)level);
}

enum hp_log_level hp_log_get_level(void)
{
	return (enum hp_log_level)atomic_load_explicit(&current_level, memory_order_relaxed);
}

bool hp_log_parse_level(const char *s, enum hp_log_level *out)
{
	for (int i = 0; i <= HP_LOG_DEBUG; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum hp_log_level)i;
			return true;
		}
	}
	if (strcmp(s, "warning") == 0) {
		*out = HP_LOG_WARN;
		return true;
	}
	return false;
}

void hp_log(enum hp_log_level level, const char *fmt, ...)
{
	if ((int)level > atomic_load_explicit(&current_level, memory_order_relaxed))
		return;
	char line[2048];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	size_t n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, " hotpath[%d] %s: ",
			      (int)getpid(), level_names[level]);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += (size_t)m;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}
