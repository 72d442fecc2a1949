/* SPDX-License-Identifier: MIT */
/*
 * test_loop.c - the event loop: timers fire in deadline order and never
 * early, re-arming and stopping behave as net.h promises (including from
 * inside callbacks), deferred calls run once after the batch, posts from
 * other threads run in order on the loop thread, intrusive post nodes
 * coalesce, cancel and never miss a post made from another thread, and
 * descriptors get
 * edge-triggered readiness with no event reaching an io closed earlier in
 * the same batch.
 *
 * Timers are a few ms long; tests assert on order and on "not before the
 * deadline" (now >= at_ms), never on elapsed time. Every run is bounded by
 * a 5 s watchdog timer that stops the loop and fails the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"

#define WATCHDOG_MS 5000

/* One test's state: each test starts from a fresh loop (setup()). */
static struct {
	struct hp_loop *loop;
	struct hp_timer watchdog;
	bool timed_out;
	int order[64]; /* ids of the callbacks, in the order they ran */
	size_t norder;
} T;

static void note(int id)
{
	assert_true(T.norder < HP_ARRAY_SIZE(T.order));
	T.order[T.norder++] = id;
}

static void on_watchdog(struct hp_timer *t)
{
	(void)t;
	T.timed_out = true;
	hp_loop_stop(T.loop);
}

