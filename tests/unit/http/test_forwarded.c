/* SPDX-License-Identifier: MIT */
/*
 * test_forwarded.c - the client address behind trusted proxies from
 * X-Forwarded-For: one line per case, as nginx realip with
 * real_ip_recursive on answers it (peer, fields, trusted -> client).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>

#include "core/cidr.h"
#include "http/http.h"

#define MAXF 4

static void set_addr(struct sockaddr_storage *ss, const char *ip)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	sin6->sin6_family = AF_INET6;
}

static void format_addr(const struct sockaddr_storage *ss, char *out, size_t n)
{
	const void *a = ss->ss_family == AF_INET
				? (const void *)&((const struct sockaddr_in *)(const void *)ss)->sin_addr
				: (const void *)&((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr;
	assert_non_null(inet_ntop(ss->ss_family, a, out, (socklen_t)n));
}

/* <peer> sends the X-Forwarded-For values <xff> (NULL-terminated, one
 * field each, with an unrelated field between); <trusted> is a
 * comma-separated CIDR list; the client must come out as <want>. */
static void check(int line, const char *peer, const char *const *xff, const char *trusted,
		  const char *want)
{
	struct hp_cidr list[8];
	size_t nlist = 0;
	char tbuf[256];
	strcpy(tbuf, trusted);
	for (char *save = NULL, *tok = strtok_r(tbuf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save))
		assert_true(hp_cidr_parse(tok, &list[nlist++]));
	struct hp_http_header h[2 * MAXF];
	size_t n = 0;
	for (size_t i = 0; xff[i] != NULL; i++) {
		h[n++] = (struct hp_http_header){HP_STR("X-Forwarded-For"),
						 {xff[i], strlen(xff[i])}};
		h[n++] = (struct hp_http_header){HP_STR("X-Other"), HP_STR("9.9.9.9")};
	}
	struct sockaddr_storage a;
	set_addr(&a, peer);
	bool changed = hp_http_forwarded_client(h, n, list, nlist, &a);
	char got[INET6_ADDRSTRLEN];
	format_addr(&a, got, sizeof(got));
	if (strcmp(got, want) != 0 || changed != (strcmp(want, peer) != 0)) {
		fprintf(stderr, "line %d: got %s (changed %d), want %s\n", line, got, changed, want);
		fail();
	}
}

#define XFF(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})
#define CASE(peer, xff, trusted, want) check(__LINE__, peer, xff, trusted, want)

static void test_forwarded(void **state)
{
	(void)state;
	/* An untrusted peer is the client, whatever it sends. */
	CASE("1.2.3.4", XFF("5.6.7.8"), "10.0.0.0/8", "1.2.3.4");
	CASE("1.2.3.4", XFF("5.6.7.8"), "", "1.2.3.4");
	/* A trusted peer: the right-most untrusted entry. */
	CASE("10.0.0.1", XFF("5.6.7.8"), "10.0.0.0/8", "5.6.7.8");
	CASE("10.0.0.1", XFF("6.6.6.6, 5.6.7.8"), "10.0.0.0/8", "5.6.7.8");
	/* Recursive: trusted entries pass on to the one before. */
	CASE("10.0.0.1", XFF("6.6.6.6, 5.6.7.8, 10.0.0.2"), "10.0.0.0/8", "5.6.7.8");
	CASE("10.0.0.1", XFF("6.6.6.6,5.6.7.8,10.9.9.9 ,  10.0.0.2"), "10.0.0.0/8", "5.6.7.8");
	/* A client spoofing a trusted address on the left gains nothing. */
	CASE("10.0.0.1", XFF("10.1.1.1, 5.6.7.8"), "10.0.0.0/8", "5.6.7.8");
	/* All trusted: the left-most. */
	CASE("10.0.0.1", XFF("10.0.0.7, 10.0.0.2"), "10.0.0.0/8", "10.0.0.7");
	/* No field: the peer. */
	CASE("10.0.0.1", NONE, "10.0.0.0/8", "10.0.0.1");
	CASE("10.0.0.1", XFF(""), "10.0.0.0/8", "10.0.0.1");
	/* Several fields are one list, the last field on the right. */
	CASE("10.0.0.1", XFF("6.6.6.6", "5.6.7.8, 10.0.0.3"), "10.0.0.0/8", "5.6.7.8");
	CASE("10.0.0.1", XFF("6.6.6.6", "10.0.0.3"), "10.0.0.0/8", "6.6.6.6");
	/* Garbage ends the walk at the address before it. */
	CASE("10.0.0.1", XFF("5.6.7.8, junk"), "10.0.0.0/8", "10.0.0.1");
	CASE("10.0.0.1", XFF("5.6.7.8, junk, 10.0.0.2"), "10.0.0.0/8", "10.0.0.2");
	CASE("10.0.0.1", XFF("unknown, 10.0.0.2"), "10.0.0.0/8", "10.0.0.2");
	/* Ports and brackets; IPv6. */
	CASE("10.0.0.1", XFF("5.6.7.8:4711"), "10.0.0.0/8", "5.6.7.8");
	CASE("10.0.0.1", XFF("[2001:db8::1]:4711"), "10.0.0.0/8", "2001:db8::1");
	CASE("10.0.0.1", XFF("2001:db8::1, fd00::2"), "10.0.0.0/8,fd00::/8", "2001:db8::1");
	CASE("fd00::1", XFF("5.6.7.8"), "fd00::/8", "5.6.7.8");
	CASE("10.0.0.1", XFF("[2001:db8::1"), "10.0.0.0/8", "10.0.0.1");
	/* Trust by exact address. */
	CASE("127.0.0.1", XFF("5.6.7.8, 127.0.0.2"), "127.0.0.1", "127.0.0.2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forwarded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
