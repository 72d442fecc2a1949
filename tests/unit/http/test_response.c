/* SPDX-License-Identifier: MIT */
/*
 * test_response.c - hp_http_parse_response(): one table line per input with
 * the request method and the expected framing, parsed in one shot against a
 * guard page and again for every prefix (HP_AGAIN until decided, then the
 * same answer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/http.h"
#include "unit/http/guard.h"

#define MAX_FIELDS 8

static const struct hp_http_limits lim_default = {256, 1024, MAX_FIELDS};
static const struct hp_http_limits lim_small = {256, 40, 2};

struct resp_case {
	int line;
	const char *in;
	size_t len;
	enum hp_http_method method; /* of the request answered */
	int ret;                    /* HP_OK: whole input is the head; else HP_AGAIN or HP_ERR */
	enum hp_http_body body;
	uint64_t content_length;
	bool keep_alive;
	const struct hp_http_limits *lim;
};

#define CASE(in, m, ret, body, cl, ka, lim) \
	{__LINE__, in, sizeof(in) - 1, HP_METHOD_##m, ret, HP_BODY_##body, cl, ka, lim}
#define OK(in, m, body, cl, ka) CASE(in, m, HP_OK, body, cl, ka, NULL)
#define AGAIN(in) CASE(in, GET, HP_AGAIN, NONE, 0, false, NULL)
#define BAD(in, m) CASE(in, m, HP_ERR, NONE, 0, false, NULL)

#define S200 "HTTP/1.1 200 OK\r\n"
#define CL5 "Content-Length: 5\r\n"
#define TE "Transfer-Encoding: chunked\r\n"
#define KEEP true
#define DROP false

static const struct resp_case cases[] = {
	OK(S200 CL5 "\r\n", GET, LENGTH, 5, KEEP),
	OK(S200 "Content-Length: 0\r\n\r\n", GET, LENGTH, 0, KEEP),
	OK(S200 TE "\r\n", GET, CHUNKED, 0, KEEP),
	OK(S200 "Transfer-Encoding: gzip, chunked\r\n\r\n", GET, CHUNKED, 0, KEEP),
	OK(S200 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", GET, CHUNKED,
	   0, KEEP),
	OK(S200 "Transfer-Encoding: gzip\r\n\r\n", GET, CLOSE, 0, DROP),
	OK(S200 "Transfer-Encoding: chunked, gzip\r\n\r\n", GET, CLOSE, 0, DROP),
	OK(S200 "\r\n", GET, CLOSE, 0, DROP),
	OK(S200 "Connection: close\r\n" CL5 "\r\n", GET, LENGTH, 5, DROP),
	OK(S200 "Connection: keep-alive\r\n" CL5 "\r\n", GET, LENGTH, 5, KEEP),
	OK("HTTP/1.0 200 OK\r\n" CL5 "\r\n", GET, LENGTH, 5, DROP),
	OK("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n" CL5 "\r\n", GET, LENGTH, 5, KEEP),
	OK("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n" TE "\r\n", GET, CHUNKED, 0, DROP),
	OK("HTTP/1.2 200 OK\r\n" CL5 "\r\n", GET, LENGTH, 5, KEEP),
	OK("HTTP/1.1 200\r\n" CL5 "\r\n", GET, LENGTH, 5, KEEP),     /* no reason, no SP */
	OK("HTTP/1.1 200 \r\n" CL5 "\r\n", GET, LENGTH, 5, KEEP),
	OK("HTTP/1.1 200 Fine\tby me \xc3\xa9\r\n" CL5 "\r\n", GET, LENGTH, 5, KEEP),
	OK("HTTP/1.1 999 Odd\r\n" CL5 "\r\n", GET, LENGTH, 5, KEEP),
	OK("HTTP/1.1 200 OK\n" CL5 "\n", GET, LENGTH, 5, KEEP),
	/* no body whatever the framing fields say (RFC 9112 §6.3 rule 1) */
	OK(S200 "Content-Length: 100\r\n\r\n", HEAD, NONE, 0, KEEP),
	OK(S200 TE "\r\n", HEAD, NONE, 0, KEEP),
	OK(S200 "\r\n", HEAD, NONE, 0, KEEP),
	OK("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", GET, NONE, 0, KEEP),
	OK("HTTP/1.1 204 No Content\r\n\r\n", GET, NONE, 0, KEEP),
	OK("HTTP/1.1 100 Continue\r\n\r\n", PUT, NONE, 0, KEEP),
	OK("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n", GET, NONE, 0, KEEP),
	OK("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", GET, NONE, 0,
	   DROP),
	OK("HTTP/1.1 200 Connection established\r\n\r\n", CONNECT, NONE, 0, DROP),
	OK("HTTP/1.1 407 Auth\r\n" CL5 "\r\n", CONNECT, LENGTH, 5, KEEP),

	AGAIN(""),
	AGAIN("HTTP/1.1 200 OK\r\n"),
	AGAIN("HTTP/1.1 200 OK\r\n" CL5 "\r"),
	AGAIN("HTTP/1.1 200"),

	BAD(S200 CL5 TE "\r\n", GET),
	BAD(S200 TE CL5 "\r\n", GET),
	BAD(S200 "Transfer-Encoding: gzip\r\n" CL5 "\r\n", GET),
	BAD("HTTP/1.1 304 Not Modified\r\n" TE CL5 "\r\n", GET),
	BAD(S200 CL5 CL5 "\r\n", GET),
	BAD(S200 CL5 CL5 "\r\n", HEAD),
	BAD(S200 "Content-Length: 5, 5\r\n\r\n", GET),
	BAD(S200 "Content-Length: -5\r\n\r\n", GET),
	BAD(S200 "Content-Length: 99999999999999999999\r\n\r\n", GET),
	BAD(S200 "Transfer-Encoding: chunked, chunked\r\n\r\n", GET),
	BAD(S200 "Transfer-Encoding:\r\n\r\n", GET),
	BAD("HTTP/1.1 20 OK\r\n\r\n", GET),
	BAD("HTTP/1.1 2000 OK\r\n\r\n", GET),
	BAD("HTTP/1.1 020 OK\r\n\r\n", GET),
	BAD("HTTP/1.1 abc OK\r\n\r\n", GET),
	BAD("HTTP/1.1  200 OK\r\n\r\n", GET),
	BAD("HTTP/1.1 200\tOK\r\n\r\n", GET),
	BAD("HTTP/2.0 200 OK\r\n\r\n", GET),
	BAD("HTTP/0.9 200 OK\r\n\r\n", GET),
	BAD("http/1.1 200 OK\r\n\r\n", GET),
	BAD("ICY 200 OK\r\n\r\n", GET),
	BAD("HTTP/1.1 200 O\rK\r\n\r\n", GET),
	BAD("HTTP/1.1 200 O\0K\r\n\r\n", GET),
	BAD("HTTP/1.1 200 OK\r\n" CL5 " X: y\r\n\r\n", GET),
	BAD("HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n", GET),
	BAD("HTTP/1.1 200 OK\r\nX: a\x01\r\n\r\n", GET),
	BAD("HTTP/1.1 200 OK\r\n" CL5 "\r\r\n", GET),
	CASE("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", GET, HP_ERR, NONE, 0, false,
	     &lim_small),
	CASE("HTTP/1.1 200 OK\r\nA: 11111111111111111111111", GET, HP_ERR, NONE, 0, false,
	     &lim_small),
};

static int parse(const struct resp_case *c, size_t len, struct hp_http_response *resp)
{
	static struct hp_http_header headers[MAX_FIELDS];

	return hp_http_parse_response(guard_copy(c->in, len), len, resp, headers,
				      c->lim ? c->lim : &lim_default, c->method);
}

static bool check_prefixes(const struct resp_case *c, int want)
{
	struct hp_http_response resp;
	bool decided = false;

	for (size_t i = 0; i < c->len; i++) {
		int rv = parse(c, i, &resp);
		bool ok = rv == HP_AGAIN ? !decided : rv == want;
		decided |= rv != HP_AGAIN;
		if (!ok) {
			print_error("line %d: prefix of %zu bytes gave %d\n", c->line, i, rv);
			return false;
		}
	}
	return true;
}

static bool check_case(const struct resp_case *c)
{
	struct hp_http_response resp;
	int want = c->ret == HP_OK ? (int)c->len : c->ret;
	int rv = parse(c, c->len, &resp);

	if (rv != want) {
		print_error("line %d: got %d (%s), want %d\n", c->line, rv,
			    rv == HP_ERR ? resp.error_reason : "", want);
		return false;
	}
	if (rv == HP_ERR && resp.error_reason == NULL) {
		print_error("line %d: no error reason\n", c->line);
		return false;
	}
	if (rv > 0 && (resp.body != c->body || resp.content_length != c->content_length ||
		       resp.keep_alive != c->keep_alive)) {
		print_error("line %d: body %d length %llu keep-alive %d\n", c->line, resp.body,
			    (unsigned long long)resp.content_length, resp.keep_alive);
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

static void test_fields(void **state)
{
	(void)state;
	const char *s = "HTTP/1.0 404 Not Found\r\nServer: x\r\nContent-Length: 9\r\n\r\n";
	struct hp_http_header headers[MAX_FIELDS];
	struct hp_http_response resp;

	assert_int_equal(hp_http_parse_response(s, strlen(s), &resp, headers, &lim_default,
						HP_METHOD_GET),
			 (int)strlen(s));
	assert_int_equal(resp.minor_version, 0);
	assert_int_equal(resp.status, 404);
	assert_true(hp_str_eq(resp.reason, "Not Found"));
	assert_ptr_equal(resp.reason.ptr, s + 13);
	assert_ptr_equal(resp.headers, headers);
	assert_int_equal(resp.num_headers, 2);
	assert_true(hp_str_eq(headers[0].name, "Server"));
	assert_true(hp_str_eq(headers[1].value, "9"));
}

/* The interim 100 is its own head; the final response follows it in the buffer. */
static void test_continue_then_final(void **state)
{
	(void)state;
	const char *s = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
			"Content-Length: 0\r\n\r\n";
	struct hp_http_header headers[MAX_FIELDS];
	struct hp_http_response resp;

	int n = hp_http_parse_response(s, strlen(s), &resp, headers, &lim_default,
				       HP_METHOD_PUT);
	assert_int_equal(n, 25);
	assert_int_equal(resp.status, 100);
	assert_int_equal(resp.body, HP_BODY_NONE);
	int m = hp_http_parse_response(s + n, strlen(s) - (size_t)n, &resp, headers,
				       &lim_default, HP_METHOD_PUT);
	assert_int_equal(m, (int)strlen(s) - n);
	assert_int_equal(resp.status, 201);
	assert_int_equal(resp.body, HP_BODY_LENGTH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_continue_then_final),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