/* Run the loop until a callback stops it; fail if the watchdog had to. */
static void run(void)
{
	hp_timer_start(T.loop, &T.watchdog, WATCHDOG_MS, on_watchdog);
	assert_int_equal(hp_loop_run(T.loop), 0);
	hp_timer_stop(T.loop, &T.watchdog);
	assert_false(T.timed_out);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {0, (long)ms * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int setup(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	T.loop = hp_loop_create();
	/* Timers armed before hp_loop_run count from the cached clock. */
	hp_loop_update_time(T.loop);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hp_timer_stop(T.loop, &T.watchdog);
	hp_loop_flush(T.loop);
	hp_loop_destroy(T.loop);
	return 0;
}

/* ==== Timers ==== */

struct tmr {
	struct hp_timer t;
	int id;
	int fired;
	int stop_after; /* stop the loop after this many notes, 0 = never */
};

static void on_tmr(struct hp_timer *t)
{
	struct tmr *x = HP_CONTAINER_OF(t, struct tmr, t);
	/* Never early. */
	assert_true(hp_loop_now_ms(T.loop) >= t->at_ms);
	assert_false(hp_timer_active(t));
	x->fired++;
	note(x->id);
	if (x->stop_after != 0 && T.norder >= (size_t)x->stop_after)
		hp_loop_stop(T.loop);
}

static void test_timer_deadline_order(void **state)
{
	(void)state;
	struct tmr a = {.id = 5, .stop_after = 4};
	struct tmr b = {.id = 2, .stop_after = 4};
	struct tmr c = {.id = 8, .stop_after = 4};
	struct tmr d = {.id = 1, .stop_after = 4};
	hp_timer_start(T.loop, &a.t, 5, on_tmr);
	hp_timer_start(T.loop, &b.t, 2, on_tmr);
	hp_timer_start(T.loop, &c.t, 8, on_tmr);
	hp_timer_start(T.loop, &d.t, 1, on_tmr);
	assert_true(hp_timer_active(&a.t));
	run();
	assert_int_equal(T.norder, 4);
	assert_int_equal(T.order[0], 1);
	assert_int_equal(T.order[1], 2);
	assert_int_equal(T.order[2], 5);
	assert_int_equal(T.order[3], 8);
}

/* Many timers with shuffled deadlines, all overdue by the first pass. */
static void test_timer_order_many(void **state)
{
	(void)state;
	enum { N = 50 };
	struct tmr x[N];
	for (int i = 0; i < N; i++) {
		int ms = (i * 37) % N; /* a permutation of 0..N-1 */
		x[i] = (struct tmr){.id = ms, .stop_after = N - 2};
		hp_timer_start(T.loop, &x[i].t, (uint64_t)ms, on_tmr);
	}
	/* Stop two in the middle of the heap: they must be skipped. */
	hp_timer_stop(T.loop, &x[3].t);
	hp_timer_stop(T.loop, &x[10].t);
	run();
	assert_int_equal(T.norder, N - 2);
	for (size_t i = 1; i < T.norder; i++)
		assert_true(T.order[i - 1] < T.order[i]);
	assert_int_equal(x[3].fired + x[10].fired, 0);
}

/* Random starts, stops and re-arms (earlier and later) over many timers:
 * afterwards exactly the armed ones fire, once each, never early. */
enum { NRAND = 300 };
static struct tmr rnd[NRAND];
static int rnd_armed;
static int rnd_fired;

static void on_rnd(struct hp_timer *t)
{
	struct tmr *x = HP_CONTAINER_OF(t, struct tmr, t);
	assert_true(hp_loop_now_ms(T.loop) >= t->at_ms);
	x->fired++;
	if (++rnd_fired == rnd_armed)
		hp_loop_stop(T.loop);
}

static void test_timer_heap_random(void **state)
{
	(void)state;
	memset(rnd, 0, sizeof(rnd));
	uint32_t seed = 2024;
	for (int op = 0; op < 5000; op++) {
		seed = seed * 1664525u + 1013904223u;
		struct tmr *x = &rnd[(seed >> 8) % NRAND];
		if ((seed >> 28) < 4)
			hp_timer_stop(T.loop, &x->t);
		else
			hp_timer_start(T.loop, &x->t, (seed >> 16) % 40, on_rnd);
	}
	bool armed[NRAND];
	rnd_armed = 0;
	rnd_fired = 0;
	for (int i = 0; i < NRAND; i++) {
		armed[i] = hp_timer_active(&rnd[i].t);
		rnd_armed += armed[i];
	}
	assert_true(rnd_armed > NRAND / 2 && rnd_armed < NRAND);
	run();
	for (int i = 0; i < NRAND; i++)
		assert_int_equal(rnd[i].fired, armed[i]);
}

/* The same with every re-arm done as stop + start, so heap keys are exact:
 * then timers also fire in deadline order, which catches a heap that
 * loses its order after removals from the middle. */
static uint64_t rnd_last_at;

static void on_rnd_ordered(struct hp_timer *t)
{
	assert_true(t->at_ms >= rnd_last_at);
	rnd_last_at = t->at_ms;
	on_rnd(t);
}

static void test_timer_heap_random_order(void **state)
{
	(void)state;
	memset(rnd, 0, sizeof(rnd));
	uint32_t seed = 77;
	for (int op = 0; op < 5000; op++) {
		seed = seed * 1664525u + 1013904223u;
		struct tmr *x = &rnd[(seed >> 8) % NRAND];
		hp_timer_stop(T.loop, &x->t);
		if ((seed >> 28) >= 4)
			hp_timer_start(T.loop, &x->t, (seed >> 16) % 40, on_rnd_ordered);
	}
	rnd_armed = 0;
	rnd_fired = 0;
	rnd_last_at = 0;
	for (int i = 0; i < NRAND; i++)
		rnd_armed += hp_timer_active(&rnd[i].t);
	run();
	assert_int_equal(rnd_fired, rnd_armed);
}

static void test_timer_rearm_later(void **state)
{
	(void)state;
	struct tmr a = {.id = 1, .stop_after = 2};
	struct tmr b = {.id = 2, .stop_after = 2};
	hp_timer_start(T.loop, &a.t, 2, on_tmr);
	hp_timer_start(T.loop, &b.t, 10, on_tmr);
	uint64_t armed = hp_loop_now_ms(T.loop);
	hp_timer_start(T.loop, &a.t, 20, on_tmr);
	assert_int_equal(a.t.at_ms, armed + 20);
	run();
	/* Fired once, and not at the old deadline (on_tmr checks now >= at_ms). */
	assert_int_equal(a.fired, 1);
	assert_int_equal(b.fired, 1);
	assert_int_equal(a.t.at_ms, armed + 20);
}

/*
 * Regression (fixed): the ordering half of re-arming later. A armed for 1 ms then re-armed
 * for 20 ms keeps heap key 1 (the lazy re-arm); B is armed for 10 ms. When
 * a pass starts after both deadlines (a slow iteration, simulated by the
 * sleep), run_timers() pops A first by its stale key, finds at_ms <= now
 * and fires it before B: deadline order is broken for overdue timers. Left
 * out of main() until src/net/loop.c re-inserts a popped timer whose
 * at_ms != _key_ms instead of firing it.
 */
static void test_timer_rearm_later_order(void **state)
{
	(void)state;
	struct tmr a = {.id = 1, .stop_after = 2};
	struct tmr b = {.id = 2, .stop_after = 2};
	hp_timer_start(T.loop, &a.t, 1, on_tmr);
	hp_timer_start(T.loop, &b.t, 10, on_tmr);
	hp_timer_start(T.loop, &a.t, 20, on_tmr);
	/* Both overdue by the first pass: only the deadlines decide. */
	sleep_ms(30);
	run();
	assert_int_equal(T.norder, 2);
	assert_int_equal(T.order[0], 2);
	assert_int_equal(T.order[1], 1);
}

static void test_timer_rearm_earlier(void **state)
{
	(void)state;
	struct tmr a = {.id = 1, .stop_after = 2};
	struct tmr b = {.id = 2, .stop_after = 2};
	hp_timer_start(T.loop, &a.t, 1000, on_tmr);
	hp_timer_start(T.loop, &b.t, 10, on_tmr);
	hp_timer_start(T.loop, &a.t, 2, on_tmr);
	run();
	assert_int_equal(T.order[0], 1);
	assert_int_equal(T.order[1], 2);
	assert_int_equal(a.fired, 1);
}

static void test_timer_stop(void **state)
{
	(void)state;
	struct tmr a = {.id = 1};
	struct tmr lazy = {.id = 2};
	struct tmr end = {.id = 3, .stop_after = 1};
	hp_timer_start(T.loop, &a.t, 1, on_tmr);
	hp_timer_stop(T.loop, &a.t);
	assert_false(hp_timer_active(&a.t));
	hp_timer_stop(T.loop, &a.t); /* idle: no-op */
	/* A timer re-armed later (lazy heap key) and then stopped. */
	hp_timer_start(T.loop, &lazy.t, 1, on_tmr);
	hp_timer_start(T.loop, &lazy.t, 3, on_tmr);
	hp_timer_stop(T.loop, &lazy.t);
	struct hp_timer idle = {0};
	hp_timer_stop(T.loop, &idle); /* never armed: no-op */
	hp_timer_start(T.loop, &end.t, 10, on_tmr);
	run();
	assert_int_equal(a.fired, 0);
	assert_int_equal(lazy.fired, 0);
	assert_int_equal(T.norder, 1);
	assert_int_equal(T.order[0], 3);
}

/* A's callback stops B, arms C, and re-arms itself twice; C's callback
 * ends the run once A is done too. */
static struct tmr actor_a;
static struct tmr actor_b;
static struct tmr actor_c;

static void on_actor_c(struct hp_timer *t);

static void stop_if_actors_done(void)
{
	if (actor_a.fired == 3 && actor_c.fired == 1)
		hp_loop_stop(T.loop);
}

static void on_actor(struct hp_timer *t)
{
	struct tmr *x = HP_CONTAINER_OF(t, struct tmr, t);
	x->fired++;
	if (x->fired == 1) {
		hp_timer_stop(T.loop, &actor_b.t);
		hp_timer_start(T.loop, &actor_c.t, 1, on_actor_c);
	}
	if (x->fired < 3)
		hp_timer_start(T.loop, t, 1, on_actor);
	stop_if_actors_done();
}

static void on_actor_c(struct hp_timer *t)
{
	on_tmr(t);
	stop_if_actors_done();
}

static void test_timer_callback_arms_and_stops(void **state)
{
	(void)state;
	actor_a = (struct tmr){.id = 1};
	actor_b = (struct tmr){.id = 2};
	actor_c = (struct tmr){.id = 3};
	hp_timer_start(T.loop, &actor_a.t, 1, on_actor);
	hp_timer_start(T.loop, &actor_b.t, 2, on_tmr);
	/* Both A and B are due in the first pass: B must still not run. */
	sleep_ms(5);
	run();
	assert_int_equal(actor_a.fired, 3);
	assert_int_equal(actor_b.fired, 0);
	assert_int_equal(actor_c.fired, 1);
	assert_false(hp_timer_active(&actor_a.t));
	assert_false(hp_timer_active(&actor_b.t));
}

/*
 * A timer that re-arms itself for 0 ms from its callback (a "yield" to let
 * other work run) must not run again in the same pass: io is starved
 * otherwise, and with no bound the worker spins forever.
 */
static int zero_fired;
static struct hp_io zero_io;

static void on_zero(struct hp_timer *t)
{
	if (++zero_fired < 1000)
		hp_timer_start(T.loop, t, 0, on_zero);
}

static void on_zero_io(struct hp_io *io, unsigned events)
{
	(void)io;
	(void)events;
	note(zero_fired);
	hp_loop_stop(T.loop);
}

/*
 * Regression (fixed): run_timers() keeps popping while the heap top is due, so a timer
 * re-armed with after_ms == 0 inside its callback runs again at once, in
 * the same pass, and never lets epoll_wait run: here it fires 1000 times
 * before the ready socket gets its first event; without the 1000 bound the
 * loop hangs. Left out of main() until src/net/loop.c only runs timers
 * that were due when the pass started.
 */
static void test_timer_zero_rearm_yields(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	zero_fired = 0;
	struct hp_timer t = {0};
	hp_timer_start(T.loop, &t, 0, on_zero);
	assert_int_equal(hp_io_start(T.loop, &zero_io, sv[0], on_zero_io), 0);
	run();
	hp_timer_stop(T.loop, &t);
	hp_io_close(&zero_io);
	close(sv[1]);
	assert_int_equal(T.norder, 1);
	if (T.order[0] >= 1000)
		fail_msg("the timer ran %d times before the io event", T.order[0]);
}

/* ==== Deferred calls ==== */

struct defer_case {
	struct hp_deferred d;
	struct hp_timer t;
	int ran;
	bool returned; /* the timer callback that deferred has returned */
};

static void on_deferred(struct hp_deferred *d)
{
	struct defer_case *c = HP_CONTAINER_OF(d, struct defer_case, d);
	assert_true(c->returned);
	c->ran++;
	hp_loop_stop(T.loop);
}

static void on_defer_timer(struct hp_timer *t)
{
	struct defer_case *c = HP_CONTAINER_OF(t, struct defer_case, t);
	hp_loop_defer(T.loop, &c->d, on_deferred);
	hp_loop_defer(T.loop, &c->d, on_deferred);
	assert_int_equal(c->ran, 0);
	c->returned = true;
}

static void test_defer_once_after_callback(void **state)
{
	(void)state;
	struct defer_case c = {0};
	hp_timer_start(T.loop, &c.t, 1, on_defer_timer);
	run();
	assert_int_equal(c.ran, 1);
	/* It can be deferred again once it has run. */
	hp_loop_defer(T.loop, &c.d, on_deferred);
	hp_loop_flush(T.loop);
	assert_int_equal(c.ran, 2);
	hp_loop_flush(T.loop);
	assert_int_equal(c.ran, 2);
	/* A cancelled call does not run; cancelling twice is harmless. */
	hp_loop_defer(T.loop, &c.d, on_deferred);
	hp_loop_cancel_defer(&c.d);
	hp_loop_cancel_defer(&c.d);
	hp_loop_flush(T.loop);
	assert_int_equal(c.ran, 2);
}

/* Two ios ready in one batch: the first to run defers, the second must
 * still see the deferred call pending. */
struct batch_io {
	struct hp_io io;
	int peer;
	int calls;
};

static struct hp_deferred batch_d;
static int batch_d_ran;
static int batch_calls_before_d;

static void on_batch_deferred(struct hp_deferred *d)
{
	(void)d;
	batch_d_ran++;
	hp_loop_stop(T.loop);
}

static void on_batch_io(struct hp_io *io, unsigned events)
{
	(void)events;
	struct batch_io *b = HP_CONTAINER_OF(io, struct batch_io, io);
	b->calls++;
	if (batch_d_ran == 0)
		batch_calls_before_d++;
	hp_loop_defer(T.loop, &batch_d, on_batch_deferred);
}

static void test_defer_runs_after_batch(void **state)
{
	(void)state;
	struct batch_io b[2];
	memset(b, 0, sizeof(b));
	batch_d_ran = 0;
	batch_calls_before_d = 0;
	batch_d = (struct hp_deferred){0};
	for (int i = 0; i < 2; i++) {
		int sv[2];
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
		b[i].peer = sv[1];
		assert_int_equal(write(sv[1], "x", 1), 1);
		assert_int_equal(hp_io_start(T.loop, &b[i].io, sv[0], on_batch_io), 0);
	}
	run();
	/* Both were ready when the loop started: one batch, then one deferred call. */
	assert_int_equal(batch_calls_before_d, 2);
	assert_int_equal(batch_d_ran, 1);
	for (int i = 0; i < 2; i++) {
		hp_io_close(&b[i].io);
		close(b[i].peer);
	}
}

/* ==== Cross-thread posts and stop ==== */

enum { NPOSTS = 200 };

/* One node per post, so that every one of them runs. */
struct id_post {
	struct hp_post post;
	int id;
};

struct post_case {
	struct id_post nodes[NPOSTS];
	pthread_t loop_thread;
	int seen[NPOSTS];
	int n;
	bool wrong_thread;
	atomic_bool running;
};

static struct post_case P;

static void on_post(struct hp_post *p)
{
	int id = HP_CONTAINER_OF(p, struct id_post, post)->id;
	if (!pthread_equal(pthread_self(), P.loop_thread))
		P.wrong_thread = true;
	if (P.n < NPOSTS)
		P.seen[P.n++] = id;
	if (id == NPOSTS - 1)
		hp_loop_stop(T.loop);
}

static void *poster(void *arg)
{
	(void)arg;
	for (int i = 0; i < NPOSTS; i++) {
		P.nodes[i].id = i;
		hp_loop_post_node(T.loop, &P.nodes[i].post, on_post);
		if (i % 50 == 0)
			sleep_ms(1);
	}
	return NULL;
}

static void test_post_from_thread(void **state)
{
	(void)state;
	memset(&P, 0, sizeof(P));
	P.loop_thread = pthread_self();
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, poster, NULL), 0);
	run();
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_false(P.wrong_thread);
	assert_int_equal(P.n, NPOSTS);
	for (int i = 0; i < NPOSTS; i++)
		assert_int_equal(P.seen[i], i);
}

