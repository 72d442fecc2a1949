/* SPDX-License-Identifier: MIT */
/*
 * connect.c - getting a request an upstream connection: the balancer's
 * pick among the servers not tried yet (with the request's hash key), a
 * pooled keep-alive connection or a new one, the server's queue when it
 * is at max_connections (woken by the pool when a slot frees, 503 after
 * connect_timeout), the check of a finished connect, and the retries of
 * an idempotent request whose connection failed or timed out before any
 * response byte: on another server, within `retries` and the group's
 * retry budget, and after a response status listed in retry_on while
 * nothing of it reached the client; a dead pooled connection gets one
 * free retry, as the server may merely have closed it while idle. Every outcome goes to the
 * group's passive health. And what an upstream failure becomes for the
 * client (hp_fetch_failed): stale, 502/504, or a close once the response
 * has started.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "proxy/proxy_priv.h"

static const struct hp_config_upstream *group_conf(const struct hp_client *c)
{
	return hp_upstream_group_conf(hp_upstream_pool_group(c->t->up.pool));
}

static struct hp_upstream_group *group_of(const struct hp_client *c)
{
	return hp_upstream_pool_group(c->t->up.pool);
}

/* ==== The balancer's key ==== */

/* What hash_key names in the request; the client address when absent. */
static struct hp_str hash_input(const struct hp_client *c, const struct hp_config_upstream *uc)
{
	const struct hp_http_request *req = &c->t->req.head;
	struct hp_str v = {NULL, 0};
	switch (uc->hash_kind) {
	case HP_HASH_KEY_URL:
		v = (struct hp_str){req->target.ptr, req->target.len};
		break;
	case HP_HASH_KEY_HEADER: {
		const struct hp_http_header *h =
			hp_http_find_header(req->headers, req->num_headers, uc->hash_name);
		if (h != NULL)
			v = h->value;
		break;
	}
	case HP_HASH_KEY_COOKIE:
		v = hp_route_find_cookie(req, uc->hash_name);
		break;
	case HP_HASH_KEY_IP:
		break;
	}
	if (v.len > 0)
		return v;
	return (struct hp_str){c->peer_ip, strlen(c->peer_ip)};
}

void hp_connect_prepare(struct hp_client *c)
{
	const struct hp_config_upstream *uc = group_conf(c);
	hp_upstream_count_request(group_of(c));
	if (uc->balance != NULL && strcmp(uc->balance, "hash") == 0) {
		struct hp_str v = hash_input(c, uc);
		c->t->up.hash = hp_upstream_hash(v.ptr, v.len);
	}
}

void hp_connect_answered(struct hp_client *c, int status)
{
	hp_upstream_report_status(group_of(c), c->t->up.server, status);
}
/* ==== Failures ==== */

/* At most one line a second per worker, so a dead origin under load
 * cannot flood the error log; the next line says how many it stood for. */
static void log_failure(struct hp_client *c, const char *reason)
{
	struct hp_worker *w = c->w;
	uint64_t now = hp_clock_mono_ms();
	if (now < w->uplog_next_ms) {
		w->uplog_suppressed++;
		return;
	}
	const struct hp_upstream_server *s = c->t->up.server;
	const struct hp_route *r = c->t->route;
	if (w->uplog_suppressed > 0)
		hp_log_warn("upstream %s (route %s): %s (and %u more upstream failures since "
			    "the last line)", s ? s->name : "-", r ? r->name : "-", reason,
			    w->uplog_suppressed);
	else
		hp_log_warn("upstream %s (route %s): %s", s ? s->name : "-", r ? r->name : "-",
			    reason);
	w->uplog_suppressed = 0;
	w->uplog_next_ms = now + 1000;
}

enum hp_step hp_fetch_failed(struct hp_client *c, int status, const char *reason)
{
	struct hp_txn *t = c->t;
	t->up.fail = reason;
	log_failure(c, reason);
	if (t->resp.started) {
		hp_client_close(c);
		return HP_STEP_DONE;
	}
	hp_txn_release_upstream(c, false);
	if (hp_lookup_on_error(c))
		return HP_STEP_deliver;
	return hp_respond_error(c, status, reason);
}

/* ==== Connecting ==== */

static void attach(struct hp_client *c, struct hp_upstream_conn *up)
{
	struct hp_txn_up *u = &c->t->up;
	u->conn = up;
	u->head_sent = 0;
	/* A buffered body goes again, whole, on a retry. */
	if (c->t->req.body_mode == HP_RB_BUFFERED) {
		c->t->req.body_sent = 0;
		c->t->req.body_done = false;
	}
	u->connect_event = false;
	u->expired = false;
	if (u->start_ns == 0) {
		u->start_ns = hp_clock_mono_ns();
		c->t->cache.request_time = hp_clock_wall_s();
	}
	up->io.cb = hp_txn_on_upstream_event;
	up->requests++;
	const struct hp_config_upstream *uc = group_conf(c);
	hp_timer_start(c->w->loop, &up->timer,
		       up->connected ? uc->send_timeout_ms : uc->connect_timeout_ms,
		       hp_txn_on_upstream_timer);
}

