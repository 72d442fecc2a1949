/* SPDX-License-Identifier: MIT */
/*
 * hit.c - step hit: a stored object as the response. The head is made for
 * the form the request asks (200 as stored, 304 when the client's
 * validators match, 206 for one byte range, 416 outside it) with Date,
 * Age and the cache's own fields (X-Cache, Cache-Status, Server-Timing);
 * the body then flows from the object through the chain (body.c): memory
 * segments by writev, a sealed memfd by sendfile, or, for an object still
 * filling (a coalesced request), copied as it arrives.
 */
#include <stdio.h>
#include <string.h>

#include "proxy/proxy_priv.h"

/* ==== The head ==== */

static const char *const not_modified_fields[] = {
	"cache-control", "content-location", "etag", "expires", "last-modified", "vary",
};

static void put_304_fields(struct hp_buf *b, const struct hp_cache_obj *obj)
{
	size_t n;
	const struct hp_http_header *f = hp_cache_obj_fields(obj, &n);
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < HP_ARRAY_SIZE(not_modified_fields); k++) {
			if (!hp_str_ieq(f[i].name, not_modified_fields[k]))
				continue;
			hp_buf_append(b, f[i].name.ptr, f[i].name.len);
			HP_BUF_APPEND_LIT(b, ": ");
			hp_buf_append(b, f[i].value.ptr, f[i].value.len);
			HP_BUF_APPEND_LIT(b, "\r\n");
		}
	}
}

static bool has_content_length(const struct hp_cache_obj *obj)
{
	size_t n;
	const struct hp_http_header *f = hp_cache_obj_fields(obj, &n);
	return hp_http_find_header(f, n, "content-length") != NULL;
}

/* Date stays the origin's, when it generated the response (RFC 9110
 * §6.6.1), or when we received it if it sent none; Age says how long ago. */
static void put_date_and_age(struct hp_buf *b, const struct hp_cache_obj *obj)
{
	time_t now = hp_clock_wall_s();
	uint64_t age = hp_cache_obj_age(obj, now);
	struct hp_str date = hp_cache_obj_date(obj);
	HP_BUF_APPEND_LIT(b, "Date: ");
	if (date.len > 0) {
		hp_buf_append(b, date.ptr, date.len);
	} else {
		char received[HP_HTTP_DATE_LEN + 1];
		hp_http_date_format(now - (time_t)age, received);
		hp_buf_append_str(b, received);
	}
	char line[48];
	int k = snprintf(line, sizeof(line), "\r\nAge: %llu\r\n", (unsigned long long)age);
	hp_buf_append(b, line, (size_t)k);
}

/* What a stored object is sent as. */
enum form {
	FORM_WHOLE,          /* 200 (or whatever status it was stored with) */
	FORM_NOT_MODIFIED,   /* 304: the client's validators match */
	FORM_PARTIAL,        /* 206: one byte range of it */
	FORM_UNSATISFIABLE,  /* 416: a range outside it */
};

/* If-Range (RFC 9110 §13.1.5): the range applies only if the client's
 * validator is still the stored one; strong comparison only. */
static bool if_range_holds(const struct hp_cache_obj *obj, const struct hp_http_header *req,
			   size_t nreq)
{
	const struct hp_http_header *h = hp_http_find_header(req, nreq, "if-range");
	if (h == NULL)
		return true;
	struct hp_str v = hp_str_trim(h->value);
	if (v.len > 0 && v.ptr[0] == '"') {
		struct hp_str etag = hp_cache_obj_etag(obj);
		return etag.len == v.len && memcmp(etag.ptr, v.ptr, v.len) == 0;
	}
	struct hp_str lm = hp_cache_obj_last_modified(obj);
	return lm.len > 0 && lm.len == v.len && memcmp(lm.ptr, v.ptr, v.len) == 0;
}

static enum form choose_form(const struct hp_client *c, const struct hp_cache_obj *obj,
			     const struct hp_http_header *req, size_t nreq, bool streaming,
			     uint64_t body_len, uint64_t *first, uint64_t *last)
{
	if (req == NULL)
		return FORM_WHOLE;
	if (hp_cache_not_modified(obj, req, nreq))
		return FORM_NOT_MODIFIED;
	/* Ranges are cut from complete 200 responses to GET only (§14.2). */
	const struct hp_http_header *range = hp_http_find_header(req, nreq, "range");
	if (range == NULL || streaming || c->t->req.method != HP_METHOD_GET ||
	    hp_cache_obj_status(obj) != 200 || !if_range_holds(obj, req, nreq))
		return FORM_WHOLE;
	switch (hp_http_parse_range(range->value, body_len, first, last)) {
	case HP_RANGE_OK:
		return FORM_PARTIAL;
	case HP_RANGE_UNSATISFIABLE:
		return FORM_UNSATISFIABLE;
	case HP_RANGE_IGNORE:
		break;
	}
	return FORM_WHOLE;
}

