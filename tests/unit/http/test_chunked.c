/* SPDX-License-Identifier: MIT */
/*
 * test_chunked.c - hp_http_chunked_feed(): one table line per body with the
 * expected payload, fed in one piece, split in two at every offset, and one
 * byte at a time, each piece ending at a guard page. Every way of feeding
 * must give the same payload, byte count and end-of-body flag.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/http.h"
#include "unit/http/guard.h"

#define ALL -100 /* the whole input is chunked body */

struct chunk_case {
	int line;
	const char *in;
	size_t len;
	ssize_t ret;     /* bytes of body (ALL: every byte), or HP_ERR */
	bool done;       /* the body ended */
	const char *out; /* the decoded payload */
};

#define CASE(in, ret, done, out) {__LINE__, in, sizeof(in) - 1, ret, done, out}
#define DONE(in, out) CASE(in, ALL, true, out)
#define MORE(in, out) CASE(in, ALL, false, out)
#define BAD(in) CASE(in, HP_ERR, false, NULL)

static const struct chunk_case cases[] = {
	DONE("5\r\nhello\r\n0\r\n\r\n", "hello"),
	DONE("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", "abcde"),
	DONE("0\r\n\r\n", ""),
	DONE("A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n", "01234567890123456789"),
	DONE("0005\r\nhello\r\n000\r\n\r\n", "hello"),
	DONE("5\nhello\n0\n\n", "hello"),                        /* bare LF line ends */
	DONE("5\r\nhe\r\nl\r\n0\r\n\r\n", "he\r\nl"),           /* CRLF inside data */
	DONE("5;a=b\r\nhello\r\n0;last\r\n\r\n", "hello"),
	DONE("5 \t;a=\"q; s\" ; b\r\nhello\r\n0\r\n\r\n", "hello"),
	DONE("5;\xc3\xa9\r\nhello\r\n0\r\n\r\n", "hello"),
	DONE("0\r\nX: y\r\nChecksum: abc \t\r\nEmpty:\r\n\r\n", ""),  /* trailers */
	DONE("0\nX: y\n\n", ""),
	CASE("5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n", 15, true, "hello"),
	CASE("0\r\n\r\n0\r\n\r\n", 5, true, ""),
	MORE("", ""),
	MORE("5\r\nhel", "hel"),
	MORE("5\r\nhello", "hello"),
	MORE("5\r\nhello\r", "hello"),
	MORE("0\r\n", ""),
	MORE("0\r\nX: y\r\n", ""),
	MORE("0\r\n\r", ""),
	MORE("7fffffffffffffff\r\n", ""),                         /* 2^63 - 1 is fine */

	BAD("\r\n"),
	BAD("g\r\n"),
	BAD("-5\r\nhello\r\n"),
	BAD("+5\r\nhello\r\n"),
	BAD("0x5\r\nhello\r\n"),
	BAD(" 5\r\nhello\r\n"),
	BAD("5 \r\nhello\r\n"),                                   /* BWS only before ';' */
	BAD("5 x\r\nhello\r\n"),
	BAD("8000000000000000\r\n"),                              /* 2^63 */
	BAD("10000000000000000\r\n"),                             /* 2^64 */
	BAD("ffffffffffffffffff\r\n"),
	BAD("5\rhello\r\n"),
	BAD("5\r\nhelloX\r\n"),
	BAD("5\r\nhello\rX"),
	BAD("5\r\nhello\r\r\n"),
	BAD("5\r\nhello0\r\n\r\n"),                               /* missing CRLF after data */
	BAD("5;a\x01\r\nhello\r\n"),
	BAD("5;a\0\r\nhello\r\n"),
	BAD("5;a\rb\r\nhello\r\n"),
	BAD("0\r\nX: y\r\n z\r\n\r\n"),                           /* obs-fold in trailer */
	BAD("0\r\n X: y\r\n\r\n"),
	BAD("0\r\nX : y\r\n\r\n"),
	BAD("0\r\n: y\r\n\r\n"),
	BAD("0\r\nX\r\n\r\n"),
	BAD("0\r\nX(: y\r\n\r\n"),
	BAD("0\r\nX: a\0b\r\n\r\n"),
	BAD("0\r\nX: a\rb\r\n\r\n"),
	BAD("0\r\n\rX"),
};

