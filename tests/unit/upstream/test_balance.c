/* SPDX-License-Identifier: MIT */
/*
 * test_balance.c - upstream groups and smooth weighted round robin: groups
 * built from a hand-made configuration, the exact smooth sequence for
 * weights 5,1,1 (a a b a c a a, never a burst), plain rotation for equal
 * weights, exact shares over long runs and across threads, and exclusion
 * sets (a retry skips servers already tried; all excluded gives NULL),
 * in groups of any size. Workers on their own threads and loops wait for
 * one server's single connection slot, and each release wakes a waiter of
 * another worker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "net/net.h"
#include "upstream/upstream.h"

#define MAX_SERVERS 200

/* A configuration as the loader would build it; the group borrows it. */
struct conf {
	struct hp_config_upstream up;
	struct hp_config_server servers[MAX_SERVERS];
	char hostports[MAX_SERVERS][32];
};

static struct conf *make_conf(size_t n, const uint32_t *weights)
{
	struct conf *c = calloc(1, sizeof(*c));
	assert_true(n <= MAX_SERVERS);
	for (size_t i = 0; i < n; i++) {
		snprintf(c->hostports[i], sizeof(c->hostports[i]), "127.0.0.1:%zu", i + 1);
		c->servers[i].url = c->hostports[i];
		c->servers[i].host = "127.0.0.1";
		c->servers[i].port = (uint16_t)(i + 1);
		c->servers[i].hostport = c->hostports[i];
		c->servers[i].weight = weights ? weights[i] : 1;
	}
	c->up.name = "backend";
	c->up.servers = c->servers;
	c->up.nservers = n;
	c->up.balance = "round_robin";
	c->up.max_idle = 32;
	c->up.max_connections = 100;
	c->up.idle_timeout_ms = 600000;
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

/* Index of the next pick, or -1 for NULL; <exclude> is the set of a group
 * of at most 64 servers. */
static int pick(struct hp_upstream_group *g, uint64_t exclude)
{
	HP_ASSERT(hp_upstream_set_words(g) == 1);
	struct hp_upstream_server *s = hp_upstream_pick_except(g, &exclude, 0);
	return s ? (int)s->index : -1;
}

static void test_group_from_config(void **state)
{
	(void)state;
	struct conf *c = make_conf(3, (uint32_t[]){5, 0, 2});
	c->up.max_connections = 7;
	c->up.balance = NULL; /* the default */
	struct hp_upstream_group *g = make_group(c);
	assert_int_equal(hp_upstream_group_size(g), 3);
	assert_ptr_equal(hp_upstream_group_conf(g), &c->up);
	for (size_t i = 0; i < 3; i++) {
		struct hp_upstream_server *s = hp_upstream_group_server(g, i);
		assert_int_equal(s->index, i);
		assert_string_equal(s->name, c->hostports[i]);
		/* The name is the group's own copy. */
		assert_ptr_not_equal(s->name, c->hostports[i]);
		assert_int_equal(s->max_connections, 7);
		assert_int_equal(s->active, 0);
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&s->addr;
		assert_int_equal(sin->sin_family, AF_INET);
		assert_int_equal(ntohs(sin->sin_port), i + 1);
		assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
	}
	assert_int_equal(hp_upstream_group_server(g, 0)->weight, 5);
	assert_int_equal(hp_upstream_group_server(g, 1)->weight, 1); /* 0 means default 1 */
	assert_int_equal(hp_upstream_group_server(g, 2)->weight, 2);
	hp_upstream_group_destroy(g);
	hp_upstream_group_destroy(NULL);
	free(c);
}

static void test_group_errors(void **state)
{
	(void)state;
	struct conf *c = make_conf(2, NULL);
	char err[256] = "";
	c->up.balance = "least_conn_typo";
	assert_null(hp_upstream_group_create(&c->up, err, sizeof(err)));
	assert_non_null(strstr(err, "least_conn_typo"));
	assert_non_null(strstr(err, "backend"));
	/* An unresolvable server: the error names the server as configured. */
	c->up.balance = "round_robin";
	c->servers[1].hostport = "127.0.0.1:99999";
	c->servers[1].url = "http://127.0.0.1:99999";
	err[0] = '\0';
	assert_null(hp_upstream_group_create(&c->up, err, sizeof(err)));
	assert_non_null(strstr(err, "http://127.0.0.1:99999"));
	free(c);
}

static void test_smooth_sequence(void **state)
{
	(void)state;
	struct conf *c = make_conf(3, (uint32_t[]){5, 1, 1});
	struct hp_upstream_group *g = make_group(c);
	static const int want[7] = {0, 0, 1, 0, 2, 0, 0}; /* a a b a c a a */
	for (int round = 0; round < 20; round++) {
		int count[3] = {0};
		for (int i = 0; i < 7; i++) {
			int got = pick(g, 0);
			if (got != want[i])
				fail_msg("round %d pick %d: got %d, want %d", round, i, got,
					 want[i]);
			count[got]++;
		}
		assert_int_equal(count[0], 5);
		assert_int_equal(count[1], 1);
		assert_int_equal(count[2], 1);
	}
	hp_upstream_group_destroy(g);
	free(c);
}

static void test_equal_weights_rotate(void **state)
{
	(void)state;
	struct conf *c = make_conf(4, NULL);
	struct hp_upstream_group *g = make_group(c);
	for (int i = 0; i < 40; i++)
		assert_int_equal(pick(g, 0), i % 4);
	hp_upstream_group_destroy(g);
	free(c);
}

/* Over any whole number of cycles each server gets exactly its share, and
 * the heaviest never runs longer than needed. */
static void test_weighted_shares(void **state)
{
	(void)state;
	static const uint32_t w[] = {3, 2, 7, 1, 10};
	enum { N = HP_ARRAY_SIZE(w), TOTAL = 3 + 2 + 7 + 1 + 10, CYCLES = 50 };
	struct conf *c = make_conf(N, w);
	struct hp_upstream_group *g = make_group(c);
	int count[N] = {0};
	int prev = -1;
	int run_len = 0;
	int max_run = 0;
	for (int i = 0; i < TOTAL * CYCLES; i++) {
		int got = pick(g, 0);
		assert_true(got >= 0 && got < N);
		count[got]++;
		run_len = got == prev ? run_len + 1 : 1;
		prev = got;
		max_run = HP_MAX(max_run, run_len);
		if ((i + 1) % TOTAL == 0)
			for (int s = 0; s < N; s++)
				assert_int_equal(count[s], (int)w[s] * ((i + 1) / TOTAL));
	}
	/* The heaviest has 10 of 23: smooth spreading never gives it (or
	 * anyone) more than two picks in a row. */
	assert_true(max_run <= 2);
	hp_upstream_group_destroy(g);
	free(c);
}

static void test_exclude(void **state)
{
	(void)state;
	struct conf *c = make_conf(3, NULL);
	struct hp_upstream_group *g = make_group(c);
	/* Skip server 1: the others alternate. */
	int count[3] = {0};
	for (int i = 0; i < 20; i++)
		count[pick(g, 1u << 1)]++;
	assert_int_equal(count[1], 0);
	assert_int_equal(count[0], 10);
	assert_int_equal(count[2], 10);
	/* Only one left. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(pick(g, (1u << 0) | (1u << 1)), 2);
	/* All excluded. */
	assert_int_equal(pick(g, 0x7), -1);
	assert_int_equal(pick(g, UINT64_MAX), -1);
	/* Bits past the group's size do not matter. */
	assert_true(pick(g, 1ull << 40) >= 0);
	hp_upstream_group_destroy(g);
	free(c);
}

static void test_exclude_weighted(void **state)
{
	(void)state;
	struct conf *c = make_conf(3, (uint32_t[]){5, 1, 1});
	struct hp_upstream_group *g = make_group(c);
	/* A retry after the heavy server failed spreads over the other two. */
	int count[3] = {0};
	for (int i = 0; i < 10; i++)
		count[pick(g, 1u << 0)]++;
	assert_int_equal(count[0], 0);
	assert_int_equal(count[1], 5);
	assert_int_equal(count[2], 5);
	/* Back in rotation, the heavy server gets its share again, no more:
	 * the picks it missed are not made up in a burst. */
	memset(count, 0, sizeof(count));
	for (int i = 0; i < 70; i++)
		count[pick(g, 0)]++;
	assert_int_equal(count[0], 50);
	assert_int_equal(count[1], 10);
	assert_int_equal(count[2], 10);
	hp_upstream_group_destroy(g);
	free(c);
}

static void test_single_server(void **state)
{
	(void)state;
	struct conf *c = make_conf(1, (uint32_t[]){9});
	struct hp_upstream_group *g = make_group(c);
	for (int i = 0; i < 5; i++)
		assert_int_equal(pick(g, 0), 0);
	assert_int_equal(pick(g, 1), -1);
	assert_int_equal(pick(g, 2), 0);
	hp_upstream_group_destroy(g);
	free(c);
}

/* Any number of servers: a set of hp_upstream_set_words() words excludes
 * any of them. */
static void test_large_group_sets(void **state)
{
	(void)state;
	struct conf *c = make_conf(200, NULL);
	struct hp_upstream_group *g = make_group(c);
	size_t words = hp_upstream_set_words(g);
	assert_int_equal(words, 4);
	uint64_t *tried = calloc(words, sizeof(*tried));
	for (size_t i = 0; i < 200; i++) {
		if (i != 150 && i != 199)
			hp_upstream_set_add(tried, i);
	}
	assert_true(hp_upstream_set_has(tried, 64));
	assert_false(hp_upstream_set_has(tried, 150));
	assert_false(hp_upstream_set_has(NULL, 0));
	int count[200] = {0};
	for (int i = 0; i < 20; i++) {
		struct hp_upstream_server *s = hp_upstream_pick_except(g, tried, 0);
		assert_non_null(s);
		assert_true(s->index == 150 || s->index == 199);
		count[s->index]++;
	}
	assert_int_equal(count[150], 10);
	assert_int_equal(count[199], 10);
	hp_upstream_set_add(tried, 150);
	hp_upstream_set_add(tried, 199);
	assert_null(hp_upstream_pick_except(g, tried, 0));
	/* NULL excludes nothing: all 200 take turns. */
	memset(count, 0, sizeof(count));
	for (int i = 0; i < 400; i++)
		count[hp_upstream_pick_except(g, NULL, 0)->index]++;
	for (int i = 0; i < 200; i++)
		assert_int_equal(count[i], 2);
	free(tried);
	hp_upstream_group_destroy(g);
	free(c);
	/* Up to 64 servers a set is one word. */
	c = make_conf(64, NULL);
	g = make_group(c);
	assert_int_equal(hp_upstream_set_words(g), 1);
	hp_upstream_group_destroy(g);
	free(c);
}

/* Workers pick concurrently: the shares stay exact. */
enum { THREADS = 4, PICKS_PER_THREAD = 7 * 2000 };

struct picker {
	struct hp_upstream_group *g;
	int count[3];
};

static void *picker_main(void *arg)
{
	struct picker *p = arg;
	for (int i = 0; i < PICKS_PER_THREAD; i++) {
		struct hp_upstream_server *s = hp_upstream_pick_except(p->g, NULL, 0);
		p->count[s->index]++;
	}
	return NULL;
}

static void test_concurrent_picks(void **state)
{
	(void)state;
	struct conf *c = make_conf(3, (uint32_t[]){5, 1, 1});
	struct hp_upstream_group *g = make_group(c);
	struct picker p[THREADS];
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++) {
		p[i] = (struct picker){.g = g};
		assert_int_equal(pthread_create(&th[i], NULL, picker_main, &p[i]), 0);
	}
	int total[3] = {0};
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		for (int s = 0; s < 3; s++)
			total[s] += p[i].count[s];
	}
	/* A whole number of cycles in all: exactly 5:1:1. */
	int cycles = THREADS * PICKS_PER_THREAD / 7;
	assert_int_equal(total[0], 5 * cycles);
	assert_int_equal(total[1], cycles);
	assert_int_equal(total[2], cycles);
	hp_upstream_group_destroy(g);
	free(c);
}

