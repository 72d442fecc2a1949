/* SPDX-License-Identifier: MIT */
/*
 * test_stress.c - four threads doing random lookups, fills, commits, aborts,
 * waits, cancels, freshens, purges and reads of objects still filling
 * (streaming) on a few hot keys in a small cache,
 * while two more purge by tag (soft and hard, tags shared by every object,
 * by a group of keys or by one key), for a fixed number of operations. It
 * asserts what must hold under any interleaving (objects are complete and
 * intact, waiters are called exactly once or withdrawn, the budget holds,
 * the tag index lists exactly the linked objects); ASan and TSan find the
 * rest, such as a purge touching an object that eviction freed.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <cmocka.h>

#include "cache/cache_priv.h"
#include "unit/cache/helpers.h"

#define THREADS 4
#define PURGERS 2
#define MAX_PURGES_PER_PURGER 200000 /* they stop when the workers are done */
#define OPS_PER_THREAD 20000
#define NKEYS 48
#define BUDGET_BYTES (96u << 10)

struct worker {
	pthread_t tid;
	struct hp_cache *cache;
	uint64_t rng;
	unsigned long hits, fills, waits, passes, streams;
};

struct stress_waiter {
	struct hp_cache_waiter w;
	atomic_int calls;
};

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void on_wake(struct hp_cache_waiter *w)
{
	struct stress_waiter *sw = HP_CONTAINER_OF(w, struct stress_waiter, w);

	atomic_fetch_add(&sw->calls, 1);
}

/* The body of key k is its name repeated: a torn or freed body shows. */
static void check_body(const struct hp_cache_obj *obj, const char *key)
{
	struct iovec iov[4];
	size_t klen = strlen(key);
	uint64_t off = 0;
	int n;

	while ((n = hp_cache_obj_body_iov(obj, off, iov, 4)) > 0) {
		for (int i = 0; i < n; i++) {
			const char *p = iov[i].iov_base;
			for (size_t j = 0; j < iov[i].iov_len; j++)
				HP_ASSERT(p[j] == key[(off + j) % klen]);
			off += iov[i].iov_len;
		}
	}
	HP_ASSERT(off == hp_cache_obj_body_len(obj));
}

/* Every object carries t1; most also t2, their group's tag (twice) and
 * their key's own tag. */
static void do_fill(struct worker *wk, struct hp_cache_fill *fill, const char *key, int k,
		    uint64_t r)
{
	struct fields rf;
	char resp[160];
	char body[4096];
	size_t len = 100 + r % 3000;
	size_t klen = strlen(key);

	if (r % 5 == 0)
		snprintf(resp, sizeof(resp),
			 "Cache-Control: max-age=1|ETag: \"x\"|Cache-Tag: t1, k%d", k);
	else
		snprintf(resp, sizeof(resp), "Cache-Control: max-age=60|Cache-Tag: t2, t1, g%d|"
			 "Surrogate-Key: k%d g%d|Content-Length: %zu", k % 4, k, k % 4, len);
	fields_parse(&rf, resp);
	for (size_t i = 0; i < len; i++)
		body[i] = key[i % klen];
	if (!hp_cache_fill_head(fill, 200, rf.h, rf.n, NULL, 0, T0, T0, NULL) || r % 17 == 0) {
		hp_cache_fill_abort(fill, r % 34 == 0);
		return;
	}
	for (size_t off = 0; off < len; off += 1000)
		if (!hp_cache_fill_append(fill, body + off, HP_MIN(1000, len - off))) {
			hp_cache_fill_abort(fill, false);
			return;
		}
	hp_cache_fill_commit(fill);
	wk->fills++;
}

static void do_wait(struct worker *wk, struct stress_waiter *sw, uint64_t r)
{
	wk->waits++;
	if (r % 2 == 0 && hp_cache_cancel_wait(wk->cache, &sw->w)) {
		HP_ASSERT(atomic_load(&sw->calls) == 0);
		return;
	}
	/* The filler is another thread that never waits itself: this ends. */
	while (atomic_load(&sw->calls) == 0)
		sched_yield();
	HP_ASSERT(atomic_load(&sw->calls) == 1);
}

