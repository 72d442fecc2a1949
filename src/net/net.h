/* SPDX-License-Identifier: MIT */
/*
 * net.h - the event loop, timers and sockets, shared by the proxy and the
 * load generator.
 *
 * One loop per thread, over epoll in edge-triggered mode: a descriptor is
 * registered once for read and write readiness, and its owner reads or
 * writes until EAGAIN (or remembers that it stopped early). That costs no
 * epoll_ctl per request. Timers are fields of their owner (struct
 * hp_timer), kept in a binary heap; re-arming a timer later than its
 * current deadline only moves the deadline, and the heap is corrected
 * lazily when the old deadline comes up, so per-read timeout refreshes are
 * O(1). Nothing is freed inside its own callback chain: owners mark
 * themselves closed, stop their io and timers, and hand the free to
 * hp_loop_defer(), which runs after the current batch of events.
 *
 * Cross-thread calls are intrusive too: a struct hp_post lives in its owner
 * and hp_loop_post_node() links it into the loop's queue under a short
 * mutex, so a wake-up never allocates. A node is queued at most once: posting
 * it again before its callback starts coalesces into the one pending call.
 *
 * All functions are for the loop's own thread, except hp_loop_post_node()
 * and hp_loop_stop(), which any thread may call.
 */
#ifndef HP_NET_NET_H
#define HP_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/core.h"

struct hp_loop;
struct hp_io;
struct hp_timer;
struct hp_deferred;
struct hp_post;

/* Readiness bits given to an io callback. */
#define HP_IO_READ 0x1u  /* readable, or the peer shut down its side */
#define HP_IO_WRITE 0x2u /* writable */
#define HP_IO_ERROR 0x4u /* error or hang-up: the next read/write says which */
#define HP_IO_HUP 0x8u   /* the peer shut down its sending side: read on until EOF,
			    even after a short read (no further event will come) */

typedef void hp_io_fn(struct hp_io *io, unsigned events);
typedef void hp_timer_fn(struct hp_timer *t);
typedef void hp_deferred_fn(struct hp_deferred *d);
typedef void hp_post_fn(struct hp_post *p);

/* A registered descriptor; embed it in its owner and recover the owner with
 * HP_CONTAINER_OF in the callback. Zero-initialised means idle. */
struct hp_io {
	int fd;             /* -1 after stop/close */
	hp_io_fn *cb;       /* called with HP_IO_* bits */
	struct hp_loop *loop; /* NULL when not registered */
	/* private */
	unsigned _gen;      /* flips on each start: filters stale events (nginx "instance") */
};

/* A one-shot timer; embed it in its owner. Zero-initialised means idle. */
struct hp_timer {
	uint64_t at_ms;     /* deadline on the loop clock, ms */
	hp_timer_fn *cb;
	/* private */
	uint64_t _key_ms;   /* deadline the heap is ordered by (<= at_ms) */
	size_t _index;      /* 1-based heap slot, 0 when not armed */
};

/* A call queued to run after the current batch of events. */
struct hp_deferred {
	hp_deferred_fn *cb;
	/* private */
	struct hp_list _link;
};

/* A cross-thread call; embed it in its owner, which must outlive every
 * pending call (hp_loop_post_pending() says whether one is). Zero-initialised
 * means idle. The loop thread owns the fields below while it is queued. */
struct hp_post {
	/* private */
	hp_post_fn *_cb;      /* set under the loop's post lock */
	struct hp_list _link; /* in the loop's pending or running list */
};

/* ==== Loop ==== */

/* A new loop; aborts if epoll or eventfd cannot be created. */
struct hp_loop *hp_loop_create(void);
/* Free the loop. Registered ios and timers must be stopped first. */
void hp_loop_destroy(struct hp_loop *loop);
/* Run until hp_loop_stop(). Returns 0, or -errno if epoll_wait fails. */
int hp_loop_run(struct hp_loop *loop);
/* Make hp_loop_run() return after the current iteration. Thread-safe. */
void hp_loop_stop(struct hp_loop *loop);
/*
 * Run <cb>(<p>) on the loop's thread soon. Thread-safe, never allocates.
 * Posts run in the order they were first queued. If <p> is already queued
 * and its callback has not started, nothing is added (the callback is only
 * replaced by <cb>): two posts, one call. A post made while the callback runs
 * queues it again. Every post is followed by at least one call that starts
 * after it. A node must be posted to one loop at a time.
 */
