/* SPDX-License-Identifier: MIT */
/*
 * test_balancers.c - the balancers besides round robin, and what wraps
 * them: least connections (weighted, ties spread at random), power of two
 * choices, weighted random, the consistent hash ring (even shares, and
 * about 1/N of the keys moved when one of N servers joins or leaves,
 * none of the others); backup servers, passive ejection with its
 * doubling back-off, slow start's ramp, and the retry budget. Shares are measured over many
 * picks and checked within stated tolerances.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/clock.h"
#include "upstream/upstream.h"

#define MAX_SERVERS 16

struct conf {
	struct hp_config_upstream up;
	struct hp_config_server servers[MAX_SERVERS];
	char hostports[MAX_SERVERS][32];
};

/* <n> servers on ports <first>.. with <weights> (NULL: 1 each). */
static struct conf *make_conf(size_t n, const uint32_t *weights, const char *balance,
			      unsigned first)
{
	struct conf *c = calloc(1, sizeof(*c));
	assert_true(n <= MAX_SERVERS);
	for (size_t i = 0; i < n; i++) {
		snprintf(c->hostports[i], sizeof(c->hostports[i]), "127.0.0.1:%zu", first + i);
		c->servers[i].url = c->hostports[i];
		c->servers[i].host = "127.0.0.1";
		c->servers[i].port = (uint16_t)(first + i);
		c->servers[i].hostport = c->hostports[i];
		c->servers[i].weight = weights ? weights[i] : 1;
	}
	c->up.name = "backend";
	c->up.servers = c->servers;
	c->up.nservers = n;
	c->up.balance = (char *)balance;
	c->up.max_idle = 32;
	c->up.max_connections = 100;
	c->up.idle_timeout_ms = 600000;
	c->up.retries = 1;
	c->up.retry_budget = 20;
	c->up.max_fails = 3;
	c->up.fail_timeout_ms = 5000;
	return c;
}

static struct hp_upstream_group *make_group(struct conf *c)
{
	char err[256] = "";
	struct hp_upstream_group *g = hp_upstream_group_create(&c->up, err, sizeof(err));
	if (g == NULL)
		fail_msg("group: %s", err);
	return g;
}

static void set_active(struct hp_upstream_group *g, const unsigned *active)
{
	for (size_t i = 0; i < hp_upstream_group_size(g); i++)
		atomic_store(&hp_upstream_group_server(g, i)->active, active[i]);
}

static void assert_share(unsigned got, unsigned total, double want, double tolerance)
{
	double share = (double)got / total;
	if (fabs(share - want) > tolerance)
		fail_msg("share %.4f, want %.4f +- %.4f", share, want, tolerance);
}

static void test_unknown_balance(void **state)
{
	(void)state;
	struct conf *c = make_conf(2, NULL, "fastest", 1);
	char err[256] = "";
	assert_null(hp_upstream_group_create(&c->up, err, sizeof(err)));
	assert_string_equal(err, "upstream backend: unknown balance 'fastest'");
	free(c);
}

/* The fewest connections per weight wins: loads 3/1, 4/2, 1/1 -> the third. */
static void test_least_conn_picks_least_loaded(void **state)
{
	(void)state;
	struct conf *c = make_conf(3, (uint32_t[]){1, 2, 1}, "least_conn", 1);
	struct hp_upstream_group *g = make_group(c);
	set_active(g, (unsigned[]){3, 4, 1});
	for (int i = 0; i < 100; i++)
		assert_int_equal(hp_upstream_pick_except(g, NULL, 0)->index, 2);
	/* 3/1 vs 4/2 vs 4/1: the second (2 per weight unit). */
	set_active(g, (unsigned[]){3, 4, 4});
	assert_int_equal(hp_upstream_pick_except(g, NULL, 0)->index, 1);
	/* Excluding it: the first (3 < 4). */
	uint64_t ex = 1u << 1;
	assert_int_equal(hp_upstream_pick_except(g, &ex, 0)->index, 0);
	hp_upstream_group_destroy(g);
	free(c);
}

/* Ties go to each tied server about equally (1/3 +- 0.02 over 30000). */
static void test_least_conn_ties_random(void **state)
{
	(void)state;
	struct conf *c = make_conf(3, NULL, "least_conn", 1);
	struct hp_upstream_group *g = make_group(c);
	unsigned count[3] = {0};
	for (int i = 0; i < 30000; i++)
		count[hp_upstream_pick_except(g, NULL, 0)->index]++;
	for (int i = 0; i < 3; i++)
		assert_share(count[i], 30000, 1.0 / 3, 0.02);
	hp_upstream_group_destroy(g);
	free(c);
}

