/* SPDX-License-Identifier: MIT */
/*
 * opts.h - everything the command line says about one run: the requests
 * (URLs or a scenario file), the load model (closed, constant rate, stages
 * or a named profile), the budgets and the outputs. Parsed once, read-only
 * afterwards; the engine and the reports take it as const.
 */
#ifndef HP_BENCH_OPTS_H
#define HP_BENCH_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench/budget.h"
#include "bench/rules.h"
#include "bench/request.h"

/* A stage ramps linearly from the previous stage's target (0 for the
 * first) to <target> over <duration_ns>, as k6 stages do. */
struct hp_bench_stage {
	uint64_t duration_ns;
	double target; /* req/s, or connections with a 'c' suffix */
};

struct hp_bench_opts {
	unsigned conns;	      /* -c, connections in all (max over stages) */
	unsigned threads;     /* -t */
	uint64_t duration_ns; /* -d, or the sum of the stages */
	uint64_t requests;    /* -n, 0 for a timed run */
	double rate;	      /* -R, 0 for closed loop; with --profile the base rate */
	uint64_t timeout_ns;  /* --timeout, per request */
	uint64_t warmup_ns;   /* --warmup, before the measured part */
	bool keepalive;
	unsigned spin_us;      /* --spin-us: poll this long before blocking (0 = never) */
	bool copy_body;	       /* --copy-body: read every body byte into user space */
	bool stages_are_conns; /* stage targets are connections, not rates */
	struct hp_bench_stage *stages;
	size_t nstages;
	const char *profile; /* --profile name, or NULL */
	double profile_rate; /* --profile: the base rate -R it was expanded around */
	struct hp_bench_target *targets;
	size_t ntargets;
	const char *scenario_path;	 /* --scenario FILE, or NULL */
	struct hp_budget budget;	 /* --assert */
	struct hp_budget find_max; /* --find-max */
	struct hp_bench_rules rules;	 /* --budgets FILE */
	const char *json_path;
	const char *html_path;
	bool quiet; /* no progress line even on a terminal */
};

/* Parse the command line (<argv>[0] == "bench") into <o>. Returns 0; 2
 * after printing a usage error on stderr; -1 when -h asked for the help
 * (which the caller prints). <o> owns heap memory in every case: pair with
 * hp_bench_opts_fini(). */
int hp_bench_opts_parse(struct hp_bench_opts *o, int argc, char **argv);
void hp_bench_opts_fini(struct hp_bench_opts *o);
/* Parse "10s:100,30s:1000,10s:0" (rates) or "5s:10c,20s:100c"
 * (connections) into a new array at <out>. Returns 0, or -1 with a message
 * in <err> saying where it is wrong (nothing allocated then). */
int hp_bench_parse_stages(const char *s, struct hp_bench_stage **out, size_t *n, bool *are_conns,
			  char *err, size_t errlen);
/* Expand profile <name> for base rate <rate> over <total_ns> (0: the
 * profile's default length) into a new stage array. Returns 0, or -1 if
 * <name> is not a profile. */
int hp_bench_profile_stages(const char *name, double rate, uint64_t total_ns,
			    struct hp_bench_stage **out, size_t *n);
/* One line describing stage <i> of <st> ("ramp 0 -> 1000 req/s over 3s"). */
void hp_bench_stage_describe(const struct hp_bench_stage *st, size_t i, bool conns, char *buf,
			     size_t n);
/* The stage target in force <t_ns> after the start (linear ramps). */
double hp_bench_stage_value(const struct hp_bench_stage *st, size_t n, uint64_t t_ns);
/* The index of the stage running <t_ns> after the start (n when past the end). */
size_t hp_bench_stage_at(const struct hp_bench_stage *st, size_t n, uint64_t t_ns);
/* Write the usage text for `hotpath help bench` to <out>. */
void hp_bench_opts_usage(FILE *out);

#endif
