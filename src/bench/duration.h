/* SPDX-License-Identifier: MIT */
/*
 * duration.h - the one parser for every duration `hotpath bench` reads:
 * -d, --timeout, --warmup, the stage lists, profile lengths and the think
 * times of scenario files. Keeping it single means a rule about durations
 * (what a bare number means, the largest value) changes in one place.
 */
#ifndef HP_BENCH_DURATION_H
#define HP_BENCH_DURATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest duration accepted, 30 days in ns. */
#define HP_BENCH_DURATION_MAX_NS (30ull * 86400 * 1000000000)

/* Parse <len> bytes at <s>: a decimal number with a unit, "500us", "250ms",
 * "10s", "1.5s", "2m", "1h" (the configuration's rule: a bare number other
 * than 0 is refused, as in files, serve and check). Stores
 * nanoseconds in <out_ns> and returns true; returns false (leaving <out_ns>
 * alone) if the text is malformed, negative or longer than
 * HP_BENCH_DURATION_MAX_NS. Zero is accepted: callers that need a positive
 * duration check for it. */
bool hp_bench_parse_duration(const char *s, size_t len, uint64_t *out_ns);

#endif
