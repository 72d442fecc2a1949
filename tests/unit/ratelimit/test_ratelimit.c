/* SPDX-License-Identifier: MIT */
/*
 * test_ratelimit.c - GCRA arithmetic against exact acceptance counts for
 * given arrival schedules (the nginx limit_req figure among them), burst
 * edges, clocks stepping backwards, and the key table under a flood of
 * distinct keys staying within its bound, and keys of client addresses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ratelimit/ratelimit.h"

#define MS 1000000ull
#define SEC (1000 * MS)

/* Requests every <step_ns> from <start_ns>, <n> of them, on one key of
 * <rl>: how many are accepted. */
static unsigned schedule(struct hp_ratelimit *rl, uint64_t start_ns, uint64_t step_ns, unsigned n)
{
	unsigned ok = 0;
	struct hp_ratelimit_verdict v;
	for (unsigned i = 0; i < n; i++)
		ok += hp_ratelimit_take(rl, "k", 1, start_ns + i * step_ns, &v);
	return ok;
}

/* 100/s burst 20 under 1000 req/s for 5 s: 21 at once, then one per 10 ms
 * from 10 ms to 4990 ms: 520 of 5000, as nginx's limit_req. */
static void overload_like_nginx(void **state)
{
	(void)state;
	struct hp_ratelimit *rl = hp_ratelimit_create(10 * MS, 20, 1024);
	assert_int_equal(schedule(rl, 1 * SEC, 1 * MS, 5000), 520);
	hp_ratelimit_destroy(rl);

	/* Burst 0: exactly one per interval. */
	rl = hp_ratelimit_create(10 * MS, 0, 1024);
	assert_int_equal(schedule(rl, 1 * SEC, 1 * MS, 5000), 500);
	hp_ratelimit_destroy(rl);

	/* Arrivals slower than the rate: every one accepted. */
	rl = hp_ratelimit_create(10 * MS, 0, 1024);
	assert_int_equal(schedule(rl, 1 * SEC, 10 * MS, 1000), 1000);
	hp_ratelimit_destroy(rl);

	/* 6000/m is 100/s. */
	rl = hp_ratelimit_create(60 * SEC / 6000, 20, 1024);
	assert_int_equal(schedule(rl, 1 * SEC, 1 * MS, 5000), 520);
	hp_ratelimit_destroy(rl);
}

/* A burst of B takes exactly B + 1 at once; remaining counts down to 0,
 * the refusal says when to retry, and retrying then succeeds. */
static void burst_edges(void **state)
{
	(void)state;
	uint64_t tat = 0;
	uint64_t now = 5 * SEC;
	struct hp_ratelimit_verdict v;
	for (unsigned i = 0; i <= 20; i++) {
		assert_true(hp_ratelimit_gcra(&tat, now, 10 * MS, 20, &v));
		assert_int_equal(v.remaining, 20 - i);
		assert_int_equal(v.reset_ns, (i + 1) * 10 * MS);
	}
	assert_false(hp_ratelimit_gcra(&tat, now, 10 * MS, 20, &v));
	assert_int_equal(v.retry_ns, 10 * MS);
	assert_int_equal(v.remaining, 0);
	/* One nanosecond early is still too early; on time is accepted. */
	assert_false(hp_ratelimit_gcra(&tat, now + 10 * MS - 1, 10 * MS, 20, &v));
	assert_int_equal(v.retry_ns, 1);
	assert_true(hp_ratelimit_gcra(&tat, now + 10 * MS, 10 * MS, 20, &v));
	assert_int_equal(v.remaining, 0);
	/* Idle for the whole burst's time: a full burst again. */
	now += 10 * MS + 21 * 10 * MS;
	assert_true(hp_ratelimit_gcra(&tat, now, 10 * MS, 20, &v));
	assert_int_equal(v.remaining, 20);
	/* Refusals do not consume: a client hammering at 10x still gets the rate. */
	tat = 0;
	unsigned ok = 0;
	for (uint64_t t = 0; t < 1 * SEC; t += 1 * MS)
		ok += hp_ratelimit_gcra(&tat, 10 * SEC + t, 10 * MS, 0, &v);
	assert_int_equal(ok, 100);
}