/* Filling up by picks: connections end up in proportion to the weights
 * (1:2:1 of 400, each within 1). */
static void test_least_conn_weighted_fill(void **state)
{
	(void)state;
	struct conf *c = make_conf(3, (uint32_t[]){1, 2, 1}, "least_conn", 1);
	struct hp_upstream_group *g = make_group(c);
	for (int i = 0; i < 400; i++)
		atomic_fetch_add(&hp_upstream_pick_except(g, NULL, 0)->active, 1);
	unsigned want[3] = {100, 200, 100};
	for (size_t i = 0; i < 3; i++) {
		unsigned a = atomic_load(&hp_upstream_group_server(g, i)->active);
		assert_true(a + 1 >= want[i] && a <= want[i] + 1);
	}
	hp_upstream_group_destroy(g);
	free(c);
}

/* p2c: idle servers share evenly (1/4 +- 0.02); a loaded server loses
 * every comparison, so it is never picked while others are idle. */
static void test_p2c(void **state)
{
	(void)state;
	struct conf *c = make_conf(4, NULL, "p2c", 1);
	struct hp_upstream_group *g = make_group(c);
	unsigned count[4] = {0};
	for (int i = 0; i < 40000; i++)
		count[hp_upstream_pick_except(g, NULL, 0)->index]++;
	for (int i = 0; i < 4; i++)
		assert_share(count[i], 40000, 0.25, 0.02);
	set_active(g, (unsigned[]){50, 0, 0, 0});
	memset(count, 0, sizeof(count));
	for (int i = 0; i < 10000; i++)
		count[hp_upstream_pick_except(g, NULL, 0)->index]++;
	assert_int_equal(count[0], 0);
	/* One left: it is the pick, loaded or not; none left: NULL. */
	uint64_t ex = 0xe;
	assert_int_equal(hp_upstream_pick_except(g, &ex, 0)->index, 0);
	ex = 0xf;
	assert_null(hp_upstream_pick_except(g, &ex, 0));
	hp_upstream_group_destroy(g);
	free(c);
}

/* Weighted random: weights 1 and 3 give 1/4 and 3/4 (+- 0.015 over 40000). */
static void test_random_weighted(void **state)
{
	(void)state;
	struct conf *c = make_conf(2, (uint32_t[]){1, 3}, "random", 1);
	struct hp_upstream_group *g = make_group(c);
	unsigned count[2] = {0};
	for (int i = 0; i < 40000; i++)
		count[hp_upstream_pick_except(g, NULL, 0)->index]++;
	assert_share(count[1], 40000, 0.75, 0.015);
	hp_upstream_group_destroy(g);
	free(c);
}

#define KEYS 100000

static uint64_t key_hash(unsigned k)
{
	char s[32];
	int n = snprintf(s, sizeof(s), "user-%u", k);
	return hp_upstream_hash(s, (size_t)n);
}

/* The port of the server key <k> goes to. */
static unsigned hash_port(struct hp_upstream_group *g, unsigned k, const uint64_t *ex)
{
	struct hp_upstream_server *s = hp_upstream_pick_except(g, ex, key_hash(k));
	assert_non_null(s);
	return (unsigned)atoi(strchr(s->name, ':') + 1);
}

/* Ten servers share 100000 keys within 25 % of a tenth each; a key
 * always goes to the same server. */
static void test_hash_even_and_stable(void **state)
{
	(void)state;
	struct conf *c = make_conf(10, NULL, "hash", 1);
	struct hp_upstream_group *g = make_group(c);
	unsigned count[10] = {0};
	for (unsigned k = 0; k < KEYS; k++)
		count[hash_port(g, k, NULL) - 1]++;
	for (int i = 0; i < 10; i++)
		assert_share(count[i], KEYS, 0.1, 0.025);
	for (unsigned k = 0; k < 1000; k++)
		assert_int_equal(hash_port(g, k, NULL), hash_port(g, k, NULL));
	hp_upstream_group_destroy(g);
	free(c);
}

/* An eleventh server takes about 1/11 of the keys (0.06 to 0.12), all of
 * them from the others: no key moves between two old servers. Removing
 * one of ten moves only its keys, about a tenth. */
