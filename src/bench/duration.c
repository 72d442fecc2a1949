/* SPDX-License-Identifier: MIT */
/*
 * duration.c - durations for the bench command line and scenario files:
 * the configuration's rule (config.h: a unit is required, a bare "30" is
 * refused with a message naming the units, 0 is allowed), plus "us" for
 * sub-millisecond options, so serve, check and bench read "30" alike.
 */
#include <string.h>

#include "bench/duration.h"
#include "config/config.h"

bool hp_bench_parse_duration(const char *s, size_t len, uint64_t *out_ns)
{
	char tmp[32];
	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return hp_config_parse_duration_ns(tmp, out_ns) && *out_ns <= HP_BENCH_DURATION_MAX_NS;
}
