/* SPDX-License-Identifier: MIT */
/*
 * test_request.c - hp_http_parse_request(): one table line per input, each
 * parsed in one shot against a guard page and then re-parsed for every
 * prefix, which must give HP_AGAIN until the answer is known and then the
 * same answer. Named tests below check the parsed fields of valid heads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/http.h"
#include "unit/http/guard.h"

#define MAX_FIELDS 8
#define ALL 1000000 /* expected head length = the whole input */

static const struct hp_http_limits lim_default = {256, 1024, MAX_FIELDS};
/* Small enough to reach every limit with short literals. */
static const struct hp_http_limits lim_small = {20, 64, 2};

struct req_case {
	int line;                         /* of the table entry, for messages */
	const char *in;
	size_t len;
	int ret;                          /* ALL, a head length, HP_AGAIN or HP_ERR */
	int status;                       /* error_status when ret == HP_ERR */
	const struct hp_http_limits *lim; /* NULL: lim_default */
};

#define CASE(in, ret, status, lim) {__LINE__, in, sizeof(in) - 1, ret, status, lim}
#define OK(in) CASE(in, ALL, 0, NULL)
#define HEAD(in, head_len) CASE(in, head_len, 0, NULL)
#define AGAIN(in) CASE(in, HP_AGAIN, 0, NULL)
#define BAD(in, status) CASE(in, HP_ERR, status, NULL)
#define BAD_SMALL(in, status) CASE(in, HP_ERR, status, &lim_small)
#define OK_SMALL(in) CASE(in, ALL, 0, &lim_small)

#define H "Host: a\r\n"
#define A10 "aaaaaaaaaa"

