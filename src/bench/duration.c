/* SPDX-License-Identifier: MIT */
/*
 * duration.c - durations for the bench command line and scenario files.
 * The suffix table is the whole rule; a bare number is seconds, as wrk and
 * k6 read it. XXX: the config parser is settling one rule for bare numbers
 * (hp_config_parse_duration); when it lands, apply it here and every bench
 * duration follows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/duration.h"

static const struct {
	const char *suffix;
	double ns; /* nanoseconds per unit */
} units[] = {
    {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"", 1e9}, {"m", 60e9}, {"h", 3600e9},
};

bool hp_bench_parse_duration(const char *s, size_t len, uint64_t *out_ns)
{
	char tmp[32];
	if (len == 0 || len >= sizeof(tmp) || s[0] < '0' || s[0] > '9')
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	char *end;
	double v = strtod(tmp, &end);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		if (!isfinite(v) || v * units[i].ns > (double)HP_BENCH_DURATION_MAX_NS)
			return false;
		*out_ns = (uint64_t)llround(v * units[i].ns);
		return true;
	}
	return false;
}
