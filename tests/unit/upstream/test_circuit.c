/* SPDX-License-Identifier: MIT */
/*
 * test_circuit.c - circuit breaking on a server's error rate: it stays
 * closed below min_requests and below error_rate, opens at the exact
 * threshold, takes the server out of the balancer's picks while open,
 * lets one probe through at a time when half-open (a probe that never
 * reports frees its turn after open_for), closes on a good probe and
 * opens again on a bad one; off when error_rate is not set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/clock.h"
#include "upstream/upstream.h"

struct conf {
	struct hp_config_upstream up;
	struct hp_config_server servers[2];
	char hostports[2][32];
};

/* Two servers; the circuit as given (open_for in ms). */
static struct conf *make_conf(uint32_t pct, uint32_t min_requests, uint64_t open_for_ms)
{
	struct conf *c = calloc(1, sizeof(*c));
	for (size_t i = 0; i < 2; i++) {
		snprintf(c->hostports[i], sizeof(c->hostports[i]), "127.0.0.1:%zu", i + 1);
		c->servers[i].url = c->hostports[i];
		c->servers[i].host = "127.0.0.1";
		c->servers[i].port = (uint16_t)(i + 1);
		c->servers[i].hostport = c->hostports[i];
		c->servers[i].weight = 1;
	}
	c->up.name = "backend";
	c->up.servers = c->servers;
	c->up.nservers = 2;
	c->up.balance = "round_robin";
	c->up.max_idle = 32;
	c->up.max_connections = 100;
	c->up.idle_timeout_ms = 600000;
	c->up.max_fails = 0; /* ejection off: only the circuit takes servers out */
	c->up.fail_timeout_ms = 5000;
	c->up.circuit.error_rate_pct = pct;
	c->up.circuit.min_requests = min_requests;
	c->up.circuit.window_ms = 60000; /* longer than any test: nothing slides out */
	c->up.circuit.open_for_ms = open_for_ms;
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

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0) {
	}
}

static enum hp_circuit_state state(struct hp_upstream_group *g, size_t i)
{
	return hp_upstream_circuit_state(hp_upstream_group_server(g, i), hp_clock_mono_ns());
}

static void record(struct hp_upstream_group *g, size_t i, unsigned n, bool error)
{
	for (unsigned k = 0; k < n; k++)
		hp_upstream_circuit_record(g, hp_upstream_group_server(g, i), error, "test");
}

static void test_opens_at_min_requests(void **st)
{
	(void)st;
	struct conf *c = make_conf(100, 20, 60000);
	struct hp_upstream_group *g = make_group(c);
	record(g, 0, 19, true);
	assert_int_equal(state(g, 0), HP_CIRCUIT_CLOSED);
	record(g, 0, 1, true);
	assert_int_equal(state(g, 0), HP_CIRCUIT_OPEN);
	assert_int_equal(atomic_load(&hp_upstream_group_server(g, 0)->circuit.opens), 1);
	assert_int_equal(state(g, 1), HP_CIRCUIT_CLOSED);
	hp_upstream_group_destroy(g);
	free(c);
}

static void test_opens_at_rate(void **st)
{
	(void)st;
	struct conf *c = make_conf(50, 20, 60000);
	struct hp_upstream_group *g = make_group(c);
	record(g, 0, 11, false);
	record(g, 0, 9, true);  /* 9 of 20 */
	assert_int_equal(state(g, 0), HP_CIRCUIT_CLOSED);
	record(g, 0, 1, true);  /* 10 of 21: under a half */
	assert_int_equal(state(g, 0), HP_CIRCUIT_CLOSED);
	record(g, 0, 1, true);  /* 11 of 22: a half */
	assert_int_equal(state(g, 0), HP_CIRCUIT_OPEN);
	hp_upstream_group_destroy(g);
	free(c);
}

