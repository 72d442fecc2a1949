/* SPDX-License-Identifier: MIT */
/*
 * clock.h - monotonic time for timeouts and latency, wall time for HTTP
 * dates, the IMF-fixdate codec (RFC 9110 §5.6.7), and the doubling delay
 * of a back-off.
 *
 * The event loop caches "now" once per iteration (hp_loop_now_ms); these
 * functions read the clock directly and are for that cache and for
 * measurements that need a fresh reading.
 */
#ifndef HP_CORE_CLOCK_H
#define HP_CORE_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Length of an IMF-fixdate, the only form hotpath writes. */
#define HP_HTTP_DATE_LEN (sizeof("Sun, 06 Nov 1994 08:49:37 GMT") - 1)

/* Monotonic clock in nanoseconds / milliseconds. */
uint64_t hp_clock_mono_ns(void);
uint64_t hp_clock_mono_ms(void);
/* Wall clock in seconds since the epoch. */
time_t hp_clock_wall_s(void);
/* The next delay of a back-off that starts at <min_ms> and doubles up to
 * <max_ms>; <cur_ms> is the last delay, 0 for none yet. */
uint64_t hp_backoff_next(uint64_t cur_ms, uint64_t min_ms, uint64_t max_ms);

/* Format <t> as IMF-fixdate into <out> (HP_HTTP_DATE_LEN + 1 bytes, NUL-terminated). */
void hp_http_date_format(time_t t, char *out);
/* Parse an HTTP date: IMF-fixdate, and the obsolete RFC 850 and asctime
 * forms a recipient must accept. False if it is none of them. */
bool hp_http_date_parse(const char *s, size_t len, time_t *out);

#endif
