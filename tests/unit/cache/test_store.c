/* SPDX-License-Identifier: MIT */
/*
 * test_store.c - the object store: references, Vary variants, replacement,
 * the memory budget, coalescing, hit-for-pass, freshen and purges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "unit/cache/helpers.h"

#define CC "Cache-Control: "

static struct hp_str body_of(const struct hp_cache_obj *obj, char *out, size_t cap)
{
	struct iovec iov[16];
	int n = hp_cache_obj_body_iov(obj, 0, iov, 16);
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		assert_true(len + iov[i].iov_len <= cap);
		memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	return (struct hp_str){out, len};
}

static struct hp_cache_obj *lookup(struct hp_cache *c, const char *key, const char *req)
{
	struct fields f;

	fields_parse(&f, req);
	return hp_cache_lookup(c, key, strlen(key), key_hash(key), f.h, f.n, T0);
}

static void test_refcount_outlives_eviction(void **state)
{
	struct hp_cache *c = test_cache(1 << 20, 1);
	struct hp_cache_obj *obj = store_obj(c, "k", 200, CC "max-age=60", "", T0, T0, NULL,
					     "hello");
	char buf[64];

	(void)state;
	assert_non_null(obj);
	assert_int_equal(hp_cache_purge_all(c), 1);
	assert_null(lookup(c, "k", ""));
	/* Unlinked, but still ours: readable until released. */
	assert_true(hp_str_eq(body_of(obj, buf, sizeof(buf)), "hello"));
	assert_int_equal(hp_cache_obj_status(obj), 200);
	struct hp_cache_obj *again = hp_cache_obj_fetch(obj);
	hp_cache_obj_release(obj);
	assert_true(hp_str_eq(body_of(again, buf, sizeof(buf)), "hello"));
	hp_cache_obj_release(again);
	hp_cache_destroy(c);
}

static void test_head_and_fields(void **state)
{
	struct hp_cache *c = test_cache(1 << 20, 1);
	struct hp_cache_policy strip = {.strip_tag_header = true};
	const char *resp = "Content-Type: text/plain|Date: @0|Age: 5|Cache-Tag: a, b|"
			   CC "max-age=60, no-cache=\"X-Secret\"|X-Secret: s|Content-Length: 5";
	struct hp_cache_obj *obj = store_obj(c, "k", 200, resp, "", T0, T0, &strip, "hello");
	size_t n;

	(void)state;
	assert_non_null(obj);
	struct hp_str head = hp_cache_obj_head(obj);
	const char *want = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			   "Cache-Control: max-age=60, no-cache=\"X-Secret\"\r\n"
			   "Content-Length: 5\r\n";
	if (!hp_str_eq(head, want))
		fail_msg("head: %.*s", (int)head.len, head.ptr);
	const struct hp_http_header *f = hp_cache_obj_fields(obj, &n);
	assert_non_null(hp_http_find_header(f, n, "Date"));
	assert_non_null(hp_http_find_header(f, n, "Cache-Tag"));
	assert_null(hp_http_find_header(f, n, "Age"));
	assert_null(hp_http_find_header(f, n, "X-Secret"));
	assert_int_equal(hp_cache_obj_body_len(obj), 5);
	hp_cache_obj_release(obj);
	hp_cache_destroy(c);
}

