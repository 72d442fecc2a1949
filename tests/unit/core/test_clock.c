/* SPDX-License-Identifier: MIT */
/*
 * test_clock.c - the HTTP date codec (RFC 9110 §5.6.7): IMF-fixdate out
 * for known instants, the three accepted forms in, malformed dates
 * rejected, and format/parse round trips cross-checked against the C
 * library's own formatting. Inputs are copied to exact-size heap blocks
 * with no NUL so ASan catches any read past <len>.
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
#include <time.h>

#include "core/clock.h"
#include "core/core.h"

/* Parse <s> from an exact-size copy. */
static bool parse(const char *s, time_t *out)
{
	size_t len = strlen(s);
	char *copy = malloc(len ? len : 1);
	memcpy(copy, s, len);
	bool ok = hp_http_date_parse(copy, len, out);
	free(copy);
	return ok;
}

static void test_format_known(void **state)
{
	(void)state;
	static const struct {
		time_t t;
		const char *want;
	} cases[] = {
	    {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
	    {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},
	    {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
	    {1700000000, "Tue, 14 Nov 2023 22:13:20 GMT"},
	    {2147483647, "Tue, 19 Jan 2038 03:14:07 GMT"},
	    {4102444800, "Fri, 01 Jan 2100 00:00:00 GMT"},
	    {253402300799, "Fri, 31 Dec 9999 23:59:59 GMT"},
	};
	for (size_t i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		char out[HP_HTTP_DATE_LEN + 1];
		memset(out, 'X', sizeof(out));
		hp_http_date_format(cases[i].t, out);
		assert_string_equal(out, cases[i].want);
	}
}

static void test_parse_three_forms(void **state)
{
	(void)state;
	static const char *const forms[] = {
	    "Sun, 06 Nov 1994 08:49:37 GMT",  /* IMF-fixdate */
	    "Sunday, 06-Nov-94 08:49:37 GMT", /* RFC 850 */
	    "Sun Nov  6 08:49:37 1994",	      /* asctime, space-padded day */
	    "Sun Nov 06 08:49:37 1994",	      /* asctime, zero-padded day */
	};
	for (size_t i = 0; i < HP_ARRAY_SIZE(forms); i++) {
		time_t t = -1;
		assert_true(parse(forms[i], &t));
		assert_int_equal(t, 784111777);
	}
}

static void test_parse_known(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		time_t want;
	} cases[] = {
	    {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
	    {"Tue, 29 Feb 2000 00:00:00 GMT", 951782400},
	    {"Tue, 19 Jan 2038 03:14:07 GMT", 2147483647},
	    {"Fri, 31 Dec 9999 23:59:59 GMT", 253402300799},
	    {"Thursday, 01-Jan-70 00:00:00 GMT", 0},
	    {"Saturday, 01-Jan-00 00:00:00 GMT", 946684800},
	    {"Wednesday, 31-Dec-69 23:59:59 GMT", 3155759999},
	    {"Thu Jan  1 00:00:00 1970", 0},
	    {"Tue Nov 14 22:13:20 2023", 1700000000},
	};
	for (size_t i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		time_t t = -1;
		assert_true(parse(cases[i].s, &t));
		assert_int_equal(t, cases[i].want);
	}
}

static void test_parse_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "0",
	    "-1",
	    "Sun, 06 Nov 1994",
	    "Sun, 06 Foo 1994 08:49:37 GMT", /* bad month */
	    "Sun, 06 nov 1994 08:49:37 GMT", /* month names are case-sensitive */
	    "Sun, 32 Nov 1994 08:49:37 GMT", /* bad day */
	    "Sun, 00 Nov 1994 08:49:37 GMT",
	    "Sun, 6 Nov 1994 08:49:37 GMT", /* wrong length */
	    "Sun, 06 Nov 94 08:49:37 GMT",
	    "Sun, 06 Nov 1994 8:49:37 GMT",
	    "Sun, 06 Nov 1994 08:49:37 GMT ", /* trailing junk */
	    "Sun, 06 Nov 1994 08:49:37 GMTx",
	    "Sun, 06 Nov 1994 08:49:37 GMT\r\n",
	    " Sun, 06 Nov 1994 08:49:37 GMT",
	    "Sun, 06 Nov 1994 08:49:37 UTC", /* not GMT */
	    "Sun, 06 Nov 1994 08:49:37 +0000",
	    "Sun, 06 Nov 1994 25:00:00 GMT", /* out-of-range time */
	    "Sun, 06 Nov 1994 24:00:00 GMT",
	    "Sun, 06 Nov 1994 08:60:37 GMT",
	    "Sun, 06 Nov 1994 08:49:61 GMT",
	    "Sun, 0x Nov 1994 08:49:37 GMT", /* not digits */
	    "Sun, 06 Nov 19a4 08:49:37 GMT",
	    "Sun, 06 Nov 1994 08-49-37 GMT",
	    "Sun, +6 Nov 1994 08:49:37 GMT",
	    "Sun;,06 Nov 1994 08:49:37 GMT",
	    "Sunday, 06-Nov-94 08:49:37 GMT ",
	    "Sunday, 06-Foo-94 08:49:37 GMT",
	    "Sunday, 06-Nov-1994 08:49:37 GMT",
	    "Sunday, 06 Nov 94 08:49:37 GMT",
	    "Sunday, 06-Nov-94 25:49:37 GMT",
	    "Sun Nov  6 08:49:37 1994 ",
	    "Sun Nov  6 08:49:37 94",
	    "Sun Foo  6 08:49:37 1994",
	    "Sun Nov 32 08:49:37 1994",
	    "Sun Nov    08:49:37 1994",
	    "Sun Nov  6 25:49:37 1994",
	    "Sun, 06 Nov 1994 08:49:37 GMT and a very long tail of junk after it",
	};
	for (size_t i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		time_t t = 12345;
		if (parse(bad[i], &t))
			fail_msg("accepted \"%s\" as %lld", bad[i], (long long)t);
	}
}

