/* SPDX-License-Identifier: MIT */
/*
 * request.c - what an admin request asks: the endpoint from the path, the
 * purge parameters from the query, percent-decoded. Anything unexpected (an
 * unknown or repeated parameter, two purge kinds at once, a URL without a
 * host) is a 400, so that a typo never turns into a purge of nothing that
 * reports success.
 */
#include <string.h>

#include "admin/admin.h"
#include "http/http.h"

static int fail(struct hp_admin_request *out, int status, const char *why)
{
	out->error = why;
	return status;
}

/* Decode the %XX escapes of <in> into <*cursor> and advance it; false on a
 * malformed escape. '+' stays '+': the values are URLs and tags, not forms. */
static bool percent_decode(struct hp_str in, char **cursor, struct hp_str *res)
{
	char *out = *cursor;
	size_t k = 0;
	for (size_t i = 0; i < in.len; i++) {
		if (in.ptr[i] != '%') {
			out[k++] = in.ptr[i];
			continue;
		}
		int hi = i + 2 < in.len ? hp_hex_digit(in.ptr[i + 1]) : -1;
		int lo = hi >= 0 ? hp_hex_digit(in.ptr[i + 2]) : -1;
		if (lo < 0)
			return false;
		out[k++] = (char)(hi * 16 + lo);
		i += 2;
	}
	*res = (struct hp_str){out, k};
	*cursor = out + k;
	return true;
}

/* "http://host[:port]/path[?query]" (or https) into host, path and query. */
static bool split_url(struct hp_str url, struct hp_admin_request *out)
{
	struct hp_str rest = url;
	if (!hp_str_iskip_prefix(&rest, "http://") && !hp_str_iskip_prefix(&rest, "https://"))
		return false;
	rest.len = hp_str_span_until(rest, "#");
	size_t hlen = hp_str_span_until(rest, "/?");
	out->host = (struct hp_str){rest.ptr, hlen};
	if (hlen == 0 || !hp_http_valid_host(out->host))
		return false;
	struct hp_str tail = {rest.ptr + hlen, rest.len - hlen};
	size_t plen = hp_str_span_until(tail, "?");
	out->path = plen > 0 ? (struct hp_str){tail.ptr, plen} : HP_STR("/");
	out->query = plen < tail.len ? (struct hp_str){tail.ptr + plen + 1, tail.len - plen - 1}
				     : HP_STR("");
	return true;
}

static bool parse_flag(struct hp_str v, bool *out)
{
	if (v.len == 0 || hp_str_eq(v, "1") || hp_str_ieq(v, "true") || hp_str_ieq(v, "yes")) {
		*out = true;
		return true;
	}
	if (hp_str_eq(v, "0") || hp_str_ieq(v, "false") || hp_str_ieq(v, "no")) {
		*out = false;
		return true;
	}
	return false;
}

enum param { P_URL, P_PREFIX, P_TAG, P_ALL, P_SOFT, P_COUNT };
static const char *const param_names[P_COUNT] = {"url", "prefix", "tag", "all", "soft"};

/* One "name=value" of the purge query. */
static int purge_param(struct hp_str name, struct hp_str value, unsigned *seen,
		       struct hp_admin_request *out)
{
	unsigned p = 0;
	while (p < P_COUNT && !hp_str_eq(name, param_names[p]))
		p++;
	if (p == P_COUNT)
		return fail(out, 400, "unknown parameter (url, prefix, tag, all, soft)");
	if (*seen & (1u << p))
		return fail(out, 400, "parameter given twice");
	*seen |= 1u << p;
	bool flag = false;
	switch ((enum param)p) {
	case P_URL:
	case P_PREFIX:
		out->purge = p == P_URL ? HP_ADMIN_PURGE_URL : HP_ADMIN_PURGE_PREFIX;
		if (!split_url(value, out))
			return fail(out, 400, "expected an absolute http:// URL with a host");
		return 0;
	case P_TAG:
		out->purge = HP_ADMIN_PURGE_TAG;
		out->tags = value;
		if (hp_str_trim(value).len == 0)
			return fail(out, 400, "empty tag");
		return 0;
	case P_ALL:
		out->purge = HP_ADMIN_PURGE_ALL;
		if (!parse_flag(value, &flag) || !flag)
			return fail(out, 400, "all takes no value, or 1");
		return 0;
	case P_SOFT:
		if (!parse_flag(value, &out->soft))
			return fail(out, 400, "soft is 1 or 0");
		return 0;
	case P_COUNT:
		break;
	}
	return fail(out, 400, "unknown parameter");
}

