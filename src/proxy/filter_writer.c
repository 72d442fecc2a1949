/* SPDX-License-Identifier: MIT */
/*
 * filter_writer.c - the end of every chain: the client socket. Memory
 * vectors leave with one writev together with whatever head waits in the
 * connection's output buffer; file ranges leave by sendfile. What the
 * socket refuses is copied into the output buffer when the bytes are
 * unstable, and left to the source when they are stable (a stored object
 * stays valid, so nothing is copied for a slow client). Also the discard
 * filter, the end of a chain whose body nobody reads.
 */
#include <sys/uio.h>

#include "core/arena.h"
#include "core/core.h"
#include "proxy/filter.h"
#include "proxy/proxy_priv.h"

/* Memory vectors per writev, after the output buffer. */
#define WRITE_IOV 16

/* Keep what the socket refused of v[0..n), the first <done> bytes of which
 * left: copy unstable bytes, stop at a stable vector. Returns the bytes of
 * the input now taken (written or copied). */
static uint64_t keep_rest(struct hp_client *c, const struct hp_bvec *v, size_t n, uint64_t done)
{
	uint64_t taken = 0;
	for (size_t i = 0; i < n; i++) {
		size_t skip = done >= v[i].len ? v[i].len : (size_t)done;
		done -= skip;
		taken += skip;
		if (skip == v[i].len)
			continue;
		if (v[i].stable)
			return taken;
		hp_buf_append(&c->t->out, v[i].ptr + skip, v[i].len - skip);
		taken += v[i].len - skip;
	}
	return taken;
}

/* A run of memory vectors; returns bytes taken, or -1 if the client is gone. */
static ssize_t write_memory(struct hp_client *c, const struct hp_bvec *v, size_t n)
{
	struct iovec iov[WRITE_IOV + 1];
	int k = 0;
	size_t from_out = c->t->out.len;
	if (from_out > 0)
		iov[k++] = (struct iovec){hp_buf_data(&c->t->out), from_out};
	for (size_t i = 0; i < n; i++)
		iov[k++] = (struct iovec){(void *)v[i].ptr, v[i].len};
	ssize_t w = 0;
	if (c->writable)
		w = hp_client_writev(c, iov, k);
	if (w < 0)
		return -1;
	size_t out_done = (size_t)w < from_out ? (size_t)w : from_out;
	hp_buf_consume(&c->t->out, out_done);
	return (ssize_t)keep_rest(c, v, n, (uint64_t)w - out_done);
}

static ssize_t writer_data(struct hp_filter *f, const struct hp_bvec *v, size_t n)
{
	struct hp_client *c = f->c;
	uint64_t total = hp_bvec_len(v, n);
	uint64_t taken = 0;
	size_t i = 0;
	while (i < n) {
		if (c->closed || c->internal) {
			/* Nobody reads it any more, or nobody ever did. */
			hp_buf_reset(&c->t->out);
			taken = total;
			break;
		}
		ssize_t w;
		size_t k;
		uint64_t len;
		if (v[i].ptr == NULL) {
			k = 1;
			len = v[i].len;
			w = hp_client_sendfile(c, v[i].fd, v[i].off, v[i].len);
		} else {
			for (k = 0; i + k < n && k < WRITE_IOV && v[i + k].ptr != NULL; k++)
				;
			len = hp_bvec_len(v + i, k);
			w = write_memory(c, v + i, k);
		}
		if (w < 0)
			continue; /* closed or gone: the top of the loop takes the rest */
		taken += (uint64_t)w;
		c->t->resp.bytes_out += (uint64_t)w;
		if ((uint64_t)w < len)
			break; /* a stable vector waits for the socket */
		i += k;
	}
	return (ssize_t)taken;
}

static int writer_end(struct hp_filter *f)
{
	(void)f;
	return 0;
}

static void writer_abort(struct hp_filter *f)
{
	(void)f;
}

static const struct hp_filter_ops writer_ops = {
	.name = "writer",
	.data = writer_data,
	.end = writer_end,
	.abort = writer_abort,
};

struct hp_filter *hp_filter_writer(struct hp_arena *a, struct hp_client *c)
{
	struct hp_filter *f = hp_arena_alloc(a, sizeof(*f));
	*f = (struct hp_filter){.ops = &writer_ops, .c = c};
	return f;
}

static ssize_t discard_data(struct hp_filter *f, const struct hp_bvec *v, size_t n)
{
	(void)f;
	return (ssize_t)hp_bvec_len(v, n);
}

static const struct hp_filter_ops discard_ops = {
	.name = "discard",
	.data = discard_data,
	.end = writer_end,
	.abort = writer_abort,
};

struct hp_filter *hp_filter_discard(struct hp_arena *a, struct hp_client *c)
{
	struct hp_filter *f = hp_arena_alloc(a, sizeof(*f));
	*f = (struct hp_filter){.ops = &discard_ops, .c = c};
	return f;
}