static void test_hash_membership_change(void **state)
{
	(void)state;
	struct conf *c10 = make_conf(10, NULL, "hash", 1);
	struct conf *c11 = make_conf(11, NULL, "hash", 1);
	struct conf *c9 = make_conf(9, NULL, "hash", 2); /* ports 2..10: the first left */
	struct hp_upstream_group *g10 = make_group(c10);
	struct hp_upstream_group *g11 = make_group(c11);
	struct hp_upstream_group *g9 = make_group(c9);
	unsigned moved_add = 0, moved_remove = 0, removed_keys = 0;
	for (unsigned k = 0; k < KEYS; k++) {
		unsigned before = hash_port(g10, k, NULL);
		unsigned added = hash_port(g11, k, NULL);
		if (added != before) {
			assert_int_equal(added, 11);
			moved_add++;
		}
		unsigned removed = hash_port(g9, k, NULL);
		if (before == 1)
			removed_keys++;
		if (removed != before) {
			assert_int_equal(before, 1);
			moved_remove++;
		}
	}
	assert_share(moved_add, KEYS, 1.0 / 11, 0.03);
	assert_int_equal(moved_remove, removed_keys);
	assert_share(moved_remove, KEYS, 0.1, 0.03);
	hp_upstream_group_destroy(g9);
	hp_upstream_group_destroy(g10);
	hp_upstream_group_destroy(g11);
	free(c9);
	free(c10);
	free(c11);
}

/* Excluding a server (tried, or ejected) moves only its keys. */
static void test_hash_exclusion(void **state)
{
	(void)state;
	struct conf *c = make_conf(5, NULL, "hash", 1);
	struct hp_upstream_group *g = make_group(c);
	uint64_t ex = 1u << 2; /* port 3 */
	for (unsigned k = 0; k < 20000; k++) {
		unsigned before = hash_port(g, k, NULL);
		unsigned after = hash_port(g, k, &ex);
		assert_int_not_equal(after, 3);
		if (before != 3)
			assert_int_equal(after, before);
	}
	hp_upstream_group_destroy(g);
	free(c);
}

/* A backup takes nothing while a primary is in service, everything once
 * every primary is ejected. */