static void on_running(struct hp_timer *t)
{
	(void)t;
	atomic_store(&P.running, true);
}

static void *stopper(void *arg)
{
	(void)arg;
	/* Bounded: the loop's watchdog ends the test if this never sees it. */
	for (int i = 0; i < 4000 && !atomic_load(&P.running); i++)
		sleep_ms(1);
	hp_loop_stop(T.loop);
	return NULL;
}

static void test_stop_from_thread(void **state)
{
	(void)state;
	memset(&P, 0, sizeof(P));
	struct hp_timer t = {0};
	hp_timer_start(T.loop, &t, 1, on_running);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, stopper, NULL), 0);
	/* Nothing else is armed but the watchdog: only the stop can end this. */
	run();
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(atomic_load(&P.running));
	/* The loop can run again after a stop. */
	P.loop_thread = pthread_self();
	P.nodes[0].id = NPOSTS - 1;
	hp_loop_post_node(T.loop, &P.nodes[0].post, on_post);
	run();
	assert_int_equal(P.n, 1);
	assert_false(P.wrong_thread);
}

/* ==== Intrusive posts ==== */

struct node_case {
	struct hp_post post;
	int id;
	int calls;
	struct hp_post *victim; /* cancelled by this node's callback, if set */
	bool repost;            /* post itself once more from its callback */
};

