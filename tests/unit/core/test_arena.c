/* SPDX-License-Identifier: MIT */
/*
 * test_arena.c - the per-request arena: every allocation is 16-byte
 * aligned and usable to its last byte (ASan checks that), allocations
 * larger than a block work, reset and fini run each cleanup exactly once,
 * newest first, and an arena keeps working request after request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/core.h"

/* Cleanup calls are recorded in order into a small log. */
struct trace {
	int calls[16];
	size_t n;
};

struct mark {
	struct trace *trace;
	int id;
};

static void record(void *arg)
{
	struct mark *m = arg;
	assert_true(m->trace->n < 16);
	m->trace->calls[m->trace->n++] = m->id;
}

static void test_alignment(void **state)
{
	(void)state;
	struct hp_arena a;
	hp_arena_init(&a, 256);
	static const size_t sizes[] = {1, 3, 7, 8, 15, 16, 17, 31, 33, 100, 255, 256, 257, 1000};
	for (int round = 0; round < 4; round++) {
		for (size_t i = 0; i < HP_ARRAY_SIZE(sizes); i++) {
			char *p = hp_arena_alloc(&a, sizes[i]);
			assert_non_null(p);
			assert_int_equal((uintptr_t)p % 16, 0);
			/* The whole allocation is ours: ASan fails on any overrun. */
			memset(p, 0xa5, sizes[i]);
		}
	}
	hp_arena_fini(&a);
}

static void test_allocations_do_not_overlap(void **state)
{
	(void)state;
	struct hp_arena a;
	hp_arena_init(&a, 128);
	unsigned char *ptrs[64];
	for (size_t i = 0; i < HP_ARRAY_SIZE(ptrs); i++) {
		ptrs[i] = hp_arena_alloc(&a, 24 + i);
		memset(ptrs[i], (int)i, 24 + i);
	}
	for (size_t i = 0; i < HP_ARRAY_SIZE(ptrs); i++)
		for (size_t j = 0; j < 24 + i; j++)
			assert_int_equal(ptrs[i][j], (unsigned char)i);
	hp_arena_fini(&a);
}

static void test_large_allocation(void **state)
{
	(void)state;
	struct hp_arena a;
	hp_arena_init(&a, 512);
	char *small1 = hp_arena_alloc(&a, 32);
	memset(small1, 'a', 32);
	/* Much larger than a block: gets a block of its own. */
	char *big = hp_arena_alloc(&a, 100000);
	assert_int_equal((uintptr_t)big % 16, 0);
	memset(big, 'b', 100000);
	/* Small allocations keep working and nothing overlaps. */
	char *small2 = hp_arena_alloc(&a, 32);
	memset(small2, 'c', 32);
	for (size_t i = 0; i < 32; i++)
		assert_int_equal(small1[i], 'a');
	assert_int_equal(big[0], 'b');
	assert_int_equal(big[99999], 'b');
	hp_arena_fini(&a);
}

static void test_cleanups_on_reset(void **state)
{
	(void)state;
	struct trace tr = {0};
	struct mark m[3] = {{&tr, 1}, {&tr, 2}, {&tr, 3}};
	struct hp_arena a;
	hp_arena_init(&a, 0);
	for (int i = 0; i < 3; i++) {
		hp_arena_on_free(&a, record, &m[i]);
		(void)hp_arena_alloc(&a, 5000); /* force extra blocks in between */
	}
	hp_arena_reset(&a);
	/* Newest first, each once. */
	assert_int_equal(tr.n, 3);
	assert_int_equal(tr.calls[0], 3);
	assert_int_equal(tr.calls[1], 2);
	assert_int_equal(tr.calls[2], 1);
	/* A second reset and the fini do not run them again. */
	hp_arena_reset(&a);
	hp_arena_fini(&a);
	assert_int_equal(tr.n, 3);
}

static void test_reset_keeps_working(void **state)
{
	(void)state;
	struct trace tr = {0};
	struct mark m[2] = {{&tr, 10}, {&tr, 20}};
	struct hp_arena a;
	hp_arena_init(&a, 1024);
	char *first = hp_arena_alloc(&a, 64);
	for (int req = 0; req < 50; req++) {
		char *p = hp_arena_alloc(&a, 64);
		memset(p, req, 64);
		(void)hp_arena_alloc(&a, 3000);
		char *s = hp_arena_printf(&a, "request %d", req);
		char want[32];
		snprintf(want, sizeof(want), "request %d", req);
		assert_string_equal(s, want);
		hp_arena_on_free(&a, record, &m[req % 2]);
		tr.n = 0;
		hp_arena_reset(&a);
		assert_int_equal(tr.n, 1);
		assert_int_equal(tr.calls[0], m[req % 2].id);
	}
	/* The first block is kept: after a reset allocation starts over in it. */
	assert_ptr_equal(hp_arena_alloc(&a, 64), first);
	hp_arena_fini(&a);
}

static void test_fini_runs_cleanups(void **state)
{
	(void)state;
	struct trace tr = {0};
	struct mark m[2] = {{&tr, 1}, {&tr, 2}};
	struct hp_arena a;
	hp_arena_init(&a, 256);
	hp_arena_on_free(&a, record, &m[0]);
	hp_arena_on_free(&a, record, &m[1]);
	hp_arena_fini(&a);
	assert_int_equal(tr.n, 2);
	assert_int_equal(tr.calls[0], 2);
	assert_int_equal(tr.calls[1], 1);
	/* A finalized arena is empty: finalizing it again does nothing. */
	hp_arena_fini(&a);
	assert_int_equal(tr.n, 2);
}

static void test_strndup_printf(void **state)
{
	(void)state;
	struct hp_arena a;
	hp_arena_init(&a, 64);
	const char *src = "Host: example.com\r\n";
	char *host = hp_arena_strndup(&a, src + 6, 11);
	assert_string_equal(host, "example.com");
	char *empty = hp_arena_strndup(&a, src, 0);
	assert_string_equal(empty, "");
	/* Embedded bytes are copied as they are, up to n. */
	char *bin = hp_arena_strndup(&a, "a\0b", 3);
	assert_memory_equal(bin, "a\0b\0", 4);
	char *s = hp_arena_printf(&a, "%s:%u %05d", "10.0.0.1", 8080u, 42);
	assert_string_equal(s, "10.0.0.1:8080 00042");
	assert_string_equal(hp_arena_printf(&a, "%s", ""), "");
	/* Longer than a block. */
	char *long_line = hp_arena_printf(&a, "%0500d|%s", 7, host);
	assert_int_equal(strlen(long_line), 500 + 1 + 11);
	assert_int_equal(long_line[499], '7');
	assert_string_equal(long_line + 501, "example.com");
	hp_arena_fini(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alignment),
	    cmocka_unit_test(test_allocations_do_not_overlap),
	    cmocka_unit_test(test_large_allocation),
	    cmocka_unit_test(test_cleanups_on_reset),
	    cmocka_unit_test(test_reset_keeps_working),
	    cmocka_unit_test(test_fini_runs_cleanups),
	    cmocka_unit_test(test_strndup_printf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