static void test_body_segments(void **state)
{
	struct hp_cache_conf conf = {.max_memory = 4 << 20, .shards = 1};
	struct hp_cache *c = hp_cache_create(&conf);
	struct hp_cache_fill *fill;
	struct hp_cache_waiter w = {0};
	struct fields rf;
	static char big[40000];
	struct iovec iov[8];

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	fields_parse(&rf, CC "max-age=60");
	assert_int_equal(hp_cache_begin_fill(c, "b", 1, key_hash("b"), &fill, &w, T0),
			 HP_CACHE_FILLER);
	assert_true(hp_cache_fill_head(fill, 200, rf.h, rf.n, NULL, 0, T0, T0, NULL));
	for (size_t off = 0; off < sizeof(big); off += 999)
		assert_true(hp_cache_fill_append(fill, big + off, HP_MIN(999, sizeof(big) - off)));
	hp_cache_fill_commit(fill);
	struct hp_cache_obj *obj = lookup(c, "b", "");
	assert_non_null(obj);
	assert_int_equal(hp_cache_obj_body_len(obj), sizeof(big));
	for (uint64_t off = 0; off < sizeof(big); off += 7777) {
		int n = hp_cache_obj_body_iov(obj, off, iov, 8);
		uint64_t at = off;
		for (int i = 0; i < n; i++) {
			assert_memory_equal(iov[i].iov_base, big + at, iov[i].iov_len);
			at += iov[i].iov_len;
		}
		assert_int_equal(at, sizeof(big));
	}
	assert_int_equal(hp_cache_obj_body_iov(obj, sizeof(big), iov, 8), 0);
	assert_int_equal(hp_cache_obj_body_iov(obj, 0, iov, 1), 1);
	hp_cache_obj_release(obj);
	hp_cache_destroy(c);
}

static void test_vary(void **state)
{
	struct hp_cache *c = test_cache(1 << 20, 1);
	const char *resp = CC "max-age=60|Vary: Accept-Encoding";
	struct hp_cache_stats st;
	char buf[64];

	(void)state;
	hp_cache_obj_release(
		store_obj(c, "k", 200, resp, "Accept-Encoding: gzip", T0, T0, NULL, "gz"));
	hp_cache_obj_release(
		store_obj(c, "k", 200, resp, "Accept-Encoding: br", T0, T0, NULL, "br"));
	hp_cache_obj_release(
		store_obj(c, "k", 200, resp, "", T0, T0, NULL, "id"));
	struct hp_cache_obj *o = lookup(c, "k", "Accept-Encoding: gzip");
	assert_true(hp_str_eq(body_of(o, buf, sizeof(buf)), "gz"));
	hp_cache_obj_release(o);
	o = lookup(c, "k", "Accept-Encoding: br");
	assert_true(hp_str_eq(body_of(o, buf, sizeof(buf)), "br"));
	hp_cache_obj_release(o);
	o = lookup(c, "k", "User-Agent: x");
	assert_true(hp_str_eq(body_of(o, buf, sizeof(buf)), "id"));
	hp_cache_obj_release(o);
	assert_null(lookup(c, "k", "Accept-Encoding: zstd"));
	assert_null(lookup(c, "k", "Accept-Encoding: gzip|Accept-Encoding: br"));
	assert_null(lookup(c, "k", "Accept-Encoding:"));
	/* Those were Vary misses on a stored key, not misses of the key. */
	assert_true(hp_cache_has_variants(c, "k", 1, key_hash("k")));
	assert_false(hp_cache_has_variants(c, "x", 1, key_hash("x")));
	/* The same variant again replaces the old one. */
	hp_cache_obj_release(
		store_obj(c, "k", 200, resp, "Accept-Encoding: gzip", T0, T0, NULL, "g2"));
	o = lookup(c, "k", "Accept-Encoding: gzip");
	assert_true(hp_str_eq(body_of(o, buf, sizeof(buf)), "g2"));
	hp_cache_obj_release(o);
	hp_cache_get_stats(c, &st);
	assert_int_equal(st.objects, 3);
	/* Vary: * is never stored, since it could never match. */
	assert_null(store_obj(c, "s", 200, CC "max-age=60|Vary: *", "", T0, T0, NULL, "x"));
	assert_null(lookup(c, "s", ""));
	hp_cache_destroy(c);
}

static void test_replace_on_commit(void **state)
{
	struct hp_cache *c = test_cache(1 << 20, 1);
	struct hp_cache_stats st;
	char buf[64];

	(void)state;
	struct hp_cache_obj *v1 = store_obj(c, "k", 200, CC "max-age=60", "", T0, T0, NULL, "v1");
	hp_cache_obj_release(store_obj(c, "k", 200, CC "max-age=60", "", T0, T0, NULL, "v2"));
	struct hp_cache_obj *o = lookup(c, "k", "");
	assert_true(hp_str_eq(body_of(o, buf, sizeof(buf)), "v2"));
	assert_true(hp_str_eq(body_of(v1, buf, sizeof(buf)), "v1"));
	hp_cache_get_stats(c, &st);
	assert_int_equal(st.objects, 1);
	assert_int_equal(st.inserts, 2);
	hp_cache_obj_release(o);
	hp_cache_obj_release(v1);
	hp_cache_destroy(c);
}