/* Read an object that is still filling, as a coalesced request does, to
 * its end or its failure, checking every byte; sometimes give up while
 * waiting for more. */
static void do_stream(struct worker *wk, struct hp_cache_obj *o, const char *name, uint64_t r)
{
	struct hp_buf out = {0};
	size_t nlen = strlen(name);

	wk->streams++;
	for (;;) {
		struct stress_waiter sw = {.w.cb = on_wake};
		size_t before = out.len;
		switch (hp_cache_obj_stream(o, out.len, &out, 700, &sw.w)) {
		case HP_CACHE_STREAM_DATA:
			for (size_t j = before; j < out.len; j++)
				HP_ASSERT(hp_buf_data(&out)[j] == name[j % nlen]);
			break;
		case HP_CACHE_STREAM_WAIT:
			if (r % 3 == 0 && hp_cache_obj_cancel_stream(o, &sw.w))
				goto out;
			while (atomic_load(&sw.calls) == 0)
				sched_yield();
			HP_ASSERT(atomic_load(&sw.calls) == 1);
			break;
		case HP_CACHE_STREAM_DONE:
			check_body(o, name);
			HP_ASSERT(out.len <= hp_cache_obj_body_len(o));
			goto out;
		case HP_CACHE_STREAM_FAILED:
			goto out;
		}
	}
out:
	hp_buf_fini(&out);
}

static void do_lookup(struct worker *wk, const char *key, size_t klen, uint64_t h, uint64_t r)
{
	struct hp_cache_obj *o = hp_cache_lookup(wk->cache, key, klen, h, NULL, 0, T0);
	const char *name = key + 1;
	struct fields f304;

	if (o == NULL) {
		o = hp_cache_lookup_filling(wk->cache, key, klen, h, NULL, 0);
		if (o != NULL) {
			do_stream(wk, o, name, r);
			hp_cache_obj_release(o);
		}
		return;
	}
	wk->hits++;
	check_body(o, name);
	if (r % 8 == 0) {
		fields_parse(&f304, "Cache-Control: max-age=120|X-Fresh: 1");
		struct hp_cache_obj *n =
			hp_cache_freshen(wk->cache, o, f304.h, f304.n, T0, T0, NULL);
		check_body(n, name);
		hp_cache_obj_release(n);
	}
	hp_cache_obj_release(o);
}

static void do_purge(struct worker *wk, const char *key, size_t klen, uint64_t h, uint64_t r)
{
	switch (r % 4) {
	case 0:
		(void)hp_cache_purge_key(wk->cache, key, klen, h, r % 8 == 0);
		break;
	case 1:
		(void)hp_cache_purge_tag(wk->cache, HP_STR("t2"), r % 8 == 1);
		break;
	case 2:
		(void)hp_cache_purge_prefix(wk->cache, HP_STR("h"), HP_STR("/"), true);
		break;
	default:
		if (r % 64 == 3)
			(void)hp_cache_purge_all(wk->cache);
	}
}

static void *run(void *arg)
{
	struct worker *wk = arg;
	char key[32];

	for (int i = 0; i < OPS_PER_THREAD; i++) {
		uint64_t r = next_rand(&wk->rng);
		int k = (int)(r % NKEYS);
		/* A valid key layout, so that prefix purges can parse it. */
		int klen = snprintf(key, sizeof(key), "%cnsk%d%c/p%d%c", 0, k, 0, k, 0);
		uint64_t h = XXH3_64bits(key, (size_t)klen);
		uint64_t op = (r >> 16) % 100;
		struct hp_cache_fill *fill;
		struct stress_waiter sw = {.w.cb = on_wake};
		if (op < 55) {
			do_lookup(wk, key, (size_t)klen, h, r >> 24);
		} else if (op < 95) {
			switch (hp_cache_begin_fill(wk->cache, key, (size_t)klen, h, &fill, &sw.w,
						    T0 + (time_t)(i / 1000))) {
			case HP_CACHE_FILLER:
				do_fill(wk, fill, key + 1, k, r >> 24);
				break;
			case HP_CACHE_WAITING:
				do_wait(wk, &sw, r >> 24);
				break;
			case HP_CACHE_PASS:
				wk->passes++;
				break;
			}
		} else {
			do_purge(wk, key, (size_t)klen, h, r >> 24);
		}
	}
	return NULL;
}