/* Delays spread a burst at the rate: the k-th request of a burst taken at
 * once is due k intervals later, never more than burst intervals. */
static void delays_smooth_a_burst(void **state)
{
	(void)state;
	uint64_t tat = 0;
	struct hp_ratelimit_verdict v;
	for (unsigned i = 0; i <= 20; i++) {
		assert_true(hp_ratelimit_gcra(&tat, SEC, 10 * MS, 20, &v));
		assert_int_equal(v.delay_ns, i * 10 * MS);
	}
	assert_false(hp_ratelimit_gcra(&tat, SEC, 10 * MS, 20, &v));
	assert_int_equal(v.delay_ns, 0);
	/* Arrivals at the rate are never delayed. */
	tat = 0;
	for (unsigned i = 0; i < 100; i++) {
		assert_true(hp_ratelimit_gcra(&tat, SEC + i * 10 * MS, 10 * MS, 20, &v));
		assert_int_equal(v.delay_ns, 0);
	}
}

/* Time going back a little (workers' cached clocks differ) is only
 * stricter; going back a lot costs at most a full burst, not the step. */
static void clock_steps_back(void **state)
{
	(void)state;
	uint64_t tat = 0;
	struct hp_ratelimit_verdict v;
	assert_true(hp_ratelimit_gcra(&tat, 100 * SEC, 10 * MS, 2, &v));
	assert_true(hp_ratelimit_gcra(&tat, 100 * SEC - 5 * MS, 10 * MS, 2, &v));
	assert_false(hp_ratelimit_gcra(&tat, 100 * SEC - 5 * MS, 10 * MS, 2, &v));
	assert_int_equal(v.retry_ns, 5 * MS);

	/* A step back of an hour: refused for one interval, not an hour. */
	tat = 0;
	assert_true(hp_ratelimit_gcra(&tat, 7200 * SEC, 10 * MS, 2, &v));
	uint64_t back = 3600 * SEC;
	assert_false(hp_ratelimit_gcra(&tat, back, 10 * MS, 2, &v));
	assert_int_equal(v.retry_ns, 10 * MS);
	assert_true(hp_ratelimit_gcra(&tat, back + 10 * MS, 10 * MS, 2, &v));
}

/* A table handed to a second holder (a reload's new route table) keeps
 * its keys after the first lets go, and is freed by the last (ASan). */
static void shared_table_outlives_first_holder(void **state)
{
	(void)state;
	struct hp_ratelimit *rl = hp_ratelimit_create(1 * SEC, 1, 64);
	struct hp_ratelimit_verdict v;
	assert_true(hp_ratelimit_take(rl, "k", 1, 1, &v));
	assert_true(hp_ratelimit_take(rl, "k", 1, 2, &v));
	struct hp_ratelimit *again = hp_ratelimit_fetch(rl);
	assert_ptr_equal(again, rl);
	hp_ratelimit_release(rl);
	assert_false(hp_ratelimit_take(again, "k", 1, 3, &v));
	assert_int_equal(hp_ratelimit_count(again), 1);
	hp_ratelimit_release(again);
	hp_ratelimit_release(NULL);
}

/* Concurrency: exactly <max> in flight per key, each leave makes room for
 * one more, keys are independent. */