static void test_budget_under_churn(void **state)
{
	const uint64_t budget = 256 << 10;
	struct hp_cache *c = test_cache(budget, 4);
	struct hp_cache_stats st;
	char key[32];
	char body[1500];

	(void)state;
	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	/* 10x the budget in distinct keys, with a few hot keys hit in between. */
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		struct hp_cache_obj *o;
		assert_true(fill_obj(c, key, 200, CC "max-age=60", "", T0, T0, NULL,
				     body + (i % 1000)));
		if (i % 10 == 0 && (o = lookup(c, "key-1", "")) != NULL)
			hp_cache_obj_release(o);
		hp_cache_get_stats(c, &st);
		assert_true(st.bytes <= budget);
	}
	assert_true(st.objects > 50);
	assert_true(st.evictions > 1000);
	assert_int_equal(st.max_bytes, budget);
	/* The hot key survived the churn (S3-FIFO keeps what is used). */
	struct hp_cache_obj *hot = lookup(c, "key-1", "");
	assert_non_null(hot);
	hp_cache_obj_release(hot);
	hp_cache_destroy(c);
}

static void test_max_object_size(void **state)
{
	struct hp_cache_conf conf = {.max_memory = 1 << 20, .max_object_size = 1000, .shards = 1};
	struct hp_cache *c = hp_cache_create(&conf);
	struct hp_cache_fill *fill;
	struct hp_cache_waiter w = {0};
	struct fields rf;
	char big[600] = {0};

	(void)state;
	fields_parse(&rf, CC "max-age=60");
	assert_int_equal(hp_cache_begin_fill(c, "k", 1, key_hash("k"), &fill, &w, T0),
			 HP_CACHE_FILLER);
	assert_true(hp_cache_fill_head(fill, 200, rf.h, rf.n, NULL, 0, T0, T0, NULL));
	assert_true(hp_cache_fill_append(fill, big, sizeof(big)));
	assert_false(hp_cache_fill_append(fill, big, sizeof(big)));
	hp_cache_fill_abort(fill, false);
	assert_null(lookup(c, "k", ""));
	/* Aborting without hit-for-pass lets the next request fill again. */
	assert_int_equal(hp_cache_begin_fill(c, "k", 1, key_hash("k"), &fill, &w, T0),
			 HP_CACHE_FILLER);
	hp_cache_fill_abort(fill, false);
	hp_cache_destroy(c);
}

static void test_hit_for_pass(void **state)
{
	struct hp_cache_conf conf = {.max_memory = 1 << 20, .shards = 2, .hit_for_pass_s = 30};
	struct hp_cache *c = hp_cache_create(&conf);
	struct hp_cache_fill *fill;
	struct hp_cache_waiter w = {0};
	struct hp_cache_stats st;
	struct fields rf;
	uint64_t h = key_hash("k");

	(void)state;
	hp_cache_obj_release(store_obj(c, "k", 200, CC "max-age=1", "", T0, T0, NULL, "old"));
	fields_parse(&rf, CC "no-store");
	assert_int_equal(hp_cache_begin_fill(c, "k", 1, h, &fill, &w, T0 + 5), HP_CACHE_FILLER);
	assert_false(hp_cache_fill_head(fill, 200, rf.h, rf.n, NULL, 0, T0, T0, NULL));
	hp_cache_fill_abort(fill, true);
	/* The stale copy went with it: the origin no longer wants it stored. */
	assert_null(lookup(c, "k", ""));
	assert_int_equal(hp_cache_begin_fill(c, "k", 1, h, &fill, &w, T0 + 10), HP_CACHE_PASS);
	assert_null(fill);
	assert_int_equal(hp_cache_begin_fill(c, "k", 1, h, &fill, &w, T0 + 34), HP_CACHE_PASS);
	assert_int_equal(hp_cache_begin_fill(c, "k", 1, h, &fill, &w, T0 + 35), HP_CACHE_FILLER);
	hp_cache_fill_abort(fill, false);
	hp_cache_get_stats(c, &st);
	assert_int_equal(st.hit_for_pass, 2);
	/* A purge forgets hit-for-pass too. */
	assert_int_equal(hp_cache_begin_fill(c, "k", 1, h, &fill, &w, T0 + 40), HP_CACHE_FILLER);
	hp_cache_fill_abort(fill, true);
	(void)hp_cache_purge_key(c, "k", 1, h, false);
	assert_int_equal(hp_cache_begin_fill(c, "k", 1, h, &fill, &w, T0 + 41), HP_CACHE_FILLER);
	hp_cache_fill_abort(fill, false);
	hp_cache_destroy(c);
}