static void mark_tried(struct hp_client *c, const struct hp_upstream_server *s)
{
	struct hp_txn_up *u = &c->t->up;
	if (u->tried == NULL) {
		size_t words = hp_upstream_set_words(hp_upstream_pool_group(u->pool));
		u->tried = hp_arena_alloc(&c->t->arena, words * sizeof(*u->tried));
		memset(u->tried, 0, words * sizeof(*u->tried));
	}
	hp_upstream_set_add(u->tried, s->index);
}

/* The pool has a slot for us (its callback, on this worker). */
static void on_slot(struct hp_upstream_waiter *w)
{
	struct hp_client *c = HP_CONTAINER_OF(w, struct hp_txn, up.slot)->client;
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	c->t->up.slot_free = true;
	c->drive(c);
}

static uint64_t queue_timeout_ms(const struct hp_config_upstream *uc)
{
	return uc->queue_timeout_ms ? uc->queue_timeout_ms : uc->connect_timeout_ms;
}

enum hp_step hp_connect_busy(struct hp_client *c, const char *reason)
{
	hp_upstream_pool_cancel_wait(&c->t->up.slot);
	hp_txn_release_upstream(c, false);
	if (hp_lookup_on_error(c))
		return HP_STEP_deliver;
	/* Come back once a queue's worth of waiting has passed, at least 1 s. */
	char fields[64];
	uint64_t s = (queue_timeout_ms(group_conf(c)) + 999) / 1000;
	snprintf(fields, sizeof(fields), "Retry-After: %llu\r\n",
		 (unsigned long long)(s > 0 ? s : 1));
	return hp_respond_error_fields(c, 503, reason, fields);
}

/* <s> is at max_connections: queue for its next free slot, as HAProxy's
 * server queue does, bounded in length (max_queue for the whole group)
 * and in time (queue_timeout): a 503 with Retry-After past either. */
static enum hp_step queue_for_slot(struct hp_client *c, struct hp_upstream_server *s)
{
	struct hp_txn_up *u = &c->t->up;
	const struct hp_config_upstream *uc = group_conf(c);
	if (hp_upstream_group_waiting(group_of(c)) >= uc->max_queue)
		return hp_connect_busy(c, "upstream busy: connection queue full");
	hp_upstream_pool_wait(u->pool, &u->slot, s, on_slot);
	if (c->timer_kind != CT_QUEUE)
		hp_client_arm_timer(c, CT_QUEUE, queue_timeout_ms(uc));
	return HP_STEP_WAIT;
}

/* A pooled connection to <s>, or a new one. Returns the next step: fetch
 * (go on), WAIT (queued for a slot), or -errno in *<rc> to try another. */
static enum hp_step use_server(struct hp_client *c, struct hp_upstream_server *s, int *rc)
{
	struct hp_txn_up *u = &c->t->up;
	u->server = s;
	*rc = 0;
	struct hp_upstream_conn *up = hp_upstream_take(u->pool, s, c);
	if (up == NULL) {
		*rc = hp_upstream_connect(u->pool, s, c, hp_txn_on_upstream_event, &up);
		if (*rc == -EBUSY)
			return queue_for_slot(c, s);
		if (*rc < 0)
			return HP_STEP_WAIT;
	}
	if (c->timer_kind == CT_QUEUE)
		hp_client_disarm_timer(c);
	attach(c, up);
	return HP_STEP_fetch;
}

/* Take a pooled connection or start one, on the server the balancer picks
 * among those not tried yet. Returns the next step: fetch (go on), WAIT
 * (queued for a slot), or what a failure leads to. */
enum hp_step hp_connect_upstream(struct hp_client *c)
{
	struct hp_txn_up *u = &c->t->up;
	struct hp_upstream_group *g = hp_upstream_pool_group(u->pool);
	for (;;) {
		struct hp_upstream_server *s = hp_upstream_pick_except(g, u->tried, u->hash);
		if (s == NULL)
			return hp_fetch_failed(c, 502, "upstream unavailable: connection refused");
		int rc;
		enum hp_step next = use_server(c, s, &rc);
		if (rc >= 0 || rc == -EBUSY)
			return next;
		hp_log_debug("connect %s: %s", s->name, strerror(-rc));
		hp_upstream_count_failure(s, HP_UPSTREAM_CONNECT_FAILED);
		hp_upstream_report(g, s, false, strerror(-rc));
		mark_tried(c, s);
	}
}

