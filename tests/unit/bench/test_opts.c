/* SPDX-License-Identifier: MIT */
/*
 * test_opts.c - the bench command line: durations, stage lists and their
 * ramps, URL and option errors (usage, exit 2), the serialised request, and
 * the cache-status classification the breakdown relies on.
 */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#include "bench/opts.h"
#include "bench/budget.h"
#include "bench/duration.h"
#include "bench/stats.h"

#define MS 1000000ull
#define S 1000000000ull

static void test_duration(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint64_t ns;
	} ok[] = {
	    {"10s", 10 * S},	 {"250ms", 250 * MS}, {"2m", 120 * S},	 {"1h", 3600 * S},
	    {"1.5s", 1500 * MS}, {"10 s", 10 * S},    {"500us", 500000},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t ns = 0;
		assert_true(hp_bench_parse_duration(ok[i].s, strlen(ok[i].s), &ns));
		assert_int_equal(ns, ok[i].ns);
	}
	/* A bare number is refused, as in configuration files (config.h). */
	static const char *const bad[] = {"", "s", "10x", "-5s", "7", "ms", "99999h"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t ns;
		assert_false(hp_bench_parse_duration(bad[i], strlen(bad[i]), &ns));
	}
}

static void test_stages_parse(void **state)
{
	(void)state;
	struct hp_bench_stage *st;
	size_t n;
	bool conns;
	char err[256];
	assert_int_equal(
	    hp_bench_parse_stages("10s:100,30s:1000,10s:0", &st, &n, &conns, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_false(conns);
	assert_int_equal(st[0].duration_ns, 10 * S);
	assert_true(st[1].target == 1000);
	assert_int_equal(st[2].duration_ns, 10 * S);
	assert_true(st[2].target == 0);
	/* k6-style linear ramps from the previous target, starting at 0. */
	assert_true(hp_bench_stage_value(st, n, 0) == 0);
	assert_true(hp_bench_stage_value(st, n, 5 * S) == 50);
	assert_true(hp_bench_stage_value(st, n, 10 * S) == 100);
	assert_true(hp_bench_stage_value(st, n, 25 * S) == 550);
	assert_true(hp_bench_stage_value(st, n, 45 * S) == 500);
	assert_true(hp_bench_stage_value(st, n, 60 * S) == 0);
	free(st);

	assert_int_equal(
	    hp_bench_parse_stages("500ms:10c,1m:10c", &st, &n, &conns, err, sizeof(err)), 0);
	assert_true(conns);
	assert_int_equal(n, 2);
	assert_true(hp_bench_stage_value(st, n, 30 * S) == 10);
	free(st);
}

static void test_stages_invalid(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		const char *where;
	} bad[] = {
	    {"", "character 1"},
	    {"10s", "character 1"},
	    {"10x:5", "character 1"},
	    {"0s:5", "character 1"},
	    {"10s:", "character 5"},
	    {"10s:abc", "character 5"},
	    {"10s:5,", "character 7"},
	    {"10s:5,5s:10c", "character 10"}, /* rates and connections mixed */
	    {"10s:5,,5s:1", "character 7"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hp_bench_stage *st = NULL;
		size_t n = 0;
		bool conns;
		char err[256] = "";
		assert_int_equal(hp_bench_parse_stages(bad[i].s, &st, &n, &conns, err, sizeof(err)),
				 -1);
		if (strstr(err, bad[i].where) == NULL)
			fail_msg("\"%s\": got \"%s\", want %s", bad[i].s, err, bad[i].where);
	}
}

static int parse(struct hp_bench_opts *o, const char *const *args)
{
	char *argv[32];
	int argc = 0;
	argv[argc++] = (char *)"bench";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	/* Usage errors go to stderr; keep them out of the test output only. */
	fflush(stderr);
	int saved = dup(2);
	int devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, 2);
	int rc = hp_bench_opts_parse(o, argc, argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(devnull);
	return rc;
}

static void test_usage_errors(void **state)
{
	(void)state;
	const char *const *const cases[] = {
	    (const char *const[]){NULL}, /* no URL */
	    (const char *const[]){"ftp://x/", NULL},
	    (const char *const[]){"https://127.0.0.1/", NULL},
	    (const char *const[]){"http:///path", NULL},
	    (const char *const[]){"http://127.0.0.1/@0", NULL},
	    (const char *const[]){"-c", "0", "http://127.0.0.1/", NULL},
	    (const char *const[]){"-c", "ten", "http://127.0.0.1/", NULL},
	    (const char *const[]){"-d", "10x", "http://127.0.0.1/", NULL},
	    (const char *const[]){"-d", "1s", "-n", "5", "http://127.0.0.1/", NULL},
	    (const char *const[]){"-R", "-5", "http://127.0.0.1/", NULL},
	    (const char *const[]){"--bogus", "http://127.0.0.1/", NULL},
	    (const char *const[]){"-H", "NoColon", "http://127.0.0.1/", NULL},
	    (const char *const[]){"--stages", "1s", "http://127.0.0.1/", NULL},
	    (const char *const[]){"--stages", "1s:5", "-R", "9", "http://127.0.0.1/", NULL},
	    (const char *const[]){"--assert", "p99<<1ms", "http://127.0.0.1/", NULL},
	    (const char *const[]){"--find-max", "p99<1ms", "-R", "5", "http://127.0.0.1/", NULL},
	    (const char *const[]){"--spin-us", "-1", "http://127.0.0.1/", NULL},
	    (const char *const[]){"--spin-us", "100001", "http://127.0.0.1/", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hp_bench_opts o;
		if (parse(&o, cases[i]) != 2)
			fail_msg("case %zu was accepted", i);
		hp_bench_opts_fini(&o);
	}
}

static void test_request_bytes(void **state)
{
	(void)state;
	struct hp_bench_opts o;
	const char *const args[] = {"-c",
				    "4",
				    "-t",
				    "8",
				    "-H",
				    "X-Test: 1",
				    "-b",
				    "hello",
				    "--no-keepalive",
				    "http://127.0.0.1:8080/a?b=c@3",
				    "http://localhost",
				    NULL};
	assert_int_equal(parse(&o, args), 0);
	assert_int_equal(o.threads, 4); /* never more threads than connections */
	assert_int_equal(o.ntargets, 2);
	assert_int_equal(o.targets[0].weight, 3);
	assert_string_equal(o.targets[0].hostport, "127.0.0.1:8080");
	assert_string_equal(o.targets[0].req,
			    "POST /a?b=c HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
			    "User-Agent: hotpath-bench\r\nConnection: close\r\nX-Test: 1\r\n"
			    "Content-Length: 5\r\n\r\nhello");
	assert_int_equal(o.targets[0].req_len, strlen(o.targets[0].req));
	assert_string_equal(o.targets[1].hostport, "localhost:80");
	assert_int_equal(o.targets[1].weight, 1);
	static const char post_head[] = "POST / HTTP/1.1\r\nHost: localhost\r\n";
	assert_true(strncmp(o.targets[1].req, post_head, sizeof(post_head) - 1) == 0);
	hp_bench_opts_fini(&o);

	const char *const spin[] = {"--spin-us", "50", "http://127.0.0.1/", NULL};
	assert_int_equal(parse(&o, spin), 0);
	assert_int_equal(o.spin_us, 50);
	hp_bench_opts_fini(&o);
	const char *const nospin[] = {"http://127.0.0.1/", NULL};
	assert_int_equal(parse(&o, nospin), 0);
	assert_int_equal(o.spin_us, 0); /* the default: never spin (fair to a local server) */
	assert_false(o.copy_body);	 /* bodies are discarded in the kernel by default */
	hp_bench_opts_fini(&o);
	const char *const copy[] = {"--copy-body", "http://127.0.0.1/", NULL};
	assert_int_equal(parse(&o, copy), 0);
	assert_true(o.copy_body);
	hp_bench_opts_fini(&o);

	const char *const staged[] = {"--stages", "1s:5c,2s:50c", "http://127.0.0.1/", NULL};
	assert_int_equal(parse(&o, staged), 0);
	assert_int_equal(o.conns, 50);
	assert_int_equal(o.duration_ns, 3 * S);
	hp_bench_opts_fini(&o);
}

/* Each profile fills exactly the -d it is given, starts from 0, and the
 * shape says what its name promises. */
static void test_profiles(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		double peak_mult;
	} cases[] = {{"baseline", 1}, {"stress", 4}, {"spike", 5}, {"soak", 1}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hp_bench_opts o;
		const char *const args[] = {"--profile", cases[i].name, "-R", "1000", "-d", "100s",
					    "http://127.0.0.1/", NULL};
		assert_int_equal(parse(&o, args), 0);
		assert_true(o.nstages >= 2);
		assert_false(o.stages_are_conns);
		assert_true(o.rate == 0); /* the stages carry the rate now */
		uint64_t sum = 0;
		double peak = 0;
		for (size_t k = 0; k < o.nstages; k++) {
			sum += o.stages[k].duration_ns;
			peak = o.stages[k].target > peak ? o.stages[k].target : peak;
		}
		assert_int_equal(sum, o.duration_ns);
		assert_true(sum >= 100 * S - 1000000 && sum <= 100 * S + 1000000);
		assert_true(fabs(peak - 1000 * cases[i].peak_mult) < 1e-9);
		assert_true(hp_bench_stage_value(o.stages, o.nstages, 0) == 0);
		assert_int_equal(hp_bench_stage_at(o.stages, o.nstages, 0), 0);
		assert_int_equal(hp_bench_stage_at(o.stages, o.nstages, sum), o.nstages);
		hp_bench_opts_fini(&o);
	}
	/* spike: 1x for its first 30 %, then 5x. */
	struct hp_bench_opts o;
	const char *const spike[] = {"--profile", "spike", "-R", "100", "-d", "100s",
				     "http://127.0.0.1/", NULL};
	assert_int_equal(parse(&o, spike), 0);
	assert_true(fabs(hp_bench_stage_value(o.stages, o.nstages, 20 * S) - 100) < 1e-6);
	assert_true(fabs(hp_bench_stage_value(o.stages, o.nstages, 40 * S) - 500) < 1e-6);
	assert_true(fabs(hp_bench_stage_value(o.stages, o.nstages, 80 * S) - 100) < 1e-6);
	hp_bench_opts_fini(&o);
	/* The default length when -d is not given. */
	const char *const dflt[] = {"--profile", "baseline", "-R", "10", "http://127.0.0.1/", NULL};
	assert_int_equal(parse(&o, dflt), 0);
	assert_int_equal(o.duration_ns, 60 * S);
	hp_bench_opts_fini(&o);
	const char *const *const bad[] = {
	    (const char *const[]){"--profile", "spike", "http://127.0.0.1/", NULL}, /* no -R */
	    (const char *const[]){"--profile", "burst", "-R", "5", "http://127.0.0.1/", NULL},
	    (const char *const[]){"--profile", "soak", "-R", "5", "--stages", "1s:5",
				  "http://127.0.0.1/", NULL},
	    (const char *const[]){"--profile", "soak", "-R", "5", "-n", "100",
				  "http://127.0.0.1/", NULL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(&o, bad[i]), 2);
		hp_bench_opts_fini(&o);
	}
}

static void test_cache_class(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		bool rfc;
		int want;
	} cases[] = {
	    {"hotpath; hit", true, HP_BCACHE_HIT},
	    {"hotpath; fwd=uri-miss; stored", true, HP_BCACHE_MISS},
	    {"hotpath; hit; ttl=-12", true, HP_BCACHE_STALE},
	    {"hotpath; fwd=stale; fwd-status=304", true, HP_BCACHE_STALE},
	    {"origin; hit, hotpath; fwd=miss", true, HP_BCACHE_MISS}, /* last member wins */
	    {"hotpath", true, -1},
	    {"HIT", false, HP_BCACHE_HIT},
	    {"MISS", false, HP_BCACHE_MISS},
	    {"STALE", false, HP_BCACHE_STALE},
	    {"TCP_HIT from cdn", false, HP_BCACHE_HIT},
	    {"PASS", false, -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (hp_bench_cache_class(cases[i].v, strlen(cases[i].v), cases[i].rfc) !=
		    cases[i].want)
			fail_msg("\"%s\" misclassified", cases[i].v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration),	   cmocka_unit_test(test_stages_parse),
	    cmocka_unit_test(test_stages_invalid), cmocka_unit_test(test_usage_errors),
	    cmocka_unit_test(test_request_bytes),  cmocka_unit_test(test_cache_class),
	    cmocka_unit_test(test_profiles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
