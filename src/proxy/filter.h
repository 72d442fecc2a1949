/* SPDX-License-Identifier: MIT */
/*
 * filter.h - the response body's path: one chain of small filters that
 * every body goes through, whatever its source (an upstream connection, a
 * stored object, an object still filling) and wherever it ends (the client
 * socket, or nowhere for a background refresh).
 *
 * A filter sees the body as arrays of byte vectors and passes what it
 * makes of them to the next one; the last is always the client writer.
 * Each has four operations: start (the head is decided), data, end (the
 * body is complete) and abort (it never will be). Filters live in the
 * request's arena; nothing is freed by hand.
 *
 * Zero copy: a vector is memory or a file range (a stored object's memfd,
 * sent with sendfile). A vector marked <stable> stays valid until the
 * transaction ends (it points into a stored object the transaction holds),
 * so a filter may take part of it and leave the rest: the source offers it
 * again when the socket drains. Unstable vectors (an upstream connection's
 * buffer) must be taken whole: the writer copies what the socket refuses.
 * So only filters that slice without transforming (range) may pass stable
 * vectors on; a filter that transforms makes its own unstable bytes.
 */
#ifndef HP_PROXY_FILTER_H
#define HP_PROXY_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hp_arena;
struct hp_cache_fill;
struct hp_client;

struct hp_bvec {
	const char *ptr;               /* memory bytes; NULL for a file range */
	int fd;                        /* file range: the descriptor, else -1 */
	uint64_t off;                  /* file range: where in <fd> */
	size_t len;                    /* bytes */
	bool stable;                   /* valid until the transaction ends (see above) */
};

struct hp_filter;

struct hp_filter_ops {
	const char *name;
	/* The body is about to flow. NULL = nothing to prepare. */
	void (*start)(struct hp_filter *f);
	/* Take <v>[0..n). Returns the bytes taken: all of them, except that
	 * the writer and slicing filters may take fewer of stable vectors (the
	 * socket is full); HP_ERR when the input is broken (bad framing). */
	ssize_t (*data)(struct hp_filter *f, const struct hp_bvec *v, size_t n);
	/* The body is complete. Returns 0, or HP_ERR if it ended too early for
	 * this filter (a chunked body without its last chunk). */
	int (*end)(struct hp_filter *f);
	/* The body will never be complete (a failure or a closed client). */
	void (*abort)(struct hp_filter *f);
};

struct hp_filter {
	const struct hp_filter_ops *ops;
	struct hp_filter *next;        /* NULL only for the writer */
	struct hp_client *c;           /* the transaction's connection */
};

/* The chain of one response: filters in body order, the writer last. */
struct hp_filter_chain {
	struct hp_filter *head;        /* first filter; NULL until built */
	struct hp_filter *tail;        /* last added before the writer */
	bool ended;                    /* end or abort ran: the chain is spent */
};

/* ==== The chain (filter.c) ==== */

/* Append <f> (made by one of the constructors below) to <ch>. */
void hp_filter_add(struct hp_filter_chain *ch, struct hp_filter *f);
/* Run start on every filter, front to back. */
void hp_filter_start(struct hp_filter_chain *ch);
/* Body bytes into the chain; returns bytes taken or HP_ERR (see data). */
ssize_t hp_filter_data(struct hp_filter_chain *ch, const struct hp_bvec *v, size_t n);
/* One memory vector, unstable: the common case of a streamed body. */
ssize_t hp_filter_bytes(struct hp_filter_chain *ch, const char *p, size_t len);
/* End of the body: every filter's end, front to back; 0 or HP_ERR. */
int hp_filter_end(struct hp_filter_chain *ch);
/* Abort every filter (once; later calls and calls after end do nothing). */
void hp_filter_abort(struct hp_filter_chain *ch);
/* Pass <v>[0..n) on to <f>'s next filter. */
ssize_t hp_filter_next(struct hp_filter *f, const struct hp_bvec *v, size_t n);
/* Total bytes of <v>[0..n). */
uint64_t hp_bvec_len(const struct hp_bvec *v, size_t n);

/* ==== Filters, one file each; all allocated in <a> ==== */

/* filter_chunked.c: strip chunked framing (an HTTP/1.0 client). */
struct hp_filter *hp_filter_dechunk(struct hp_arena *a, struct hp_client *c);
/* filter_chunked.c: add chunked framing (a close-delimited body, kept
 * alive for an HTTP/1.1 client). */
struct hp_filter *hp_filter_rechunk(struct hp_arena *a, struct hp_client *c);
/* filter_range.c: only bytes [first, last] of the body go on; its input
 * starts at body offset <first> (the source seeks there). */
struct hp_filter *hp_filter_range(struct hp_arena *a, struct hp_client *c, uint64_t first,
				  uint64_t last);
/* filter_fill.c: copy the body into the cache fill <fill>, which the
 * filter takes (its body decoded from chunked framing first when
 * <chunked>): committed at end, aborted on abort or when the body outgrows
 * max_object_size (the key is then hit-for-pass); the bytes go on
 * unchanged. */
struct hp_filter *hp_filter_fill(struct hp_arena *a, struct hp_client *c,
				 struct hp_cache_fill *fill, bool chunked);
/* filter_compress.c: encode the body in c->t->compress.enc, or decode the
 * origin's gzip (compress.gunzip), with a stream from the worker's pool
 * given back at end or abort; the bytes it passes on are its own. */
struct hp_filter *hp_filter_compress(struct hp_arena *a, struct hp_client *c);
/* filter_writer.c: drop the body (a HEAD answered from a GET fill). */
struct hp_filter *hp_filter_discard(struct hp_arena *a, struct hp_client *c);
/* filter_writer.c: write to the client socket; always last. */
struct hp_filter *hp_filter_writer(struct hp_arena *a, struct hp_client *c);

#endif