static const struct req_case cases[] = {
	/* valid heads */
	OK("GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
	OK("GET / HTTP/1.0\r\n\r\n"),
	OK("GET /p?q=1&r HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\n\r\n"),
	OK("GET / HTTP/1.1\nHost: a\n\n"),                  /* bare LF line ends */
	OK("GET / HTTP/1.1\r\nHost: a\n\r\n"),
	OK("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),   /* leading empty lines */
	OK("\n\n\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
	OK("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n"), /* obs-text in a value */
	OK("GET / HTTP/1.1\r\nHost: a\r\nX: a\tb \t\r\n\r\n"),     /* HTAB in a value */
	OK("GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n"),              /* empty value */
	OK("GET / HTTP/1.1\r\nHost: a\r\nX: \"quoted, \\\"\"\r\n\r\n"),
	OK("GET / HTTP/1.2\r\nHost: a\r\n\r\n"),            /* read as 1.1 */
	OK("GET / HTTP/1.9\r\nHost: a\r\n\r\n"),
	OK("M-SEARCH!#$%&'*+.^_`|~ / HTTP/1.1\r\nHost: a\r\n\r\n"),
	OK("GET /a{b}|c\"^` HTTP/1.1\r\nHost: a\r\n\r\n"),  /* VCHAR target bytes */
	OK("GET http://example.com/x?y HTTP/1.1\r\n\r\n"),  /* absolute-form needs no Host */
	OK("GET HTTPS://example.com HTTP/1.1\r\nHost: other\r\n\r\n"),
	OK("GET http://[::1]:8080/ HTTP/1.1\r\n\r\n"),
	OK("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
	OK("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
	OK("CONNECT [::1]:443 HTTP/1.1\r\nHost: a\r\n\r\n"),
	OK("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  42 \r\n\r\n"),
	OK("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChunKed\r\n\r\n"),
	OK("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked,\r\n\r\n"),
	OK("GET / HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n"),
	OK("GET / HTTP/1.1\r\nHost: 10.0.0.1:80\r\n\r\n"),
	OK("GET / HTTP/1.1\r\nHost: xn--d1acufc.xn--p1ai\r\n\r\n"),
	OK("GET / HTTP/1.1\r\nHost: a%2Db\r\n\r\n"),
	OK("GET / HTTP/1.1\r\nHost: a:\r\n\r\n"),           /* port = *DIGIT */
	OK("GET / HTTP/1.1\r\nHost: [v1.fe:x]\r\n\r\n"),    /* IPvFuture */
	HEAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 47),
	HEAD("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n", 28),
	HEAD("GET / HTTP/1.1\r\nHost: a\r\n\r\n\x01garbage", 27),

	/* incomplete */
	AGAIN(""),
	AGAIN("\r\n"),
	AGAIN("GET / HTTP/1.1\r\nHost: a\r\n"),
	AGAIN("GET / HTTP/1.1\r\nHost: a\r\n\r"),
	AGAIN("GET / HTTP/1.1\r"),

	/* framing: Content-Length and Transfer-Encoding (RFC 9112 §6) */
	BAD("POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Content-Length: 5\r\ncontent-length: 6\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Content-Length: 5, 5\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Content-Length: abc\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Content-Length: -1\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Content-Length: +5\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Content-Length: 5a\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Content-Length: 0x10\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Content-Length: 1 0\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Content-Length:\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Content-Length: 99999999999999999999\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Content-Length: 9223372036854775808\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip, chunked\r\n\r\n", 501),
	BAD("POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
	    501),
	BAD("POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Transfer-Encoding: identity\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, gzip\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, chunked\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked;q=1\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Transfer-Encoding: \"chunked\"\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Transfer-Encoding:\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Transfer-Encoding: ,\r\n\r\n", 400),
	BAD("POST / HTTP/1.1\r\n" H "Transfer-Encoding: xchunked\r\n\r\n", 400),
	BAD("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),

	/* field syntax */
	BAD("GET / HTTP/1.1\r\n" H "X: a\r\n b\r\n\r\n", 400),   /* obs-fold */
	BAD("GET / HTTP/1.1\r\n" H "X: a\r\n\tb\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),       /* whitespace after start line */
	BAD("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\n" H ": a\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\n" H "X\r\n\r\n", 400),           /* no colon */
	BAD("GET / HTTP/1.1\r\n" H "X(y: 1\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\n" H "X@y: 1\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\n" H "X\"y: 1\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\n" H "X\xc3\xa9: 1\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\n" H "X: a\0b\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\n" H "X: a\x01" "b\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\n" H "X: a\x0b" "b\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\n" H "X: a\x7f" "b\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\n" H "X: a\x1b" "\r\n\r\n", 400),

	/* bare CR anywhere */
	BAD("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\rHost: a\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost: a\r\n\rX", 400),
	BAD("G\rET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),

	/* request line */
	BAD("G\0T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("G\xc3\xa9T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("GET /a\x7f" "b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400),
	BAD("GET /\r\n\r\n", 400),                            /* HTTP/0.9 */
	BAD("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
	BAD("GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505),
	BAD("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
	BAD("GET / http/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("GET / HTTP/1\r\nHost: a\r\n\r\n", 400),
	BAD("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400),
	BAD("GET / HTTP/11.1\r\nHost: a\r\n\r\n", 400),
	BAD("GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400),
	BAD("GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),

	/* Host (RFC 9112 §3.2) */
	BAD("GET / HTTP/1.1\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
	BAD("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost:\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost: [zz::1]\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost: a%2\r\n\r\n", 400),
	BAD("GET / HTTP/1.1\r\nHost: :80\r\n\r\n", 400),
	BAD("GET http://example.com/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),

	/* request-target forms (RFC 9112 §3.2) */
	BAD("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("GET example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("GET example.com/x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("CONNECT example.com: HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("CONNECT [::1] HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("CONNECT http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("GET http://user@a/ HTTP/1.1\r\n\r\n", 400),
	BAD("GET ftp://a/ HTTP/1.1\r\n\r\n", 400),
	BAD("GET http:///x HTTP/1.1\r\n\r\n", 400),
	BAD("GET http:/x HTTP/1.1\r\n\r\n", 400),
	BAD("GET http://a#f/ HTTP/1.1\r\n\r\n", 400),

	/* limits: line 20 bytes, head 64 bytes, 2 fields */
	OK_SMALL("GET /aaaaaa HTTP/1.1\r\nHost: a\r\n\r\n"),       /* line of exactly 20 */
	BAD_SMALL("GET /aaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n", 414),
	BAD_SMALL("GET /" A10 A10, 414),                          /* no LF yet */
	BAD_SMALL("GETTTTTTTTTTTTTTTTTTTTTT", 414),
	BAD_SMALL("GET / HTTP/1.1\r\nHost: a\r\nX: " A10 A10 A10 A10, 431),
	BAD_SMALL("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\n\r\n", 431),
	OK_SMALL("GET / HTTP/1.1\r\nHost: a\r\nX: " A10 A10 A10 "aa\r\n\r\n"), /* exactly 64 */
	BAD_SMALL("GET / HTTP/1.1\r\nHost: a\r\nX: " A10 A10 A10 "aaa\r\n\r\n", 431),
	CASE("GET / HTTP/1.1\r\nHost: a\r\nX: " A10 A10 A10 "aaa\r\n\r", HP_AGAIN, 0,
	     &lim_small), /* 64 bytes and still incomplete: the 65th decides */
};

static int parse(const char *s, size_t len, struct hp_http_request *req,
		 const struct hp_http_limits *lim)
{
	static struct hp_http_header headers[MAX_FIELDS];

	return hp_http_parse_request(guard_copy(s, len), len, req, headers, lim);
}

static bool same_answer(int rv, const struct hp_http_request *req, int want, int status)
{
	return rv == want && (rv != HP_ERR || req->error_status == status);
}

/* Every prefix answers HP_AGAIN until the answer is decided, then the final answer. */
static bool check_prefixes(const struct req_case *c, int want)
{
	struct hp_http_request req;
	bool decided = false;

	for (size_t i = 0; i < c->len; i++) {
		int rv = parse(c->in, i, &req, c->lim ? c->lim : &lim_default);
		bool ok = want > 0 ? same_answer(rv, &req, (size_t)want <= i ? want : HP_AGAIN, 0)
				   : (rv == HP_AGAIN && !decided) ||
					     same_answer(rv, &req, want, c->status);
		decided |= rv != HP_AGAIN;
		if (!ok) {
			print_error("line %d: prefix of %zu bytes gave %d (%d %s)\n", c->line, i,
				    rv, req.error_status, req.error_reason ? req.error_reason : "");
			return false;
		}
	}
	return true;
}

static bool check_case(const struct req_case *c)
{
	struct hp_http_request req;
	int want = c->ret == ALL ? (int)c->len : c->ret;
	int rv = parse(c->in, c->len, &req, c->lim ? c->lim : &lim_default);

	if (!same_answer(rv, &req, want, c->status)) {
		print_error("line %d: got %d (%d %s), want %d (%d)\n", c->line, rv,
			    req.error_status, req.error_reason ? req.error_reason : "", want,
			    c->status);
		return false;
	}
	if (rv == HP_ERR && req.error_reason == NULL) {
		print_error("line %d: no error reason\n", c->line);
		return false;
	}
	return check_prefixes(c, want);
}

static void test_table(void **state)
{
	(void)state;
	int failed = 0;

	for (size_t i = 0; i < HP_ARRAY_SIZE(cases); i++)
		failed += !check_case(&cases[i]);
	assert_int_equal(failed, 0);
}

/* ==== Parsed fields of valid heads ==== */

static struct hp_http_request req;

static void parse_ok(const char *s)
{
	int rv = parse(s, strlen(s), &req, &lim_default);
	if (rv <= 0)
		print_error("%s: %d %s\n", s, rv, req.error_reason ? req.error_reason : "");
	assert_true(rv > 0);
}

static void assert_str(struct hp_str s, const char *want)
{
	if (!hp_str_eq(s, want))
		print_error("got \"%.*s\", want \"%s\"\n", (int)s.len, s.ptr, want);
	assert_true(hp_str_eq(s, want));
}

static void test_origin_form(void **state)
{
	(void)state;
	parse_ok("GET /a/b?x=1&y HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n");
	assert_str(req.method, "GET");
	assert_int_equal(req.method_id, HP_METHOD_GET);
	assert_str(req.target, "/a/b?x=1&y");
	assert_int_equal(req.form, HP_TARGET_ORIGIN);
	assert_str(req.path, "/a/b");
	assert_str(req.query, "x=1&y");
	assert_str(req.host, "example.com");
	assert_int_equal(req.minor_version, 1);
	assert_int_equal(req.num_headers, 2);
	assert_str(req.headers[1].name, "Accept");
	assert_str(req.headers[1].value, "*/*");
	assert_int_equal(req.body, HP_BODY_NONE);
	assert_true(req.keep_alive);
	assert_false(req.expect_continue);

	parse_ok("GET /? HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_str(req.path, "/");
	assert_str(req.query, "");
	assert_non_null(req.query.ptr);
}

static void test_absolute_form(void **state)
{
	(void)state;
	parse_ok("GET http://Example.com:8080/p?q HTTP/1.1\r\nHost: other\r\n\r\n");
	assert_int_equal(req.form, HP_TARGET_ABSOLUTE);
	assert_str(req.host, "Example.com:8080"); /* the target wins over Host */
	assert_str(req.path, "/p");
	assert_str(req.query, "q");

	parse_ok("GET http://a?q HTTP/1.1\r\n\r\n");
	assert_str(req.host, "a");
	assert_str(req.path, "/");
	assert_str(req.query, "q");
}

static void test_other_forms(void **state)
{
	(void)state;
	parse_ok("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_int_equal(req.form, HP_TARGET_ASTERISK);
	assert_int_equal(req.method_id, HP_METHOD_OPTIONS);
	assert_str(req.path, "*");

	parse_ok("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
	assert_int_equal(req.form, HP_TARGET_AUTHORITY);
	assert_int_equal(req.method_id, HP_METHOD_CONNECT);
	assert_str(req.host, "example.com:443");

	parse_ok("BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_int_equal(req.method_id, HP_METHOD_OTHER);
	assert_str(req.method, "BREW");
	parse_ok("get / HTTP/1.1\r\nHost: a\r\n\r\n"); /* methods are case-sensitive */
	assert_int_equal(req.method_id, HP_METHOD_OTHER);
}

static void test_body_framing(void **state)
{
	(void)state;
	parse_ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1234\r\n\r\n");
	assert_int_equal(req.body, HP_BODY_LENGTH);
	assert_int_equal(req.content_length, 1234);

	parse_ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n");
	assert_int_equal(req.content_length, INT64_MAX);

	parse_ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(req.body, HP_BODY_LENGTH);
	assert_int_equal(req.content_length, 0);

	parse_ok("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
	assert_int_equal(req.body, HP_BODY_CHUNKED);
}

static void test_connection(void **state)
{
	(void)state;
	parse_ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n");
	assert_false(req.keep_alive);
	parse_ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: x\r\nConnection: y, close\r\n\r\n");
	assert_false(req.keep_alive);
	parse_ok("GET / HTTP/1.0\r\n\r\n");
	assert_int_equal(req.minor_version, 0);
	assert_false(req.keep_alive);
	assert_int_equal(req.host.len, 0);
	parse_ok("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: a\r\n\r\n");
	assert_true(req.keep_alive);
	assert_str(req.host, "a");
	parse_ok("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n");
	assert_false(req.keep_alive);
	parse_ok("GET / HTTP/1.5\r\nHost: a\r\n\r\n");
	assert_int_equal(req.minor_version, 1);
	assert_true(req.keep_alive);
}

static void test_expect(void **state)
{
	(void)state;
	parse_ok("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n");
	assert_true(req.expect_continue);
	parse_ok("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
	assert_false(req.expect_continue); /* RFC 9110 §10.1.1 */
	parse_ok("PUT / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n");
	assert_false(req.expect_continue);
}

static void test_views_and_errors(void **state)
{
	(void)state;
	const char *s = "GET /x HTTP/1.1\r\nHost: a\r\nX-Y:  v  \r\n\r\n";
	struct hp_http_header headers[MAX_FIELDS];
	int rv = hp_http_parse_request(s, strlen(s), &req, headers, &lim_default);
	assert_int_equal(rv, (int)strlen(s));
	assert_ptr_equal(req.headers, headers);
	assert_ptr_equal(req.path.ptr, s + 4); /* zero-copy */
	assert_ptr_equal(headers[1].value.ptr, s + 32);
	assert_int_equal(headers[1].value.len, 1);

	rv = parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
		   65, &req, &lim_default);
	assert_int_equal(rv, HP_ERR);
	assert_int_equal(req.error_status, 400);
	assert_string_equal(req.error_reason, "several Content-Length fields");
}

/* Field values are scanned a word at a time: every byte value at every
 * offset of a word must still be judged like the byte-class table does. */
static void test_value_bytes(void **state)
{
	(void)state;
	static const char head[] = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
	char in[128];

	for (int b = 0; b < 256; b++) {
		bool valid = b == '\t' || (b >= 0x20 && b != 0x7f);
		for (size_t off = 0; off < 17; off++) {
			size_t len = sizeof(head) - 1;
			memcpy(in, head, len);
			memset(in + len, 'a', off);
			len += off;
			in[len++] = (char)b;
			memset(in + len, 'z', 20);
			len += 20;
			memcpy(in + len, "\r\n\r\n", 4);
			len += 4;
			int rv = parse(in, len, &req, &lim_default);
			if (rv != (valid ? (int)len : HP_ERR))
				print_error("byte 0x%02x at offset %zu: %d\n", b, off, rv);
			assert_int_equal(rv, valid ? (int)len : HP_ERR);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_origin_form),
		cmocka_unit_test(test_absolute_form),
		cmocka_unit_test(test_other_forms),
		cmocka_unit_test(test_body_framing),
		cmocka_unit_test(test_connection),
		cmocka_unit_test(test_expect),
		cmocka_unit_test(test_views_and_errors),
		cmocka_unit_test(test_value_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
