/* SPDX-License-Identifier: MIT */
/*
 * invalidate.c - taking objects out of the cache from the request path: the
 * PURGE method (a URL, or with X-Purge-* fields a prefix, tags or
 * everything; soft or hard; only from cache.purge_allow), and what a
 * successful unsafe request invalidates: its target, and the same-host URIs
 * its response names in Location and Content-Location (RFC 9111 §4.4).
 * With l2, each purge is also published for the other instances (bus.c).
 */
#include <stdio.h>
#include <string.h>

#include "core/cidr.h"
#include "proxy/proxy_priv.h"

/* ==== PURGE ==== */

static bool purge_allowed(const struct hp_client *c)
{
	const struct hp_config_cache *cc = &hp_client_cfg(c)->cache;
	return hp_cidr_match(cc->purge_allow, cc->npurge_allow, (const struct sockaddr *)&c->peer);
}

/* With an admin token configured, PURGE needs it too: an address list
 * alone lets anyone behind an allowed NAT or proxy empty the cache. */
static bool purge_authorized(struct hp_client *c, const struct hp_http_request *req)
{
	const char *token = c->t->ws->snap->admin_token;
	if (token[0] == '\0')
		return true;
	switch (hp_http_check_bearer(req->headers, req->num_headers, token)) {
	case HP_BEARER_OK:
		return true;
	case HP_BEARER_WRONG:
		hp_respond_error_fields(c, 401, "wrong bearer token",
					"WWW-Authenticate: Bearer realm=\"hotpath\", "
					"error=\"invalid_token\"\r\n");
		return false;
	default:
		hp_respond_error_fields(c, 401, "a bearer token is required",
					"WWW-Authenticate: Bearer realm=\"hotpath\"\r\n");
		return false;
	}
}

static bool header_set(const struct hp_http_request *req, const char *name)
{
	const struct hp_http_header *h = hp_http_find_header(req->headers, req->num_headers, name);
	return h != NULL && !hp_str_eq(hp_str_trim(h->value), "0") &&
	       !hp_str_ieq(hp_str_trim(h->value), "false");
}

/* PURGE <url>: the URL (every variant); with X-Purge-Prefix: 1 every URL
 * under it, with X-Purge-Tag: a, b every object tagged so, with
 * X-Purge-All: 1 everything; X-Purge-Soft: 1 marks stale instead. */
void hp_invalidate_purge(struct hp_client *c, const struct hp_http_request *req)
{
	if (!purge_allowed(c)) {
		hp_respond_error(c, 403, "purge not allowed from this address");
		return;
	}
	if (!purge_authorized(c, req))
		return;
	struct hp_cache *cache = c->t->ws->snap->cache;
	bool soft = header_set(req, "x-purge-soft");
	size_t n = 0;
	const struct hp_http_header *tag = hp_http_find_header(req->headers, req->num_headers,
							       "x-purge-tag");
	struct hp_proxy *px = c->w->px;
	const struct hp_str none = {"", 0};
	if (header_set(req, "x-purge-all")) {
		n = hp_cache_purge_all(cache);
		hp_proxy_publish_purge(px, 'a', none, none, false);
	} else if (tag != NULL) {
		size_t pos = 0;
		struct hp_str one;
		while (hp_str_next_token(tag->value, &pos, &one)) {
			n += hp_cache_purge_tag(cache, one, soft);
			hp_proxy_publish_purge(px, 't', one, none, soft);
		}
	} else if (header_set(req, "x-purge-prefix")) {
		n = hp_cache_purge_prefix(cache, req->host, req->path, soft);
		hp_proxy_publish_purge(px, 'p', req->host, req->path, soft);
	} else {
		n = hp_cache_purge_key(cache, c->t->cache.key, c->t->cache.keylen, c->t->cache.hash, soft);
		hp_proxy_publish_purge(px, 'k', (struct hp_str){c->t->cache.key, c->t->cache.keylen},
				       none, soft);
	}
	char msg[64];
	snprintf(msg, sizeof(msg), "%s %zu", soft ? "soft-purged" : "purged", n);
	hp_respond_error(c, 200, msg);
}

/* ==== Unsafe methods (RFC 9111 §4.4) ==== */

