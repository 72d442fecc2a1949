/* SPDX-License-Identifier: MIT */
/*
 * test_listeners.c - the proxy's listening sockets against real loopback
 * sockets: a port held elsewhere is refused at create and at reload, a
 * reload adds and removes addresses (all or nothing), and sockets exported
 * for an upgrade are adopted by a second proxy while the first still holds
 * them (which the probe bind would refuse if they were bound anew).
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/config.h"
#include "proxy/listeners.h"
#include "proxy/proxy.h"

/* A loopback port nothing listens on right now. */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* A plain listener on <port>, as another program would hold it. */
static int hold_port(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static bool accepts(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* Removal is posted to the workers: wait up to 2 s for the refusal. */
static bool stops_accepting(int port)
{
	for (int i = 0; i < 200; i++) {
		if (!accepts(port))
			return true;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return false;
}

static struct hp_config *config_w(int p1, int p2, int workers)
{
	char text[512];
	if (p2 > 0)
		snprintf(text, sizeof(text),
			 "{\"listen\": [\"127.0.0.1:%d\", \"127.0.0.1:%d\"], \"workers\": %d,"
			 " \"upstreams\": {\"o\": {\"servers\": [\"http://127.0.0.1:9\"]}}}", p1, p2,
			 workers);
	else
		snprintf(text, sizeof(text),
			 "{\"listen\": [\"127.0.0.1:%d\"], \"workers\": %d,"
			 " \"upstreams\": {\"o\": {\"servers\": [\"http://127.0.0.1:9\"]}}}", p1,
			 workers);
	struct hp_config_error err;
	struct hp_config *cfg = hp_config_load_buffer("t.json", text, strlen(text), NULL, NULL, &err);
	if (cfg == NULL)
		fail_msg("%s", err.msg);
	return cfg;
}

static struct hp_config *config(int p1, int p2)
{
	return config_w(p1, p2, 2);
}

static void test_port_in_use_at_create(void **state)
{
	(void)state;
	int port = free_port();
	int held = hold_port(port);
	struct hp_config *cfg = config(port, 0);
	char err[256];
	struct hp_proxy *px = hp_proxy_create(cfg, err, sizeof(err));
	assert_null(px);
	char want[64];
	snprintf(want, sizeof(want), "listen 127.0.0.1:%d: address already in use", port);
	assert_string_equal(err, want);
	close(held);
	hp_config_destroy(cfg);
}

static void test_update_adds_and_removes(void **state)
{
	(void)state;
	int a = free_port();
	int b = free_port();
	int c = free_port();
	struct hp_config *cfg = config(a, 0);
	char err[256];
	struct hp_proxy *px = hp_proxy_create(cfg, err, sizeof(err));
	if (px == NULL)
		fail_msg("%s", err);
	assert_int_equal(hp_proxy_start(px), 0);
	assert_true(accepts(a));
	assert_false(accepts(b));

	/* a and b: b is added, a untouched. */
	struct hp_config *two = config(a, b);
	assert_int_equal(hp_listeners_update(px, two, err, sizeof(err)), 0);
	assert_true(accepts(a));
	assert_true(accepts(b));

	/* b and c while c is held elsewhere: refused, and nothing changes. */
	int held = hold_port(c);
	struct hp_config *busy = config(b, c);
	assert_int_equal(hp_listeners_update(px, busy, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "address already in use"));
	assert_true(accepts(a));
	close(held);

	/* b only: a goes. */
	struct hp_config *only_b = config(b, 0);
	assert_int_equal(hp_listeners_update(px, only_b, err, sizeof(err)), 0);
	assert_true(stops_accepting(a));
	assert_true(accepts(b));

	hp_proxy_stop(px);
	hp_proxy_wait(px);
	hp_proxy_destroy(px);
	hp_config_destroy(only_b);
	hp_config_destroy(busy);
	hp_config_destroy(two);
	hp_config_destroy(cfg);
}

static void test_export_then_adopt(void **state)
{
	(void)state;
	int a = free_port();
	struct hp_config *cfg = config(a, 0);
	char err[256];
	struct hp_proxy *old = hp_proxy_create(cfg, err, sizeof(err));
	if (old == NULL)
		fail_msg("%s", err);
	int *fds;
	size_t nfds;
	char *spec = hp_listeners_export(old, &fds, &nfds);
	assert_int_equal(nfds, 2); /* one per worker */
	char want[64];
	snprintf(want, sizeof(want), "127.0.0.1:%d=%d,%d", a, fds[0], fds[1]);
	assert_string_equal(spec, want);

	/* What the new binary would receive: the same sockets, other numbers. */
	char dup_spec[64];
	int d0 = dup(fds[0]);
	int d1 = dup(fds[1]);
	snprintf(dup_spec, sizeof(dup_spec), "127.0.0.1:%d=%d,%d", a, d0, d1);
	assert_int_equal(hp_listeners_inherit(dup_spec, err, sizeof(err)), 0);
	struct hp_proxy *next = hp_proxy_create(cfg, err, sizeof(err));
	if (next == NULL)
		fail_msg("adopting failed: %s", err);
	hp_listeners_inherit_end();

	/* The old one lets go; the sockets live on in the new one. */
	hp_proxy_destroy(old);
	assert_true(accepts(a));
	hp_proxy_destroy(next);
	assert_false(accepts(a));

	assert_int_equal(hp_listeners_inherit("127.0.0.1:1=x", err, sizeof(err)), -1);
	free(spec);
	free(fds);
	hp_config_destroy(cfg);
}

/* Handing <nfds> sockets of port <a> to a proxy with <workers> workers:
 * created while the sockets' first owner still holds them, so nothing may
 * be bound anew unless it joins with SO_REUSEPORT. Returns the sockets the
 * new proxy exports (all adopted ones, plus those it bound). */
static size_t adopt_into(int a, const int *fds, size_t nfds, int workers)
{
	char spec[128];
	int k = snprintf(spec, sizeof(spec), "127.0.0.1:%d=", a);
	for (size_t i = 0; i < nfds; i++)
		k += snprintf(spec + k, sizeof(spec) - (size_t)k, "%s%d", i ? "," : "", dup(fds[i]));
	char err[256];
	assert_int_equal(hp_listeners_inherit(spec, err, sizeof(err)), 0);
	struct hp_config *cfg = config_w(a, 0, workers);
	struct hp_proxy *px = hp_proxy_create(cfg, err, sizeof(err));
	if (px == NULL)
		fail_msg("adopting into %d workers failed: %s", workers, err);
	hp_listeners_inherit_end();
	int *got;
	size_t n;
	free(hp_listeners_export(px, &got, &n));
	free(got);
	hp_proxy_destroy(px);
	hp_config_destroy(cfg);
	return n;
}

/* Fewer workers keep every inherited socket (no accept queue dropped);
 * more workers bind the missing ones. */
static void test_adopt_other_worker_counts(void **state)
{
	(void)state;
	int a = free_port();
	struct hp_config *cfg = config_w(a, 0, 3);
	char err[256];
	struct hp_proxy *old = hp_proxy_create(cfg, err, sizeof(err));
	if (old == NULL)
		fail_msg("%s", err);
	int *fds;
	size_t nfds;
	free(hp_listeners_export(old, &fds, &nfds));
	assert_int_equal(nfds, 3);
	assert_int_equal(adopt_into(a, fds, nfds, 1), 3);
	assert_int_equal(adopt_into(a, fds, 2, 4), 4);
	free(fds);
	hp_proxy_destroy(old);
	hp_config_destroy(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_in_use_at_create),
		cmocka_unit_test(test_update_adds_and_removes),
		cmocka_unit_test(test_export_then_adopt),
		cmocka_unit_test(test_adopt_other_worker_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
