/* SPDX-License-Identifier: MIT */
/*
 * bench.h - `hotpath bench`, the load generator.
 *
 * It drives one or more HTTP/1.1 URLs from N threads, each owning an event
 * loop (net/) and a share of the connections, and parses every response
 * with the proxy's own parser (http/), so framing errors are caught rather
 * than counted as successes. Two load models: closed loop (each connection
 * sends its next request when the previous one completes) and open loop at
 * a constant or staged rate, where latency is measured from the time a
 * request was meant to be sent, so a stalled server cannot hide its stall
 * (coordinated omission, as wrk2 corrects it). Latencies go into a
 * per-thread log-linear histogram (core/hist.h) merged at the end.
 *
 * Exit codes: 0 run complete and every --assert clause holds; 1 an assert
 * clause failed (or --find-max found no passing rate); 2 usage error; 3 the
 * target could not be reached at all. `bench compare`: 0 no regression
 * beyond noise, 1 a regression, 2 usage error or unreadable report.
 *
 * The files of src/bench are layered; bench.c lists them, and each uses
 * only the headers of those below it (b_bench_layers.vtc checks).
 */
#ifndef HP_BENCH_BENCH_H
#define HP_BENCH_BENCH_H

#include <stdio.h>

/* Run `hotpath bench` (or `hotpath bench compare`) with <argv>[0] ==
 * "bench". Returns the process exit code (above); prints the summary on
 * stdout, errors on stderr. */
int hp_bench_main(int argc, char **argv);
/* Print the usage text for `hotpath help bench` to <out>. */
void hp_bench_usage(FILE *out);

#endif
