/* SPDX-License-Identifier: MIT */
/*
 * txn.c - what a transaction holds, and giving it back: the snapshot it
 * runs on, its upstream connection, its body chain, its cache references,
 * fill and waiters. Every path out of a transaction (a finished response,
 * an error of ours, a closed connection) ends here, so nothing is released
 * twice or forgotten.
 *
 * Also the callbacks of the upstream connection a transaction holds: they
 * only record what happened and run the transaction again, whose current
 * step decides (fetch.c reads the flags).
 */
#include <stdlib.h>
#include <string.h>

#include "proxy/proxy_priv.h"

/* Spares kept per worker: enough for the requests of a busy moment to
 * start without malloc, few enough that idle memory stays small. */
#define SPARE_TXNS 64
#define SPARE_INPUTS 64
/* The arena's block: a request's key, log fields and filters fit. */
#define ARENA_BLOCK 2048

/* ==== Spares ==== */

static void txn_free(struct hp_txn *t)
{
	hp_buf_fini(&t->out);
	hp_buf_fini(&t->up.head);
	hp_buf_fini(&t->resp.stream);
	hp_buf_fini(&t->req.body_buf);
	hp_arena_fini(&t->arena);
	free(t);
}

static struct hp_txn *txn_take(struct hp_worker *w)
{
	struct hp_txn *t = w->spare_txns;
	if (t == NULL) {
		t = hp_xcalloc(1, sizeof(*t));
		hp_arena_init(&t->arena, ARENA_BLOCK);
		return t;
	}
	w->spare_txns = t->next_spare;
	w->nspare_txns--;
	return t;
}

static void txn_give(struct hp_worker *w, struct hp_txn *t)
{
	/* A buffered request body may be request_buffering big: spares do not
	 * keep it. */
	hp_buf_fini(&t->req.body_buf);
	if (w->nspare_txns >= SPARE_TXNS) {
		txn_free(t);
		return;
	}
	t->next_spare = w->spare_txns;
	w->spare_txns = t;
	w->nspare_txns++;
}

void hp_txn_take_input(struct hp_client *c)
{
	struct hp_worker *w = c->w;
	if (c->in.base != NULL || w->nspare_bufs == 0)
		return;
	c->in = w->spare_bufs[--w->nspare_bufs];
}

void hp_txn_give_input(struct hp_client *c)
{
	struct hp_worker *w = c->w;
	if (c->in.base == NULL || c->in.len != 0)
		return;
	if (w->spare_bufs == NULL)
		w->spare_bufs = hp_xcalloc(SPARE_INPUTS, sizeof(*w->spare_bufs));
	if (w->nspare_bufs < SPARE_INPUTS) {
		hp_buf_reset(&c->in);
		w->spare_bufs[w->nspare_bufs++] = c->in;
		c->in = (struct hp_buf){0};
	} else {
		hp_buf_fini(&c->in);
	}
}

void hp_txn_free_spares(struct hp_worker *w)
{
	while (w->spare_txns != NULL) {
		struct hp_txn *t = w->spare_txns;
		w->spare_txns = t->next_spare;
		txn_free(t);
	}
	w->nspare_txns = 0;
	for (unsigned i = 0; i < w->nspare_bufs; i++)
		hp_buf_fini(&w->spare_bufs[i]);
	free(w->spare_bufs);
	w->spare_bufs = NULL;
	w->nspare_bufs = 0;
}

/* ==== Life cycle ==== */

void hp_txn_begin(struct hp_client *c)
{
	HP_ASSERT(c->t == NULL);
	struct hp_txn *t = txn_take(c->w);
	/* The buffers and the arena keep their memory from one request to the
	 * next: only their contents are reset. */
	struct hp_arena arena = t->arena;
	struct hp_buf out = t->out;
	struct hp_buf head = t->up.head;
	struct hp_buf stream = t->resp.stream;
	hp_buf_reset(&out);
	hp_buf_reset(&head);
	hp_buf_reset(&stream);
	memset(t, 0, sizeof(*t));
	t->arena = arena;
	t->out = out;
	t->up.head = head;
	t->resp.stream = stream;
	t->client = c;
	t->ws = hp_wsnap_fetch(c->w->ws);
	t->step = HP_STEP_recv;
	c->t = t;
}

void hp_txn_keep_request_fields(struct hp_txn *t)
{
	struct hp_http_request *req = &t->req.head;
	size_t bytes = req->num_headers * sizeof(*req->headers);
	struct hp_http_header *h = hp_arena_alloc(&t->arena, bytes ? bytes : 1);
	memcpy(h, req->headers, bytes);
	req->headers = h;
}

