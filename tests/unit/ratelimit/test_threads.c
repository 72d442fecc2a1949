/* SPDX-License-Identifier: MIT */
/*
 * test_threads.c - four threads share one table, as the workers do: on a
 * frozen clock each of a few hot keys accepts exactly burst + 1 requests
 * in total however the threads interleave, while distinct keys churn the
 * table past its bound; and a concurrency limit of MAXIN on one key is
 * never exceeded while the threads enter and leave it, with nothing left
 * in flight at the end. Built with TSan too (Makefile TSAN_TESTS).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>

#include "ratelimit/ratelimit.h"

#define THREADS 4
#define HOT 8
#define BURST 50
#define ROUNDS 20000

struct worker {
	pthread_t tid;
	struct hp_ratelimit *rl;
	unsigned id;
	unsigned accepted[HOT];
};

static void *run(void *arg)
{
	struct worker *w = arg;
	struct hp_ratelimit_verdict v;
	char key[32];
	for (unsigned i = 0; i < ROUNDS; i++) {
		unsigned hot = i % HOT;
		int n = snprintf(key, sizeof(key), "hot%u", hot);
		w->accepted[hot] += hp_ratelimit_take(w->rl, key, (size_t)n, 1000, &v);
		n = snprintf(key, sizeof(key), "cold-%u-%u", w->id, i);
		(void)hp_ratelimit_take(w->rl, key, (size_t)n, 1000, &v);
	}
	return NULL;
}

static void shared_table(void **state)
{
	(void)state;
	/* Big enough that hot keys, seen every few requests, are never the
	 * least recently seen of their shard. */
	struct hp_ratelimit *rl = hp_ratelimit_create(1000000000ull, BURST, 4096);
	struct worker w[THREADS] = {0};
	for (unsigned i = 0; i < THREADS; i++) {
		w[i].rl = rl;
		w[i].id = i;
		assert_int_equal(pthread_create(&w[i].tid, NULL, run, &w[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(w[i].tid, NULL), 0);
	for (unsigned k = 0; k < HOT; k++) {
		unsigned total = 0;
		for (unsigned i = 0; i < THREADS; i++)
			total += w[i].accepted[k];
		assert_int_equal(total, BURST + 1);
	}
	assert_true(hp_ratelimit_count(rl) <= 4096);
	hp_ratelimit_destroy(rl);
}

#define MAXIN 3

struct inworker {
	pthread_t tid;
	struct hp_ratelimit *rl;
	unsigned entered;
	unsigned over;                 /* times more than MAXIN were seen in flight */
};

static void *run_inflight(void *arg)
{
	struct inworker *w = arg;
	for (unsigned i = 0; i < ROUNDS; i++) {
		uint64_t tok;
		if (!hp_ratelimit_enter(w->rl, "k", 1, MAXIN, &tok))
			continue;
		w->entered++;
		if (hp_ratelimit_inflight(w->rl, "k", 1) > MAXIN)
			w->over++;
		hp_ratelimit_leave(w->rl, tok);
	}
	return NULL;
}

static void shared_inflight(void **state)
{
	(void)state;
	struct hp_ratelimit *rl = hp_ratelimit_create(1000000000ull, 0, 64);
	struct inworker w[THREADS] = {0};
	for (unsigned i = 0; i < THREADS; i++) {
		w[i].rl = rl;
		assert_int_equal(pthread_create(&w[i].tid, NULL, run_inflight, &w[i]), 0);
	}
	unsigned entered = 0;
	for (unsigned i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(w[i].tid, NULL), 0);
		assert_int_equal(w[i].over, 0);
		entered += w[i].entered;
	}
	assert_true(entered > 0);
	assert_int_equal(hp_ratelimit_inflight(rl, "k", 1), 0);
	hp_ratelimit_destroy(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shared_table),
		cmocka_unit_test(shared_inflight),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
