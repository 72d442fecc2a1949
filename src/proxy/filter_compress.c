/* SPDX-License-Identifier: MIT */
/*
 * filter_compress.c - response compression: the decisions (which coding a
 * request gets, whether a response is transformed) and the filter that
 * encodes a body, or decodes an origin's gzip for a client that does not
 * take it, chunk by chunk as it streams (src/compress does the coding).
 *
 * Compress once: the request's Accept-Encoding is reduced to the coding it
 * negotiates ("gzip, deflate, br" becomes "br") before the cache sees it,
 * and every response that may be compressed is stored with Vary:
 * Accept-Encoding. So the cache's own Vary variants are one copy per
 * coding actually asked for, each filled by the first request asking for
 * it (the compress filter feeds the fill filter), and served to the next
 * ones with no compression work. The origin gets the reduced field too,
 * so a response it encodes itself is in the coding the variant stands
 * for; one in any other coding is sent but not stored.
 *
 * Never transformed: HEAD (only passed through: a HEAD miss that fills
 * the cache is a GET), 1xx, 204, 206 and 304, responses already encoded,
 * with Cache-Control: no-transform, of types not listed, of a known length
 * below min_size, and text/event-stream (a compressor holds bytes back).
 */
#include <string.h>

#include "compress/compress.h"
#include "core/arena.h"
#include "proxy/filter.h"
#include "proxy/proxy_priv.h"

/* ==== The request ==== */

static bool route_compresses(const struct hp_client *c)
{
	const struct hp_txn *t = c->t;
	const struct hp_config *cfg = hp_client_cfg(c);
	if (t->route == NULL)
		return false;
	const char *mode = cfg->routes[t->route - t->ws->snap->routes].compression.enabled;
	if (strcmp(mode, "inherit") != 0)
		return strcmp(mode, "on") == 0;
	return cfg->compression.enabled;
}

/* The server's order, from compression.encodings. */
static size_t server_order(const struct hp_config *cfg, enum hp_compress_enc *out)
{
	size_t n = 0;
	for (size_t i = 0; i < cfg->compression.nencodings && n < HP_ENC_COUNT; i++) {
		int e = hp_compress_from_name((struct hp_str){cfg->compression.encodings[i],
							      strlen(cfg->compression.encodings[i])});
		if (e > HP_ENC_IDENTITY)
			out[n++] = (enum hp_compress_enc)e;
	}
	return n;
}

/* Identity is the field's absence: "identity", "deflate" and no field at
 * all must find the same variant (Vary tells an absent field from any
 * value), so the field goes. */
size_t hp_compress_normalize(const struct hp_client *c, struct hp_http_header *h, size_t n)
{
	const struct hp_txn_compress *tc = &c->t->compress;
	if (!tc->on)
		return n;
	const char *name = hp_compress_name(tc->want);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (hp_str_ieq(h[i].name, "accept-encoding")) {
			if (tc->want == HP_ENC_IDENTITY)
				continue;
			h[i].value = (struct hp_str){name, strlen(name)};
		}
		h[k++] = h[i];
	}
	return k;
}

void hp_compress_on_request(struct hp_client *c, struct hp_http_request *req)
{
	struct hp_txn_compress *tc = &c->t->compress;
	*tc = (struct hp_txn_compress){.want = HP_ENC_IDENTITY, .enc = HP_ENC_IDENTITY};
	if (!route_compresses(c))
		return;
	/* Several Accept-Encoding fields are one list; the first is what
	 * clients send in practice, and what we go by. */
	const struct hp_http_header *ae = hp_http_find_header(req->headers, req->num_headers,
							      "accept-encoding");
	struct hp_str v = ae != NULL ? ae->value : (struct hp_str){"", 0};
	enum hp_compress_enc order[HP_ENC_COUNT];
	size_t n = server_order(hp_client_cfg(c), order);
	tc->on = true;
	tc->want = hp_compress_negotiate(v, ae != NULL, order, n);
	tc->accepts_gzip = hp_compress_accepts(v, ae != NULL, HP_ENC_GZIP);
	req->num_headers = hp_compress_normalize(c, req->headers, req->num_headers);
}

/* ==== The response head ==== */

static bool has_body(const struct hp_http_response *r)
{
	return r->body != HP_BODY_NONE && !(r->body == HP_BODY_LENGTH && r->content_length == 0);
}

