/* SPDX-License-Identifier: MIT */
/*
 * test_threads.c - scrapes while workers record (built with ThreadSanitizer
 * as well): two owner threads record into their shards and intern new route
 * names while the main thread scrapes, and the final scrape counts every
 * request exactly.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "metrics/metrics.h"

#define NREQ 20000
#define NNAMES 40

static void *owner(void *arg)
{
	struct hp_metrics_shard *s = arg;
	for (int i = 0; i < NREQ; i++) {
		char name[16];
		snprintf(name, sizeof(name), "/r%d", i % NNAMES);
		/* Interning while a scrape reads the slots is what is tested. */
		unsigned route = hp_metrics_route(s, name);
		struct hp_metrics_request r = {.route = route, .method = HP_METRICS_GET,
					       .status = 200, .cache = HP_METRICS_HIT,
					       .duration_us = (uint64_t)i, .upstream = i % 2,
					       .upstream_us = 5, .bytes_out = 1};
		hp_metrics_record(s, &r);
	}
	return NULL;
}

static void test_scrape_while_recording(void **state)
{
	(void)state;
	struct hp_metrics_shard *sh[2] = {hp_metrics_shard_create(), hp_metrics_shard_create()};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, owner, sh[i]), 0);
	struct hp_metrics_values v = {.version = "t"};
	for (int k = 0; k < 20; k++) {
		struct hp_buf b = {0};
		hp_metrics_write(sh, 2, &v, &b);
		hp_buf_fini(&b);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	struct hp_buf b = {0};
	hp_metrics_write(sh, 2, &v, &b);
	hp_buf_append_byte(&b, '\0');
	const char *text = hp_buf_data(&b);
	char line[160];
	snprintf(line, sizeof(line), "hotpath_response_bytes_total %d\n", 2 * NREQ);
	assert_non_null(strstr(text, line));
	snprintf(line, sizeof(line),
		 "hotpath_requests_total{route=\"/r7\",method=\"GET\",status=\"2xx\",cache=\"hit\"} %d\n",
		 2 * NREQ / NNAMES);
	assert_non_null(strstr(text, line));
	hp_buf_fini(&b);
	hp_metrics_shard_destroy(sh[0]);
	hp_metrics_shard_destroy(sh[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scrape_while_recording),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
