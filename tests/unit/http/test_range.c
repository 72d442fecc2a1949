/* SPDX-License-Identifier: MIT */
/*
 * test_range.c - hp_http_parse_range(): the single byte range a cache can
 * cut from a stored body, what makes it unsatisfiable (416), and every
 * form it declines and answers with the whole body instead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "http/http.h"

static void test_ranges(void **state)
{
	(void)state;
	static const struct {
		const char *value;
		uint64_t len;
		enum hp_http_range want;
		uint64_t first, last;
	} cases[] = {
		{"bytes=0-99", 1000, HP_RANGE_OK, 0, 99},
		{"bytes=100-", 1000, HP_RANGE_OK, 100, 999},
		{"bytes=-100", 1000, HP_RANGE_OK, 900, 999},
		{"bytes=-5000", 1000, HP_RANGE_OK, 0, 999},    /* suffix longer: all */
		{"bytes=990-5000", 1000, HP_RANGE_OK, 990, 999}, /* last clipped */
		{"bytes=999-999", 1000, HP_RANGE_OK, 999, 999},
		{"BYTES=0-0", 1000, HP_RANGE_OK, 0, 0},          /* unit is case-insensitive */
		{" bytes=5-9 ", 1000, HP_RANGE_OK, 5, 9},
		{"bytes=, 5-9", 1000, HP_RANGE_OK, 5, 9},        /* empty list elements */
		{"bytes=1000-", 1000, HP_RANGE_UNSATISFIABLE, 0, 0},
		{"bytes=5000-6000", 1000, HP_RANGE_UNSATISFIABLE, 0, 0},
		{"bytes=-0", 1000, HP_RANGE_UNSATISFIABLE, 0, 0},
		{"bytes=0-", 0, HP_RANGE_UNSATISFIABLE, 0, 0},
		{"bytes=-1", 0, HP_RANGE_UNSATISFIABLE, 0, 0},
		{"bytes=0-1,5-6", 1000, HP_RANGE_IGNORE, 0, 0},  /* several: whole body */
		{"bytes=9-5", 1000, HP_RANGE_IGNORE, 0, 0},      /* invalid */
		{"bytes=", 1000, HP_RANGE_IGNORE, 0, 0},
		{"bytes=-", 1000, HP_RANGE_IGNORE, 0, 0},
		{"bytes=a-b", 1000, HP_RANGE_IGNORE, 0, 0},
		{"bytes=1-2x", 1000, HP_RANGE_IGNORE, 0, 0},
		{"bytes=+1-2", 1000, HP_RANGE_IGNORE, 0, 0},
		{"bytes = 1-2", 1000, HP_RANGE_IGNORE, 0, 0},
		{"items=0-1", 1000, HP_RANGE_IGNORE, 0, 0},
		{"bytes=99999999999999999999-", 1000, HP_RANGE_IGNORE, 0, 0}, /* overflow */
		{"bytes=0-99999999999999999999", 1000, HP_RANGE_IGNORE, 0, 0},
		{"bytes=0-18446744073709551615", 1000, HP_RANGE_OK, 0, 999},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t first = 12345, last = 12345;
		struct hp_str v = {cases[i].value, strlen(cases[i].value)};
		enum hp_http_range got = hp_http_parse_range(v, cases[i].len, &first, &last);
		if (got != cases[i].want)
			fail_msg("\"%s\" (len %llu): got %d, want %d", cases[i].value,
				 (unsigned long long)cases[i].len, got, cases[i].want);
		if (got == HP_RANGE_OK && (first != cases[i].first || last != cases[i].last))
			fail_msg("\"%s\": got %llu-%llu, want %llu-%llu", cases[i].value,
				 (unsigned long long)first, (unsigned long long)last,
				 (unsigned long long)cases[i].first,
				 (unsigned long long)cases[i].last);
		if (got == HP_RANGE_OK)
			assert_true(first <= last && last < cases[i].len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