static void on_node(struct hp_post *p)
{
	struct node_case *c = HP_CONTAINER_OF(p, struct node_case, post);
	c->calls++;
	note(c->id);
	if (c->victim != NULL)
		assert_true(hp_loop_post_cancel(T.loop, c->victim));
	if (c->repost) {
		c->repost = false;
		/* Not queued any more once the callback runs: this is a new call. */
		assert_false(hp_loop_post_pending(T.loop, p));
		hp_loop_post_node(T.loop, p, on_node);
		assert_true(hp_loop_post_pending(T.loop, p));
	}
}

static void on_node_other(struct hp_post *p)
{
	struct node_case *c = HP_CONTAINER_OF(p, struct node_case, post);
	c->calls++;
	note(100 + c->id);
}

static void on_stop_post(struct hp_post *p)
{
	(void)p;
	hp_loop_stop(T.loop);
}

static void test_post_node_coalesces(void **state)
{
	(void)state;
	struct node_case a = {.id = 1};
	struct node_case b = {.id = 2};
	struct hp_post stop = {0};
	assert_false(hp_loop_post_pending(T.loop, &a.post));
	hp_loop_post_node(T.loop, &a.post, on_node);
	hp_loop_post_node(T.loop, &b.post, on_node);
	/* Queued already: one call, in a's first place, with the newest callback. */
	hp_loop_post_node(T.loop, &a.post, on_node_other);
	assert_true(hp_loop_post_pending(T.loop, &a.post));
	hp_loop_post_node(T.loop, &stop, on_stop_post);
	run();
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	assert_int_equal(T.norder, 2);
	assert_int_equal(T.order[0], 101);
	assert_int_equal(T.order[1], 2);
	assert_false(hp_loop_post_pending(T.loop, &a.post));
}