static int parse_purge_query(struct hp_str query, char *scratch, struct hp_admin_request *out)
{
	unsigned seen = 0;
	char *cursor = scratch;
	size_t pos = 0;
	while (pos < query.len) {
		struct hp_str rest = {query.ptr + pos, query.len - pos};
		struct hp_str pair = {rest.ptr, hp_str_span_until(rest, "&")};
		pos += pair.len + 1;
		if (pair.len == 0)
			continue;
		size_t nlen = hp_str_span_until(pair, "=");
		struct hp_str name = {pair.ptr, nlen};
		struct hp_str raw = nlen < pair.len ? (struct hp_str){pair.ptr + nlen + 1,
								      pair.len - nlen - 1}
						    : HP_STR("");
		struct hp_str value;
		if (!percent_decode(raw, &cursor, &value))
			return fail(out, 400, "malformed %-escape");
		int rc = purge_param(name, value, &seen, out);
		if (rc != 0)
			return rc;
	}
	unsigned kinds = seen & ((1u << P_URL) | (1u << P_PREFIX) | (1u << P_TAG) | (1u << P_ALL));
	if (kinds == 0 || (kinds & (kinds - 1)) != 0)
		return fail(out, 400, "give exactly one of url=, prefix=, tag= or all");
	return 0;
}

int hp_admin_parse(struct hp_str method, struct hp_str target, char *scratch,
		   struct hp_admin_request *out)
{
	memset(out, 0, sizeof(*out));
	size_t plen = hp_str_span_until(target, "?");
	struct hp_str path = {target.ptr, plen};
	struct hp_str query = plen < target.len
		? (struct hp_str){target.ptr + plen + 1, target.len - plen - 1}
		: HP_STR("");
	bool read_only = hp_str_eq(method, "GET") || hp_str_eq(method, "HEAD");
	static const struct {
		const char *path;
		enum hp_admin_action action;
	} reads[] = {
		{"/health", HP_ADMIN_HEALTH},
		{"/ready", HP_ADMIN_READY},
		{"/cache", HP_ADMIN_CACHE_STATS},
		{"/metrics", HP_ADMIN_METRICS},
		{"/status", HP_ADMIN_STATUS},
		{"/", HP_ADMIN_DASHBOARD},
	};
	for (size_t i = 0; i < HP_ARRAY_SIZE(reads); i++) {
		if (!hp_str_eq(path, reads[i].path))
			continue;
		out->action = reads[i].action;
		/* A scraper's query (?name[]=...) is ignored, as Prometheus expects. */
		return read_only ? 0 : fail(out, 405, "use GET");
	}
	if (hp_str_eq(path, "/purge")) {
		out->action = HP_ADMIN_PURGE;
		if (!hp_str_eq(method, "POST") && !hp_str_eq(method, "PURGE"))
			return fail(out, 405, "use POST");
		return parse_purge_query(query, scratch, out);
	}
	if (hp_str_eq(path, "/reload")) {
		out->action = HP_ADMIN_RELOAD;
		if (!hp_str_eq(method, "POST"))
			return fail(out, 405, "use POST");
		/* Nothing to choose: the file is the one the process started with. */
		return query.len == 0 ? 0 : fail(out, 400, "reload takes no parameters");
	}
	return fail(out, 404, "no such endpoint (health, ready, cache, metrics, status, purge, reload)");
}