/*
 * Regression (fixed): a day past the end of its month is accepted and normalised into
 * the next month ("30 Feb 2031" reads as 2 Mar 2031), so an invalid
 * Expires date counts as a real future date where RFC 9111 §5.3 wants it
 * treated as already expired. finish() only checks day <= 31.
 * Left out of main() until src/core/clock.c is fixed.
 */
static void test_parse_invalid_calendar_day(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "Sun, 30 Feb 2031 08:49:37 GMT",
	    "Thu, 29 Feb 1900 00:00:00 GMT", /* 1900 is not a leap year */
	    "Mon, 31 Apr 1995 00:00:00 GMT",
	    "Sunday, 31-Jun-94 08:49:37 GMT",
	    "Sun Sep 31 08:49:37 1994",
	};
	for (size_t i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		time_t t = 12345;
		if (parse(bad[i], &t))
			fail_msg("accepted \"%s\" as %lld", bad[i], (long long)t);
	}
}

/* A deterministic spread of instants from 1970 to 9999. */
static time_t random_time(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
	return (time_t)((*seed >> 11) % 253402300800ull);
}

static void test_round_trip(void **state)
{
	(void)state;
	uint64_t seed = 42;
	for (int i = 0; i < 20000; i++) {
		time_t t = random_time(&seed);
		char out[HP_HTTP_DATE_LEN + 1];
		hp_http_date_format(t, out);
		assert_int_equal(strlen(out), HP_HTTP_DATE_LEN);
		time_t back = -1;
		if (!parse(out, &back) || back != t)
			fail_msg("%lld formatted as \"%s\" parsed as %lld", (long long)t, out,
				 (long long)back);
	}
}

/* The obsolete forms, written by the C library, parse to the same time. */
static void test_obsolete_forms_match_libc(void **state)
{
	(void)state;
	uint64_t seed = 7;
	for (int i = 0; i < 20000; i++) {
		time_t t = random_time(&seed);
		struct tm tm;
		gmtime_r(&t, &tm);
		char s[64];
		time_t back = -1;
		strftime(s, sizeof(s), "%a %b %e %H:%M:%S %Y", &tm);
		if (!parse(s, &back) || back != t)
			fail_msg("asctime \"%s\" parsed as %lld, want %lld", s, (long long)back,
				 (long long)t);
		/* Two-digit years only name 1970-2069. */
		if (tm.tm_year + 1900 < 1970 || tm.tm_year + 1900 > 2069)
			continue;
		/* The year by hand: strftime's %y trips -Wformat-y2k. */
		size_t n = strftime(s, sizeof(s), "%A, %d-%b-", &tm);
		snprintf(s + n, sizeof(s) - n, "%02d %02d:%02d:%02d GMT", tm.tm_year % 100,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
		if (!parse(s, &back) || back != t)
			fail_msg("RFC 850 \"%s\" parsed as %lld, want %lld", s, (long long)back,
				 (long long)t);
	}
}

static void test_clocks(void **state)
{
	(void)state;
	uint64_t a = hp_clock_mono_ns();
	uint64_t b = hp_clock_mono_ns();
	assert_true(b >= a);
	assert_true(hp_clock_mono_ms() >= a / 1000000u);
	/* Wall clock is after this code was written (2024) and before 2100. */
	time_t now = hp_clock_wall_s();
	assert_true(now > 1700000000 && now < 4102444800);
}

/* Doubling from the minimum up to the maximum, and starting over from 0. */
static void test_backoff(void **state)
{
	(void)state;
	const uint64_t want[] = {5, 10, 20, 40, 80, 100, 100};
	uint64_t d = 0;
	for (size_t i = 0; i < HP_ARRAY_SIZE(want); i++) {
		d = hp_backoff_next(d, 5, 100);
		assert_int_equal(d, want[i]);
	}
	assert_int_equal(hp_backoff_next(0, 5, 100), 5);
	assert_int_equal(hp_backoff_next(3, 5, 100), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_invalid_calendar_day),
	    cmocka_unit_test(test_format_known), cmocka_unit_test(test_parse_three_forms),
	    cmocka_unit_test(test_parse_known),	 cmocka_unit_test(test_parse_invalid),
	    cmocka_unit_test(test_round_trip),	 cmocka_unit_test(test_obsolete_forms_match_libc),
	    cmocka_unit_test(test_clocks),	 cmocka_unit_test(test_backoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
