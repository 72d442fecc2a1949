/* SPDX-License-Identifier: MIT */
/*
 * report.h - what a run leaves behind: the terminal summary (report.c),
 * the JSON report (report.c), the HTML page (html.c), and the comparison
 * of two JSON reports (compare.c). They read only the merged result, so
 * what the terminal shows, what CI parses and what the page draws are the
 * same figures. The top of the bench but for bench.c.
 */
#ifndef HP_BENCH_REPORT_H
#define HP_BENCH_REPORT_H

#include <stdio.h>

#include "bench/budget.h"
#include "bench/opts.h"
#include "bench/stats.h"

/* The readable summary of <r> on <out>, ending with the CPU line that
 * says which side was the bottleneck. */
void hp_bench_report_text(FILE *out, const struct hp_bench_opts *o,
			  const struct hp_bench_result *r);
/* One line per clause of <b>: a check mark or a cross, the clause, and the
 * measured value beside it (as k6 prints thresholds). Nothing if empty. */
void hp_bench_report_budget(FILE *out, const char *title, const struct hp_budget *b,
			    const struct hp_bench_result *r);
/* Which side limited the run, in a sentence (no newline) into <buf>. */
const char *hp_bench_bottleneck(const struct hp_bench_opts *o, const struct hp_bench_result *r,
				char *buf, size_t n);
/* Write the JSON report to <path>; <found_rate> > 0 adds the --find-max
 * outcome. Returns 0 or -EIO. */
int hp_bench_report_json(const char *path, const struct hp_bench_opts *o,
			 const struct hp_bench_result *r, double found_rate);
/* Write the self-contained HTML report to <path>. Returns 0 or -errno. */
int hp_bench_report_html(const char *path, const struct hp_bench_opts *o,
			 const struct hp_bench_result *r);
/* `hotpath bench compare BASE.json NEW.json` (<argv>[0] == "compare"):
 * prints every figure's change on <out>, flags those beyond the runs'
 * noise. Returns 0 (no flagged regression), 1 (at least one), 2 (usage
 * error or unreadable report, message on stderr). */
int hp_bench_compare_main(int argc, char **argv, FILE *out);

#endif
