/* SPDX-License-Identifier: MIT */
/*
 * recv.c - step recv: read a request head and parse it strictly (a
 * malformed head gets its 4xx and a close: nothing after it can be
 * trusted), then note what the rest of the path needs from it: method,
 * version, keep-alive, how the body is framed, and the fields the access
 * log keeps. The head stays in the input buffer until a later step takes
 * it, so a request that waits for another's fill is simply parsed again.
 */
#include <string.h>

#include "proxy/proxy_priv.h"

static struct hp_http_limits head_limits(const struct hp_config *cfg)
{
	return (struct hp_http_limits){
		.max_request_line = cfg->limits.max_request_line,
		.max_head_bytes = cfg->limits.max_header_size,
		.max_headers = cfg->limits.max_header_fields,
	};
}

static void copy_log_fields(struct hp_client *c, const struct hp_http_request *req)
{
	struct hp_txn_req *r = &c->t->req;
	struct hp_arena *a = &c->t->arena;
	r->log_method = hp_arena_strndup(a, req->method.ptr, req->method.len);
	r->log_target = hp_arena_strndup(a, req->target.ptr, req->target.len);
	r->log_host = hp_arena_strndup(a, req->host.ptr, req->host.len);
	const struct hp_http_header *h;
	h = hp_http_find_header(req->headers, req->num_headers, "user-agent");
	r->log_ua = h ? hp_arena_strndup(a, h->value.ptr, h->value.len) : NULL;
	h = hp_http_find_header(req->headers, req->num_headers, "referer");
	r->log_referer = h ? hp_arena_strndup(a, h->value.ptr, h->value.len) : NULL;
}

/* The peer, unless it is a trusted proxy that says for whom it asks: then
 * the address X-Forwarded-For gives (nginx realip, recursive). Costs
 * nothing without trusted_proxies. */
static void note_client(struct hp_client *c, const struct hp_http_request *req)
{
	struct hp_txn_req *r = &c->t->req;
	const struct hp_config *cfg = hp_client_cfg(c);
	r->client = &c->peer;
	r->client_ip = c->peer_ip;
	if (cfg->ntrusted_proxies == 0)
		return;
	struct sockaddr_storage a = c->peer;
	if (!hp_http_forwarded_client(req->headers, req->num_headers, cfg->trusted_proxies,
				      cfg->ntrusted_proxies, &a))
		return;
	struct sockaddr_storage *copy = hp_arena_alloc(&c->t->arena, sizeof(*copy));
	*copy = a;
	char *ip = hp_arena_alloc(&c->t->arena, INET6_ADDRSTRLEN);
	hp_net_format_ip((const struct sockaddr *)copy, ip, INET6_ADDRSTRLEN);
	r->client = copy;
	r->client_ip = ip;
}

static void note_request(struct hp_client *c, const struct hp_http_request *req, size_t len)
{
	struct hp_txn_req *r = &c->t->req;
	note_client(c, req);
	r->start_ns = hp_clock_mono_ns();
	r->head = *req;
	r->head_len = len;
	r->method = req->method_id;
	r->minor_version = req->minor_version;
	r->keep_alive = req->keep_alive;
	r->expect_continue = req->expect_continue;
	r->body = req->body;
	r->body_remaining = req->body == HP_BODY_LENGTH ? req->content_length : 0;
	if (r->body == HP_BODY_LENGTH && r->body_remaining == 0)
		r->body = HP_BODY_NONE;
	r->body_done = r->body == HP_BODY_NONE;
	if (c->t->ws->snap->alog != NULL)
		copy_log_fields(c, req);
}

enum hp_step hp_step_recv(struct hp_client *c)
{
	const struct hp_config *cfg = hp_client_cfg(c);
	if (!hp_client_read(c, cfg->limits.max_header_size + 1))
		return HP_STEP_DONE;
	if (c->in.len == 0) {
		if (!c->eof)
			return HP_STEP_WAIT;
		hp_client_close(c);
		return HP_STEP_DONE;
	}
	if (c->timer_kind != CT_HEADER)
		hp_client_arm_timer(c, CT_HEADER, cfg->limits.header_timeout_ms);
	struct hp_http_limits lim = head_limits(cfg);
	struct hp_http_request req;
	int rc = hp_http_parse_request(hp_buf_data(&c->in), c->in.len, &req, c->w->req_fields,
				       &lim);
	if (rc == HP_AGAIN) {
		if (!c->eof)
			return HP_STEP_WAIT;
		hp_client_close(c);
		return HP_STEP_DONE;
	}
	hp_txn_begin(c);
	c->t->req.client = &c->peer;
	c->t->req.client_ip = c->peer_ip;
	if (rc == HP_ERR) {
		/* Nothing after a malformed head can be trusted. */
		hp_buf_reset(&c->in);
		c->close_after = true;
		return hp_respond_error(c, req.error_status ? req.error_status : 400,
					req.error_reason ? req.error_reason : "bad request");
	}
	hp_client_disarm_timer(c);
	note_request(c, &req, (size_t)rc);
	return HP_STEP_route;
}

bool hp_txn_saved_request(struct hp_client *c, struct hp_http_request *req)
{
	struct hp_txn_cache *tc = &c->t->cache;
	if (tc->req_head == NULL)
		return false;
	struct hp_http_limits lim = head_limits(hp_client_cfg(c));
	struct hp_http_header *h = hp_arena_alloc(&c->t->arena, lim.max_headers * sizeof(*h));
	return hp_http_parse_request(tc->req_head, tc->req_head_len, req, h, &lim) > 0;
}