static void test_post_node_repost_from_callback(void **state)
{
	(void)state;
	struct node_case a = {.id = 1, .repost = true};
	struct hp_post stop = {0};
	hp_loop_post_node(T.loop, &a.post, on_node);
	hp_loop_post_node(T.loop, &stop, on_stop_post);
	run();
	/* The re-post was queued behind stop: it runs in the next wake-up. */
	assert_int_equal(a.calls, 1);
	hp_loop_post_node(T.loop, &stop, on_stop_post);
	run();
	assert_int_equal(a.calls, 2);
}

static void test_post_node_cancel(void **state)
{
	(void)state;
	struct node_case a = {.id = 1};
	struct node_case b = {.id = 2};
	struct node_case c = {.id = 3};
	struct hp_post stop = {0};
	assert_false(hp_loop_post_cancel(T.loop, &a.post));
	hp_loop_post_node(T.loop, &a.post, on_node);
	hp_loop_post_node(T.loop, &b.post, on_node);
	hp_loop_post_node(T.loop, &c.post, on_node);
	assert_true(hp_loop_post_cancel(T.loop, &a.post));
	assert_false(hp_loop_post_cancel(T.loop, &a.post));
	/* b cancels c, taken in the same batch but not yet called. */
	b.victim = &c.post;
	hp_loop_post_node(T.loop, &stop, on_stop_post);
	run();
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(c.calls, 0);
	/* A cancelled node can be posted again. */
	hp_loop_post_node(T.loop, &a.post, on_node);
	hp_loop_post_node(T.loop, &stop, on_stop_post);
	run();
	assert_int_equal(a.calls, 1);
}