/* May this response be sent in another coding than the origin's? */
static bool transformable(const struct hp_client *c, const struct hp_http_response *r)
{
	const struct hp_txn *t = c->t;
	if (t->req.method == HP_METHOD_HEAD && !t->cache.head_as_get)
		return false;
	if (r->status < 200 || r->status == 204 || r->status == 206 || r->status == 304)
		return false;
	const struct hp_http_header *cc;
	for (size_t i = 0; i < r->num_headers; i++) {
		cc = &r->headers[i];
		if (hp_str_ieq(cc->name, "cache-control") && hp_http_has_token(cc->value, "no-transform"))
			return false;
	}
	return has_body(r);
}

/* Worth compressing: a listed type, not a stream of events, long enough. */
static bool compressible(const struct hp_client *c, const struct hp_http_response *r)
{
	const struct hp_config_compression *cc = &hp_client_cfg(c)->compression;
	const struct hp_http_header *ct = hp_http_find_header(r->headers, r->num_headers,
							      "content-type");
	if (ct == NULL || !hp_compress_type_matches(ct->value, cc->types, cc->ntypes))
		return false;
	char *sse[] = {"text/event-stream"};
	if (hp_compress_type_matches(ct->value, sse, 1))
		return false;
	return r->body != HP_BODY_LENGTH || r->content_length >= cc->min_size;
}

/* The origin's coding: IDENTITY when none; -1 for anything we cannot
 * name (several codings, or one we do not know). */
static int origin_coding(const struct hp_http_response *r)
{
	const struct hp_http_header *ce = hp_http_find_header(r->headers, r->num_headers,
							      "content-encoding");
	if (ce == NULL || ce->value.len == 0)
		return HP_ENC_IDENTITY;
	return hp_compress_from_name(ce->value);
}

static bool vary_has_ae(const struct hp_http_response *r)
{
	for (size_t i = 0; i < r->num_headers; i++)
		if (hp_str_ieq(r->headers[i].name, "vary") &&
		    (hp_http_has_token(r->headers[i].value, "accept-encoding") ||
		     hp_http_has_token(r->headers[i].value, "*")))
			return true;
	return false;
}

/* "W/" before a strong entity tag: the transformed body is not the same
 * bytes (RFC 9110 §8.8.1), so range and If-Range comparisons must fail. */
static struct hp_str weaken(struct hp_arena *a, struct hp_str etag)
{
	if (etag.len < 2 || etag.ptr[0] != '"')
		return etag;
	char *w = hp_arena_alloc(a, etag.len + 2);
	memcpy(w, "W/", 2);
	memcpy(w + 2, etag.ptr, etag.len);
	return (struct hp_str){w, etag.len + 2};
}

/* The fields of <r> as the transformed response has them. */
static void rewrite_fields(struct hp_client *c, struct hp_http_response *r, bool transform,
			   bool add_vary)
{
	struct hp_txn_compress *tc = &c->t->compress;
	struct hp_arena *a = &c->t->arena;
	struct hp_http_header *out = hp_arena_alloc(a, (r->num_headers + 2) * sizeof(*out));
	size_t k = 0;
	for (size_t i = 0; i < r->num_headers; i++) {
		struct hp_http_header h = r->headers[i];
		if (transform && (hp_str_ieq(h.name, "content-length") ||
				  hp_str_ieq(h.name, "content-encoding")))
			continue;
		if (transform && hp_str_ieq(h.name, "etag"))
			h.value = weaken(a, h.value);
		if (add_vary && hp_str_ieq(h.name, "vary")) {
			/* Merged into the origin's first Vary. */
			h.value.ptr = hp_arena_printf(a, "%.*s, Accept-Encoding", (int)h.value.len,
						      h.value.ptr);
			h.value.len += sizeof(", Accept-Encoding") - 1;
			add_vary = false;
		}
		out[k++] = h;
	}
	if (tc->enc != HP_ENC_IDENTITY) {
		const char *name = hp_compress_name(tc->enc);
		out[k++] = (struct hp_http_header){HP_STR("Content-Encoding"),
						   {name, strlen(name)}};
	}
	if (add_vary)
		out[k++] = (struct hp_http_header){HP_STR("Vary"), HP_STR("Accept-Encoding")};
	r->headers = out;
	r->num_headers = k;
}