static void test_off_without_rate(void **st)
{
	(void)st;
	struct conf *c = make_conf(0, 1, 60000);
	struct hp_upstream_group *g = make_group(c);
	record(g, 0, 1000, true);
	assert_int_equal(state(g, 0), HP_CIRCUIT_CLOSED);
	assert_false(hp_upstream_server_down(hp_upstream_group_server(g, 0), hp_clock_mono_ns()));
	hp_upstream_group_destroy(g);
	free(c);
}

static void test_open_is_not_picked(void **st)
{
	(void)st;
	struct conf *c = make_conf(50, 4, 60000);
	struct hp_upstream_group *g = make_group(c);
	record(g, 0, 4, true);
	assert_true(hp_upstream_server_down(hp_upstream_group_server(g, 0), hp_clock_mono_ns()));
	for (int i = 0; i < 10; i++)
		assert_int_equal(hp_upstream_pick_except(g, NULL, 0)->index, 1);
	/* Outcomes of requests sent before it opened change nothing. */
	record(g, 0, 10, false);
	assert_int_equal(state(g, 0), HP_CIRCUIT_OPEN);
	hp_upstream_group_destroy(g);
	free(c);
}

/* Half-open: one probe at a time; the other server takes the rest. */
static void test_half_open_one_probe(void **st)
{
	(void)st;
	struct conf *c = make_conf(50, 4, 100);
	struct hp_upstream_group *g = make_group(c);
	struct hp_upstream_server *s0 = hp_upstream_group_server(g, 0);
	record(g, 0, 4, true);
	sleep_ms(150);
	assert_int_equal(state(g, 0), HP_CIRCUIT_HALF_OPEN);
	assert_false(hp_upstream_server_down(s0, hp_clock_mono_ns()));
	unsigned to0 = 0;
	for (int i = 0; i < 10; i++)
		to0 += hp_upstream_pick_except(g, NULL, 0) == s0;
	assert_int_equal(to0, 1);
	/* A probe that never reports frees its turn after open_for. */
	sleep_ms(150);
	assert_true(hp_upstream_circuit_admit(g, s0, hp_clock_mono_ns()));
	assert_false(hp_upstream_circuit_admit(g, s0, hp_clock_mono_ns()));
	hp_upstream_group_destroy(g);
	free(c);
}

static void test_probe_closes_or_reopens(void **st)
{
	(void)st;
	struct conf *c = make_conf(50, 4, 100);
	struct hp_upstream_group *g = make_group(c);
	struct hp_upstream_server *s0 = hp_upstream_group_server(g, 0);
	record(g, 0, 4, true);
	sleep_ms(150);
	assert_true(hp_upstream_circuit_admit(g, s0, hp_clock_mono_ns()));
	record(g, 0, 1, true);  /* the probe failed */
	assert_int_equal(state(g, 0), HP_CIRCUIT_OPEN);
	assert_int_equal(atomic_load(&s0->circuit.opens), 2);
	sleep_ms(150);
	assert_true(hp_upstream_circuit_admit(g, s0, hp_clock_mono_ns()));
	record(g, 0, 1, false); /* the probe succeeded */
	assert_int_equal(state(g, 0), HP_CIRCUIT_CLOSED);
	assert_true(hp_upstream_circuit_admit(g, s0, hp_clock_mono_ns()));
	/* A fresh window: old errors are forgotten. */
	record(g, 0, 3, true);
	assert_int_equal(state(g, 0), HP_CIRCUIT_CLOSED);
	record(g, 0, 1, true);
	assert_int_equal(state(g, 0), HP_CIRCUIT_OPEN);
	hp_upstream_group_destroy(g);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_opens_at_min_requests),
	    cmocka_unit_test(test_opens_at_rate),
	    cmocka_unit_test(test_off_without_rate),
	    cmocka_unit_test(test_open_is_not_picked),
	    cmocka_unit_test(test_half_open_one_probe),
	    cmocka_unit_test(test_probe_closes_or_reopens),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