/*
 * Workers wait for the slots of one server with max_connections 1, each
 * with its own loop and pool on the shared group (built under TSan too):
 * every round either gets a slot or waits, and a slot freed on one worker
 * must wake a waiter of another, or the rounds never all complete.
 */
enum { WAIT_THREADS = 3, WAIT_ROUNDS = 150 };

struct waiting_worker {
	struct hp_upstream_group *g;
	struct hp_loop *loop;
	struct hp_upstream_pool *pool;
	struct hp_upstream_waiter w;
	struct hp_timer hold;     /* keeps the slot until the next iteration */
	struct hp_timer watchdog;
	struct hp_upstream_conn *conn;
	int rounds;
	int waits;
	bool timed_out;
};

static void take_slot(struct waiting_worker *k);

static void on_conn_event(struct hp_io *io, unsigned events)
{
	(void)io;
	(void)events;
}

static void on_hold_done(struct hp_timer *t)
{
	struct waiting_worker *k = HP_CONTAINER_OF(t, struct waiting_worker, hold);
	if (k->conn != NULL) {
		hp_upstream_release(k->conn, false);
		k->conn = NULL;
	}
	if (++k->rounds == WAIT_ROUNDS)
		hp_loop_stop(k->loop);
	else
		take_slot(k);
}