static void test_backup_and_ejection(void **state)
{
	(void)state;
	struct conf *c = make_conf(3, NULL, "round_robin", 1);
	c->servers[2].backup = true;
	struct hp_upstream_group *g = make_group(c);
	for (int i = 0; i < 100; i++)
		assert_int_not_equal(hp_upstream_pick_except(g, NULL, 0)->index, 2);
	struct hp_upstream_server *s0 = hp_upstream_group_server(g, 0);
	struct hp_upstream_server *s1 = hp_upstream_group_server(g, 1);
	/* Two failures do not eject; a success resets the count. */
	hp_upstream_report(g, s0, false, "test");
	hp_upstream_report(g, s0, false, "test");
	hp_upstream_report(g, s0, true, "test");
	hp_upstream_report(g, s0, false, "test");
	hp_upstream_report(g, s0, false, "test");
	assert_false(hp_upstream_server_down(s0, hp_clock_mono_ns()));
	hp_upstream_report(g, s0, false, "test");
	assert_true(hp_upstream_server_down(s0, hp_clock_mono_ns()));
	for (int i = 0; i < 100; i++)
		assert_int_equal(hp_upstream_pick_except(g, NULL, 0)->index, 1);
	for (int i = 0; i < 3; i++)
		hp_upstream_report(g, s1, false, "test");
	for (int i = 0; i < 100; i++)
		assert_int_equal(hp_upstream_pick_except(g, NULL, 0)->index, 2);
	/* The backup tried and failed too: an ejected server beats none. */
	uint64_t tried = 1u << 2;
	struct hp_upstream_server *s = hp_upstream_pick_except(g, &tried, 0);
	assert_true(s == s0 || s == s1);
	assert_int_equal(atomic_load(&s0->total_ejections), 1);
	hp_upstream_group_destroy(g);
	free(c);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* The ejection lasts fail_timeout, doubles when the server fails again
 * right after coming back, and resets after a success. */
static void test_ejection_backoff(void **state)
{
	(void)state;
	struct conf *c = make_conf(2, NULL, "round_robin", 1);
	c->up.fail_timeout_ms = 100;
	struct hp_upstream_group *g = make_group(c);
	struct hp_upstream_server *s = hp_upstream_group_server(g, 0);
	uint64_t t0 = hp_clock_mono_ns();
	for (int i = 0; i < 3; i++)
		hp_upstream_report(g, s, false, "test");
	uint64_t until = atomic_load(&s->down_until_ns);
	assert_true(until >= t0 + 100000000ull && until < t0 + 150000000ull);
	/* Failures while ejected (requests that were in flight) count nothing. */
	for (int i = 0; i < 10; i++)
		hp_upstream_report(g, s, false, "test");
	assert_int_equal(atomic_load(&s->down_until_ns), until);
	sleep_ms(120);
	assert_false(hp_upstream_server_down(s, hp_clock_mono_ns()));
	uint64_t t1 = hp_clock_mono_ns();
	for (int i = 0; i < 3; i++)
		hp_upstream_report(g, s, false, "test");
	until = atomic_load(&s->down_until_ns);
	assert_true(until >= t1 + 200000000ull && until < t1 + 250000000ull);
	/* Back, and a success: the next ejection is the first again. */
	atomic_store(&s->down_until_ns, hp_clock_mono_ns() - 1);
	hp_upstream_report(g, s, true, "test");
	assert_int_equal(atomic_load(&s->down_until_ns), 0);
	uint64_t t2 = hp_clock_mono_ns();
	for (int i = 0; i < 3; i++)
		hp_upstream_report(g, s, false, "test");
	until = atomic_load(&s->down_until_ns);
	assert_true(until >= t2 + 100000000ull && until < t2 + 150000000ull);
	hp_upstream_group_destroy(g);
	c->up.max_fails = 0;
	g = make_group(c);
	s = hp_upstream_group_server(g, 0);
	for (int i = 0; i < 50; i++)
		hp_upstream_report(g, s, false, "test");
	assert_false(hp_upstream_server_down(s, hp_clock_mono_ns()));
	hp_upstream_group_destroy(g);
	free(c);
}

/* Slow start: a server back in service weighs a tenth at first, half-way
 * 55 %, all after slow_start; round robin gives it shares to match. */
static void test_slow_start(void **state)
{
	(void)state;
	struct conf *c = make_conf(2, (uint32_t[]){10, 10}, "round_robin", 1);
	c->up.slow_start_ms = 1000;
	struct hp_upstream_group *g = make_group(c);
	struct hp_upstream_server *s = hp_upstream_group_server(g, 0);
	const uint32_t full = 10 * HP_UPSTREAM_WEIGHT_SCALE;
	uint64_t now = hp_clock_mono_ns();
	assert_int_equal(hp_upstream_weight(g, s, now), full);
	atomic_store(&s->up_since_ns, now);
	assert_int_equal(hp_upstream_weight(g, s, now), full / 10);
	uint32_t half = hp_upstream_weight(g, s, now + 500000000ull);
	assert_true(half >= full * 54 / 100 && half <= full * 56 / 100);
	assert_int_equal(hp_upstream_weight(g, s, now + 1000000000ull), full);
	/* Not yet back (an ejection's end in the future): a tenth too. */
	atomic_store(&s->up_since_ns, now + 10000000000ull);
	assert_int_equal(hp_upstream_weight(g, s, now), full / 10);
	/* Over 1100 picks at the start of the ramp: about 1/11 to it. */
	atomic_store(&s->up_since_ns, hp_clock_mono_ns() + 60000000000ull);
	unsigned count[2] = {0};
	for (int i = 0; i < 1100; i++)
		count[hp_upstream_pick_except(g, NULL, 0)->index]++;
	assert_share(count[0], 1100, 1.0 / 11, 0.01);
	hp_upstream_group_destroy(g);
	free(c);
}

/* 20 % of 100 requests plus the floor of 10: 30 retries, not 31. */
static void test_retry_budget(void **state)
{
	(void)state;
	struct conf *c = make_conf(2, NULL, "round_robin", 1);
	struct hp_upstream_group *g = make_group(c);
	for (int i = 0; i < 100; i++)
		hp_upstream_count_request(g);
	for (int i = 0; i < 30; i++)
		assert_true(hp_upstream_retry_take(g));
	assert_false(hp_upstream_retry_take(g));
	for (int i = 0; i < 5; i++)
		hp_upstream_count_request(g);
	assert_true(hp_upstream_retry_take(g));
	assert_false(hp_upstream_retry_take(g));
	hp_upstream_group_destroy(g);
	/* A budget of 0 leaves the floor only. */
	c->up.retry_budget = 0;
	g = make_group(c);
	for (int i = 0; i < 1000; i++)
		hp_upstream_count_request(g);
	for (int i = 0; i < 10; i++)
		assert_true(hp_upstream_retry_take(g));
	assert_false(hp_upstream_retry_take(g));
	hp_upstream_group_destroy(g);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_balance),
		cmocka_unit_test(test_least_conn_picks_least_loaded),
		cmocka_unit_test(test_least_conn_ties_random),
		cmocka_unit_test(test_least_conn_weighted_fill),
		cmocka_unit_test(test_p2c),
		cmocka_unit_test(test_random_weighted),
		cmocka_unit_test(test_hash_even_and_stable),
		cmocka_unit_test(test_hash_membership_change),
		cmocka_unit_test(test_hash_exclusion),
		cmocka_unit_test(test_backup_and_ejection),
		cmocka_unit_test(test_ejection_backoff),
		cmocka_unit_test(test_slow_start),
		cmocka_unit_test(test_retry_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