/* Strict decoding (request bodies): CRLF only. The first rows are bodies a
 * lenient decoder takes; every row of <cases> without a bare LF must give
 * the same result strict (test_strict_table). */
static const struct chunk_case strict_cases[] = {
	BAD("5\nhello\r\n0\r\n\r\n"),                         /* size line */
	BAD("5;ext\nhello\r\n0\r\n\r\n"),                     /* extension line */
	BAD("5\r\nhello\n0\r\n\r\n"),                         /* after data */
	BAD("5\r\nhello\r\n0\r\n\n"),                         /* final line */
	BAD("5\r\nhello\r\n0\r\nX: y\n\r\n"),                 /* trailer line */
	BAD("0x5\r\nhello\r\n0\r\n\r\n"),
	BAD("-5\r\nhello\r\n0\r\n\r\n"),
	DONE("5\r\nhe\nlo\r\n0\r\n\r\n", "he\nlo"),              /* LF inside data is data */
	DONE("5;a=b\r\nhello\r\n0\r\nX: y\r\n\r\n", "hello"),
};

static bool strict_mode; /* feed() decodes strictly */

struct output {
	char data[256];
	size_t len;
};

static void collect(void *arg, const char *data, size_t len)
{
	struct output *o = arg;

	assert_true(o->len + len <= sizeof(o->data));
	memcpy(o->data + o->len, data, len);
	o->len += len;
}

/* Feed [0, first) and then pieces of <step> bytes. Returns the body bytes or HP_ERR. */
static ssize_t feed(const char *in, size_t len, size_t first, size_t step, struct output *o,
		    bool *done)
{
	struct hp_http_chunked c = {.strict = strict_mode};
	size_t off = 0;
	size_t piece = first;
	ssize_t total = 0;

	o->len = 0;
	*done = false;
	while (!*done) {
		piece = HP_MIN(piece, len - off);
		ssize_t n = hp_http_chunked_feed(&c, guard_copy(in + off, piece), piece, done,
						 collect, o);
		if (n == HP_ERR)
			return HP_ERR;
		assert_true((size_t)n <= piece);
		assert_true((size_t)n == piece || *done);
		total += n;
		off += piece;
		if (off == len)
			break;
		piece = step;
	}
	return total;
}

static bool same(const struct chunk_case *c, ssize_t rv, bool done, const struct output *o,
		 const char *how)
{
	ssize_t want = c->ret == ALL ? (ssize_t)c->len : c->ret;

	if (rv != want || (rv != HP_ERR && (done != c->done || o->len != strlen(c->out) ||
					    memcmp(o->data, c->out, o->len) != 0))) {
		print_error("line %d (%s): got %zd done %d \"%.*s\"\n", c->line, how, rv, done,
			    (int)o->len, o->data);
		return false;
	}
	return true;
}

static bool try_feed(const struct chunk_case *c, size_t first, size_t step, const char *how)
{
	struct output o;
	bool done;
	ssize_t rv = feed(c->in, c->len, first, step, &o, &done);

	return same(c, rv, done, &o, how);
}

static bool check_case(const struct chunk_case *c)
{
	if (!try_feed(c, c->len, c->len, "one piece") || !try_feed(c, 1, 1, "byte by byte"))
		return false;
	for (size_t i = 0; i <= c->len; i++)
		if (!try_feed(c, i, c->len, "split"))
			return false;
	return true;
}

static void test_table(void **state)
{
	(void)state;
	int failed = 0;

	for (size_t i = 0; i < HP_ARRAY_SIZE(cases); i++)
		failed += !check_case(&cases[i]);
	assert_int_equal(failed, 0);
}

