/* SPDX-License-Identifier: MIT */
/*
 * test_str.c - the string views and intrusive lists of core.h: equality
 * and case-insensitive equality, OWS trimming, strict decimal parsing with
 * a caller's maximum, comma-list iteration (RFC 9110 §5.6.1), and list
 * link/unlink keeping both directions consistent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

/* A view of <s> in an exact-size heap copy, so ASan catches reads past len. */
static struct hp_str view(const char *s)
{
	size_t len = strlen(s);
	char *p = malloc(len ? len : 1);
	memcpy(p, s, len);
	return (struct hp_str){p, len};
}

static void drop(struct hp_str s)
{
	free((void *)s.ptr);
}

static void test_eq(void **state)
{
	(void)state;
	struct hp_str s = view("Content-Length");
	assert_true(hp_str_eq(s, "Content-Length"));
	assert_false(hp_str_eq(s, "content-length"));
	assert_false(hp_str_eq(s, "Content-Lengt"));
	assert_false(hp_str_eq(s, "Content-Length2"));
	assert_false(hp_str_eq(s, ""));
	assert_true(hp_str_ieq(s, "content-length"));
	assert_true(hp_str_ieq(s, "CONTENT-LENGTH"));
	assert_false(hp_str_ieq(s, "content-lengtx"));
	assert_false(hp_str_ieq(s, "content-length "));
	assert_true(hp_str_ieq_str(s, HP_STR("cOnTeNt-LeNgTh")));
	assert_false(hp_str_ieq_str(s, HP_STR("Content_Length")));
	drop(s);
	/* Empty views, including the NULL view of an unallocated buffer
	 * (hp_str_eq of that one against "" is test_eq_null_empty). */
	assert_true(hp_str_eq((struct hp_str){"", 0}, ""));
	assert_true(hp_str_ieq((struct hp_str){NULL, 0}, ""));
	assert_false(hp_str_eq((struct hp_str){NULL, 0}, "a"));
	/* Only ASCII letters fold: '@' (0x40) and '`' (0x60) differ. */
	assert_false(hp_str_ieq(HP_STR("@"), "`"));
	assert_false(hp_str_ieq(HP_STR("["), "{"));
	assert_false(hp_str_ieq(HP_STR("\xc9"), "\xe9"));
	/* Views compare their length, not up to a NUL. */
	assert_false(hp_str_eq((struct hp_str){"ab\0c", 4}, "ab"));
}

/*
 * Regression (fixed): hp_str_eq((struct hp_str){NULL, 0}, "") calls memcmp(NULL, "", 0),
 * undefined behaviour that the ASan+UBSan build aborts on ("null pointer
 * passed as argument 1", src/core/core.c hp_str_eq). A {NULL, 0} view is
 * what a zero-initialised struct hp_str or a view over a never-allocated
 * buffer (hp_buf_data() returns NULL on purpose) holds, so comparing an
 * absent value with "" crashes sanitizer builds. Left out of main() until
 * hp_str_eq returns early for n == 0.
 */
static void test_eq_null_empty(void **state)
{
	(void)state;
	assert_true(hp_str_eq((struct hp_str){NULL, 0}, ""));
}

static void test_trim(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
	    {"", ""},
	    {" ", ""},
	    {" \t \t", ""},
	    {"a", "a"},
	    {"  gzip  ", "gzip"},
	    {"\tmax-age=60\t", "max-age=60"},
	    {" a b ", "a b"},
	    {"\r\na\r\n", "\r\na\r\n"}, /* OWS is only space and tab */
	    {"\v x", "\v x"},
	};
	for (size_t i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		struct hp_str s = view(cases[i].in);
		struct hp_str t = hp_str_trim(s);
		assert_true(hp_str_eq(t, cases[i].want));
		/* The result points into the input. */
		assert_true(t.ptr >= s.ptr && t.ptr + t.len <= s.ptr + s.len);
		drop(s);
	}
}