struct waiter {
	struct hp_cache_waiter w;
	struct hp_cache *c;
	int calls;
	bool hit;          /* a lookup from the callback found the object */
};

static void on_wake(struct hp_cache_waiter *w)
{
	struct waiter *me = HP_CONTAINER_OF(w, struct waiter, w);
	struct hp_cache_obj *o = lookup(me->c, "k", "");

	me->calls++;
	me->hit = o != NULL;
	if (o != NULL)
		hp_cache_obj_release(o);
}

static void test_coalescing(void **state)
{
	struct hp_cache *c = test_cache(1 << 20, 4);
	struct hp_cache_fill *fill;
	struct hp_cache_fill *other;
	struct waiter w[3] = {{.w.cb = on_wake, .c = c}, {.w.cb = on_wake, .c = c},
			      {.w.cb = on_wake, .c = c}};
	struct hp_cache_waiter unused = {0};
	struct fields rf;
	uint64_t h = key_hash("k");

	(void)state;
	fields_parse(&rf, CC "max-age=60");
	assert_int_equal(hp_cache_begin_fill(c, "k", 1, h, &fill, &unused, T0), HP_CACHE_FILLER);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(hp_cache_begin_fill(c, "k", 1, h, &other, &w[i].w, T0),
				 HP_CACHE_WAITING);
		assert_null(other);
	}
	assert_true(hp_cache_cancel_wait(c, &w[2].w));
	assert_int_equal(w[0].calls, 0);
	assert_true(hp_cache_fill_head(fill, 200, rf.h, rf.n, NULL, 0, T0, T0, NULL));
	assert_true(hp_cache_fill_append(fill, "x", 1));
	hp_cache_fill_commit(fill);
	assert_int_equal(w[0].calls, 1);
	assert_int_equal(w[1].calls, 1);
	assert_true(w[0].hit && w[1].hit);
	assert_int_equal(w[2].calls, 0);
	assert_false(hp_cache_cancel_wait(c, &w[0].w));

	/* Abort releases waiters at once; they find nothing and one fills next. */
	memset(w, 0, sizeof(w));
	w[0] = (struct waiter){.w.cb = on_wake, .c = c};
	(void)hp_cache_purge_all(c);
	assert_int_equal(hp_cache_begin_fill(c, "k", 1, h, &fill, &unused, T0), HP_CACHE_FILLER);
	assert_int_equal(hp_cache_begin_fill(c, "k", 1, h, &other, &w[0].w, T0), HP_CACHE_WAITING);
	hp_cache_fill_abort(fill, false);
	assert_int_equal(w[0].calls, 1);
	assert_false(w[0].hit);
	assert_int_equal(hp_cache_begin_fill(c, "k", 1, h, &fill, &unused, T0), HP_CACHE_FILLER);
	hp_cache_fill_abort(fill, false);
	hp_cache_destroy(c);
}

