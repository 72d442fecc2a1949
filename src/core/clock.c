/* SPDX-License-Identifier: MIT */
/*
 * clock.c - clocks, back-off delays and the HTTP date codec. Dates are converted without
 * the C library's timezone machinery (timegm is not in C11), by counting
 * days from the civil date.
 */
#include "core/clock.h"
#include "core/core.h"

#include <stdio.h>
#include <string.h>

/* The three forms RFC 9110 §5.6.7 makes recipients accept; the parser
 * checks separators at fixed offsets within them. */
#define ASCTIME_LEN (sizeof("Sun Nov  6 08:49:37 1994") - 1)
#define RFC850_TAIL_LEN (sizeof(", 06-Nov-94 08:49:37 GMT") - 1) /* from the comma */
static const char gmt[] = " GMT";
#define GMT_LEN (sizeof(gmt) - 1)

static const char *const day_names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

uint64_t hp_clock_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t hp_clock_mono_ms(void)
{
	return hp_clock_mono_ns() / 1000000u;
}

time_t hp_clock_wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

uint64_t hp_backoff_next(uint64_t cur_ms, uint64_t min_ms, uint64_t max_ms)
{
	return cur_ms < min_ms ? min_ms : HP_MIN(cur_ms * 2, max_ms);
}

void hp_http_date_format(time_t t, char *out)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	/* Formatted into a roomy buffer: the compiler cannot know the fields
	 * of a struct tm are in range. */
	char tmp[96];
	snprintf(tmp, sizeof(tmp), "%s, %02d %s %04d %02d:%02d:%02d GMT",
		 day_names[tm.tm_wday], tm.tm_mday, month_names[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	memcpy(out, tmp, HP_HTTP_DATE_LEN);
	out[HP_HTTP_DATE_LEN] = '\0';
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int month_index(const char *s)
{
	for (int i = 0; i < 12; i++)
		if (memcmp(s, month_names[i], 3) == 0)
			return i;
	return -1;
}

static bool digits(const char *s, size_t n, int *out)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static bool parse_hms(const char *s, int *h, int *mi, int *se)
{
	return digits(s, 2, h) && s[2] == ':' && digits(s + 3, 2, mi) && s[5] == ':' &&
	       digits(s + 6, 2, se) && *h < 24 && *mi < 60 && *se <= 60;
}

static int days_in_month(int year, int mon)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return mon == 1 && leap ? 29 : days[mon];
}

static bool finish(int year, int mon, int day, int h, int mi, int se, time_t *out)
{
	/* An impossible date (30 Feb) is invalid, not the date it would roll to:
	 * an invalid Expires must mean "already expired". */
	if (mon < 0 || year < 1900 || day < 1 || day > days_in_month(year, mon))
		return false;
	int64_t days = days_from_civil(year, (unsigned)mon + 1, (unsigned)day);
	*out = (time_t)(days * 86400 + h * 3600 + mi * 60 + se);
	return true;
}

bool hp_http_date_parse(const char *s, size_t len, time_t *out)
{
	char b[64];
	if (len >= sizeof(b) || len < ASCTIME_LEN)
		return false;
	memcpy(b, s, len);
	b[len] = '\0';
	int day, year, h, mi, se;
	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
	if (len == HP_HTTP_DATE_LEN && b[3] == ',' && b[4] == ' ' && b[7] == ' ' && b[11] == ' ' &&
	    b[16] == ' ' && memcmp(b + HP_HTTP_DATE_LEN - GMT_LEN, gmt, GMT_LEN) == 0) {
		if (!digits(b + 5, 2, &day) || !digits(b + 12, 4, &year) ||
		    !parse_hms(b + 17, &h, &mi, &se))
			return false;
		return finish(year, month_index(b + 8), day, h, mi, se, out);
	}
	/* asctime: "Sun Nov  6 08:49:37 1994" */
	if (len == ASCTIME_LEN && b[3] == ' ' && b[7] == ' ' && b[10] == ' ' && b[19] == ' ') {
		char dd[2] = {b[8] == ' ' ? '0' : b[8], b[9]};
		if (!digits(dd, 2, &day) || !parse_hms(b + 11, &h, &mi, &se) ||
		    !digits(b + 20, 4, &year))
			return false;
		return finish(year, month_index(b + 4), day, h, mi, se, out);
	}
	/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
	const char *comma = strchr(b, ',');
	if (comma != NULL && len - (size_t)(comma - b) == RFC850_TAIL_LEN && comma[1] == ' ' &&
	    comma[4] == '-' && comma[8] == '-' && comma[11] == ' ' &&
	    memcmp(comma + RFC850_TAIL_LEN - GMT_LEN, gmt, GMT_LEN) == 0) {
		if (!digits(comma + 2, 2, &day) || !digits(comma + 9, 2, &year) ||
		    !parse_hms(comma + 12, &h, &mi, &se))
			return false;
		/* RFC 9110: a two-digit year more than 50 years ahead is in the past. */
		year += year < 70 ? 2000 : 1900;
		return finish(year, month_index(comma + 5), day, h, mi, se, out);
	}
	return false;
}