static void test_to_u64(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		uint64_t max;
		bool ok;
		uint64_t want;
	} cases[] = {
	    {"0", UINT64_MAX, true, 0},
	    {"7", UINT64_MAX, true, 7},
	    {"0012", UINT64_MAX, true, 12},
	    {"18446744073709551615", UINT64_MAX, true, UINT64_MAX},
	    {"18446744073709551616", UINT64_MAX, false, 0},
	    {"18446744073709551620", UINT64_MAX, false, 0},
	    {"99999999999999999999", UINT64_MAX, false, 0},
	    {"184467440737095516150", UINT64_MAX, false, 0},
	    {"100", 100, true, 100},
	    {"101", 100, false, 0},
	    {"1000", 100, false, 0},
	    {"5", 5, true, 5},
	    {"6", 5, false, 0}, /* max smaller than a digit */
	    {"9", 0, false, 0},
	    {"0", 0, true, 0},
	    {"00", 0, true, 0},
	    {"10", 9, false, 0},
	    {"", UINT64_MAX, false, 0},
	    {"+1", UINT64_MAX, false, 0},
	    {"-1", UINT64_MAX, false, 0},
	    {"-0", UINT64_MAX, false, 0},
	    {" 1", UINT64_MAX, false, 0},
	    {"1 ", UINT64_MAX, false, 0},
	    {"1 2", UINT64_MAX, false, 0},
	    {"0x10", UINT64_MAX, false, 0},
	    {"1e3", UINT64_MAX, false, 0},
	    {"12a", UINT64_MAX, false, 0},
	    {"/", UINT64_MAX, false, 0}, /* '0' - 1 */
	    {":", UINT64_MAX, false, 0}, /* '9' + 1 */
	    {"\xb1", UINT64_MAX, false, 0},
	};
	for (size_t i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		struct hp_str s = view(cases[i].in);
		uint64_t v = 424242;
		bool ok = hp_str_to_u64(s, cases[i].max, &v);
		if (ok != cases[i].ok)
			fail_msg("\"%s\" max %llu: got %d", cases[i].in,
				 (unsigned long long)cases[i].max, ok);
		if (ok)
			assert_int_equal(v, cases[i].want);
		else
			assert_int_equal(v, 424242); /* untouched on failure */
		drop(s);
	}
}

/* Every max around a value: accepted exactly when value <= max. */
static void test_to_u64_max_boundary(void **state)
{
	(void)state;
	static const uint64_t values[] = {
	    1, 9, 10, 99, 255, 65535, 1000000007, UINT64_MAX / 10, UINT64_MAX - 1};
	for (size_t i = 0; i < HP_ARRAY_SIZE(values); i++) {
		char buf[32];
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)values[i]);
		for (int d = -2; d <= 2; d++) {
			uint64_t max = values[i] + (uint64_t)(int64_t)d;
			uint64_t v = 0;
			struct hp_str s = view(buf);
			bool ok = hp_str_to_u64(s, max, &v);
			drop(s);
			assert_int_equal(ok, values[i] <= max);
			if (ok)
				assert_int_equal(v, values[i]);
		}
	}
}

/* Collect the tokens of <list> joined by '|'. */
static void tokens(const char *list, char *out, size_t n)
{
	struct hp_str l = view(list);
	size_t pos = 0;
	struct hp_str t;
	out[0] = '\0';
	size_t used = 0;
	while (hp_str_next_token(l, &pos, &t)) {
		assert_true(t.len > 0);
		assert_true(pos <= l.len);
		used += (size_t)snprintf(out + used, n - used, "%s%.*s", used ? "|" : "",
					 (int)t.len, t.ptr);
		assert_true(used < n);
	}
	/* Once done it stays done. */
	assert_false(hp_str_next_token(l, &pos, &t));
	drop(l);
}

static void test_next_token(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
	    {"", ""},
	    {",", ""},
	    {" , ,\t, ", ""},
	    {"a", "a"},
	    {",a , ,b,,c ", "a|b|c"},
	    {"gzip, deflate, br", "gzip|deflate|br"},
	    {"no-cache,max-age=0", "no-cache|max-age=0"},
	    {"  private  ,", "private"},
	    {",,,x", "x"},
	    {"a b , c\td", "a b|c\td"},
	    {"a,", "a"},
	};
	for (size_t i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		char got[128];
		tokens(cases[i].in, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].in, got,
				 cases[i].want);
	}
}

struct item {
	int id;
	struct hp_list link;
};

/* The list holds exactly <ids> in order, walking both directions. */
static void expect_list(struct hp_list *head, const int *ids, size_t n)
{
	size_t i = 0;
	for (struct hp_list *l = head->next; l != head; l = l->next, i++) {
		assert_true(i < n);
		assert_int_equal(HP_CONTAINER_OF(l, struct item, link)->id, ids[i]);
		assert_ptr_equal(l->next->prev, l);
	}
	assert_int_equal(i, n);
	for (struct hp_list *l = head->prev; l != head; l = l->prev)
		assert_int_equal(HP_CONTAINER_OF(l, struct item, link)->id, ids[--i]);
	assert_int_equal(hp_list_empty(head), n == 0);
}

