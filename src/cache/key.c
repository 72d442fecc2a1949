/* SPDX-License-Identifier: MIT */
/*
 * key.c - cache keys: one byte string per cacheable URL, normalized so that
 * requests a user would call "the same URL" share an object.
 *
 * Layout: namespace NUL host NUL path [? query] NUL {name [: value] NUL}.
 * NUL cannot occur in a parsed request, so the parts can never run into each
 * other, and purge by prefix can split a key back into host and path.
 */
#include <stdlib.h>
#include <xxhash.h>

#include "cache/cache_priv.h"

#define QUERY_PARAMS_ON_STACK 64

static bool is_unreserved(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

/*
 * RFC 3986 §6.2.2: "%41" and "A" are the same URI, "%2f" and "%2F" too, but
 * "%2F" and "/" are not, so only unreserved characters are decoded.
 */
static void append_normalized(struct hp_buf *out, struct hp_str s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < s.len; i++) {
		int hi = i + 2 < s.len && s.ptr[i] == '%' ? hp_hex_digit(s.ptr[i + 1]) : -1;
		int lo = hi >= 0 ? hp_hex_digit(s.ptr[i + 2]) : -1;
		if (lo < 0) {
			hp_buf_append_byte(out, s.ptr[i]);
			continue;
		}
		unsigned char ch = (unsigned char)(hi << 4 | lo);
		if (is_unreserved(ch)) {
			hp_buf_append_byte(out, (char)ch);
		} else {
			char esc[] = {'%', hex[hi], hex[lo]};
			hp_buf_append(out, esc, sizeof(esc));
		}
		i += 2;
	}
}

void hp_cache_host_drop_default_port(struct hp_str *host)
{
	(void)hp_str_drop_suffix(host, ":80");
}

static void append_host(struct hp_buf *out, struct hp_str host)
{
	hp_cache_host_drop_default_port(&host);
	for (size_t i = 0; i < host.len; i++) {
		char ch = host.ptr[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		hp_buf_append_byte(out, ch);
	}
}

static bool listed(struct hp_str name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hp_str_eq(name, list[i]))
			return true;
	return false;
}

static bool keep_param(const struct hp_cache_key_spec *spec, struct hp_str param)
{
	const char *eq = memchr(param.ptr, '=', param.len);
	struct hp_str name = {param.ptr, eq ? (size_t)(eq - param.ptr) : param.len};

	if (spec == NULL)
		return true;
	if (spec->nquery_include > 0 && !listed(name, spec->query_include, spec->nquery_include))
		return false;
	return !listed(name, spec->query_exclude, spec->nquery_exclude);
}

struct span {
	size_t off; /* in the output buffer's data */
	size_t len;
};

static int cmp_span(const void *a, const void *b, void *arg)
{
	const struct span *x = a;
	const struct span *y = b;
	const char *base = arg;
	int r = memcmp(base + x->off, base + y->off, HP_MIN(x->len, y->len));

	if (r != 0)
		return r;
	return x->len < y->len ? -1 : x->len > y->len;
}

/*
 * Normalize every kept parameter into a scratch area at the end of <out>,
 * sort views of them, then write them back joined by '&'. Sorting normalized
 * bytes (not raw ones) is what makes "b=1&a=%41" equal "a=A&b=1".
 */
static void append_query(struct hp_buf *out, const struct hp_cache_key_spec *spec,
			 struct hp_str query)
{
	struct span stack[QUERY_PARAMS_ON_STACK];
	struct span *params = stack;
	size_t cap = QUERY_PARAMS_ON_STACK;
	size_t n = 0;
	size_t scratch = out->len;
	size_t pos = 0;

	while (pos < query.len) {
		const char *amp = memchr(query.ptr + pos, '&', query.len - pos);
		size_t end = amp ? (size_t)(amp - query.ptr) : query.len;
		size_t start = out->len;
		append_normalized(out, (struct hp_str){query.ptr + pos, end - pos});
		struct hp_str norm = {hp_buf_data(out) + start, out->len - start};
		pos = end + 1;
		if (norm.len == 0 || !keep_param(spec, norm)) {
			out->len = start;
			continue;
		}
		if (n == cap) {
			cap *= 2;
			struct span *grown = hp_xmalloc(cap * sizeof(*grown));
			memcpy(grown, params, n * sizeof(*grown));
			if (params != stack)
				free(params);
			params = grown;
		}
		params[n++] = (struct span){start, norm.len};
	}
	qsort_r(params, n, sizeof(*params), cmp_span, hp_buf_data(out));
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += params[i].len + 1;
	/* Reserve first: the copies below read from the buffer they append to. */
	hp_buf_reserve(out, total);
	size_t sorted = out->len;
	for (size_t i = 0; i < n; i++) {
		hp_buf_append_byte(out, i == 0 ? '?' : '&');
		hp_buf_append(out, hp_buf_data(out) + params[i].off, params[i].len);
	}
	memmove(hp_buf_data(out) + scratch, hp_buf_data(out) + sorted, out->len - sorted);
	out->len = scratch + (out->len - sorted);
	if (params != stack)
		free(params);
}

/* Absent ("name" NUL) differs from empty ("name:" NUL); repeated fields are
 * joined in order, as RFC 9110 §5.3 combines them. */
static void append_header(struct hp_buf *out, const char *name,
			  const struct hp_http_header *h, size_t n)
{
	bool found = false;

	for (const char *p = name; *p != '\0'; p++) {
		char ch = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
		hp_buf_append_byte(out, ch);
	}
	for (size_t i = 0; i < n; i++) {
		if (!hp_str_ieq(h[i].name, name))
			continue;
		hp_buf_append_byte(out, found ? ',' : ':');
		struct hp_str v = hp_str_trim(h[i].value);
		hp_buf_append(out, v.ptr, v.len);
		found = true;
	}
	hp_buf_append_byte(out, '\0');
}

uint64_t hp_cache_key_build(struct hp_buf *out, const struct hp_cache_key_spec *spec,
			    struct hp_str host, struct hp_str path, struct hp_str query,
			    const struct hp_http_header *req_headers, size_t nreq)
{
	size_t start = out->len;

	if (spec != NULL && spec->namespace != NULL)
		hp_buf_append_str(out, spec->namespace);
	hp_buf_append_byte(out, '\0');
	append_host(out, host);
	hp_buf_append_byte(out, '\0');
	if (path.len == 0)
		path = HP_STR("/");
	append_normalized(out, path);
	if (spec == NULL || !spec->query_ignore)
		append_query(out, spec, query);
	hp_buf_append_byte(out, '\0');
	for (size_t i = 0; spec != NULL && i < spec->nheaders; i++)
		append_header(out, spec->headers[i], req_headers, nreq);
	return XXH3_64bits(hp_buf_data(out) + start, out->len - start);
}

bool hp_cache_key_split(const char *key, size_t keylen, struct hp_str *host, struct hp_str *path)
{
	const char *end = key + keylen;
	const char *h = memchr(key, '\0', keylen);
	const char *p = h ? memchr(h + 1, '\0', (size_t)(end - h - 1)) : NULL;
	const char *e = p ? memchr(p + 1, '\0', (size_t)(end - p - 1)) : NULL;

	if (e == NULL)
		return false;
	*host = (struct hp_str){h + 1, (size_t)(p - h - 1)};
	*path = (struct hp_str){p + 1, (size_t)(e - p - 1)};
	return true;
}

uint64_t hp_cache_key_hash(const void *key, size_t keylen)
{
	return XXH3_64bits(key, keylen);
}
