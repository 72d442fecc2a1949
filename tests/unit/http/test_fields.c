/* SPDX-License-Identifier: MIT */
/*
 * test_fields.c - the field helpers: lookup, list tokens, hop-by-hop names,
 * Connection-listed names, methods, status reasons and Host syntax.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/http.h"

#define S(lit) HP_STR(lit)
#define FIELD(n, v) {HP_STR(n), HP_STR(v)}

static const struct hp_http_header fields[] = {
	FIELD("Host", "a"),
	FIELD("Connection", "keep-alive, X-Secret"),
	FIELD("x-secret", "1"),
	FIELD("X-Secret", "2"),
	FIELD("connection", "Upgrade"),
};

static void test_find_header(void **state)
{
	(void)state;
	const struct hp_http_header *h = hp_http_find_header(fields, 5, "X-SECRET");
	assert_ptr_equal(h, &fields[2]); /* the first one */
	assert_ptr_equal(hp_http_find_header(fields, 5, "host"), &fields[0]);
	assert_null(hp_http_find_header(fields, 5, "Hos"));
	assert_null(hp_http_find_header(fields, 0, "Host"));
}

static void test_has_token(void **state)
{
	(void)state;
	assert_true(hp_http_has_token(S("close"), "close"));
	assert_true(hp_http_has_token(S("Keep-Alive, CLOSE"), "close"));
	assert_true(hp_http_has_token(S(" ,, close ,"), "close"));
	assert_true(hp_http_has_token(S("a,\tclose\t"), "close"));
	assert_false(hp_http_has_token(S("closed"), "close"));
	assert_false(hp_http_has_token(S("unclose"), "close"));
	assert_false(hp_http_has_token(S("clo se"), "close"));
	assert_false(hp_http_has_token(S(""), "close"));
}

static void test_hop_by_hop(void **state)
{
	(void)state;
	static const char *const hop[] = {"Connection", "keep-alive", "Proxy-Connection", "TE",
					  "transfer-encoding", "UPGRADE", "Trailer"};
	for (size_t i = 0; i < HP_ARRAY_SIZE(hop); i++)
		assert_true(hp_http_is_hop_by_hop((struct hp_str){hop[i], strlen(hop[i])}));
	assert_false(hp_http_is_hop_by_hop(S("Trailers")));
	assert_false(hp_http_is_hop_by_hop(S("Content-Length")));
	assert_false(hp_http_is_hop_by_hop(S("Host")));
	assert_false(hp_http_is_hop_by_hop(S("T")));

	assert_true(hp_http_connection_lists(fields, 5, S("x-secret")));
	assert_true(hp_http_connection_lists(fields, 5, S("upgrade"))); /* second field */
	assert_false(hp_http_connection_lists(fields, 5, S("Host")));
	assert_false(hp_http_connection_lists(fields, 1, S("x-secret")));
}

static void test_methods(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		enum hp_http_method id;
		bool safe, idempotent;
	} tbl[] = {
		{"GET", HP_METHOD_GET, true, true},
		{"HEAD", HP_METHOD_HEAD, true, true},
		{"POST", HP_METHOD_POST, false, false},
		{"PUT", HP_METHOD_PUT, false, true},
		{"DELETE", HP_METHOD_DELETE, false, true},
		{"PATCH", HP_METHOD_PATCH, false, false},
		{"OPTIONS", HP_METHOD_OPTIONS, true, true},
		{"TRACE", HP_METHOD_TRACE, true, true},
		{"CONNECT", HP_METHOD_CONNECT, false, false},
		{"PURGE", HP_METHOD_PURGE, false, false},
		{"get", HP_METHOD_OTHER, false, false},
		{"GETS", HP_METHOD_OTHER, false, false},
		{"GE", HP_METHOD_OTHER, false, false},
		{"", HP_METHOD_OTHER, false, false},
	};
	for (size_t i = 0; i < HP_ARRAY_SIZE(tbl); i++) {
		enum hp_http_method m =
			hp_http_method_from((struct hp_str){tbl[i].name, strlen(tbl[i].name)});
		assert_int_equal(m, tbl[i].id);
		assert_int_equal(hp_http_method_is_safe(m), tbl[i].safe);
		assert_int_equal(hp_http_method_is_idempotent(m), tbl[i].idempotent);
	}
}

static void test_status_reason(void **state)
{
	(void)state;
	assert_string_equal(hp_http_status_reason(200), "OK");
	assert_string_equal(hp_http_status_reason(404), "Not Found");
	assert_string_equal(hp_http_status_reason(413), "Content Too Large");
	assert_string_equal(hp_http_status_reason(429), "Too Many Requests");
	assert_string_equal(hp_http_status_reason(431), "Request Header Fields Too Large");
	assert_string_equal(hp_http_status_reason(504), "Gateway Timeout");
	assert_string_equal(hp_http_status_reason(299), "Unknown");
	assert_string_equal(hp_http_status_reason(-1), "Unknown");
}

static void test_valid_host(void **state)
{
	(void)state;
	static const struct {
		const char *host;
		bool valid;
	} tbl[] = {
		{"example.com", true},      {"EXAMPLE.com:80", true}, {"a", true},
		{"10.1.2.3", true},         {"10.1.2.3:65535", true}, {"a:", true},
		{"[::1]", true},            {"[::1]:443", true},      {"[2001:db8::a:b]", true},
		{"[::ffff:1.2.3.4]", true}, {"[v7.a:b]", true},       {"a-b_c~d.e", true},
		{"a%41b", true},            {"!$&'()*+,;=", true},
		{"", false},                {":80", false},           {"a:65536", false},
		{"a:123456", false},        {"a:-1", false},          {"a:8 ", false},
		{"a b", false},             {"u@a", false},           {"a/b", false},
		{"a?b", false},             {"a#b", false},           {"[::1", false},
		{"::1", false},             {"[]", false},            {"[::1]:x", false},
		{"[::1]a", false},          {"[:::1]", false},        {"[v.a]", false},
		{"[v1.]", false},           {"[v1.a/b]", false},      {"a%4", false},
		{"a%4g", false},            {"a\tb", false},          {"caf\xc3\xa9", false},
		{"a:1:2", false},
		{"[0123456789:0123456789:0123456789:0123456789]", false},
	};
	for (size_t i = 0; i < HP_ARRAY_SIZE(tbl); i++) {
		bool v = hp_http_valid_host((struct hp_str){tbl[i].host, strlen(tbl[i].host)});
		if (v != tbl[i].valid)
			print_error("\"%s\": got %d\n", tbl[i].host, v);
		assert_int_equal(v, tbl[i].valid);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_header), cmocka_unit_test(test_has_token),
		cmocka_unit_test(test_hop_by_hop),  cmocka_unit_test(test_methods),
		cmocka_unit_test(test_status_reason), cmocka_unit_test(test_valid_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