/*
 * Several threads post their own nodes over and over while the loop runs
 * (built under TSan too). Each post bumps the node's sequence first; each
 * call records the sequence it saw at its start. When the last thread's
 * final node has run, every node must have had a call that started after
 * its last post, and no node more calls than posts.
 */
enum { NTHREADS = 4, NODES_PER_THREAD = 8, ROUNDS = 300 };

struct mt_node {
	struct hp_post post;
	atomic_uint posted; /* posts made */
	unsigned seen;      /* posted, as read by the latest call (loop thread) */
	unsigned calls;     /* loop thread */
};

static struct {
	struct mt_node nodes[NTHREADS][NODES_PER_THREAD];
	struct hp_post done[NTHREADS];
	int dones; /* done posts run so far (loop thread) */
} M;

static void on_mt_node(struct hp_post *p)
{
	struct mt_node *n = HP_CONTAINER_OF(p, struct mt_node, post);
	n->seen = atomic_load(&n->posted);
	n->calls++;
}

/*
 * Each thread posts its done node after its last round, so posts being run
 * in order, every node has had its final call once all the done nodes have
 * run. (Counting finished threads instead raced: a thread's done could run
 * after another thread had finished but before that thread's last posts.)
 */
static void on_mt_done(struct hp_post *p)
{
	(void)p;
	if (++M.dones == NTHREADS)
		hp_loop_stop(T.loop);
}

static void *mt_poster(void *arg)
{
	int t = (int)(intptr_t)arg;
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < NODES_PER_THREAD; i++) {
			struct mt_node *n = &M.nodes[t][i];
			atomic_fetch_add(&n->posted, 1);
			hp_loop_post_node(T.loop, &n->post, on_mt_node);
		}
		if (r % 100 == 0)
			sleep_ms(1);
	}
	hp_loop_post_node(T.loop, &M.done[t], on_mt_done);
	return NULL;
}

static void test_post_node_threads(void **state)
{
	(void)state;
	memset(&M, 0, sizeof(M));
	pthread_t th[NTHREADS];
	for (int t = 0; t < NTHREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, mt_poster, (void *)(intptr_t)t), 0);
	run();
	for (int t = 0; t < NTHREADS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	for (int t = 0; t < NTHREADS; t++) {
		for (int i = 0; i < NODES_PER_THREAD; i++) {
			struct mt_node *n = &M.nodes[t][i];
			assert_int_equal(n->seen, ROUNDS);
			assert_true(n->calls >= 1 && n->calls <= ROUNDS);
			assert_false(hp_loop_post_pending(T.loop, &n->post));
		}
	}
}

/* ==== Descriptors ==== */

struct et_case {
	struct hp_io io;
	struct hp_timer t;
	int peer;
	int reads;  /* events with HP_IO_READ */
	int writes; /* events with HP_IO_WRITE */
	int step;
	bool eof;
};

static void on_et_timer(struct hp_timer *t);

