/* SPDX-License-Identifier: MIT */
/*
 * test_buf.c - the growable buffer: appends, consumes, reserves and
 * compactions never lose or reorder a byte, and the invariant
 * off + len <= size holds after every operation (hp_buf_validate aborts
 * otherwise, which fails the test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/core.h"

/* The data is exactly <want> (length and bytes). */
static void expect_data(const struct hp_buf *b, const char *want, size_t n)
{
	hp_buf_validate(b);
	assert_int_equal(b->len, n);
	if (n > 0)
		assert_memory_equal(hp_buf_data(b), want, n);
}

static void test_empty(void **state)
{
	(void)state;
	struct hp_buf b = {0};
	hp_buf_validate(&b);
	/* A buffer never allocated has no data pointer, not base + 0. */
	assert_null(hp_buf_data(&b));
	assert_null(hp_buf_tail(&b));
	assert_int_equal(hp_buf_room(&b), 0);
	/* Empty appends and consumes do not allocate. */
	hp_buf_append(&b, "", 0);
	hp_buf_consume(&b, 0);
	hp_buf_compact(&b);
	hp_buf_validate(&b);
	assert_null(b.base);
	hp_buf_fini(&b);
	hp_buf_fini(&b);
	assert_null(b.base);
}

static void test_growth_from_empty(void **state)
{
	(void)state;
	struct hp_buf b = {0};
	hp_buf_append_str(&b, "hello");
	expect_data(&b, "hello", 5);
	assert_int_equal(b.off, 0);
	assert_true(b.size >= 5);
	/* One big append grows enough at once. */
	char big[10000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	hp_buf_append(&b, big, sizeof(big));
	hp_buf_validate(&b);
	assert_int_equal(b.len, 5 + sizeof(big));
	assert_memory_equal(hp_buf_data(&b), "hello", 5);
	assert_memory_equal(hp_buf_data(&b) + 5, big, sizeof(big));
	hp_buf_fini(&b);
	assert_null(b.base);
	assert_int_equal(b.size + b.off + b.len, 0);
}

static void test_reserve_commit(void **state)
{
	(void)state;
	struct hp_buf b = {0};
	hp_buf_reserve(&b, 100);
	hp_buf_validate(&b);
	assert_true(hp_buf_room(&b) >= 100);
	assert_int_equal(b.len, 0);
	/* The read() pattern: write at the tail, then commit. */
	memcpy(hp_buf_tail(&b), "abcdef", 6);
	hp_buf_commit(&b, 6);
	expect_data(&b, "abcdef", 6);
	/* Reserving room that already exists keeps the data where it is. */
	char *before = hp_buf_data(&b);
	hp_buf_reserve(&b, 10);
	assert_ptr_equal(hp_buf_data(&b), before);
	/* Reserving more than the allocation grows it and keeps the data. */
	size_t want = b.size * 4;
	hp_buf_reserve(&b, want);
	expect_data(&b, "abcdef", 6);
	assert_true(hp_buf_room(&b) >= want);
	hp_buf_fini(&b);
}

static void test_consume(void **state)
{
	(void)state;
	struct hp_buf b = {0};
	hp_buf_append_str(&b, "GET / HTTP/1.1\r\n");
	hp_buf_consume(&b, 4);
	expect_data(&b, "/ HTTP/1.1\r\n", 12);
	assert_int_equal(b.off, 4);
	hp_buf_consume(&b, 2);
	expect_data(&b, "HTTP/1.1\r\n", 10);
	/* Consuming everything rewinds, so the whole allocation is room again. */
	hp_buf_consume(&b, 10);
	expect_data(&b, "", 0);
	assert_int_equal(b.off, 0);
	assert_int_equal(hp_buf_room(&b), b.size);
	assert_non_null(hp_buf_data(&b));
	hp_buf_fini(&b);
}

static void test_compact(void **state)
{
	(void)state;
	struct hp_buf b = {0};
	hp_buf_append_str(&b, "0123456789");
	hp_buf_consume(&b, 3);
	size_t room = hp_buf_room(&b);
	hp_buf_compact(&b);
	expect_data(&b, "3456789", 7);
	assert_int_equal(b.off, 0);
	assert_int_equal(hp_buf_room(&b), room + 3);
	hp_buf_fini(&b);
}

static void test_reserve_compacts_before_growing(void **state)
{
	(void)state;
	struct hp_buf b = {0};
	hp_buf_reserve(&b, 1);
	size_t size = b.size;
	char *fill = malloc(size);
	memset(fill, 'x', size);
	hp_buf_append(&b, fill, size);
	assert_int_equal(b.size, size);
	hp_buf_consume(&b, size - 4);
	/* Room for 8 exists once the 4 live bytes move to the front. */
	hp_buf_reserve(&b, 8);
	assert_int_equal(b.size, size);
	expect_data(&b, "xxxx", 4);
	assert_true(hp_buf_room(&b) >= 8);
	hp_buf_append(&b, "yyyyyyyy", 8);
	expect_data(&b, "xxxxyyyyyyyy", 12);
	free(fill);
	hp_buf_fini(&b);
}

/* A random stream of appends, consumes and compactions checked against a
 * plain array: the buffer always holds exactly the unconsumed bytes. */
static void test_stream_model(void **state)
{
	(void)state;
	enum { TOTAL = 200000 };
	char *src = malloc(TOTAL);
	for (size_t i = 0; i < TOTAL; i++)
		src[i] = (char)(i * 131 + i / 7);
	struct hp_buf b = {0};
	size_t written = 0;
	size_t consumed = 0;
	size_t max_live = 0;
	unsigned seed = 12345;
	while (consumed < TOTAL) {
		seed = seed * 1103515245u + 12345u;
		size_t n = (seed >> 8) % 3000;
		if (((seed >> 20) & 1) && written < TOTAL) {
			n = HP_MIN(n, TOTAL - written);
			hp_buf_append(&b, src + written, n);
			written += n;
		} else {
			n = HP_MIN(n, b.len);
			hp_buf_consume(&b, n);
			consumed += n;
		}
		if ((seed >> 24) % 16 == 0)
			hp_buf_compact(&b);
		max_live = HP_MAX(max_live, b.len);
		expect_data(&b, src + consumed, written - consumed);
	}
	expect_data(&b, "", 0);
	assert_int_equal(b.off, 0);
	/* Growth doubles, and compaction comes first: never more than twice
	 * the most data ever held. */
	assert_true(b.size <= HP_MAX(256, 2 * max_live));
	free(src);
	hp_buf_fini(&b);
}

static void test_reset(void **state)
{
	(void)state;
	struct hp_buf b = {0};
	hp_buf_append_str(&b, "abc");
	hp_buf_consume(&b, 1);
	char *base = b.base;
	hp_buf_reset(&b);
	expect_data(&b, "", 0);
	assert_int_equal(b.off, 0);
	/* The allocation is kept for reuse. */
	assert_ptr_equal(b.base, base);
	assert_int_equal(hp_buf_room(&b), b.size);
	hp_buf_fini(&b);
}

static void test_append_byte_and_literal(void **state)
{
	(void)state;
	struct hp_buf b = {0};
	HP_BUF_APPEND_LIT(&b, "Name: ");
	hp_buf_append_byte(&b, 'v');
	hp_buf_append_byte(&b, '\0');
	HP_BUF_APPEND_LIT(&b, "\r\n");
	/* The literal's NUL is not appended; an explicit NUL byte is. */
	expect_data(&b, "Name: v\0\r\n", 10);
	hp_buf_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_growth_from_empty),
	    cmocka_unit_test(test_reserve_commit),
	    cmocka_unit_test(test_consume),
	    cmocka_unit_test(test_compact),
	    cmocka_unit_test(test_reserve_compacts_before_growing),
	    cmocka_unit_test(test_stream_model),
	    cmocka_unit_test(test_reset),
	    cmocka_unit_test(test_append_byte_and_literal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