/* The scanning helpers the URL and query parsers share. */
static void test_skip_prefix_drop_suffix(void **state)
{
	(void)state;
	struct hp_str s = HP_STR("W/\"x\"");
	assert_true(hp_str_skip_prefix(&s, "W/"));
	assert_true(hp_str_eq(s, "\"x\""));
	assert_false(hp_str_skip_prefix(&s, "W/"));
	assert_true(hp_str_eq(s, "\"x\""));
	/* Exact bytes: the case matters, and a short view never matches. */
	s = HP_STR("w/x");
	assert_false(hp_str_skip_prefix(&s, "W/"));
	s = (struct hp_str){"W/", 1};
	assert_false(hp_str_skip_prefix(&s, "W/"));
	assert_int_equal(s.len, 1);
	s = HP_STR("abc");
	assert_true(hp_str_skip_prefix(&s, ""));
	assert_int_equal(s.len, 3);

	s = HP_STR("Bytes=0-1");
	assert_true(hp_str_iskip_prefix(&s, "bytes="));
	assert_true(hp_str_eq(s, "0-1"));
	assert_false(hp_str_iskip_prefix(&s, "bytes="));

	s = HP_STR("example.com:80");
	assert_true(hp_str_drop_suffix(&s, ":80"));
	assert_true(hp_str_eq(s, "example.com"));
	assert_false(hp_str_drop_suffix(&s, ":80"));
	s = HP_STR("example.com:8080");
	assert_false(hp_str_drop_suffix(&s, ":80"));
	s = (struct hp_str){":80", 2};
	assert_false(hp_str_drop_suffix(&s, ":80"));
	assert_int_equal(s.len, 2);
}

static void test_prefix_span_hex(void **state)
{
	(void)state;
	assert_true(hp_str_istarts_with(HP_STR("HTTP://h/"), "http://"));
	assert_true(hp_str_istarts_with(HP_STR("abc"), ""));
	assert_false(hp_str_istarts_with(HP_STR("htt"), "http"));
	assert_false(hp_str_istarts_with(HP_STR("https://"), "http://"));

	assert_int_equal(hp_str_span_until(HP_STR("host/p?q"), "/?"), 4);
	assert_int_equal(hp_str_span_until(HP_STR("host?q/p"), "/?"), 4);
	assert_int_equal(hp_str_span_until(HP_STR("host"), "/?"), 4);
	assert_int_equal(hp_str_span_until(HP_STR(""), "/?"), 0);
	/* A NUL byte is data, not the end of the stop list. */
	assert_int_equal(hp_str_span_until((struct hp_str){"a\0b/c", 5}, "/"), 3);
	/* Bounded by the view, not by a terminator. */
	assert_int_equal(hp_str_span_until((struct hp_str){"ab/", 2}, "/"), 2);

	assert_int_equal(hp_hex_digit('0'), 0);
	assert_int_equal(hp_hex_digit('9'), 9);
	assert_int_equal(hp_hex_digit('a'), 10);
	assert_int_equal(hp_hex_digit('F'), 15);
	assert_int_equal(hp_hex_digit('g'), -1);
	assert_int_equal(hp_hex_digit('/'), -1);
	assert_int_equal(hp_hex_digit(':'), -1);
	assert_int_equal(hp_hex_digit('@'), -1);
	assert_int_equal(hp_hex_digit('\0'), -1);
}

static void test_list(void **state)
{
	(void)state;
	struct hp_list head;
	hp_list_init(&head);
	struct item it[4] = {{1, {0}}, {2, {0}}, {3, {0}}, {4, {0}}};
	expect_list(&head, NULL, 0);
	assert_null(HP_LIST_FIRST(&head, struct item, link));
	assert_null(HP_LIST_LAST(&head, struct item, link));
	assert_false(hp_list_linked(&it[0].link));

	hp_list_link_tail(&head, &it[1].link);
	hp_list_link_tail(&head, &it[2].link);
	hp_list_link_head(&head, &it[0].link);
	hp_list_link_tail(&head, &it[3].link);
	expect_list(&head, (int[]){1, 2, 3, 4}, 4);
	assert_ptr_equal(HP_LIST_FIRST(&head, struct item, link), &it[0]);
	assert_ptr_equal(HP_LIST_LAST(&head, struct item, link), &it[3]);
	assert_true(hp_list_linked(&it[2].link));

	hp_list_unlink(&it[2].link); /* middle */
	expect_list(&head, (int[]){1, 2, 4}, 3);
	assert_false(hp_list_linked(&it[2].link));
	hp_list_unlink(&it[2].link); /* unlinking twice is a no-op */
	expect_list(&head, (int[]){1, 2, 4}, 3);
	hp_list_unlink(&it[0].link); /* first */
	hp_list_unlink(&it[3].link); /* last */
	expect_list(&head, (int[]){2}, 1);
	/* An unlinked node can be linked again (the LRU move-to-front). */
	hp_list_link_head(&head, &it[3].link);
	expect_list(&head, (int[]){4, 2}, 2);
	hp_list_unlink(&it[1].link);
	hp_list_unlink(&it[3].link);
	expect_list(&head, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_eq_null_empty),
	    cmocka_unit_test(test_eq),	       cmocka_unit_test(test_trim),
	    cmocka_unit_test(test_to_u64),     cmocka_unit_test(test_to_u64_max_boundary),
	    cmocka_unit_test(test_next_token), cmocka_unit_test(test_list),
	    cmocka_unit_test(test_prefix_span_hex),
	    cmocka_unit_test(test_skip_prefix_drop_suffix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