static void on_et_io(struct hp_io *io, unsigned events)
{
	struct et_case *c = HP_CONTAINER_OF(io, struct et_case, io);
	if (events & HP_IO_READ)
		c->reads++;
	if (events & HP_IO_WRITE)
		c->writes++;
	if (c->step == 3 && (events & HP_IO_READ)) {
		char b[64];
		ssize_t n;
		while ((n = read(io->fd, b, sizeof(b))) > 0)
			;
		c->eof = n == 0;
		if (c->eof)
			hp_loop_stop(T.loop);
	}
	/* Leave the data unread: edge-triggered means no repeat until it changes. */
	if (!hp_timer_active(&c->t))
		hp_timer_start(T.loop, &c->t, 20, on_et_timer);
}

/*
 * Steps, each after 20 ms of quiet:
 *   0: one byte was written and left unread -> exactly one read event so far;
 *   1: fill the socket until EAGAIN; then the peer drains it -> a write event;
 *   2: the peer closes -> a read event, and read() returns 0.
 */
static void on_et_timer(struct hp_timer *t)
{
	struct et_case *c = HP_CONTAINER_OF(t, struct et_case, t);
	char b[4096];
	memset(b, 'z', sizeof(b));
	switch (c->step++) {
	case 0:
		assert_int_equal(c->reads, 1);
		while (write(c->io.fd, b, sizeof(b)) > 0)
			;
		assert_int_equal(errno, EAGAIN);
		c->writes = 0;
		while (read(c->peer, b, sizeof(b)) > 0)
			;
		hp_timer_start(T.loop, t, 20, on_et_timer);
		break;
	case 1:
		assert_true(c->writes >= 1);
		c->reads = 0;
		close(c->peer);
		c->peer = -1;
		c->step = 3;
		break;
	default:
		fail_msg("step %d", c->step);
	}
}

static void test_io_edge_triggered(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct et_case c = {.peer = sv[1]};
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(hp_io_start(T.loop, &c.io, sv[0], on_et_io), 0);
	assert_ptr_equal(c.io.loop, T.loop);
	run();
	assert_true(c.eof);
	assert_true(c.reads >= 1);
	hp_timer_stop(T.loop, &c.t);
	hp_io_close(&c.io);
	assert_int_equal(c.io.fd, -1);
	assert_null(c.io.loop);
	hp_io_close(&c.io); /* idle: no-op */
	hp_io_stop(&c.io);
}

/* Two ios ready in one batch; whichever runs first closes the other. */
struct pair_io {
	struct hp_io io;
	struct pair_io *other;
	int peer;
	int calls;
	bool closed_other;
};

static struct hp_deferred pair_end;

static void on_pair_end(struct hp_deferred *d)
{
	(void)d;
	hp_loop_stop(T.loop);
}

static void on_pair_io(struct hp_io *io, unsigned events)
{
	(void)events;
	struct pair_io *p = HP_CONTAINER_OF(io, struct pair_io, io);
	p->calls++;
	if (p->other->calls == 0 && !p->other->closed_other) {
		hp_io_close(&p->other->io);
		p->closed_other = true;
		hp_loop_defer(T.loop, &pair_end, on_pair_end);
	}
}

static void test_io_closed_in_batch(void **state)
{
	(void)state;
	struct pair_io p[2];
	memset(p, 0, sizeof(p));
	p[0].other = &p[1];
	p[1].other = &p[0];
	pair_end = (struct hp_deferred){0};
	for (int i = 0; i < 2; i++) {
		int sv[2];
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
		p[i].peer = sv[1];
		assert_int_equal(write(sv[1], "x", 1), 1);
		assert_int_equal(hp_io_start(T.loop, &p[i].io, sv[0], on_pair_io), 0);
	}
	run();
	struct pair_io *first = p[0].closed_other ? &p[0] : &p[1];
	assert_true(first->closed_other);
	assert_int_equal(first->calls, 1);
	assert_int_equal(first->other->calls, 0);
	assert_int_equal(first->other->io.fd, -1);
	for (int i = 0; i < 2; i++) {
		hp_io_close(&p[i].io);
		close(p[i].peer);
	}
}

/* The closed io is started again on a new descriptor within the batch: the
 * old descriptor's pending event must not reach the new registration. */
static struct pair_io *reuse_victim;
static bool reuse_batch_over;

static void on_reuse_new(struct hp_io *io, unsigned events)
{
	(void)events;
	struct pair_io *p = HP_CONTAINER_OF(io, struct pair_io, io);
	p->calls++;
	/* Only the new descriptor's own first event, after the batch. */
	assert_true(reuse_batch_over);
	hp_loop_stop(T.loop);
}

static void on_reuse_end(struct hp_deferred *d)
{
	(void)d;
	reuse_batch_over = true;
}

