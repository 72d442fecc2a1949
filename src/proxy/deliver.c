/* SPDX-License-Identifier: MIT */
/*
 * deliver.c - step deliver: the response's body, from its source, through
 * the chain (body.c) to the client, until the source is done and the
 * output buffer is flushed. The sources:
 *   upstream  the exchange goes on (fetch.c's pump) and feeds the chain
 *   stored    a complete object: memory segments or its memfd, offered as
 *             stable vectors, so a slow client costs no copy
 *   stream    an object still filling: copied as it grows, waiting on the
 *             fill between pieces; once complete it is read as stored
 * A response of our own is whole in the output buffer: no source.
 */
#include <sys/uio.h>

#include "proxy/proxy_priv.h"

/* Bytes of a still-filling object copied out per step while streaming. */
#define STREAM_CHUNK (64 * 1024)
/* Stored segments offered per step. */
#define STORED_IOV 16

static void source_done(struct hp_client *c)
{
	if (hp_filter_end(&c->t->resp.chain) < 0)
		c->close_after = true;
	c->t->resp.source = HP_SRC_DONE;
}

static bool pump_stored(struct hp_client *c)
{
	struct hp_txn_resp *r = &c->t->resp;
	const struct hp_cache_obj *obj = c->t->cache.obj;
	uint64_t len = hp_cache_obj_body_len(obj);
	if (r->off >= len) {
		source_done(c);
		return true;
	}
	if (!c->writable && !c->internal)
		return false; /* stable bytes wait for the socket, uncopied */
	struct hp_bvec v[STORED_IOV];
	size_t n = 0;
	int fd = hp_cache_obj_body_fd(obj);
	if (fd >= 0) {
		v[n++] = (struct hp_bvec){.fd = fd, .off = r->off, .len = (size_t)(len - r->off),
					  .stable = true};
	} else {
		struct iovec iov[STORED_IOV];
		int k = hp_cache_obj_body_iov(obj, r->off, iov, STORED_IOV);
		for (int i = 0; i < k; i++)
			v[n++] = (struct hp_bvec){.ptr = iov[i].iov_base, .fd = -1,
						  .len = iov[i].iov_len, .stable = true};
	}
	ssize_t taken = hp_filter_data(&r->chain, v, n);
	if (taken < 0) {
		hp_client_close(c);
		return true;
	}
	r->off += (uint64_t)taken;
	if (r->off >= len)
		source_done(c);
	return taken > 0;
}

static bool pump_stream(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	struct hp_txn_cache *tc = &t->cache;
	struct hp_txn_resp *r = &t->resp;
	if (tc->wait == HP_WAIT_STREAM || c->t->out.len > 0)
		return false;
	hp_buf_reset(&r->stream);
	tc->waiter.cb = hp_client_on_cache_event;
	tc->waiter.data = c;
	switch (hp_cache_obj_stream(tc->obj, r->off, &r->stream, STREAM_CHUNK, &tc->waiter)) {
	case HP_CACHE_STREAM_DATA:
		r->off += r->stream.len;
		if (hp_filter_bytes(&r->chain, hp_buf_data(&r->stream), r->stream.len) < 0)
			hp_client_close(c);
		return true;
	case HP_CACHE_STREAM_WAIT:
		tc->wait = HP_WAIT_STREAM;
		return false;
	case HP_CACHE_STREAM_DONE:
		/* Complete now: the rest is read as a stored object. */
		r->source = HP_SRC_STORED;
		return true;
	case HP_CACHE_STREAM_FAILED:
		/* Part of the response is out and the rest never will be. */
		hp_client_close(c);
		return true;
	}
	return false;
}

/* The head waits in the output buffer until the first body bytes: the
 * writer sends both with one writev (or the head with MSG_MORE before a
 * sendfile), so a hit costs one write. The buffer is flushed on its own
 * only when the source is done or has nothing new. */
enum hp_step hp_step_deliver(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	for (;;) {
		bool progress = false;
		switch (t->resp.source) {
		case HP_SRC_NONE:
		case HP_SRC_DONE:
			if (!hp_client_flush(c) || c->closed)
				return HP_STEP_DONE;
			return t->out.len == 0 ? HP_STEP_log : HP_STEP_WAIT;
		case HP_SRC_UPSTREAM: {
			enum hp_step next = hp_fetch_pump(c, &progress);
			if (next != HP_STEP_deliver)
				return next;
			break;
		}
		case HP_SRC_STORED:
			progress = pump_stored(c);
			break;
		case HP_SRC_STREAM:
			progress = pump_stream(c);
			break;
		}
		if (c->closed)
			return HP_STEP_DONE;
		if (!progress) {
			size_t before = t->out.len;
			if (!hp_client_flush(c) || c->closed)
				return HP_STEP_DONE;
			if (t->out.len == before)
				return HP_STEP_WAIT;
		}
	}
}
