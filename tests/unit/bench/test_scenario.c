/* SPDX-License-Identifier: MIT */
/*
 * test_scenario.c - scenario files: a good file becomes named, weighted
 * requests with their own bytes; each kind of mistake is refused with the
 * file, the key path and the reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench/scenario.h"

static char path[64];

static void write_file(const char *text)
{
	snprintf(path, sizeof(path), "/tmp/hp-scenario-%d.json", (int)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_good(void **state)
{
	(void)state;
	write_file("{\"base_url\": \"http://127.0.0.1:8080\", \"headers\": {\"Accept\": \"*/*\"},\n"
		   " \"requests\": [\n"
		   "  {\"name\": \"home\", \"url\": \"/\", \"weight\": 5, \"think\": \"250ms\"},\n"
		   "  {\"name\": \"search\", \"method\": \"POST\", \"url\": \"/s\",\n"
		   "   \"headers\": {\"Content-Type\": \"application/json\"}, \"body\": \"{}\"},\n"
		   "  {\"url\": \"http://127.0.0.1:9090/x\"}]}\n");
	const char *extra[] = {"X-Run: 1"};
	struct hp_bench_target *t = NULL;
	size_t n = 0;
	char err[256] = "";
	assert_int_equal(hp_bench_scenario_load(path, extra, 1, true, &t, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(t[0].name, "home");
	assert_int_equal(t[0].weight, 5);
	assert_int_equal(t[0].think_ns, 250000000ull);
	assert_string_equal(t[0].req, "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
				      "User-Agent: hotpath-bench\r\nX-Run: 1\r\nAccept: */*\r\n\r\n");
	assert_string_equal(t[1].req, "POST /s HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
				      "User-Agent: hotpath-bench\r\nX-Run: 1\r\nAccept: */*\r\n"
				      "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
	assert_string_equal(t[2].name, "http://127.0.0.1:9090/x"); /* unnamed: the URL */
	assert_string_equal(t[2].hostport, "127.0.0.1:9090");
	assert_int_equal(t[2].weight, 1);
	for (size_t i = 0; i < n; i++)
		hp_bench_target_fini(&t[i]);
	free(t);
	unlink(path);
}

static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *want; /* in the message, after the file name */
	} cases[] = {
	    {"{\"requests\": [", ":1:"}, /* syntax error: line and column */
	    {"[]", "(top level): expected an object"},
	    {"{\"requests\": []}", "requests: expected a non-empty array"},
	    {"{\"request\": []}", "request: unknown key"},
	    {"{\"requests\": [{\"url\": \"/\"}]}", "requests[0].url: a path needs \"base_url\""},
	    {"{\"requests\": [{\"name\": \"a\"}]}", "requests[0].url: expected a string"},
	    {"{\"base_url\": \"http://127.0.0.1\", \"requests\": [{\"url\": \"/\"},"
	     " {\"url\": \"/\", \"weight\": 0}]}",
	     "requests[1].weight: expected a whole number"},
	    {"{\"base_url\": \"http://127.0.0.1\", \"requests\": [{\"url\": \"/\", \"wieght\": 2}]}",
	     "requests[0].wieght: unknown key"},
	    {"{\"base_url\": \"http://127.0.0.1\", \"requests\": [{\"url\": \"/\", \"think\": \"soon\"}]}",
	     "requests[0].think: expected a duration"},
	    {"{\"base_url\": \"http://127.0.0.1\", \"requests\": [{\"url\": \"/\", \"think\": 5}]}",
	     "requests[0].think: expected a duration"},
	    {"{\"base_url\": \"http://127.0.0.1\", \"requests\": [{\"url\": \"/\","
	     " \"headers\": {\"Bad Name\": \"x\"}}]}",
	     "requests[0].headers.Bad Name: not a valid header"},
	    {"{\"base_url\": \"http://127.0.0.1\", \"requests\": [{\"url\": \"/\","
	     " \"method\": \"GE T\"}]}",
	     "requests[0].method: expected a method token"},
	    {"{\"requests\": [{\"url\": \"https://127.0.0.1/\"}]}", "requests[0]: \"https://"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file(cases[i].text);
		struct hp_bench_target *t = NULL;
		size_t n = 0;
		char err[256] = "";
		assert_int_equal(hp_bench_scenario_load(path, NULL, 0, true, &t, &n, err, sizeof(err)),
				 -1);
		if (strncmp(err, path, strlen(path)) != 0 || strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].want);
		unlink(path);
	}
	struct hp_bench_target *t = NULL;
	size_t n = 0;
	char err[256] = "";
	assert_int_equal(hp_bench_scenario_load("/nonexistent/x.json", NULL, 0, true, &t, &n, err,
						sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "/nonexistent/x.json"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