/* The stored fields for a 206, less those the range replaces. */
static void put_partial_fields(struct hp_client *c, struct hp_buf *b,
			       const struct hp_cache_obj *obj)
{
	size_t n;
	const struct hp_http_header *f = hp_cache_obj_fields(obj, &n);
	for (size_t i = 0; i < n; i++) {
		if (hp_str_ieq(f[i].name, "date") || hp_str_ieq(f[i].name, "content-length") ||
		    hp_hit_hides_field(c, f[i].name))
			continue;
		hp_buf_append(b, f[i].name.ptr, f[i].name.len);
		HP_BUF_APPEND_LIT(b, ": ");
		hp_buf_append(b, f[i].value.ptr, f[i].value.len);
		HP_BUF_APPEND_LIT(b, "\r\n");
	}
}

/* The status line and stored fields of <form>; Date, Age, lengths and the
 * cache's own fields follow. */
static void put_head(struct hp_client *c, struct hp_buf *b, const struct hp_cache_obj *obj,
		     enum form form)
{
	struct hp_txn_resp *r = &c->t->resp;
	switch (form) {
	case FORM_WHOLE: {
		struct hp_str head = hp_cache_obj_head(obj);
		hp_buf_append(b, head.ptr, head.len);
		r->status = hp_cache_obj_status(obj);
		break;
	}
	case FORM_NOT_MODIFIED:
		HP_BUF_APPEND_LIT(b, "HTTP/1.1 304 Not Modified\r\n");
		put_304_fields(b, obj);
		r->status = 304;
		break;
	case FORM_PARTIAL:
		HP_BUF_APPEND_LIT(b, "HTTP/1.1 206 Partial Content\r\n");
		put_partial_fields(c, b, obj);
		r->status = 206;
		break;
	case FORM_UNSATISFIABLE:
		HP_BUF_APPEND_LIT(b, "HTTP/1.1 416 Range Not Satisfiable\r\n");
		r->status = 416;
		break;
	}
}

/* Content-Range and Content-Length where the form needs them. */
static void put_lengths(struct hp_buf *b, const struct hp_cache_obj *obj, enum form form,
			bool streaming, uint64_t body_len, uint64_t first, uint64_t last)
{
	char line[128];
	int k = 0;
	if (form == FORM_PARTIAL)
		k = snprintf(line, sizeof(line), "Content-Range: bytes %llu-%llu/%llu\r\n"
			     "Content-Length: %llu\r\n", (unsigned long long)first,
			     (unsigned long long)last, (unsigned long long)body_len,
			     (unsigned long long)(last - first + 1));
	else if (form == FORM_UNSATISFIABLE)
		k = snprintf(line, sizeof(line), "Content-Range: bytes */%llu\r\n"
			     "Content-Length: 0\r\n", (unsigned long long)body_len);
	else if (form == FORM_WHOLE && !streaming && !has_content_length(obj))
		k = snprintf(line, sizeof(line), "Content-Length: %llu\r\n",
			     (unsigned long long)body_len);
	hp_buf_append(b, line, (size_t)k);
}

void hp_hit_serve(struct hp_client *c, struct hp_cache_obj *obj, const char *label,
		  const struct hp_http_header *req, size_t nreq)
{
	struct hp_txn *t = c->t;
	struct hp_buf *b = &c->t->out;
	size_t before = b->len;
	if (t->cache.obj != NULL && t->cache.obj != obj)
		hp_cache_obj_release(t->cache.obj);
	t->cache.obj = obj;
	t->cache.x_cache = label;
	/* Still filling: its length is in its Content-Length field, and its
	 * body must not be read before it is complete. */
	bool streaming = !hp_cache_obj_complete(obj);
	uint64_t body_len = streaming ? 0 : hp_cache_obj_body_len(obj);
	uint64_t first = 0, last = 0;
	enum form form = choose_form(c, obj, req, nreq, streaming, body_len, &first, &last);
	put_head(c, b, obj, form);
	put_date_and_age(b, obj);
	char lf[HP_LIMIT_FIELDS_MAX];
	hp_buf_append(b, lf, hp_respond_limit_fields(c->t, lf, sizeof(lf)));
	put_lengths(b, obj, form, streaming, body_len, first, last);
	hp_hit_put_fields(c, b);
	HP_BUF_APPEND_LIT(b, "Via: 1.1 hotpath\r\n");
	if (!t->req.keep_alive || c->w->draining)
		c->close_after = true;
	if (c->close_after)
		HP_BUF_APPEND_LIT(b, "Connection: close\r\n");
	else if (t->req.minor_version == 0)
		HP_BUF_APPEND_LIT(b, "Connection: keep-alive\r\n");
	HP_BUF_APPEND_LIT(b, "\r\n");
	t->resp.bytes_out += b->len - before;
	t->resp.started = true;
	bool has_body = form == FORM_PARTIAL || (form == FORM_WHOLE && (streaming || body_len > 0));
	if (!has_body || t->req.method == HP_METHOD_HEAD)
		t->resp.source = HP_SRC_DONE;
	else if (streaming)
		hp_body_begin(c, HP_SRC_STREAM, 1, 0);
	else if (form == FORM_PARTIAL)
		hp_body_begin(c, HP_SRC_STORED, first, last);
	else
		hp_body_begin(c, HP_SRC_STORED, 1, 0);
}