static void test_purge_during_fill(void **state)
{
	struct hp_cache *c = test_cache(1 << 20, 1);
	struct hp_cache_fill *fill;
	struct hp_cache_waiter w = {0};
	struct fields rf;

	(void)state;
	fields_parse(&rf, CC "max-age=60");
	assert_int_equal(hp_cache_begin_fill(c, "k", 1, key_hash("k"), &fill, &w, T0),
			 HP_CACHE_FILLER);
	assert_true(hp_cache_fill_head(fill, 200, rf.h, rf.n, NULL, 0, T0, T0, NULL));
	assert_int_equal(hp_cache_purge_key(c, "k", 1, key_hash("k"), false), 0);
	hp_cache_fill_commit(fill);
	assert_null(lookup(c, "k", ""));
	hp_cache_destroy(c);
}

static void test_freshen(void **state)
{
	struct hp_cache *c = test_cache(1 << 20, 1);
	const char *resp = "Date: @0|ETag: \"e1\"|" CC "max-age=10|X-Old: 1|Content-Length: 5";
	struct hp_cache_obj *old = store_obj(c, "k", 200, resp, "", T0, T0, NULL, "hello");
	struct hp_cache_stats st;
	struct fields f304;
	struct iovec a;
	struct iovec b;
	size_t n;

	(void)state;
	assert_non_null(old);
	assert_int_equal(hp_cache_obj_evaluate(old, NULL, T0 + 20, NULL), HP_CACHE_STALE);
	fields_parse(&f304, "Date: @20|" CC "max-age=100|X-Old: 2|X-New: 3|Content-Length: 0");
	struct hp_cache_obj *o = hp_cache_freshen(c, old, f304.h, f304.n, T0 + 20, T0 + 20, NULL);
	assert_non_null(o);
	assert_int_equal(hp_cache_obj_evaluate(o, NULL, T0 + 50, NULL), HP_CACHE_FRESH);
	assert_int_equal(hp_cache_obj_ttl(o, T0 + 50), 70);
	const struct hp_http_header *f = hp_cache_obj_fields(o, &n);
	assert_true(hp_str_eq(hp_http_find_header(f, n, "X-Old")->value, "2"));
	assert_true(hp_str_eq(hp_http_find_header(f, n, "X-New")->value, "3"));
	assert_true(hp_str_eq(hp_http_find_header(f, n, "Content-Length")->value, "5"));
	assert_true(hp_str_eq(hp_cache_obj_etag(o), "\"e1\""));
	/* The body is shared, not copied. */
	assert_int_equal(hp_cache_obj_body_iov(o, 0, &a, 1), 1);
	assert_int_equal(hp_cache_obj_body_iov(old, 0, &b, 1), 1);
	assert_ptr_equal(a.iov_base, b.iov_base);
	/* Published in place of the old one. */
	struct hp_cache_obj *l = lookup(c, "k", "");
	assert_ptr_equal(l, o);
	hp_cache_get_stats(c, &st);
	assert_int_equal(st.objects, 1);
	hp_cache_obj_release(l);
	hp_cache_obj_release(old);
	hp_cache_obj_release(o);
	hp_cache_destroy(c);
}

/* A revalidation under a fill whose stale object is evicted (or purged)
 * while the request is out: the 304's object is stored all the same (the
 * fill pins the key), but not after a hard purge of the key. */
