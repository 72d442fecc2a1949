/* SPDX-License-Identifier: MIT */
/*
 * test_stream.c - reading an object while it fills: a waiter is called
 * back as soon as the head of a fill with a Content-Length is accepted (not
 * at the end), finds it with hp_cache_lookup_filling(), and reads its body
 * with hp_cache_obj_stream() as it grows, until it is complete (then from
 * the object as usual) or fails (the fill was aborted). Without a length,
 * or for another Vary variant, nothing is streamed and waiters wait for the
 * end, as before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "helpers.h"

struct calls {
	struct hp_cache_waiter w;
	int n;
};

static void count_call(struct hp_cache_waiter *w)
{
	struct calls *k = w->data;
	k->n++;
}

static void init_calls(struct calls *k)
{
	memset(k, 0, sizeof(*k));
	k->w.cb = count_call;
	k->w.data = k;
}

static const struct hp_cache_policy pol = {0};

/* Begin a fill of <key> and a waiter on it; accept <resp> as its head. */
static struct hp_cache_fill *begin_with_waiter(struct hp_cache *c, const char *key,
					       const char *resp, struct calls *waiter)
{
	struct hp_cache_fill *fill = NULL;
	struct hp_cache_fill *none = NULL;
	struct fields rf;
	struct fields qf;

	fields_parse(&rf, resp);
	fields_parse(&qf, "Accept: */*");
	assert_int_equal(hp_cache_begin_fill(c, key, strlen(key), key_hash(key), &fill, NULL, T0),
			 HP_CACHE_FILLER);
	init_calls(waiter);
	assert_int_equal(hp_cache_begin_fill(c, key, strlen(key), key_hash(key), &none,
					     &waiter->w, T0),
			 HP_CACHE_WAITING);
	assert_true(hp_cache_fill_head(fill, 200, rf.h, rf.n, qf.h, qf.n, T0, T0, &pol));
	return fill;
}

static struct hp_cache_obj *filling(struct hp_cache *c, const char *key, const char *req)
{
	struct fields qf;

	fields_parse(&qf, req);
	return hp_cache_lookup_filling(c, key, strlen(key), key_hash(key), qf.h, qf.n);
}

static void test_stream_to_completion(void **state)
{
	(void)state;
	struct hp_cache *c = test_cache(1 << 20, 4);
	struct calls waiter;
	struct hp_cache_fill *fill =
		begin_with_waiter(c, "k", "Cache-Control: max-age=60|Content-Length: 40000", &waiter);
	assert_int_equal(waiter.n, 1); /* woken by the head, not the end */

	struct hp_cache_obj *obj = filling(c, "k", "");
	assert_non_null(obj);
	assert_false(hp_cache_obj_complete(obj));
	assert_int_equal(hp_cache_obj_status(obj), 200);

	struct hp_buf out = {0};
	struct calls more;
	init_calls(&more);
	assert_int_equal(hp_cache_obj_stream(obj, 0, &out, 1000, &more.w), HP_CACHE_STREAM_WAIT);
	char part[20000];
	memset(part, 'a', sizeof(part));
	assert_true(hp_cache_fill_append(fill, part, sizeof(part)));
	assert_int_equal(more.n, 1);

	/* What came, in steps of at most <max>, across segment boundaries. */
	uint64_t off = 0;
	while (off < sizeof(part)) {
		size_t before = out.len;
		assert_int_equal(hp_cache_obj_stream(obj, off, &out, 7000, &more.w),
				 HP_CACHE_STREAM_DATA);
		assert_true(out.len - before <= 7000);
		off += out.len - before;
	}
	assert_int_equal(out.len, sizeof(part));
	assert_int_equal(hp_cache_obj_stream(obj, off, &out, 7000, &more.w),
			 HP_CACHE_STREAM_WAIT);
	memset(part, 'b', sizeof(part));
	assert_true(hp_cache_fill_append(fill, part, sizeof(part)));
	assert_int_equal(more.n, 2);
	hp_cache_fill_commit(fill);
	/* Complete (and sealed into a memfd at 40000 bytes): read on as usual. */
	assert_true(hp_cache_obj_complete(obj));
	assert_int_equal(hp_cache_obj_stream(obj, off, &out, 7000, &more.w), HP_CACHE_STREAM_DONE);
	assert_int_equal(hp_cache_obj_body_len(obj), 40000);
	struct iovec iov[4];
	int n = hp_cache_obj_body_iov(obj, off, iov, 4);
	assert_true(n >= 1);
	assert_int_equal(((char *)iov[0].iov_base)[0], 'b');
	assert_int_equal(((char *)hp_buf_data(&out))[0], 'a');
	/* No more calls after the end, and the waiter was called exactly once. */
	assert_int_equal(waiter.n, 1);
	assert_int_equal(more.n, 2);
	/* It was published: a plain lookup finds it, no fill is left. */
	assert_null(filling(c, "k", ""));
	hp_cache_obj_release(obj);
	hp_buf_fini(&out);
	hp_cache_destroy(c);
}

