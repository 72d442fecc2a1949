/* SPDX-License-Identifier: MIT */
/*
 * upstream_head.c - rewriting heads as they cross the proxy (see
 * upstream_head.h): hop-by-hop fields and those the Connection field
 * names stay behind, X-Forwarded-* are trusted only from
 * trusted_proxies, and a request filling the cache asks for the whole
 * response whatever the client's own conditions (those are answered from
 * the stored object afterwards).
 */
#include <string.h>

#include "core/cidr.h"
#include "proxy/proxy_priv.h"
#include "proxy/upstream_head.h"

static void put_str(struct hp_buf *b, struct hp_str s)
{
	hp_buf_append(b, s.ptr, s.len);
}

/* ==== The request ==== */

static bool peer_trusted(const struct hp_client *c)
{
	const struct hp_config *cfg = hp_client_cfg(c);
	return cfg->ntrusted_proxies > 0 &&
	       hp_cidr_match(cfg->trusted_proxies, cfg->ntrusted_proxies,
			     (const struct sockaddr *)&c->peer);
}

static bool is_client_condition(struct hp_str name)
{
	return hp_str_ieq(name, "if-none-match") || hp_str_ieq(name, "if-modified-since") ||
	       hp_str_ieq(name, "if-match") || hp_str_ieq(name, "if-unmodified-since") ||
	       hp_str_ieq(name, "if-range") || hp_str_ieq(name, "range");
}

/* One of limits.strip_request_headers: URL and method overrides, which an
 * origin framework may honour (IIS, Symfony, Laravel...) to serve another
 * resource than the one the cache keys this request by. */
static bool is_stripped(const struct hp_config_limits *lim, struct hp_str name)
{
	for (size_t i = 0; i < lim->nstrip_request_headers; i++)
		if (hp_str_ieq(name, lim->strip_request_headers[i]))
			return true;
	return false;
}

static bool skip_request_field(const struct hp_client *c, const struct hp_http_request *req,
			       struct hp_str name, bool trusted, bool absolute)
{
	if (is_stripped(&hp_client_cfg(c)->limits, name))
		return true;
	if (hp_http_is_hop_by_hop(name) || hp_http_connection_lists(req->headers,
								      req->num_headers, name))
		return true;
	/* We answer 100-continue ourselves, so the upstream must not wait. */
	if (hp_str_ieq(name, "expect"))
		return true;
	if (absolute && hp_str_ieq(name, "host"))
		return true;
	if (!trusted && (hp_str_ieq(name, "x-forwarded-proto") ||
			 hp_str_ieq(name, "x-forwarded-host")))
		return true;
	return hp_str_ieq(name, "x-forwarded-for");
}

static void put_request_line(struct hp_client *c, struct hp_buf *b,
			     const struct hp_http_request *req, bool absolute)
{
	put_str(b, c->t->cache.head_as_get ? HP_STR("GET") : req->method);
	HP_BUF_APPEND_LIT(b, " ");
	if (absolute) {
		put_str(b, req->path.len ? req->path : HP_STR("/"));
		if (req->query.len > 0) {
			HP_BUF_APPEND_LIT(b, "?");
			put_str(b, req->query);
		}
	} else {
		put_str(b, req->target);
	}
	HP_BUF_APPEND_LIT(b, " HTTP/1.1\r\n");
	if (absolute) {
		hp_put_field(b, HP_STR("Host"), req->host);
	} else if (req->host.len == 0) {
		/* An HTTP/1.0 client may send no Host; HTTP/1.1 upstreams need one. */
		const struct hp_config *cfg = hp_client_cfg(c);
		const char *hp = cfg->upstreams[c->t->route->group].servers[0].hostport;
		hp_put_field(b, HP_STR("Host"), (struct hp_str){hp, strlen(hp)});
	}
}

static void put_validators(struct hp_buf *b, const struct hp_cache_obj *obj)
{
	struct hp_str etag = hp_cache_obj_etag(obj);
	struct hp_str lm = hp_cache_obj_last_modified(obj);
	if (etag.len > 0)
		hp_put_field(b, HP_STR("If-None-Match"), etag);
	if (lm.len > 0)
		hp_put_field(b, HP_STR("If-Modified-Since"), lm);
}

