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
#include <string.h>

#include "proxy/proxy_priv.h"

void hp_txn_begin(struct hp_client *c)
{
	struct hp_txn *t = &c->t;
	HP_ASSERT(t->ws == NULL);
	/* The buffers keep their memory from one request to the next. */
	struct hp_buf head = t->up.head;
	struct hp_buf stream = t->resp.stream;
	hp_buf_reset(&head);
	hp_buf_reset(&stream);
	memset(t, 0, sizeof(*t));
	t->up.head = head;
	t->resp.stream = stream;
	t->ws = hp_wsnap_fetch(c->w->ws);
	t->step = HP_STEP_recv;
}

void hp_txn_release_upstream(struct hp_client *c, bool reusable)
{
	struct hp_txn *t = &c->t;
	if (t->up.conn == NULL)
		return;
	hp_timer_stop(c->w->loop, &t->up.conn->timer);
	hp_upstream_release(t->up.conn, reusable);
	t->up.conn = NULL;
}

/* A wake-up already on its way frees the client when it arrives: tell the
 * close path to leave the free to it. */
static void cancel_waits(struct hp_client *c)
{
	struct hp_txn_cache *tc = &c->t.cache;
	if (tc->wait == HP_WAIT_FILL && !hp_cache_cancel_wait(c->t.ws->snap->cache, &tc->waiter))
		c->post_pending = true;
	if (tc->wait == HP_WAIT_STREAM && !hp_cache_obj_cancel_stream(tc->obj, &tc->waiter))
		c->post_pending = true;
	tc->wait = HP_WAIT_NONE;
}

void hp_txn_abort_work(struct hp_client *c)
{
	struct hp_txn *t = &c->t;
	hp_txn_release_upstream(c, false);
	/* The chain owns the fill once built: aborting it aborts the fill. */
	hp_filter_abort(&t->resp.chain);
	t->resp.chain = (struct hp_filter_chain){0};
	if (t->resp.source != HP_SRC_DONE)
		t->resp.source = HP_SRC_NONE;
	cancel_waits(c);
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
	if (c->timer_kind == CT_QUEUE)
		hp_client_disarm_timer(c);
}

void hp_txn_release(struct hp_client *c)
{
	struct hp_txn *t = &c->t;
	hp_txn_abort_work(c);
	hp_wsnap_release(t->ws);
	t->ws = NULL;
	t->step = HP_STEP_recv;
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
		c->t.up.connect_event = true;
	c->drive(c);
}

void hp_txn_on_upstream_timer(struct hp_timer *tm)
{
	struct hp_upstream_conn *up = HP_CONTAINER_OF(tm, struct hp_upstream_conn, timer);
	HP_CHECK_OBJ(up, HP_UPSTREAM_CONN_MAGIC);
	struct hp_client *c = up->owner;
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	c->t.up.expired = true;
	c->drive(c);
}