enum hp_step hp_step_hit(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	const struct hp_http_request *req = &t->req.head;
	hp_hit_serve(c, t->cache.obj, t->cache.x_cache, req->headers, req->num_headers);
	/* The views in the head die here: it leaves the input buffer. */
	hp_buf_consume(&c->in, t->req.head_len);
	t->req.head_len = 0;
	return HP_STEP_deliver;
}

/* ==== The cache's fields ==== */

bool hp_hit_hides_field(const struct hp_client *c, struct hp_str name)
{
	const struct hp_config_cache *cc = &hp_client_cfg(c)->cache;
	if (c->t->cache.rc == NULL)
		return false;
	if (cc->strip_targeted_fields)
		for (size_t i = 0; i < cc->ntargeted_fields; i++)
			if (hp_str_ieq(name, cc->targeted_fields[i]))
				return true;
	if (!cc->strip_tag_header)
		return false;
	return hp_str_ieq(name, cc->tag_header) || hp_str_ieq(name, "surrogate-key");
}

/* The key as an RFC 8941 string: printable ASCII, separators shown as '|'. */
static void put_key_param(struct hp_buf *b, const struct hp_txn_cache *t)
{
	HP_BUF_APPEND_LIT(b, "; key=\"");
	for (size_t i = 0; i < t->keylen; i++) {
		unsigned char ch = (unsigned char)t->key[i];
		if (ch == '"' || ch == '\\')
			HP_BUF_APPEND_LIT(b, "\\");
		char out = ch < 0x20 || ch >= 0x7f ? '|' : (char)ch;
		hp_buf_append(b, &out, 1);
	}
	HP_BUF_APPEND_LIT(b, "\"");
}

static void put_server_timing(struct hp_client *c, struct hp_buf *b)
{
	const struct hp_txn *t = c->t;
	char line[160];
	int k;
	if (t->up.start_ns != 0 && t->up.head_ns > t->up.start_ns)
		k = snprintf(line, sizeof(line), "Server-Timing: cache;desc=%s, upstream;dur=%.3f\r\n",
			     t->cache.x_cache, (double)(t->up.head_ns - t->up.start_ns) / 1e6);
	else
		k = snprintf(line, sizeof(line), "Server-Timing: cache;desc=%s;dur=%.3f\r\n",
			     t->cache.x_cache, (double)(hp_clock_mono_ns() - t->req.start_ns) / 1e6);
	hp_buf_append(b, line, (size_t)k);
}

void hp_hit_put_fields(struct hp_client *c, struct hp_buf *b)
{
	const struct hp_txn_cache *t = &c->t->cache;
	const struct hp_config_cache *cc = &hp_client_cfg(c)->cache;
	if (t->x_cache == NULL)
		return;
	char line[192];
	int k;
	if (cc->x_cache) {
		k = snprintf(line, sizeof(line), "X-Cache: %s\r\n", t->x_cache);
		hp_buf_append(b, line, (size_t)k);
	}
	if (t->fwd == NULL && t->obj != NULL) {
		k = snprintf(line, sizeof(line), "Cache-Status: hotpath; hit; ttl=%lld%s",
			     (long long)hp_cache_obj_ttl(t->obj, hp_clock_wall_s()),
			     c->t->l2.hit ? "; detail=l2" : "");
	} else {
		k = snprintf(line, sizeof(line), "Cache-Status: hotpath; fwd=%s; fwd-status=%d%s%s",
			     t->fwd ? t->fwd : "uri-miss",
			     t->fwd_status ? t->fwd_status : c->t->resp.status,
			     t->storing ? "; stored" : "",
			     t->waited ? "; collapsed" : "");
	}
	hp_buf_append(b, line, (size_t)k);
	if (cc->status_key && t->key != NULL)
		put_key_param(b, t);
	HP_BUF_APPEND_LIT(b, "\r\n");
	if (cc->server_timing)
		put_server_timing(c, b);
}