static void test_fill_freshen_after_eviction(void **state)
{
	(void)state;
	for (int purge = 0; purge < 2; purge++) {
		/* LRU, so that newer objects push the stale one out for sure. */
		struct hp_cache_conf conf = {.max_memory = 64 << 10, .shards = 1,
					     .eviction = HP_CACHE_EVICT_LRU};
		struct hp_cache *c = hp_cache_create(&conf);
		const char *resp = "Date: @0|ETag: \"e1\"|" CC "max-age=10|Content-Length: 5";
		struct hp_cache_obj *old = store_obj(c, "k", 200, resp, "", T0, T0, NULL, "hello");
		struct hp_cache_fill *fill;
		struct hp_cache_waiter w = {0};
		struct fields f304;
		char body[1024];
		char key[16];

		assert_non_null(old);
		assert_int_equal(hp_cache_begin_fill(c, "k", 1, key_hash("k"), &fill, &w, T0 + 20),
				 HP_CACHE_FILLER);
		if (purge) {
			assert_int_equal(hp_cache_purge_key(c, "k", 1, key_hash("k"), false), 1);
		} else {
			memset(body, 'x', sizeof(body) - 1);
			body[sizeof(body) - 1] = '\0';
			for (int i = 0; i < 200; i++) {
				snprintf(key, sizeof(key), "o%d", i);
				fill_obj(c, key, 200, CC "max-age=60", "", T0, T0, NULL, body);
			}
		}
		struct hp_cache_obj *gone = lookup(c, "k", "");
		assert_null(gone);
		fields_parse(&f304, "Date: @20|" CC "max-age=100");
		struct hp_cache_obj *o = hp_cache_fill_freshen(fill, old, f304.h, f304.n, T0 + 20,
							       T0 + 20, NULL);
		hp_cache_fill_abort(fill, false);
		assert_non_null(o);
		struct hp_cache_obj *l = lookup(c, "k", "");
		if (purge) {
			assert_null(l);
		} else {
			assert_ptr_equal(l, o);
			hp_cache_obj_release(l);
		}
		hp_cache_obj_release(o);
		hp_cache_obj_release(old);
		hp_cache_destroy(c);
	}
}

static void store_url(struct hp_cache *c, const char *host, const char *path, const char *tags)
{
	struct hp_buf k = {0};
	struct fields rf;
	struct hp_cache_fill *fill;
	struct hp_cache_waiter w = {0};
	char resp[256];

	snprintf(resp, sizeof(resp), CC "max-age=60, stale-while-revalidate=100|%s", tags);
	fields_parse(&rf, resp);
	uint64_t h = hp_cache_key_build(&k, NULL, (struct hp_str){host, strlen(host)},
					(struct hp_str){path, strlen(path)}, HP_STR(""), NULL, 0);
	assert_int_equal(hp_cache_begin_fill(c, hp_buf_data(&k), k.len, h, &fill, &w, T0),
			 HP_CACHE_FILLER);
	assert_true(hp_cache_fill_head(fill, 200, rf.h, rf.n, NULL, 0, T0, T0, NULL));
	hp_cache_fill_commit(fill);
	hp_buf_fini(&k);
}

static struct hp_cache_obj *lookup_url(struct hp_cache *c, const char *host, const char *path)
{
	struct hp_buf k = {0};
	uint64_t h = hp_cache_key_build(&k, NULL, (struct hp_str){host, strlen(host)},
					(struct hp_str){path, strlen(path)}, HP_STR(""), NULL, 0);
	struct hp_cache_obj *o = hp_cache_lookup(c, hp_buf_data(&k), k.len, h, NULL, 0, T0);

	hp_buf_fini(&k);
	return o;
}

static bool present(struct hp_cache *c, const char *host, const char *path)
{
	struct hp_cache_obj *o = lookup_url(c, host, path);

	if (o != NULL)
		hp_cache_obj_release(o);
	return o != NULL;
}

static struct hp_cache *purge_fixture(void)
{
	struct hp_cache *c = test_cache(1 << 20, 4);

	store_url(c, "a.com", "/img/1.png", "Cache-Tag: img, p1");
	store_url(c, "a.com", "/img/2.png", "Cache-Tag: img|Surrogate-Key: p2  extra");
	store_url(c, "a.com", "/doc", "Surrogate-Key: p1");
	store_url(c, "b.com", "/img/1.png", "Cache-Tag: other");
	return c;
}