static void inflight_counts_exactly(void **state)
{
	(void)state;
	struct hp_ratelimit *rl = hp_ratelimit_create(1 * SEC, 0, 64);
	uint64_t tok[4];
	for (int i = 0; i < 3; i++) {
		assert_true(hp_ratelimit_enter(rl, "a", 1, 3, &tok[i]));
		assert_int_not_equal(tok[i], 0);
	}
	assert_false(hp_ratelimit_enter(rl, "a", 1, 3, &tok[3]));
	assert_false(hp_ratelimit_enter(rl, "a", 1, 3, &tok[3]));
	assert_int_equal(hp_ratelimit_inflight(rl, "a", 1), 3);
	assert_true(hp_ratelimit_enter(rl, "b", 1, 3, &tok[3]));
	hp_ratelimit_leave(rl, tok[3]);
	hp_ratelimit_leave(rl, tok[0]);
	assert_int_equal(hp_ratelimit_inflight(rl, "a", 1), 2);
	assert_true(hp_ratelimit_enter(rl, "a", 1, 3, &tok[0]));
	assert_false(hp_ratelimit_enter(rl, "a", 1, 3, &tok[3]));
	for (int i = 0; i < 3; i++)
		hp_ratelimit_leave(rl, tok[i]);
	assert_int_equal(hp_ratelimit_inflight(rl, "a", 1), 0);
	hp_ratelimit_leave(rl, 0); /* an uncounted admission: nothing */
	hp_ratelimit_destroy(rl);
}

/* A key with requests in flight is never dropped to make room, however
 * many other keys come; when every entry is in flight a new key passes
 * uncounted (token 0) and the rate of such keys is judged afresh. */
static void inflight_keys_are_not_evicted(void **state)
{
	(void)state;
	struct hp_ratelimit *rl = hp_ratelimit_create(1 * SEC, 0, 4);
	uint64_t busy;
	assert_true(hp_ratelimit_enter(rl, "busy", 4, 1, &busy));
	char key[32];
	struct hp_ratelimit_verdict v;
	for (unsigned i = 0; i < 1000; i++) {
		int n = snprintf(key, sizeof(key), "k%u", i);
		assert_true(hp_ratelimit_take(rl, key, (size_t)n, 1, &v));
	}
	assert_int_equal(hp_ratelimit_inflight(rl, "busy", 4), 1);
	uint64_t t;
	assert_false(hp_ratelimit_enter(rl, "busy", 4, 1, &t));
	/* Fill the rest with keys in flight. */
	uint64_t toks[3];
	for (unsigned i = 0; i < 3; i++) {
		int n = snprintf(key, sizeof(key), "f%u", i);
		assert_true(hp_ratelimit_enter(rl, key, (size_t)n, 1, &toks[i]));
		assert_int_not_equal(toks[i], 0);
	}
	assert_true(hp_ratelimit_enter(rl, "late", 4, 1, &t));
	assert_int_equal(t, 0);
	assert_true(hp_ratelimit_take(rl, "late", 4, 2, &v));
	assert_true(hp_ratelimit_take(rl, "late", 4, 2, &v)); /* not remembered */
	assert_int_equal(hp_ratelimit_count(rl), 4);
	hp_ratelimit_leave(rl, toks[0]);
	assert_true(hp_ratelimit_take(rl, "late", 4, 2, &v));
	assert_false(hp_ratelimit_take(rl, "late", 4, 3, &v)); /* now it is */
	hp_ratelimit_leave(rl, busy);
	hp_ratelimit_leave(rl, toks[1]);
	hp_ratelimit_leave(rl, toks[2]);
	hp_ratelimit_destroy(rl);
}

/* A million distinct keys through a table of 1000: it never holds more,
 * and a key seen again and again is not the one dropped. */
static void flood_stays_bounded(void **state)
{
	(void)state;
	struct hp_ratelimit *rl = hp_ratelimit_create(1 * SEC, 0, 1000);
	assert_true(hp_ratelimit_capacity(rl) <= 1000);
	struct hp_ratelimit_verdict v;
	assert_true(hp_ratelimit_take(rl, "victim", 6, 1, &v));
	char key[32];
	for (unsigned i = 0; i < 1000000; i++) {
		int n = snprintf(key, sizeof(key), "spoof-%u", i);
		assert_true(hp_ratelimit_take(rl, key, (size_t)n, 2 + i, &v));
		if (i % 100 == 0) /* the victim keeps coming back: still limited */
			assert_false(hp_ratelimit_take(rl, "victim", 6, 2 + i, &v));
		if (i % 65536 == 0)
			assert_true(hp_ratelimit_count(rl) <= 1000);
	}
	assert_int_equal(hp_ratelimit_count(rl), hp_ratelimit_capacity(rl));
	hp_ratelimit_destroy(rl);

	/* Large tables shard; still bounded. */
	rl = hp_ratelimit_create(1 * SEC, 0, 4096);
	for (unsigned i = 0; i < 100000; i++) {
		int n = snprintf(key, sizeof(key), "k%u", i);
		(void)hp_ratelimit_take(rl, key, (size_t)n, 1 + i, &v);
	}
	assert_true(hp_ratelimit_count(rl) <= 4096);
	assert_true(hp_ratelimit_count(rl) >= 4096 - 16);
	hp_ratelimit_destroy(rl);
}

