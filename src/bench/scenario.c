/* SPDX-License-Identifier: MIT */
/*
 * scenario.c - read a scenario file (jansson) into request targets.
 *
 *   {"base_url": "http://127.0.0.1:8080",          optional
 *    "headers": {"Accept": "application/json"},     optional, every request
 *    "requests": [
 *      {"name": "home", "url": "/", "weight": 5, "think": "100ms"},
 *      {"name": "search", "method": "POST", "url": "/search",
 *       "headers": {"Content-Type": "application/json"}, "body": "{}"}]}
 *
 * Every error names the file, the key path ("requests[1].weight") and the
 * reason; unknown keys are errors too, since a misspelt "wieght" silently
 * ignored would skew the mix the test claims to run.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/duration.h"
#include "bench/scenario.h"
#include "core/core.h"

#define MAX_REQ_HEADERS 64
#define MAX_WEIGHT 1000000

struct ctx {
	const char *path; /* the file, for messages */
	char *err;
	size_t errlen;
};

static int fail(struct ctx *x, const char *key, const char *why)
{
	snprintf(x->err, x->errlen, "%s: %s: %s", x->path, key, why);
	return -1;
}

static bool allowed(const char *key, const char *const *keys)
{
	for (; *keys; keys++)
		if (strcmp(key, *keys) == 0)
			return true;
	return false;
}

static int check_keys(struct ctx *x, json_t *obj, const char *at, const char *const *keys)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		if (!allowed(key, keys)) {
			char where[256];
			snprintf(where, sizeof(where), "%s%s%s", at, *at ? "." : "", key);
			return fail(x, where, "unknown key");
		}
	}
	return 0;
}

/* Append the members of header object <h> (at key path <at>) to <lines>. */
static int take_headers(struct ctx *x, json_t *h, const char *at, char **lines, size_t *n)
{
	if (h == NULL)
		return 0;
	if (!json_is_object(h))
		return fail(x, at, "expected an object of \"Name\": \"value\"");
	const char *name;
	json_t *v;
	json_object_foreach(h, name, v)
	{
		char where[256];
		snprintf(where, sizeof(where), "%s.%s", at, name);
		if (!json_is_string(v))
			return fail(x, where, "expected a string value");
		if (*n == MAX_REQ_HEADERS)
			return fail(x, where, "too many headers (at most 64 per request)");
		size_t len = strlen(name) + json_string_length(v) + sizeof(": ");
		char *line = hp_xmalloc(len);
		snprintf(line, len, "%s: %s", name, json_string_value(v));
		lines[(*n)++] = line;
		if (!hp_bench_header_valid(line))
			return fail(x, where, "not a valid header name or value");
	}
	return 0;
}

static const char *opt_string(json_t *o, const char *key, const char *dflt, bool *bad)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL)
		return dflt;
	if (!json_is_string(v))
		*bad = true;
	return json_is_string(v) ? json_string_value(v) : dflt;
}

/* Fields of request <i> other than headers. */
static int take_fields(struct ctx *x, json_t *r, const char *at, const char *base,
		       struct hp_bench_req_spec *spec, const char **name, char **url,
		       unsigned *weight, uint64_t *think_ns)
{
	static const char *const keys[] = {"name", "method", "url", "headers", "body",
					   "weight", "think", NULL};
	char where[256];
	if (check_keys(x, r, at, keys) < 0)
		return -1;
	bool bad = false;
	const char *u = opt_string(r, "url", NULL, &bad);
	snprintf(where, sizeof(where), "%s.url", at);
	if (bad || u == NULL)
		return fail(x, where, "expected a string: a path (with base_url) or http://...");
	if (u[0] == '/' && base == NULL)
		return fail(x, where, "a path needs \"base_url\" at the top level");
	size_t len = (u[0] == '/' ? strlen(base) : 0) + strlen(u) + 1;
	*url = hp_xmalloc(len);
	snprintf(*url, len, "%s%s", u[0] == '/' ? base : "", u);
	*name = opt_string(r, "name", *url, &bad);
	snprintf(where, sizeof(where), "%s.name", at);
	if (bad || **name == '\0')
		return fail(x, where, "expected a non-empty string");
	spec->method = opt_string(r, "method", NULL, &bad);
	snprintf(where, sizeof(where), "%s.method", at);
	if (bad || (spec->method && (*spec->method == '\0' || strpbrk(spec->method, " \t\r\n"))))
		return fail(x, where, "expected a method token such as \"GET\"");
	json_t *body = json_object_get(r, "body");
	snprintf(where, sizeof(where), "%s.body", at);
	if (body != NULL && !json_is_string(body))
		return fail(x, where, "expected a string");
	spec->body = body ? json_string_value(body) : NULL;
	spec->body_len = body ? json_string_length(body) : 0;
	if (spec->method == NULL)
		spec->method = body ? "POST" : "GET";
	json_t *w = json_object_get(r, "weight");
	snprintf(where, sizeof(where), "%s.weight", at);
	if (w != NULL && (!json_is_integer(w) || json_integer_value(w) < 1 ||
			  json_integer_value(w) > MAX_WEIGHT))
		return fail(x, where, "expected a whole number from 1 to 1000000");
	*weight = w ? (unsigned)json_integer_value(w) : 1;
	const char *think = opt_string(r, "think", NULL, &bad);
	snprintf(where, sizeof(where), "%s.think", at);
	if (bad || (think && !hp_bench_parse_duration(think, strlen(think), think_ns)))
		return fail(x, where, "expected a duration string such as \"250ms\" or \"1s\"");
	return 0;
}