static void test_purges(void **state)
{
	(void)state;
	struct hp_cache *c = purge_fixture();
	assert_int_equal(hp_cache_purge_prefix(c, HP_STR("A.com:80"), HP_STR("/img/"), false), 2);
	assert_false(present(c, "a.com", "/img/1.png"));
	assert_true(present(c, "a.com", "/doc"));
	assert_true(present(c, "b.com", "/img/1.png"));
	hp_cache_destroy(c);

	c = purge_fixture();
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("p1"), false), 2);
	assert_false(present(c, "a.com", "/img/1.png"));
	assert_false(present(c, "a.com", "/doc"));
	assert_true(present(c, "a.com", "/img/2.png"));
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("extra"), false), 1);
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("img"), false), 0);
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("other"), false), 1);
	hp_cache_destroy(c);

	c = purge_fixture();
	struct hp_buf k = {0};
	uint64_t h = hp_cache_key_build(&k, NULL, HP_STR("a.com"), HP_STR("/doc"), HP_STR(""),
					NULL, 0);
	assert_int_equal(hp_cache_purge_key(c, hp_buf_data(&k), k.len, h, false), 1);
	assert_int_equal(hp_cache_purge_key(c, hp_buf_data(&k), k.len, h, false), 0);
	hp_buf_fini(&k);
	assert_false(present(c, "a.com", "/doc"));
	assert_int_equal(hp_cache_purge_all(c), 3);
	struct hp_cache_stats st;
	hp_cache_get_stats(c, &st);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.purges, 4);
	hp_cache_destroy(c);
}

static void test_soft_purge(void **state)
{
	struct hp_cache *c = purge_fixture();
	struct hp_cache_policy none = {0};

	(void)state;
	struct hp_cache_obj *before = lookup_url(c, "a.com", "/img/1.png");
	assert_int_equal(hp_cache_obj_evaluate(before, NULL, T0 + 1, &none), HP_CACHE_FRESH);
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("img"), true), 2);
	/* Still there, but no longer fresh: served while one request refreshes it. */
	struct hp_cache_obj *o = lookup_url(c, "a.com", "/img/1.png");
	assert_non_null(o);
	assert_int_equal(hp_cache_obj_evaluate(o, NULL, T0 + 1, &none),
			 HP_CACHE_STALE_SERVE_REVALIDATE);
	assert_false(hp_cache_obj_stale_if_error_ok(o, NULL, T0 + 1000, &none));
	hp_cache_obj_release(o);
	hp_cache_obj_release(before);
	assert_int_equal(hp_cache_purge_prefix(c, HP_STR("a.com"), HP_STR("/doc"), true), 1);
	o = lookup_url(c, "a.com", "/doc");
	assert_int_equal(hp_cache_obj_evaluate(o, NULL, T0 + 1, &none),
			 HP_CACHE_STALE_SERVE_REVALIDATE);
	hp_cache_obj_release(o);
	o = lookup_url(c, "b.com", "/img/1.png");
	assert_int_equal(hp_cache_obj_evaluate(o, NULL, T0 + 1, &none), HP_CACHE_FRESH);
	hp_cache_obj_release(o);
	hp_cache_destroy(c);
}

/* Without stale-while-revalidate or grace, soft purge means "revalidate". */
static void test_soft_purge_no_swr(void **state)
{
	struct hp_cache *c = test_cache(1 << 20, 1);
	struct hp_cache_obj *o = store_obj(c, "k", 200, CC "max-age=60", "", T0, T0, NULL, "x");

	(void)state;
	assert_int_equal(hp_cache_purge_key(c, "k", 1, key_hash("k"), true), 1);
	assert_int_equal(hp_cache_obj_evaluate(o, NULL, T0 + 1, NULL), HP_CACHE_STALE);
	hp_cache_obj_release(o);
	hp_cache_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refcount_outlives_eviction),
		cmocka_unit_test(test_head_and_fields),
		cmocka_unit_test(test_body_segments),
		cmocka_unit_test(test_vary),
		cmocka_unit_test(test_replace_on_commit),
		cmocka_unit_test(test_budget_under_churn),
		cmocka_unit_test(test_max_object_size),
		cmocka_unit_test(test_hit_for_pass),
		cmocka_unit_test(test_coalescing),
		cmocka_unit_test(test_purge_during_fill),
		cmocka_unit_test(test_freshen),
		cmocka_unit_test(test_fill_freshen_after_eviction),
		cmocka_unit_test(test_purges),
		cmocka_unit_test(test_soft_purge),
		cmocka_unit_test(test_soft_purge_no_swr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
