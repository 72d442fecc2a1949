/* SPDX-License-Identifier: MIT */
/*
 * test_cidr.c - address range parsing and matching, including IPv4-mapped
 * IPv6 peers matching IPv4 entries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "core/cidr.h"

static struct sockaddr_storage addr(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
	return ss;
}

static bool matches(const char *range, const char *ip)
{
	struct hp_cidr c;
	struct sockaddr_storage ss = addr(ip);

	assert_true(hp_cidr_parse(range, &c));
	return hp_cidr_match(&c, 1, (struct sockaddr *)&ss);
}

static void test_parse_valid(void **state)
{
	static const struct {
		const char *in;
		const char *formatted;
	} cases[] = {
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"127.0.0.1", "127.0.0.1/32"},
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"192.168.1.77/23", "192.168.0.0/23"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"::1", "::1/128"},
		{"2001:db8::1/32", "2001:db8::/32"},
		{"fe80::/10", "fe80::/10"},
		{"::/0", "::/0"},
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hp_cidr c;
		assert_true(hp_cidr_parse(cases[i].in, &c));
		assert_string_equal(hp_cidr_format(&c, buf, sizeof(buf)), cases[i].formatted);
	}
}

static void test_parse_invalid(void **state)
{
	static const char *const bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8",
		"10.0.0.0/ 8", "10.0.0", "10.0.0.256", "::1/129", "example.com",
		"10.0.0.0/8/8", "10.0.0.0 /8", "1:2:3:4:5:6:7:8:9",
		"0123456789012345678901234567890123456789012345678901234567",
	};
	struct hp_cidr c;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (hp_cidr_parse(bad[i], &c))
			fail_msg("accepted \"%s\"", bad[i]);
	}
}

static void test_match_v4(void **state)
{
	(void)state;
	assert_true(matches("10.0.0.0/8", "10.255.1.2"));
	assert_false(matches("10.0.0.0/8", "11.0.0.1"));
	assert_true(matches("192.168.0.0/23", "192.168.1.255"));
	assert_false(matches("192.168.0.0/23", "192.168.2.0"));
	assert_true(matches("127.0.0.1", "127.0.0.1"));
	assert_false(matches("127.0.0.1", "127.0.0.2"));
	assert_true(matches("0.0.0.0/0", "8.8.8.8"));
	/* A v4 range never matches a real v6 peer, and the reverse. */
	assert_false(matches("0.0.0.0/0", "2001:db8::1"));
	assert_false(matches("::/0", "10.0.0.1"));
}

static void test_match_v6_and_mapped(void **state)
{
	(void)state;
	assert_true(matches("::1", "::1"));
	assert_false(matches("::1", "::2"));
	assert_true(matches("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(matches("2001:db8::/32", "2001:db9::1"));
	assert_true(matches("fe80::/10", "febf::1"));
	assert_false(matches("fe80::/10", "fec0::1"));
	/* Dual-stack listeners report v4 peers as ::ffff:a.b.c.d. */
	assert_true(matches("127.0.0.0/8", "::ffff:127.0.0.1"));
	assert_false(matches("127.0.0.0/8", "::ffff:10.0.0.1"));
	assert_true(matches("::ffff:0:0/96", "::ffff:10.0.0.1"));
}

static void test_match_list(void **state)
{
	struct hp_cidr list[2];
	struct sockaddr_storage a = addr("::1");
	struct sockaddr_storage b = addr("127.3.4.5");
	struct sockaddr_storage c = addr("10.0.0.1");
	struct sockaddr_storage unix_peer;

	(void)state;
	assert_true(hp_cidr_parse("127.0.0.0/8", &list[0]));
	assert_true(hp_cidr_parse("::1/128", &list[1]));
	assert_true(hp_cidr_match(list, 2, (struct sockaddr *)&a));
	assert_true(hp_cidr_match(list, 2, (struct sockaddr *)&b));
	assert_false(hp_cidr_match(list, 2, (struct sockaddr *)&c));
	assert_false(hp_cidr_match(list, 0, (struct sockaddr *)&b));
	memset(&unix_peer, 0, sizeof(unix_peer));
	unix_peer.ss_family = AF_UNIX;
	assert_false(hp_cidr_match(list, 2, (struct sockaddr *)&unix_peer));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_match_v4),
		cmocka_unit_test(test_match_v6_and_mapped),
		cmocka_unit_test(test_match_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