void hp_compress_on_response(struct hp_client *c, struct hp_http_response *r)
{
	struct hp_txn_compress *tc = &c->t->compress;
	tc->storable = true;
	if (!tc->on || !transformable(c, r))
		return;
	int origin = origin_coding(r);
	bool transform = false;
	bool add_vary = false;
	if (origin == HP_ENC_IDENTITY && compressible(c, r)) {
		/* Every variant says Vary, the identity one too: else a client
		 * that takes nothing would fill a copy served to everyone. */
		tc->enc = tc->want;
		transform = tc->enc != HP_ENC_IDENTITY;
		add_vary = !vary_has_ae(r);
	} else if (origin != HP_ENC_IDENTITY) {
		/* The origin encoded it: stored only in the coding asked for. */
		tc->storable = origin == (int)tc->want;
		add_vary = !vary_has_ae(r);
		if (origin == HP_ENC_GZIP && !tc->accepts_gzip) {
			tc->gunzip = true;
			transform = true;
		}
	}
	if (transform || add_vary)
		rewrite_fields(c, r, transform, add_vary);
}

bool hp_compress_transforms(const struct hp_client *c)
{
	return c->t->compress.enc != HP_ENC_IDENTITY || c->t->compress.gunzip;
}

/* ==== The filter ==== */

struct compress {
	struct hp_filter base;
	struct hp_compress_stream *s;  /* NULL once given back */
	struct hp_buf out;             /* coded bytes on their way to the next filter */
	bool count;                    /* an encoder: its bytes count in the metrics */
};

static void give_back(struct compress *z)
{
	if (z->s != NULL)
		hp_compress_give(z->base.c->w->compress, z->s);
	z->s = NULL;
	hp_buf_fini(&z->out);
}

/* Pass on what the coder made; HP_ERR if the next filter refused it. */
static int pass_out(struct compress *z)
{
	if (z->count)
		z->base.c->t->compress.out += z->out.len;
	struct hp_bvec v = {.ptr = hp_buf_data(&z->out), .fd = -1, .len = z->out.len};
	ssize_t rc = z->out.len > 0 ? hp_filter_next(&z->base, &v, 1) : 0;
	hp_buf_reset(&z->out);
	return rc < 0 ? HP_ERR : 0;
}

static ssize_t compress_data(struct hp_filter *f, const struct hp_bvec *v, size_t n)
{
	struct compress *z = (struct compress *)f;
	uint64_t taken = 0;
	for (size_t i = 0; i < n; i++) {
		HP_ASSERT(v[i].ptr != NULL && !v[i].stable);
		if (z->s == NULL || hp_compress_feed(z->s, v[i].ptr, v[i].len, false, &z->out) < 0)
			return HP_ERR;
		if (z->count)
			f->c->t->compress.in += v[i].len;
		taken += v[i].len;
	}
	if (pass_out(z) < 0)
		return HP_ERR;
	return (ssize_t)taken;
}

static int compress_end(struct hp_filter *f)
{
	struct compress *z = (struct compress *)f;
	int rc = z->s != NULL ? hp_compress_feed(z->s, NULL, 0, true, &z->out) : HP_ERR;
	if (rc == 0)
		rc = pass_out(z);
	give_back(z);
	return rc;
}

static void compress_abort(struct hp_filter *f)
{
	give_back((struct compress *)f);
}

static const struct hp_filter_ops compress_ops = {
	.name = "compress",
	.data = compress_data,
	.end = compress_end,
	.abort = compress_abort,
};

struct hp_filter *hp_filter_compress(struct hp_arena *a, struct hp_client *c)
{
	const struct hp_txn_compress *tc = &c->t->compress;
	const struct hp_config_compression_levels *lv = &hp_client_cfg(c)->compression.levels;
	struct compress *z = hp_arena_alloc(a, sizeof(*z));
	*z = (struct compress){.base = {.ops = &compress_ops, .c = c}};
	if (tc->gunzip) {
		z->s = hp_compress_take_gunzip(c->w->compress);
		return &z->base;
	}
	int level = tc->enc == HP_ENC_GZIP ? (int)lv->gzip
		    : tc->enc == HP_ENC_BR ? (int)lv->br : (int)lv->zstd;
	z->s = hp_compress_take(c->w->compress, tc->enc, level);
	z->count = true;
	return &z->base;
}