void hp_upstream_head_request(struct hp_client *c, struct hp_buf *b,
			      const struct hp_http_request *req)
{
	const struct hp_txn_cache *tc = &c->t->cache;
	bool trusted = peer_trusted(c);
	bool absolute = req->target.len > 0 && req->target.ptr[0] != '/' &&
			!hp_str_eq(req->target, "*");
	bool whole = tc->fill != NULL || (c->internal && c->refresh);
	put_request_line(c, b, req, absolute);
	struct hp_str xff_prev = {NULL, 0};
	bool have_proto = false, have_fhost = false;
	for (size_t i = 0; i < req->num_headers; i++) {
		const struct hp_http_header *h = &req->headers[i];
		if (trusted && hp_str_ieq(h->name, "x-forwarded-for") && xff_prev.len == 0)
			xff_prev = h->value;
		if (skip_request_field(c, req, h->name, trusted, absolute))
			continue;
		if (whole && is_client_condition(h->name))
			continue;
		have_proto |= hp_str_ieq(h->name, "x-forwarded-proto");
		have_fhost |= hp_str_ieq(h->name, "x-forwarded-host");
		hp_put_field(b, h->name, h->value);
	}
	HP_BUF_APPEND_LIT(b, "X-Forwarded-For: ");
	if (xff_prev.len > 0) {
		put_str(b, xff_prev);
		HP_BUF_APPEND_LIT(b, ", ");
	}
	hp_buf_append_str(b, c->peer_ip);
	HP_BUF_APPEND_LIT(b, "\r\n");
	if (!have_proto)
		HP_BUF_APPEND_LIT(b, "X-Forwarded-Proto: http\r\n");
	if (!have_fhost && req->host.len > 0)
		hp_put_field(b, HP_STR("X-Forwarded-Host"), req->host);
	HP_BUF_APPEND_LIT(b, "Via: 1.1 hotpath\r\n");
	if (tc->revalidating)
		put_validators(b, tc->obj);
}

/* ==== Responses ==== */

static void put_response_fields(struct hp_client *c, struct hp_buf *b,
				const struct hp_http_response *r)
{
	for (size_t i = 0; i < r->num_headers; i++) {
		const struct hp_http_header *h = &r->headers[i];
		if (hp_http_is_hop_by_hop(h->name) ||
		    hp_http_connection_lists(r->headers, r->num_headers, h->name) ||
		    hp_hit_hides_field(c, h->name))
			continue;
		hp_put_field(b, h->name, h->value);
	}
}

void hp_upstream_head_interim(struct hp_client *c, struct hp_buf *b,
			      const struct hp_http_response *r)
{
	/* HTTP/1.0 clients know no 1xx; 100 was already sent by us if asked. */
	if (c->t->req.minor_version == 0 || r->status == 100)
		return;
	hp_put_status_line_start(b, r->status);
	put_str(b, r->reason);
	HP_BUF_APPEND_LIT(b, "\r\n");
	put_response_fields(c, b, r);
	HP_BUF_APPEND_LIT(b, "\r\n");
}

void hp_upstream_head_response(struct hp_client *c, struct hp_buf *b,
			       const struct hp_http_response *r)
{
	hp_put_status_line_start(b, r->status);
	if (r->reason.len > 0)
		put_str(b, r->reason);
	else
		hp_buf_append_str(b, hp_http_status_reason(r->status));
	HP_BUF_APPEND_LIT(b, "\r\n");
	put_response_fields(c, b, r);
	if (hp_http_find_header(r->headers, r->num_headers, "date") == NULL) {
		/* RFC 9110 §6.6.1: a response forwarded without Date gets the time
		 * it was received. */
		char date[HP_HTTP_DATE_LEN + 1];
		hp_worker_date(c->w, date);
		hp_put_field(b, HP_STR("Date"), (struct hp_str){date, HP_HTTP_DATE_LEN});
	}
	if ((r->body == HP_BODY_CHUNKED && !hp_body_dechunks(c)) || hp_body_rechunks(c))
		HP_BUF_APPEND_LIT(b, "Transfer-Encoding: chunked\r\n");
	hp_hit_put_fields(c, b);
	char lf[HP_LIMIT_FIELDS_MAX];
	hp_buf_append(b, lf, hp_respond_limit_fields(c->t, lf, sizeof(lf)));
	HP_BUF_APPEND_LIT(b, "Via: 1.1 hotpath\r\n");
	if (c->close_after)
		HP_BUF_APPEND_LIT(b, "Connection: close\r\n");
	else if (c->t->req.minor_version == 0)
		HP_BUF_APPEND_LIT(b, "Connection: keep-alive\r\n");
	HP_BUF_APPEND_LIT(b, "\r\n");
}