static void on_slot(struct hp_upstream_waiter *w)
{
	take_slot(HP_CONTAINER_OF(w, struct waiting_worker, w));
}

static void take_slot(struct waiting_worker *k)
{
	struct hp_upstream_server *s = hp_upstream_group_server(k->g, 0);
	int rc = hp_upstream_connect(k->pool, s, k, on_conn_event, &k->conn);
	if (rc == -EBUSY) {
		k->waits++;
		hp_upstream_pool_wait(k->pool, &k->w, s, on_slot);
		return;
	}
	if (rc < 0)
		k->conn = NULL; /* refused at once: the round still counts */
	hp_timer_start(k->loop, &k->hold, 0, on_hold_done);
}

static void on_wait_watchdog(struct hp_timer *t)
{
	struct waiting_worker *k = HP_CONTAINER_OF(t, struct waiting_worker, watchdog);
	k->timed_out = true;
	hp_upstream_pool_cancel_wait(&k->w);
	hp_loop_stop(k->loop);
}

static void *waiting_worker_main(void *arg)
{
	struct waiting_worker *k = arg;
	k->loop = hp_loop_create();
	k->pool = hp_upstream_pool_create(k->loop, k->g);
	hp_timer_start(k->loop, &k->watchdog, 10000, on_wait_watchdog);
	take_slot(k);
	(void)hp_loop_run(k->loop);
	hp_timer_stop(k->loop, &k->watchdog);
	hp_timer_stop(k->loop, &k->hold);
	if (k->conn != NULL)
		hp_upstream_release(k->conn, false);
	hp_loop_flush(k->loop);
	hp_upstream_pool_destroy(k->pool);
	hp_loop_destroy(k->loop);
	return NULL;
}

