/* SPDX-License-Identifier: MIT */
/*
 * request.c - URLs and request bytes. Each request is serialised once at
 * start-up and then sent as one buffer, so the engine allocates nothing
 * per request and every connection sends exactly the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench/request.h"
#include "core/buf.h"
#include "core/core.h"
#include "net/net.h"

#define HTTP_SCHEME "http://"
#define HTTPS_SCHEME "https://"
#define LIT_LEN(s) (sizeof(s) - 1)

static int fail(char *err, size_t errlen, const char *fmt, const char *arg)
{
	snprintf(err, errlen, fmt, arg);
	return -1;
}

/* Check <url> and find where its host and path start; resolve the host. */
static int parse_url(struct hp_bench_target *t, const char **path, char *err, size_t errlen)
{
	const char *url = t->url;
	if (strncmp(url, HTTPS_SCHEME, LIT_LEN(HTTPS_SCHEME)) == 0)
		return fail(err, errlen,
			    "\"%s\": https is not supported; put hotpath's plain HTTP listener in front",
			    url);
	if (strncmp(url, HTTP_SCHEME, LIT_LEN(HTTP_SCHEME)) != 0)
		return fail(err, errlen, "invalid URL \"%s\": expected http://host[:port]/path", url);
	const char *host = url + LIT_LEN(HTTP_SCHEME);
	const char *slash = strchr(host, '/');
	size_t hlen = slash ? (size_t)(slash - host) : strlen(host);
	*path = slash ? slash : "/";
	if (hlen == 0 || memchr(host, '@', hlen) || memchr(host, '?', hlen))
		return fail(err, errlen, "invalid URL \"%s\": missing or invalid host", url);
	const char *rb = host[0] == '[' ? memchr(host, ']', hlen) : NULL;
	const char *colon = memrchr(rb ? rb : host, ':', hlen - (size_t)((rb ? rb : host) - host));
	struct hp_buf hp = {0};
	hp_buf_append(&hp, host, hlen);
	if (colon == NULL)
		hp_buf_append_str(&hp, ":80");
	hp_buf_append(&hp, "", 1);
	t->hostport = hp.base;
	char why[128] = "";
	if (hp_net_resolve(t->hostport, &t->addr, &t->addrlen, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "invalid URL \"%s\": %s", url, why);
		return -1;
	}
	return 0;
}

static bool has_header(const struct hp_bench_req_spec *rs, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < rs->nheaders; i++)
		if (strncasecmp(rs->headers[i], name, n) == 0 && rs->headers[i][n] == ':')
			return true;
	return false;
}

static void build_request(struct hp_bench_target *t, const char *path,
			  const struct hp_bench_req_spec *rs)
{
	struct hp_buf b = {0};
	const char *host = t->url + LIT_LEN(HTTP_SCHEME);
	char line[64];
	hp_buf_append_str(&b, rs->method);
	hp_buf_append_str(&b, " ");
	hp_buf_append_str(&b, path);
	hp_buf_append_str(&b, " HTTP/1.1\r\n");
	if (!has_header(rs, "host")) {
		hp_buf_append_str(&b, "Host: ");
		hp_buf_append(&b, host, strcspn(host, "/"));
		hp_buf_append_str(&b, "\r\n");
	}
	if (!has_header(rs, "user-agent"))
		hp_buf_append_str(&b, "User-Agent: hotpath-bench\r\n");
	if (!rs->keepalive)
		hp_buf_append_str(&b, "Connection: close\r\n");
	for (size_t i = 0; i < rs->nheaders; i++) {
		hp_buf_append_str(&b, rs->headers[i]);
		hp_buf_append_str(&b, "\r\n");
	}
	if (rs->body != NULL) {
		snprintf(line, sizeof(line), "Content-Length: %zu\r\n", rs->body_len);
		hp_buf_append_str(&b, line);
	}
	hp_buf_append_str(&b, "\r\n");
	if (rs->body != NULL)
		hp_buf_append(&b, rs->body, rs->body_len);
	/* NUL-terminated for readers that print it; req_len excludes the NUL. */
	hp_buf_append(&b, "", 1);
	t->req = b.base;
	t->req_len = b.len - 1;
}

int hp_bench_target_init(struct hp_bench_target *t, const char *name, const char *url,
			 const struct hp_bench_req_spec *spec, char *err, size_t errlen)
{
	*t = (struct hp_bench_target){.weight = 1};
	t->url = hp_xstrdup(url);
	t->name = hp_xstrdup(name ? name : url);
	const char *path = "/";
	if (parse_url(t, &path, err, errlen) < 0)
		return -1;
	build_request(t, path, spec);
	return 0;
}

void hp_bench_target_fini(struct hp_bench_target *t)
{
	free(t->name);
	free(t->url);
	free(t->hostport);
	free(t->req);
	*t = (struct hp_bench_target){0};
}

bool hp_bench_header_valid(const char *h)
{
	const char *colon = strchr(h, ':');
	if (colon == NULL || colon == h || strpbrk(h, "\r\n") != NULL)
		return false;
	for (const char *p = h; p < colon; p++)
		if (*p <= ' ' || *p >= 127 || strchr("\"(),/:;<=>?@[\\]{}", *p))
			return false;
	return true;
}