void hp_loop_post_node(struct hp_loop *loop, struct hp_post *p, hp_post_fn *cb);
/* Unqueue <p> if its callback has not started. Returns true if it was
 * queued (the call will not happen), false if it was not. Loop thread only:
 * it lets an owner free itself without waiting for a pending call. */
bool hp_loop_post_cancel(struct hp_loop *loop, struct hp_post *p);
/* Whether <p> is queued (its callback has not started). Loop thread only;
 * from another thread the answer may be stale by the time it is read. */
bool hp_loop_post_pending(struct hp_loop *loop, const struct hp_post *p);
/* The loop clock, ms, read once per iteration. */
uint64_t hp_loop_now_ms(const struct hp_loop *loop);
/* Re-read the clock (after a long computation). */
void hp_loop_update_time(struct hp_loop *loop);
/* Poll (without blocking) for up to <spin_us> microseconds before blocking
 * in epoll_wait. 0, the default, never spins. For a thread that owns its
 * core, such as a load generator: each block and wake-up adds latency to a
 * round trip, and spinning trades CPU for it. */
void hp_loop_set_spin(struct hp_loop *loop, unsigned spin_us);
/* Owner data attached to the loop (the worker). */
void hp_loop_set_data(struct hp_loop *loop, void *data);
void *hp_loop_data(const struct hp_loop *loop);
/* Run the deferred calls now: for teardown, after hp_loop_run() returned. */
void hp_loop_flush(struct hp_loop *loop);
/* Queue <d> to run after the current batch; no-op if already queued. */
void hp_loop_defer(struct hp_loop *loop, struct hp_deferred *d, hp_deferred_fn *cb);
/* Unqueue <d> if queued, so that its owner can be freed. */
void hp_loop_cancel_defer(struct hp_deferred *d);

/* ==== Descriptors ==== */

/* Register <fd> (already non-blocking) for edge-triggered read and write
 * readiness. Returns 0 or -errno. */
int hp_io_start(struct hp_loop *loop, struct hp_io *io, int fd, hp_io_fn *cb);
/* Unregister; the descriptor is not closed. Safe on an idle io. */
void hp_io_stop(struct hp_io *io);
/* Unregister and close the descriptor. Safe on an idle io. */
void hp_io_close(struct hp_io *io);

/* ==== Timers ==== */

/* Arm <t> to call <cb> <after_ms> from now, replacing any earlier arming. */
void hp_timer_start(struct hp_loop *loop, struct hp_timer *t, uint64_t after_ms,
		    hp_timer_fn *cb);
/* Disarm; safe on an idle timer. */
void hp_timer_stop(struct hp_loop *loop, struct hp_timer *t);
static inline bool hp_timer_active(const struct hp_timer *t)
{
	return t->_index != 0;
}

/* ==== Sockets ==== */

/*
 * Resolve "host:port", "[v6]:port" or ":port" (all addresses) into <ss>.
 * A host name is resolved with getaddrinfo, so call this at configuration
 * time, never on a worker. Returns 0, or -EINVAL with a reason in <err>.
 */
int hp_net_resolve(const char *hostport, struct sockaddr_storage *ss, socklen_t *len,
		   char *err, size_t errlen);
/* A non-blocking listening socket, SO_REUSEADDR, and SO_REUSEPORT when
 * <reuseport>. Returns the fd or -errno. */
int hp_net_listen(const struct sockaddr *sa, socklen_t len, bool reuseport, int backlog);
/* accept4 non-blocking and close-on-exec, TCP_NODELAY set. Returns the fd
 * or -errno: -EAGAIN when none is pending, else a real failure (EMFILE...);
 * aborted connections and interruptions are skipped here. */
int hp_net_accept(int lfd, struct sockaddr_storage *peer, socklen_t *peerlen);
/* Start a non-blocking connect, TCP_NODELAY set. Returns the fd (the
 * connection may still be in progress) or -errno. */
int hp_net_connect(const struct sockaddr *sa, socklen_t len);
/* The pending error of a socket (after a connect completes) as a positive
 * errno value (not -errno), 0 if none; getsockopt's own errno if it fails. */
int hp_net_socket_error(int fd);
/* Make the coming close() of <fd> send an RST rather than a FIN (SO_LINGER
 * with a zero timeout): the peer sees an abort, not an orderly end. */
void hp_net_reset_on_close(int fd);
/* "1.2.3.4:80" or "[::1]:80" into <out>. */
void hp_net_format_addr(const struct sockaddr *sa, char *out, size_t n);
/* Only the address part, no port. */
void hp_net_format_ip(const struct sockaddr *sa, char *out, size_t n);

#endif
