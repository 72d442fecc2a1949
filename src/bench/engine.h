/* SPDX-License-Identifier: MIT */
/*
 * engine.h - run one load test: worker threads, each with its own event
 * loop (net/) and share of the connections, parsing every response with
 * the proxy's own parser (http/). Above opts.h and stats.h; below the
 * reports and bench.c.
 */
#ifndef HP_BENCH_ENGINE_H
#define HP_BENCH_ENGINE_H

#include <stdbool.h>
#include <stdio.h>

#include "bench/opts.h"
#include "bench/stats.h"

/* Run one load test as <o> says, with <rate> req/s (0: closed loop, or the
 * stages). Fills <r> (hp_bench_result_fini() it), including the bench
 * process's CPU time over the run. <progress> prints a live line on
 * stderr; <stage_out>, if not NULL, gets one line as each stage begins. */
void hp_bench_run(const struct hp_bench_opts *o, double rate, bool progress, FILE *stage_out,
		  struct hp_bench_result *r);

#endif