static void on_reuse_io(struct hp_io *io, unsigned events)
{
	(void)events;
	struct pair_io *p = HP_CONTAINER_OF(io, struct pair_io, io);
	p->calls++;
	if (reuse_victim != NULL)
		return;
	reuse_victim = p->other;
	hp_io_close(&p->other->io);
	close(p->other->peer);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	p->other->peer = sv[1];
	assert_int_equal(hp_io_start(T.loop, &p->other->io, sv[0], on_reuse_new), 0);
	hp_loop_defer(T.loop, &pair_end, on_reuse_end);
}

static void test_io_reused_in_batch(void **state)
{
	(void)state;
	struct pair_io p[2];
	memset(p, 0, sizeof(p));
	p[0].other = &p[1];
	p[1].other = &p[0];
	pair_end = (struct hp_deferred){0};
	reuse_victim = NULL;
	reuse_batch_over = false;
	for (int i = 0; i < 2; i++) {
		int sv[2];
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
		p[i].peer = sv[1];
		assert_int_equal(write(sv[1], "x", 1), 1);
		assert_int_equal(hp_io_start(T.loop, &p[i].io, sv[0], on_reuse_io), 0);
	}
	run();
	assert_non_null(reuse_victim);
	assert_int_equal(reuse_victim->calls, 1);
	for (int i = 0; i < 2; i++) {
		hp_io_close(&p[i].io);
		close(p[i].peer);
	}
}

/* Another process holds a copy of the socket when its io closes (an
 * upgrade's new binary between fork and exec): the socket stays open, so
 * epoll keeps it unless the close deregistered it, and its next event
 * would reach an io already freed (AddressSanitizer would report it). */
static void on_shared_stop(struct hp_timer *t)
{
	(void)t;
	hp_loop_stop(T.loop);
}

static void test_io_closed_while_shared(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct pair_io *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(hp_io_start(T.loop, &p->io, sv[0], on_pair_io), 0);
	int child_copy = dup(sv[0]);
	assert_true(child_copy >= 0);
	hp_io_close(&p->io);
	free(p);
	assert_int_equal(write(sv[1], "x", 1), 1);
	struct hp_timer stop = {0};
	hp_timer_start(T.loop, &stop, 20, on_shared_stop);
	assert_int_equal(hp_loop_run(T.loop), 0);
	close(child_copy);
	close(sv[1]);
}

static void test_io_start_error(void **state)
{
	(void)state;
	struct hp_io io = {0};
	/* Not a descriptor: the error comes back and the io stays idle. */
	assert_int_equal(hp_io_start(T.loop, &io, 1000000, on_pair_io), -EBADF);
	assert_int_equal(io.fd, -1);
	assert_null(io.loop);
	hp_io_stop(&io);
	hp_io_close(&io);
}

static void test_loop_data(void **state)
{
	(void)state;
	int owner;
	assert_null(hp_loop_data(T.loop));
	hp_loop_set_data(T.loop, &owner);
	assert_ptr_equal(hp_loop_data(T.loop), &owner);
}

#define LOOP_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    LOOP_TEST(test_timer_rearm_later_order),
	    LOOP_TEST(test_timer_zero_rearm_yields),
	    LOOP_TEST(test_timer_deadline_order),
	    LOOP_TEST(test_timer_order_many),
	    LOOP_TEST(test_timer_heap_random),
	    LOOP_TEST(test_timer_heap_random_order),
	    LOOP_TEST(test_timer_rearm_later),
	    LOOP_TEST(test_timer_rearm_earlier),
	    LOOP_TEST(test_timer_stop),
	    LOOP_TEST(test_timer_callback_arms_and_stops),
	    LOOP_TEST(test_defer_once_after_callback),
	    LOOP_TEST(test_defer_runs_after_batch),
	    LOOP_TEST(test_post_from_thread),
	    LOOP_TEST(test_stop_from_thread),
	    LOOP_TEST(test_post_node_coalesces),
	    LOOP_TEST(test_post_node_repost_from_callback),
	    LOOP_TEST(test_post_node_cancel),
	    LOOP_TEST(test_post_node_threads),
	    LOOP_TEST(test_io_edge_triggered),
	    LOOP_TEST(test_io_closed_in_batch),
	    LOOP_TEST(test_io_reused_in_batch),
	    LOOP_TEST(test_io_closed_while_shared),
	    LOOP_TEST(test_io_start_error),
	    LOOP_TEST(test_loop_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