static void free_lines(char **lines, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		free(lines[i]);
}

static int take_request(struct ctx *x, json_t *r, size_t i, const char *base, char **lines,
			size_t nshared, bool keepalive, struct hp_bench_target *t)
{
	char at[64];
	snprintf(at, sizeof(at), "requests[%zu]", i);
	if (!json_is_object(r))
		return fail(x, at, "expected an object with at least \"url\"");
	struct hp_bench_req_spec spec = {.keepalive = keepalive};
	const char *name = NULL;
	char *url = NULL;
	unsigned weight = 1;
	uint64_t think_ns = 0;
	size_t n = nshared;
	char hat[96];
	snprintf(hat, sizeof(hat), "%s.headers", at);
	int rc = take_fields(x, r, at, base, &spec, &name, &url, &weight, &think_ns);
	if (rc == 0)
		rc = take_headers(x, json_object_get(r, "headers"), hat, lines, &n);
	if (rc == 0) {
		spec.headers = (const char *const *)lines;
		spec.nheaders = n;
		char why[256];
		rc = hp_bench_target_init(t, name, url, &spec, why, sizeof(why));
		if (rc < 0)
			fail(x, at, why);
		t->weight = weight;
		t->think_ns = think_ns;
	}
	free_lines(lines, nshared, n);
	free(url);
	return rc;
}

static int take_top(struct ctx *x, json_t *root, const char **base, json_t **reqs)
{
	static const char *const keys[] = {"base_url", "headers", "requests", NULL};
	if (!json_is_object(root))
		return fail(x, "(top level)", "expected an object with \"requests\"");
	if (check_keys(x, root, "", keys) < 0)
		return -1;
	bool bad = false;
	*base = opt_string(root, "base_url", NULL, &bad);
	if (bad)
		return fail(x, "base_url", "expected a string such as \"http://127.0.0.1:8080\"");
	*reqs = json_object_get(root, "requests");
	if (!json_is_array(*reqs) || json_array_size(*reqs) == 0)
		return fail(x, "requests", "expected a non-empty array of requests");
	return 0;
}

static int take_all(struct ctx *x, json_t *root, const char *const *extra, size_t nextra,
		    bool keepalive, struct hp_bench_target **out, size_t *count)
{
	const char *base;
	json_t *reqs;
	if (take_top(x, root, &base, &reqs) < 0)
		return -1;
	char *lines[2 * MAX_REQ_HEADERS];
	size_t nshared = 0;
	for (; nshared < nextra && nshared < MAX_REQ_HEADERS; nshared++)
		lines[nshared] = hp_xstrdup(extra[nshared]);
	int rc = take_headers(x, json_object_get(root, "headers"), "headers", lines, &nshared);
	size_t n = json_array_size(reqs);
	struct hp_bench_target *ts = hp_xcalloc(n, sizeof(*ts));
	size_t done = 0;
	for (; rc == 0 && done < n; done++)
		rc = take_request(x, json_array_get(reqs, done), done, base, lines, nshared,
				  keepalive, &ts[done]);
	free_lines(lines, 0, nshared);
	if (rc < 0) {
		for (size_t i = 0; i < done; i++)
			hp_bench_target_fini(&ts[i]);
		free(ts);
		return -1;
	}
	*out = ts;
	*count = n;
	return 0;
}

int hp_bench_scenario_load(const char *path, const char *const *extra, size_t nextra,
			   bool keepalive, struct hp_bench_target **out, size_t *n, char *err,
			   size_t errlen)
{
	struct ctx x = {.path = path, .err = err, .errlen = errlen};
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		if (je.line > 0)
			snprintf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
		else
			snprintf(err, errlen, "%s: %s", path, je.text);
		return -1;
	}
	int rc = take_all(&x, root, extra, nextra, keepalive, out, n);
	json_decref(root);
	return rc;
}
