/* SPDX-License-Identifier: MIT */
/*
 * scenario.h - scenario files: a JSON list of named requests (method, URL,
 * headers, body, weight, think time) that one run mixes by weight, as
 * Locust task sets and k6 scenarios do. Format in docs/bench.md.
 */
#ifndef HP_BENCH_SCENARIO_H
#define HP_BENCH_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include "bench/request.h"

/* Load <path> into a new array of targets at <out> (<n> entries), adding
 * the <nextra> header lines <extra> (from -H) to every request. Returns 0,
 * or -1 with "FILE: KEY.PATH: reason" in <err> (nothing allocated then). */
int hp_bench_scenario_load(const char *path, const char *const *extra, size_t nextra,
			   bool keepalive, struct hp_bench_target **out, size_t *n, char *err,
			   size_t errlen);

#endif
