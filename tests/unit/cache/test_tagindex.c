/* SPDX-License-Identifier: MIT */
/*
 * test_tagindex.c - purge by tag through the tag index: exactly the tagged
 * objects go, across shards, for the tag header and Surrogate-Key; evicted,
 * replaced, freshened and purged objects leave no entry behind (the index
 * counts and the accounted bytes come back to where they were).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cache/cache_priv.h"
#include "unit/cache/helpers.h"

#define CC "Cache-Control: max-age=60, stale-while-revalidate=100"

static void store(struct hp_cache *c, const char *key, const char *tags, const char *body)
{
	char resp[256];

	snprintf(resp, sizeof(resp), CC "%s%s", tags[0] ? "|" : "", tags);
	assert_true(fill_obj(c, key, 200, resp, "", T0, T0, NULL, body));
}

static struct hp_cache_obj *get(struct hp_cache *c, const char *key)
{
	return hp_cache_lookup(c, key, strlen(key), key_hash(key), NULL, 0, T0);
}

static bool present(struct hp_cache *c, const char *key)
{
	struct hp_cache_obj *o = get(c, key);

	if (o != NULL)
		hp_cache_obj_release(o);
	return o != NULL;
}

static bool soft_purged(struct hp_cache *c, const char *key)
{
	struct hp_cache_policy none = {0};
	struct hp_cache_obj *o = get(c, key);

	assert_non_null(o);
	bool stale = hp_cache_obj_evaluate(o, NULL, T0 + 1, &none) != HP_CACHE_FRESH;
	hp_cache_obj_release(o);
	return stale;
}

static uint64_t bytes_of(struct hp_cache *c)
{
	struct hp_cache_stats st;

	hp_cache_get_stats(c, &st);
	return st.bytes;
}

static void assert_index(struct hp_cache *c, size_t tags, size_t refs)
{
	size_t t;
	size_t r;

	hp_cache_tags_count(c, &t, &r);
	assert_int_equal(t, tags);
	assert_int_equal(r, refs);
}

#define NOBJ 200

/* Object i: Cache-Tag "all, c<i % 7>"; every 20th also Surrogate-Key "s hot". */
static void store_set(struct hp_cache *c)
{
	char key[32];
	char tags[96];

	for (int i = 0; i < NOBJ; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		snprintf(tags, sizeof(tags), "Cache-Tag: all, c%d%s", i % 7,
			 i % 20 == 0 ? "|Surrogate-Key: s  hot" : "");
		store(c, key, tags, "body");
	}
}

static void test_exactly_the_tagged(void **state)
{
	struct hp_cache *c = test_cache(8 << 20, 8);
	char key[32];

	(void)state;
	store(c, "base", "", "untagged");
	uint64_t base = bytes_of(c);
	assert_index(c, 0, 0);
	store_set(c);
	/* all, c0..c6, s, hot. */
	assert_index(c, 10, NOBJ * 2 + (NOBJ / 20) * 2);
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("hot"), false), NOBJ / 20);
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("hot"), false), 0);
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("s"), false), 0);
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("Hot"), false), 0);
	size_t c3 = 0;
	for (int i = 0; i < NOBJ; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_true(present(c, key) == (i % 20 != 0));
		c3 += i % 20 != 0 && i % 7 == 3;
	}
	assert_index(c, 8, (NOBJ - NOBJ / 20) * 2);
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("c3"), false), c3);
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("all"), false), NOBJ - NOBJ / 20 - c3);
	assert_index(c, 0, 0);
	assert_true(present(c, "base"));
	/* Nothing of the tagged objects, their keys or their tags is left. */
	assert_int_equal(bytes_of(c), base);
	hp_cache_destroy(c);
}

/* Insert until the budget forces evictions, then purge: the evicted objects
 * must have left the index, and with LRU (no ghost keys) the bytes go to 0. */
static void evict_then_purge(enum hp_cache_eviction ev)
{
	struct hp_cache_conf conf = {.max_memory = 64 << 10, .shards = 2, .eviction = ev};
	struct hp_cache *c = hp_cache_create(&conf);
	struct hp_cache_stats st;
	char key[32];
	char body[600];

	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	for (int i = 0; i < 400; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		store(c, key, i % 2 ? "Cache-Tag: all, odd" : "Surrogate-Key: all", body);
	}
	hp_cache_get_stats(c, &st);
	assert_true(st.evictions > 0);
	size_t odd = 0;
	for (int i = 1; i < 400; i += 2) {
		snprintf(key, sizeof(key), "k%d", i);
		odd += present(c, key);
	}
	assert_index(c, odd > 0 ? 2 : 1, st.objects + odd);
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("odd"), false), odd);
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("all"), false), st.objects - odd);
	assert_index(c, 0, 0);
	hp_cache_get_stats(c, &st);
	assert_int_equal(st.objects, 0);
	if (ev == HP_CACHE_EVICT_LRU)
		assert_int_equal(st.bytes, 0);
	hp_cache_destroy(c);
}