/* Hosts compare without case and without the default port. */
static struct hp_str host_without_port80(struct hp_str h)
{
	if (h.len > 3 && memcmp(h.ptr + h.len - 3, ":80", 3) == 0)
		h.len -= 3;
	return h;
}

static bool same_host(struct hp_str a, struct hp_str b)
{
	return hp_str_ieq_str(host_without_port80(a), host_without_port80(b));
}

/*
 * Resolve a Location / Content-Location reference against the request
 * target into its host, path and query. An absolute "/path", an absolute
 * URI ("http://host/path", "//host/path") or a relative "name" (merged with
 * the target's directory). False for anything else, or a host other than
 * the target's: those are never invalidated, so that an origin cannot
 * purge another site's objects.
 */
static bool resolve_reference(struct hp_client *c, struct hp_str ref,
			      const struct hp_http_request *req, struct hp_str *path,
			      struct hp_str *query)
{
	ref = hp_str_trim(ref);
	const char *hash = memchr(ref.ptr, '#', ref.len);
	if (hash != NULL)
		ref.len = (size_t)(hash - ref.ptr);
	size_t skip = hp_str_istarts_with(ref, "http://") ? 7
		      : hp_str_istarts_with(ref, "https://") ? 8
		      : hp_str_istarts_with(ref, "//") ? 2 : 0;
	if (skip > 0) {
		struct hp_str rest = {ref.ptr + skip, ref.len - skip};
		size_t alen = hp_str_span_until(rest, "/?");
		if (!same_host((struct hp_str){rest.ptr, alen}, req->host))
			return false;
		ref = (struct hp_str){rest.ptr + alen, rest.len - alen};
		if (ref.len == 0)
			ref = (struct hp_str){"/", 1};
	}
	if (ref.len == 0 || memchr(ref.ptr, ':', hp_str_span_until(ref, "/?")) != NULL)
		return false; /* empty, or another scheme */
	if (ref.ptr[0] != '/') {
		const char *slash = req->path.ptr + req->path.len;
		while (slash > req->path.ptr && slash[-1] != '/')
			slash--;
		size_t dir = (size_t)(slash - req->path.ptr);
		char *merged = hp_arena_alloc(&c->t->arena, dir + ref.len);
		memcpy(merged, req->path.ptr, dir);
		memcpy(merged + dir, ref.ptr, ref.len);
		ref = (struct hp_str){merged, dir + ref.len};
	}
	const char *q = memchr(ref.ptr, '?', ref.len);
	*path = (struct hp_str){ref.ptr, q ? (size_t)(q - ref.ptr) : ref.len};
	*query = q ? (struct hp_str){q + 1, ref.len - path->len - 1} : (struct hp_str){"", 0};
	return true;
}

static void purge_reference(struct hp_client *c, const struct hp_http_request *req,
			    const char *field, const struct hp_http_response *r)
{
	const struct hp_http_header *h = hp_http_find_header(r->headers, r->num_headers, field);
	struct hp_str path, query;
	if (h == NULL || !resolve_reference(c, h->value, req, &path, &query))
		return;
	struct hp_buf kb = {0};
	uint64_t hash = hp_cache_key_build(&kb, &c->t->cache.rc->key, req->host, path, query,
					   req->headers, req->num_headers);
	hp_cache_purge_key(c->t->ws->snap->cache, hp_buf_data(&kb), kb.len, hash, false);
	hp_proxy_publish_purge(c->w->px, 'k', (struct hp_str){hp_buf_data(&kb), kb.len},
			       (struct hp_str){"", 0}, false);
	hp_buf_fini(&kb);
}

/* A non-error response to an unsafe method: the target and the same-host
 * URIs in Location and Content-Location are no longer valid. */
void hp_invalidate_unsafe(struct hp_client *c, const struct hp_http_response *r)
{
	const struct hp_txn_cache *t = &c->t->cache;
	if (r->status < 200 || r->status >= 400)
		return;
	hp_cache_purge_key(c->t->ws->snap->cache, t->key, t->keylen, t->hash, false);
	hp_proxy_publish_purge(c->w->px, 'k', (struct hp_str){t->key, t->keylen},
			       (struct hp_str){"", 0}, false);
	struct hp_http_request req;
	if (!hp_txn_saved_request(c, &req))
		return;
	purge_reference(c, &req, "location", r);
	purge_reference(c, &req, "content-location", r);
}