static bool has_bare_lf(const struct chunk_case *c)
{
	for (size_t i = 0; i < c->len; i++)
		if (c->in[i] == '\n' && (i == 0 || c->in[i - 1] != '\r'))
			return true;
	return false;
}

static void test_strict(void **state)
{
	(void)state;
	int failed = 0;

	strict_mode = true;
	for (size_t i = 0; i < HP_ARRAY_SIZE(strict_cases); i++)
		failed += !check_case(&strict_cases[i]);
	strict_mode = false;
	for (size_t i = 0; i < HP_ARRAY_SIZE(strict_cases); i++) {
		const struct chunk_case *c = &strict_cases[i];
		struct output o;
		bool done;
		/* A lenient decoder takes the bare LFs. */
		if (c->ret == HP_ERR && has_bare_lf(c))
			failed += feed(c->in, c->len, c->len, c->len, &o, &done) == HP_ERR;
	}
	assert_int_equal(failed, 0);
}

static void test_strict_table(void **state)
{
	(void)state;
	int failed = 0;

	strict_mode = true;
	for (size_t i = 0; i < HP_ARRAY_SIZE(cases); i++)
		if (!has_bare_lf(&cases[i]))
			failed += !check_case(&cases[i]);
	strict_mode = false;
	assert_int_equal(failed, 0);
}

static ssize_t feed_all(struct hp_http_chunked *c, const char *s, size_t len, bool *done)
{
	return hp_http_chunked_feed(c, guard_copy(s, len), len, done, NULL, NULL);
}

/* chunk-ext is bounded (4 KiB) since we read it without storing it. */
static void test_ext_limit(void **state)
{
	(void)state;
	static char in[8192];
	struct hp_http_chunked c = {0};
	bool done;

	memcpy(in, "1;", 2);
	memset(in + 2, 'x', 4095);
	memcpy(in + 4097, "\r\na\r\n0\r\n\r\n", 10);
	assert_int_equal(feed_all(&c, in, 4107, &done), 4107);
	assert_true(done);

	memset(&c, 0, sizeof(c));
	memset(in + 2, 'x', 4097);
	assert_int_equal(feed_all(&c, in, 4099, &done), HP_ERR);
	/* A failed decoder stays failed. */
	assert_int_equal(feed_all(&c, "0\r\n\r\n", 5, &done), HP_ERR);
	assert_false(done);
}

/* The trailer section is bounded (16 KiB) for the same reason. */
static void test_trailer_limit(void **state)
{
	(void)state;
	static char in[20000];
	struct hp_http_chunked c = {0};
	bool done;
	size_t len = 3;

	memcpy(in, "0\r\n", 3);
	while (len < 16000) {
		memcpy(in + len, "X-Long: 0123456789012345678901234567890123456789\r\n", 50);
		len += 50;
	}
	memcpy(in + len, "\r\n", 2);
	assert_int_equal(feed_all(&c, in, len + 2, &done), (ssize_t)len + 2);
	assert_true(done);

	memset(&c, 0, sizeof(c));
	for (int i = 0; i < 10; i++, len += 50)
		memcpy(in + len, "X-Long: 0123456789012345678901234567890123456789\r\n", 50);
	memcpy(in + len, "\r\n", 2);
	assert_int_equal(feed_all(&c, in, len + 2, &done), HP_ERR);
}

/* Once done, the decoder consumes nothing more: the rest is the next message. */
static void test_after_done(void **state)
{
	(void)state;
	struct hp_http_chunked c = {0};
	bool done;

	assert_int_equal(feed_all(&c, "0\r\n\r\n", 5, &done), 5);
	assert_true(done);
	assert_int_equal(feed_all(&c, "5\r\nhello", 8, &done), 0);
	assert_true(done);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_strict_table),
		cmocka_unit_test(test_ext_limit),
		cmocka_unit_test(test_trailer_limit),
		cmocka_unit_test(test_after_done),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