static void test_stream_aborted(void **state)
{
	(void)state;
	struct hp_cache *c = test_cache(1 << 20, 4);
	struct calls waiter;
	struct hp_cache_fill *fill =
		begin_with_waiter(c, "k", "Cache-Control: max-age=60|Content-Length: 10", &waiter);
	struct hp_cache_obj *obj = filling(c, "k", "");
	assert_non_null(obj);
	assert_true(hp_cache_fill_append(fill, "01234", 5));
	struct hp_buf out = {0};
	struct calls more;
	init_calls(&more);
	assert_int_equal(hp_cache_obj_stream(obj, 0, &out, 100, &more.w), HP_CACHE_STREAM_DATA);
	assert_int_equal(hp_cache_obj_stream(obj, 5, &out, 100, &more.w), HP_CACHE_STREAM_WAIT);
	hp_cache_fill_abort(fill, false);
	assert_int_equal(more.n, 1);
	assert_int_equal(hp_cache_obj_stream(obj, 5, &out, 100, &more.w),
			 HP_CACHE_STREAM_FAILED);
	assert_false(hp_cache_obj_complete(obj));
	hp_cache_obj_release(obj);
	hp_buf_fini(&out);
	hp_cache_destroy(c);
}

static void test_cancel_stream(void **state)
{
	(void)state;
	struct hp_cache *c = test_cache(1 << 20, 4);
	struct calls waiter;
	struct hp_cache_fill *fill =
		begin_with_waiter(c, "k", "Cache-Control: max-age=60|Content-Length: 3", &waiter);
	struct hp_cache_obj *obj = filling(c, "k", "");
	struct hp_buf out = {0};
	struct calls more;
	init_calls(&more);
	assert_int_equal(hp_cache_obj_stream(obj, 0, &out, 100, &more.w), HP_CACHE_STREAM_WAIT);
	assert_true(hp_cache_obj_cancel_stream(obj, &more.w));
	assert_false(hp_cache_obj_cancel_stream(obj, &more.w));
	assert_true(hp_cache_fill_append(fill, "abc", 3));
	hp_cache_fill_commit(fill);
	assert_int_equal(more.n, 0);
	hp_cache_obj_release(obj);
	hp_buf_fini(&out);
	hp_cache_destroy(c);
}

static void test_no_length_no_stream(void **state)
{
	(void)state;
	struct hp_cache *c = test_cache(1 << 20, 4);
	struct calls waiter;
	/* Chunked or close-delimited at the origin: no length to promise. */
	struct hp_cache_fill *fill = begin_with_waiter(c, "k", "Cache-Control: max-age=60", &waiter);
	assert_int_equal(waiter.n, 0);
	assert_null(filling(c, "k", ""));
	assert_true(hp_cache_fill_append(fill, "abc", 3));
	hp_cache_fill_commit(fill);
	assert_int_equal(waiter.n, 1); /* at the end, as before */
	hp_cache_destroy(c);
}

static void test_vary_mismatch_no_stream(void **state)
{
	(void)state;
	struct hp_cache *c = test_cache(1 << 20, 4);
	struct calls waiter;
	struct hp_cache_fill *fill = begin_with_waiter(
		c, "k", "Cache-Control: max-age=60|Content-Length: 3|Vary: Accept", &waiter);
	assert_int_equal(waiter.n, 1);
	assert_null(filling(c, "k", "Accept: text/html"));
	struct hp_cache_obj *obj = filling(c, "k", "Accept: */*");
	assert_non_null(obj);
	assert_true(hp_cache_fill_append(fill, "abc", 3));
	hp_cache_fill_commit(fill);
	hp_cache_obj_release(obj);
	hp_cache_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_to_completion),
		cmocka_unit_test(test_stream_aborted),
		cmocka_unit_test(test_cancel_stream),
		cmocka_unit_test(test_no_length_no_stream),
		cmocka_unit_test(test_vary_mismatch_no_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