static void test_wait_across_threads(void **state)
{
	(void)state;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int lfd = hp_net_listen((struct sockaddr *)&sin, sizeof(sin), false, 1024);
	assert_true(lfd >= 0);
	socklen_t len = sizeof(sin);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	struct conf *c = make_conf(1, NULL);
	snprintf(c->hostports[0], sizeof(c->hostports[0]), "127.0.0.1:%u", ntohs(sin.sin_port));
	c->servers[0].port = ntohs(sin.sin_port);
	c->up.max_connections = 1;
	struct hp_upstream_group *g = make_group(c);
	struct waiting_worker k[WAIT_THREADS];
	pthread_t th[WAIT_THREADS];
	for (int i = 0; i < WAIT_THREADS; i++) {
		k[i] = (struct waiting_worker){.g = g};
		assert_int_equal(pthread_create(&th[i], NULL, waiting_worker_main, &k[i]), 0);
	}
	int waits = 0;
	for (int i = 0; i < WAIT_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_false(k[i].timed_out);
		assert_int_equal(k[i].rounds, WAIT_ROUNDS);
		waits += k[i].waits;
	}
	assert_int_equal(atomic_load(&hp_upstream_group_server(g, 0)->active), 0);
	/* Not asserted, but expected: the workers did contend. */
	if (waits == 0)
		print_message("no worker had to wait\n");
	hp_upstream_group_destroy(g);
	free(c);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_group_from_config),
	    cmocka_unit_test(test_group_errors),
	    cmocka_unit_test(test_smooth_sequence),
	    cmocka_unit_test(test_equal_weights_rotate),
	    cmocka_unit_test(test_weighted_shares),
	    cmocka_unit_test(test_exclude),
	    cmocka_unit_test(test_exclude_weighted),
	    cmocka_unit_test(test_single_server),
	    cmocka_unit_test(test_large_group_sets),
	    cmocka_unit_test(test_concurrent_picks),
	    cmocka_unit_test(test_wait_across_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