/* Our turn in the slot queue: the server we queued for, first. */
enum hp_step hp_connect_slot_turn(struct hp_client *c)
{
	struct hp_txn_up *u = &c->t->up;
	u->slot_free = false;
	int rc;
	enum hp_step next = use_server(c, u->server, &rc);
	if (rc >= 0 || rc == -EBUSY)
		return next;
	hp_upstream_count_failure(u->server, HP_UPSTREAM_CONNECT_FAILED);
	mark_tried(c, u->server);
	return hp_connect_upstream(c);
}

/* A connect finished or failed (an event on a connecting socket). */
enum hp_step hp_connect_check(struct hp_client *c)
{
	struct hp_txn_up *u = &c->t->up;
	u->connect_event = false;
	int rc = hp_upstream_conn_check_connected(u->conn);
	if (rc < 0) {
		hp_log_debug("connect %s: %s", u->server->name, strerror(-rc));
		hp_upstream_count_failure(u->server, HP_UPSTREAM_CONNECT_FAILED);
		hp_upstream_report(group_of(c), u->server, false, strerror(-rc));
		mark_tried(c, u->server);
		hp_txn_release_upstream(c, false);
		return hp_connect_upstream(c);
	}
	hp_timer_start(c->w->loop, &u->conn->timer, group_conf(c)->send_timeout_ms,
		       hp_txn_on_upstream_timer);
	return HP_STEP_fetch;
}

/* Whether a server other than ours is not tried yet. */
static bool others_left(const struct hp_client *c)
{
	const struct hp_txn_up *u = &c->t->up;
	size_t n = hp_upstream_group_size(group_of(c));
	for (size_t i = 0; i < n; i++) {
		if (i != u->server->index && !hp_upstream_set_has(u->tried, i))
			return true;
	}
	return false;
}

/* Whether the request may go once more, elsewhere, after a failure of its
 * server before any response byte; counts the try if so. Once it was
 * <sent>, only an idempotent request may; one that never left (a connect
 * timed out) may whatever its method. */
static bool may_retry(struct hp_client *c, bool sent)
{
	struct hp_txn_up *u = &c->t->up;
	if ((sent && !u->retryable) || u->head_in || c->t->resp.started ||
	    u->attempts >= group_conf(c)->retries || !others_left(c))
		return false;
	if (!hp_upstream_retry_take(group_of(c))) {
		hp_log_info("upstream %s: retry budget spent, no retry", group_conf(c)->name);
		return false;
	}
	u->attempts++;
	atomic_fetch_add_explicit(&u->server->total_retries, 1, memory_order_relaxed);
	return true;
}

bool hp_connect_retry(struct hp_client *c, const char *reason)
{
	struct hp_txn_up *u = &c->t->up;
	if (u->conn == NULL)
		return false;
	if (u->conn->reused && !u->stale_retried && u->retryable && !u->head_in) {
		/* Most likely closed by the server while it sat idle: not a
		 * failure of the server, and the same server may take it. */
		u->stale_retried = true;
		hp_txn_release_upstream(c, false);
		return true;
	}
	hp_upstream_report(group_of(c), u->server, false, reason);
	if (!may_retry(c, true))
		return false;
	hp_log_debug("upstream %s: %s, retrying elsewhere", u->server->name, reason);
	mark_tried(c, u->server);
	hp_txn_release_upstream(c, false);
	return true;
}

static bool retry_on_status(const struct hp_config_upstream *uc, int status)
{
	if (status < 500 || status > 599)
		return false;
	unsigned b = (unsigned)status - 500;
	return (uc->retry_status[b / 64] >> (b % 64)) & 1;
}

bool hp_connect_retry_status(struct hp_client *c, int status)
{
	struct hp_txn_up *u = &c->t->up;
	if (!retry_on_status(group_conf(c), status) || !may_retry(c, true))
		return false; /* the response goes on: hp_connect_answered reports it */
	/* The server answered: its connection works, so passive health hears
	 * a response; the status is the circuit breaker's business. */
	hp_upstream_report_status(group_of(c), u->server, status);
	hp_log_debug("upstream %s: status %d, retrying elsewhere", u->server->name, status);
	mark_tried(c, u->server);
	hp_txn_release_upstream(c, false);
	return true;
}

enum hp_step hp_connect_timed_out(struct hp_client *c)
{
	struct hp_txn_up *u = &c->t->up;
	bool connecting = !u->conn->connected;
	const char *reason = connecting ? "upstream connect timed out" : "upstream timed out";
	if (connecting || u->conn->in.len == 0) {
		hp_upstream_report(group_of(c), u->server, false, reason);
		if (may_retry(c, !connecting)) {
			hp_log_debug("upstream %s: %s, retrying elsewhere", u->server->name, reason);
			mark_tried(c, u->server);
			hp_txn_release_upstream(c, false);
			return hp_connect_upstream(c);
		}
	}
	return hp_fetch_failed(c, 504, reason);
}