void hp_txn_release_upstream(struct hp_client *c, bool reusable)
{
	struct hp_txn *t = c->t;
	if (t->up.conn == NULL)
		return;
	/* Part of the request body went, the rest never will: an RST, so the
	 * origin sees an abort and never a well-formed request cut short. */
	if (!reusable && !t->req.body_done && t->up.conn->connected)
		hp_net_reset_on_close(t->up.conn->io.fd);
	hp_timer_stop(c->w->loop, &t->up.conn->timer);
	hp_upstream_release(t->up.conn, reusable);
	t->up.conn = NULL;
}

/* A wake-up already on its way frees the client when it arrives: tell the
 * close path to leave the free to it. */
static void cancel_waits(struct hp_client *c)
{
	struct hp_txn_cache *tc = &c->t->cache;
	if (tc->wait == HP_WAIT_FILL && !hp_cache_cancel_wait(c->t->ws->snap->cache, &tc->waiter))
		c->post_pending = true;
	if (tc->wait == HP_WAIT_STREAM && !hp_cache_obj_cancel_stream(tc->obj, &tc->waiter))
		c->post_pending = true;
	tc->wait = HP_WAIT_NONE;
}

void hp_txn_abort_work(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	if (t == NULL)
		return;
	hp_txn_release_upstream(c, false);
	/* The chain owns the fill once built: aborting it aborts the fill. */
	hp_filter_abort(&t->resp.chain);
	t->resp.chain = (struct hp_filter_chain){0};
	if (t->resp.source != HP_SRC_DONE)
		t->resp.source = HP_SRC_NONE;
	cancel_waits(c);
	if (t->l2.ask == HP_L2_ASK_WAITING) {
		/* Its answer would come to a transaction that is gone. */
		hp_l2_cancel(t->l2.op);
		hp_timer_stop(c->w->loop, &t->l2.poll_timer);
		t->l2.op = NULL;
		t->l2.ask = HP_L2_ASK_NONE;
	}
	if (t->l2.lock_held) {
		/* After the object's SET, on the same connection: a poller sees
		 * the object, or neither (not stored: it fetches itself). */
		(void)hp_l2_unlock(c->w->l2, t->cache.key, t->cache.keylen, t->l2.token);
		t->l2.lock_held = false;
	}
	if (t->cache.fill != NULL) {
		hp_cache_fill_abort(t->cache.fill, false);
		t->cache.fill = NULL;
	}
	if (t->cache.obj != NULL) {
		hp_cache_obj_release(t->cache.obj);
		t->cache.obj = NULL;
	}
	t->cache.storing = false;
	hp_upstream_pool_cancel_wait(&t->up.slot);
	if (c->timer_kind == CT_QUEUE || c->timer_kind == CT_DELAY)
		hp_client_disarm_timer(c);
	t->limit.delaying = false;
	if (t->limit.shared == HP_LIMIT_SHARED_WAITING) {
		hp_l2_cancel(t->limit.shared_op);
		t->limit.shared_op = NULL;
		t->limit.shared = HP_LIMIT_SHARED_FAILED;
	}
}

void hp_txn_release(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	if (t == NULL)
		return;
	hp_txn_abort_work(c);
	/* Before the snapshot goes: it may hold the last reference to the table. */
	if (t->limit.inflight_token != 0)
		hp_ratelimit_leave(t->limit.inflight_rl, t->limit.inflight_token);
	hp_wsnap_release(t->ws);
	t->ws = NULL;
	hp_arena_reset(&t->arena);
	c->t = NULL;
	txn_give(c->w, t);
}

void hp_txn_on_upstream_event(struct hp_io *io, unsigned events)
{
	struct hp_upstream_conn *up = HP_CONTAINER_OF(io, struct hp_upstream_conn, io);
	HP_CHECK_OBJ(up, HP_UPSTREAM_CONN_MAGIC);
	struct hp_client *c = up->owner;
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	if (events & HP_IO_READ)
		up->readable = true;
	if (events & HP_IO_HUP)
		up->hup = true;
	if (events & HP_IO_WRITE)
		up->writable = true;
	if (!up->connected && (events & (HP_IO_WRITE | HP_IO_ERROR)))
		c->t->up.connect_event = true;
	c->drive(c);
}

void hp_txn_on_upstream_timer(struct hp_timer *tm)
{
	struct hp_upstream_conn *up = HP_CONTAINER_OF(tm, struct hp_upstream_conn, timer);
	HP_CHECK_OBJ(up, HP_UPSTREAM_CONN_MAGIC);
	struct hp_client *c = up->owner;
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	c->t->up.expired = true;
	c->drive(c);
}