struct purger {
	pthread_t tid;
	struct hp_cache *cache;
	const atomic_bool *done;
	uint64_t rng;
	unsigned long purged;
};

static void *run_purger(void *arg)
{
	struct purger *p = arg;
	char tag[16];

	for (int i = 0; i < MAX_PURGES_PER_PURGER && !atomic_load(p->done); i++) {
		uint64_t r = next_rand(&p->rng);
		int len;
		switch (r % 4) {
		case 0:
			len = snprintf(tag, sizeof(tag), "t%d", (int)(r >> 8) % 2 + 1);
			break;
		case 1:
			len = snprintf(tag, sizeof(tag), "g%d", (int)(r >> 8) % 4);
			break;
		default:
			len = snprintf(tag, sizeof(tag), "k%d", (int)(r >> 8) % NKEYS);
		}
		size_t n = hp_cache_purge_tag(p->cache, (struct hp_str){tag, (size_t)len},
					      (r >> 16) % 2 == 0);
		HP_ASSERT(n <= NKEYS * MAX_VARIANTS);
		p->purged += n;
		if (r % 16 == 0)
			sched_yield();
	}
	return NULL;
}

/* Quiet now: every linked object carries t1, so purging it empties the
 * cache, and with it the index. */
static void check_index_drains(struct hp_cache *c)
{
	struct hp_cache_stats st;
	size_t tags;
	size_t refs;

	hp_cache_get_stats(c, &st);
	hp_cache_tags_count(c, &tags, &refs);
	assert_true(refs >= st.objects && refs <= st.objects * 4);
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("t1"), false), st.objects);
	hp_cache_get_stats(c, &st);
	assert_int_equal(st.objects, 0);
	hp_cache_tags_count(c, &tags, &refs);
	assert_int_equal(tags, 0);
	assert_int_equal(refs, 0);
}

static void test_threads(void **state)
{
	struct hp_cache_conf conf = {.max_memory = BUDGET_BYTES, .shards = 4, .hit_for_pass_s = 2};
	struct hp_cache *c = hp_cache_create(&conf);
	struct worker wk[THREADS];
	struct purger pg[PURGERS];
	atomic_bool done = false;
	struct hp_cache_stats st;

	(void)state;
	for (int i = 0; i < THREADS; i++) {
		uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		wk[i] = (struct worker){.cache = c, .rng = seed};
		HP_AZ(pthread_create(&wk[i].tid, NULL, run, &wk[i]));
	}
	for (int i = 0; i < PURGERS; i++) {
		uint64_t seed = 0xdeadbeefcafef00dull + (uint64_t)i;
		pg[i] = (struct purger){.cache = c, .done = &done, .rng = seed};
		HP_AZ(pthread_create(&pg[i].tid, NULL, run_purger, &pg[i]));
	}
	unsigned long hits = 0;
	unsigned long fills = 0;
	unsigned long waits = 0;
	unsigned long streams = 0;
	for (int i = 0; i < THREADS; i++) {
		HP_AZ(pthread_join(wk[i].tid, NULL));
		hits += wk[i].hits;
		fills += wk[i].fills;
		waits += wk[i].waits;
		streams += wk[i].streams;
	}
	atomic_store(&done, true);
	unsigned long tag_purged = 0;
	for (int i = 0; i < PURGERS; i++) {
		HP_AZ(pthread_join(pg[i].tid, NULL));
		tag_purged += pg[i].purged;
	}
	hp_cache_get_stats(c, &st);
	print_message("hits %lu fills %lu waits %lu streams %lu objects %llu bytes %llu "
		      "evictions %llu tag-purged %lu\n", hits, fills, waits, streams,
		      (unsigned long long)st.objects, (unsigned long long)st.bytes,
		      (unsigned long long)st.evictions, tag_purged);
	assert_true(st.bytes <= BUDGET_BYTES);
	assert_true(hits > 0 && fills > 0 && waits > 0 && tag_purged > 0);
	/* Streaming needs a fill caught between head and commit: rare, but not
	 * absent over this many operations. */
	assert_true(streams > 0);
	check_index_drains(c);
	hp_cache_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