/* Keys are independent: one exhausted key does not touch another. */
static void keys_are_independent(void **state)
{
	(void)state;
	struct hp_ratelimit *rl = hp_ratelimit_create(1 * SEC, 1, 64);
	struct hp_ratelimit_verdict v;
	assert_true(hp_ratelimit_take(rl, "a", 1, SEC, &v));
	assert_true(hp_ratelimit_take(rl, "a", 1, SEC, &v));
	assert_false(hp_ratelimit_take(rl, "a", 1, SEC, &v));
	assert_true(hp_ratelimit_take(rl, "b", 1, SEC, &v));
	assert_int_equal(v.remaining, 1);
	assert_int_equal(hp_ratelimit_count(rl), 2);
	hp_ratelimit_destroy(rl);
}

/* The key of address <ip> cut to <prefix> bits (IPv6), in <out>. */
static size_t addr_key(const char *ip, unsigned prefix, uint8_t *out)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
	return hp_ratelimit_address_key((const struct sockaddr *)&ss, prefix, out);
}

static bool same_client(const char *a, const char *b, unsigned prefix)
{
	uint8_t ka[HP_RATELIMIT_ADDR_KEY_MAX], kb[HP_RATELIMIT_ADDR_KEY_MAX];
	size_t na = addr_key(a, prefix, ka);
	size_t nb = addr_key(b, prefix, kb);
	return na == nb && memcmp(ka, kb, na) == 0;
}

/* An IPv6 /64 is one client by default; IPv4 addresses are each their own;
 * an IPv4-mapped peer is its IPv4 address. */
static void address_keys(void **state)
{
	(void)state;
	assert_true(same_client("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", 64));
	assert_false(same_client("2001:db8:1:2::1", "2001:db8:1:3::1", 64));
	assert_true(same_client("2001:db8:1:2::1", "2001:db8:1:3::1", 56));
	assert_false(same_client("2001:db8::1", "2001:db8::2", 128));
	/* A prefix off a byte boundary: /60 keeps the top nibble of byte 8. */
	assert_true(same_client("2001:db8:0:10::", "2001:db8:0:1f::", 60));
	assert_false(same_client("2001:db8:0:10::", "2001:db8:0:20::", 60));
	assert_false(same_client("192.0.2.1", "192.0.2.2", 64));
	assert_true(same_client("192.0.2.1", "::ffff:192.0.2.1", 64));
	uint8_t k[HP_RATELIMIT_ADDR_KEY_MAX];
	assert_int_equal(addr_key("192.0.2.1", 64, k), 6);
	assert_int_equal(k[0], 0);
	assert_int_equal(addr_key("::1", 64, k), 18);
	assert_int_equal(k[0], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(overload_like_nginx),
		cmocka_unit_test(burst_edges),
		cmocka_unit_test(delays_smooth_a_burst),
		cmocka_unit_test(clock_steps_back),
		cmocka_unit_test(flood_stays_bounded),
		cmocka_unit_test(shared_table_outlives_first_holder),
		cmocka_unit_test(inflight_counts_exactly),
		cmocka_unit_test(inflight_keys_are_not_evicted),
		cmocka_unit_test(keys_are_independent),
		cmocka_unit_test(address_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