static void test_after_eviction(void **state)
{
	(void)state;
	evict_then_purge(HP_CACHE_EVICT_LRU);
	evict_then_purge(HP_CACHE_EVICT_S3FIFO);
}

static void test_replacement(void **state)
{
	struct hp_cache *c = test_cache(1 << 20, 4);
	struct fields f304;

	(void)state;
	store(c, "k", "Cache-Tag: v1, both", "one");
	struct hp_cache_obj *old = get(c, "k");
	store(c, "k", "Cache-Tag: v2, both", "two");
	assert_index(c, 2, 2);
	/* The old version is unlinked (a reader still holds it): v1 names nothing. */
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("v1"), false), 0);
	assert_true(present(c, "k"));
	hp_cache_obj_release(old);

	/* A 304 that changes the tags: the freshened object carries the new ones. */
	old = get(c, "k");
	fields_parse(&f304, "Cache-Control: max-age=120|Cache-Tag: v3");
	struct hp_cache_obj *o = hp_cache_freshen(c, old, f304.h, f304.n, T0, T0, NULL);
	assert_ptr_not_equal(o, old);
	assert_index(c, 1, 1);
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("v2"), true), 0);
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("both"), false), 0);
	assert_false(soft_purged(c, "k"));
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("v3"), false), 1);
	assert_false(present(c, "k"));
	assert_index(c, 0, 0);
	hp_cache_obj_release(o);
	hp_cache_obj_release(old);
	assert_int_equal(bytes_of(c), 0);
	hp_cache_destroy(c);
}

static void test_soft(void **state)
{
	struct hp_cache *c = test_cache(1 << 20, 4);

	(void)state;
	store(c, "a", "Cache-Tag: t, t|Surrogate-Key: t u", "a");
	store(c, "b", "Surrogate-Key: u", "b");
	store(c, "c", "Cache-Tag: v", "c");
	uint64_t bytes = bytes_of(c);
	assert_index(c, 3, 4);
	/* A tag repeated within a response marks its object once. */
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("t"), true), 1);
	assert_true(soft_purged(c, "a"));
	assert_false(soft_purged(c, "b"));
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("u"), true), 2);
	assert_true(soft_purged(c, "b"));
	assert_false(soft_purged(c, "c"));
	/* Soft purges keep the objects, and so their index entries. */
	assert_index(c, 3, 4);
	assert_int_equal(bytes_of(c), bytes);
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("u"), false), 2);
	assert_index(c, 1, 1);
	assert_int_equal(hp_cache_purge_all(c), 1);
	assert_index(c, 0, 0);
	hp_cache_destroy(c);
}

static struct hp_cache_fill *begin_tagged(struct hp_cache *c, const char *key, const char *tags)
{
	struct hp_cache_fill *fill;
	struct hp_cache_waiter w = {0};
	struct fields rf;
	char resp[128];

	assert_int_equal(hp_cache_begin_fill(c, key, strlen(key), key_hash(key), &fill, &w, T0),
			 HP_CACHE_FILLER);
	snprintf(resp, sizeof(resp), CC "|%s", tags);
	fields_parse(&rf, resp);
	assert_true(hp_cache_fill_head(fill, 200, rf.h, rf.n, NULL, 0, T0, T0, NULL));
	return fill;
}

/* A fill whose head carries the tag may hold a response from before the
 * write that fired the purge: a hard purge keeps it from being published,
 * a soft one publishes it stale. Neither counts it. */
static void test_fill_in_progress(void **state)
{
	struct hp_cache *c = test_cache(1 << 20, 2);

	(void)state;
	store(c, "k", "Cache-Tag: t", "old");
	struct hp_cache_fill *fill = begin_tagged(c, "k", "Cache-Tag: t");
	struct hp_cache_fill *other = begin_tagged(c, "j", "Cache-Tag: u");
	assert_index(c, 2, 3);
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("t"), false), 1);
	hp_cache_fill_commit(fill);
	hp_cache_fill_commit(other);
	assert_false(present(c, "k"));
	assert_true(present(c, "j"));
	assert_index(c, 1, 1);

	fill = begin_tagged(c, "k", "Surrogate-Key: t");
	assert_int_equal(hp_cache_purge_tag(c, HP_STR("t"), true), 0);
	hp_cache_fill_commit(fill);
	assert_true(soft_purged(c, "k"));
	assert_false(soft_purged(c, "j"));

	/* An aborted fill leaves the index too. */
	fill = begin_tagged(c, "x", "Cache-Tag: v");
	assert_index(c, 3, 3);
	hp_cache_fill_abort(fill, false);
	assert_index(c, 2, 2);
	assert_int_equal(hp_cache_purge_all(c), 2);
	assert_index(c, 0, 0);
	hp_cache_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exactly_the_tagged),
		cmocka_unit_test(test_after_eviction),
		cmocka_unit_test(test_replacement),
		cmocka_unit_test(test_soft),
		cmocka_unit_test(test_fill_in_progress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
