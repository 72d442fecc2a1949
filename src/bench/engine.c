/* SPDX-License-Identifier: MIT */
/*
 * engine.c - the load engine: worker threads, each with its own event loop,
 * connections and counters, and the per-connection state machine.
 *
 * Requests are handed out by a per-worker dispatcher. In the closed model a
 * free connection sends at once. In the open model (-R or rate stages) the
 * dispatcher issues "tickets": intended send times spaced by the current
 * rate. A ticket goes to the first free connection; if none is free the
 * ticket waits, and its latency still counts from the intended time. That
 * is what corrects coordinated omission: a server that stalls for a second
 * is charged for every request that should have been sent in that second.
 *
 * Connection states (one switch in on_io):
 *   IDLE        no request; the socket may be open (keep-alive) or closed
 *   THINK       a response came in; the connection pauses for its request's
 *               think time (closed model only) before it is free again
 *   CONNECTING  non-blocking connect in progress, for a request
 *   WRITING     request bytes being written
 *   HEAD        reading and parsing the response head
 *   BODY        reading the body (Content-Length, chunked or until close);
 *               a Content-Length body is discarded in the kernel unless
 *               --copy-body (see discards())
 * Any failure records one error, closes the socket and returns the
 * connection to IDLE, so the next request reconnects.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/engine.h"
#include "core/clock.h"
#include "core/core.h"
#include "core/log.h"
#include "http/http.h"
#include "net/net.h"

#define CONN_MAGIC 0x62636f6eu
#define WORKER_MAGIC 0x62776b72u
#define READ_BUF_BYTES 8192 /* must hold a whole response head */
#define MAX_RESP_HEADERS 64
#define TICK_MS 10  /* stage, deadline and abort checks */
#define RETRY_MS 10 /* pause after a failed connect */
#define SINK_BYTES (1u << 20) /* most one recv(MSG_TRUNC) drops; see discards() */
#define NS_PER_S 1000000000ull

enum conn_state { C_IDLE, C_THINK, C_CONNECTING, C_WRITING, C_HEAD, C_BODY };

struct worker;

struct conn {
	unsigned magic;
	struct worker *w;
	struct hp_io io;	  /* fd -1 when the socket is closed */
	struct hp_timer timer;	  /* request timeout, or connect retry pause */
	struct hp_list idle_link; /* in w->idle while free */
	enum conn_state state;
	bool rd_ready;	    /* reads may return data (no EAGAIN seen) */
	bool wr_ready;	    /* writes may proceed */
	size_t target;	    /* index of the current request's target */
	size_t conn_target; /* target whose address the socket is connected to */
	size_t written;	    /* request bytes sent */
	uint64_t start_ns;  /* latency origin; 0 until the first write */
	uint64_t bytes;	    /* response bytes read */
	uint64_t discarded; /* of those, body bytes dropped by recv(MSG_TRUNC) */
	int status;	    /* response status */
	int cache_class;    /* HP_BCACHE_*, or -1 */
	bool keep_alive;    /* the response allows reuse */
	enum hp_http_body body;
	uint64_t remaining; /* body bytes still due (HP_BODY_LENGTH) */
	struct hp_http_chunked chunked;
	size_t head_len; /* bytes of buf holding the head so far */
	char buf[READ_BUF_BYTES];
};

/* Shared by every worker of a run. */
struct run {
	const struct hp_bench_opts *o;
	atomic_bool abort;	       /* the target is unreachable: stop */
	atomic_uint_fast64_t connects; /* successful connects, all workers */
	pthread_mutex_t lock;	       /* protects reason */
	char reason[128];
};

struct worker {
	unsigned magic;
	struct run *run;
	const struct hp_bench_opts *o;
	struct hp_loop *loop;
	pthread_t tid;
	struct conn *conns;
	unsigned nconns;
	struct hp_list idle; /* free connections */
	unsigned busy;	     /* connections with a request */
	struct hp_timer tick;
	struct hp_timer sched;	      /* next ticket (open model) */
	enum hp_http_method *methods; /* per target */
	uint64_t *cum_weight;	      /* per target, running sum */
	uint64_t rng;		      /* xorshift state for weighted URLs */
	double rate;		      /* this worker's constant rate, 0 if none */
	bool open;		      /* open model: tickets */
	uint64_t next_ticket_ns;
	uint64_t start_ns;	   /* run start (warmup begins) */
	uint64_t measure_ns;	   /* measured part begins */
	uint64_t end_ns;	   /* deadline, UINT64_MAX with -n */
	uint64_t budget;	   /* requests still to start (-n) */
	uint64_t last_done_ns;	   /* last recorded completion */
	uint64_t connect_failures; /* consecutive, before any success */
	uint64_t last_publish_ns;
	bool stopping;
	atomic_bool done; /* the worker's loop has returned */
	char *sink; /* SINK_BYTES that recv(MSG_TRUNC) is given and never writes */
	struct hp_bench_stats st;
	/* published for the progress line */
	atomic_uint_fast64_t pub_responses;
	atomic_uint_fast64_t pub_errors;
	pthread_mutex_t snap_lock;
	struct hp_hist snap;
};

static void dispatch(struct worker *w);
static void on_io(struct hp_io *io, unsigned events);

/* ==== Recording ==== */

static bool measuring(const struct worker *w, const struct conn *c, uint64_t now)
{
	return c->start_ns >= w->measure_ns && now <= w->end_ns;
}

static struct hp_bench_second *second_of(struct worker *w, uint64_t now)
{
	return hp_bench_stats_second(&w->st, (size_t)((now - w->measure_ns) / NS_PER_S));
}

static void record_error(struct worker *w, struct conn *c, enum hp_bench_err kind)
{
	uint64_t now = hp_clock_mono_ns();
	if (c->start_ns == 0)
		c->start_ns = now;
	if (!measuring(w, c, now))
		return;
	w->st.errors[kind]++;
	w->st.reqs[c->target].errors++;
	second_of(w, now)->errors++;
	atomic_store_explicit(&w->pub_errors, hp_bench_errors_total(&w->st), memory_order_relaxed);
	w->last_done_ns = now;
}

static void record_response(struct worker *w, struct conn *c)
{
	uint64_t now = hp_clock_mono_ns();
	if (!measuring(w, c, now))
		return;
	uint64_t lat_us = (now - c->start_ns) / 1000;
	struct hp_bench_stats *st = &w->st;
	hp_hist_record(&st->lat, lat_us);
	st->responses++;
	st->bytes += c->bytes;
	st->discarded += c->discarded;
	unsigned cls = c->status / 100 <= 5 ? (unsigned)c->status / 100 : 0;
	st->status[cls]++;
	struct hp_bench_req_stats *rq = &st->reqs[c->target];
	rq->responses++;
	rq->status[cls]++;
	hp_hist_record(&rq->lat, lat_us);
	if (c->cache_class >= 0) {
		rq->cache[c->cache_class]++;
		struct hp_bench_cache_stats *cs = &st->cache[c->cache_class];
		cs->responses++;
		cs->bytes += c->bytes;
		hp_hist_record(&cs->lat, lat_us);
	}
	struct hp_bench_second *sec = second_of(w, now);
	sec->responses++;
	sec->bytes += c->bytes;
	sec->errors += c->status >= 500;
	sec->lat_sum_us += lat_us;
	sec->lat_max_us = HP_MAX(sec->lat_max_us, lat_us);
	hp_hist_record(&sec->lat, lat_us);
	atomic_store_explicit(&w->pub_responses, st->responses, memory_order_relaxed);
	w->last_done_ns = now;
}

/* ==== Connection life cycle ==== */

static void conn_close(struct conn *c)
{
	hp_io_close(&c->io);
	c->rd_ready = false;
	c->wr_ready = false;
}

/* The request is over (answered or failed): free the connection. */
static void conn_release(struct conn *c, bool keep)
{
	struct worker *w = c->w;
	/*
	 * The timeout timer stays armed: the next request pushes its deadline
	 * later, which the loop's lazy heap does in O(1), where a stop and a
	 * start would each cost a heap operation. It fires harmlessly on an
	 * idle connection.
	 */
	if (!keep)
		conn_close(c);
	c->state = C_IDLE;
	w->busy--;
	hp_list_link_tail(&w->idle, &c->idle_link);
	dispatch(w);
}

static void conn_fail(struct conn *c, enum hp_bench_err kind)
{
	record_error(c->w, c, kind);
	conn_release(c, false);
}

static void on_retry(struct hp_timer *t)
{
	struct conn *c = HP_CONTAINER_OF(t, struct conn, timer);
	HP_CHECK_OBJ(c, CONN_MAGIC);
	conn_release(c, false);
}

static void set_unreachable(struct worker *w, int err)
{
	struct run *run = w->run;
	pthread_mutex_lock(&run->lock);
	if (run->reason[0] == '\0')
		snprintf(run->reason, sizeof(run->reason), "connect to %s: %s",
			 w->o->targets[0].hostport, strerror(err));
	pthread_mutex_unlock(&run->lock);
	atomic_store(&run->abort, true);
}

/*
 * A failed connect counts as one error for the request it was for. The
 * connection pauses before it is reused, so a dead target is not hammered
 * in a busy loop; and if every connect of this worker failed while no
 * worker ever connected, the target is unreachable and the run ends.
 */
static void connect_failed(struct conn *c, int err)
{
	struct worker *w = c->w;
	record_error(w, c, HP_BERR_CONNECT);
	conn_close(c);
	if (++w->connect_failures >= w->nconns && atomic_load(&w->run->connects) == 0)
		set_unreachable(w, err);
	hp_timer_start(w->loop, &c->timer, RETRY_MS, on_retry);
}

static void on_timeout(struct hp_timer *t)
{
	struct conn *c = HP_CONTAINER_OF(t, struct conn, timer);
	HP_CHECK_OBJ(c, CONN_MAGIC);
	if (c->state == C_IDLE || c->state == C_THINK)
		return;
	if (c->state == C_CONNECTING)
		connect_failed(c, ETIMEDOUT);
	else
		conn_fail(c, HP_BERR_TIMEOUT);
}

static void start_connect(struct conn *c)
{
	struct worker *w = c->w;
	const struct hp_bench_target *t = &w->o->targets[c->target];
	c->state = C_CONNECTING;
	c->conn_target = c->target;
	int fd = hp_net_connect((const struct sockaddr *)&t->addr, t->addrlen);
	if (fd < 0) {
		connect_failed(c, -fd);
		return;
	}
	int rc = hp_io_start(w->loop, &c->io, fd, on_io);
	if (rc < 0) {
		close(fd);
		connect_failed(c, -rc);
		return;
	}
}

static void finish_connect(struct conn *c)
{
	int err = hp_net_socket_error(c->io.fd);
	if (err != 0) {
		connect_failed(c, err);
		return;
	}
	c->w->connect_failures = 0;
	c->w->st.connects++;
	atomic_fetch_add(&c->w->run->connects, 1);
	c->state = C_WRITING;
	c->written = 0;
	on_io(&c->io, 0);
}

static size_t pick_target(struct worker *w)
{
	size_t n = w->o->ntargets;
	if (n == 1)
		return 0;
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	uint64_t x = w->rng % w->cum_weight[n - 1];
	size_t i = 0;
	while (w->cum_weight[i] <= x)
		i++;
	return i;
}

/* Begin a request on free connection <c>; <intended_ns> is its ticket, or 0
 * to measure from the first byte written (closed model). */
static void start_request(struct conn *c, uint64_t intended_ns)
{
	struct worker *w = c->w;
	w->busy++;
	c->target = pick_target(w);
	c->start_ns = intended_ns;
	c->written = 0;
	c->bytes = 0;
	c->discarded = 0;
	c->head_len = 0;
	c->cache_class = -1;
	hp_timer_start(w->loop, &c->timer, (w->o->timeout_ns + 999999) / 1000000, on_timeout);
	bool same = w->o->targets[c->target].addrlen == w->o->targets[c->conn_target].addrlen &&
		    memcmp(&w->o->targets[c->target].addr, &w->o->targets[c->conn_target].addr,
			   w->o->targets[c->target].addrlen) == 0;
	if (c->io.fd >= 0 && !same)
		conn_close(c);
	if (c->io.fd < 0) {
		start_connect(c);
		return;
	}
	c->state = C_WRITING;
	on_io(&c->io, 0);
}

/* ==== Request and response ==== */

static void write_request(struct conn *c)
{
	const struct hp_bench_target *t = &c->w->o->targets[c->target];
	if (c->start_ns == 0)
		c->start_ns = hp_clock_mono_ns();
	while (c->written < t->req_len) {
		ssize_t n =
		    send(c->io.fd, t->req + c->written, t->req_len - c->written, MSG_NOSIGNAL);
		if (n >= 0) {
			c->written += (size_t)n;
		} else if (errno == EAGAIN) {
			c->wr_ready = false;
			return;
		} else if (errno != EINTR) {
			conn_fail(c, HP_BERR_WRITE);
			return;
		}
	}
	c->state = C_HEAD;
	if (c->rd_ready)
		on_io(&c->io, 0);
}

static void on_think(struct hp_timer *t)
{
	struct conn *c = HP_CONTAINER_OF(t, struct conn, timer);
	HP_CHECK_OBJ(c, CONN_MAGIC);
	conn_release(c, c->io.fd >= 0);
}

/*
 * The response is recorded; the connection is free again at once, or after
 * its request's think time in the closed model (a user reading the page, as
 * Locust's wait_time). In the open model arrivals are scheduled, so a pause
 * would only lower the rate the test asked for: think time is ignored there.
 * A thinking connection stays busy, so connection stages count it.
 */
static void complete(struct conn *c)
{
	struct worker *w = c->w;
	record_response(w, c);
	bool keep = c->keep_alive && w->o->keepalive;
	uint64_t think_ms = w->o->targets[c->target].think_ns / 1000000;
	if (think_ms == 0 || w->open) {
		conn_release(c, keep);
		return;
	}
	if (!keep)
		conn_close(c);
	c->state = C_THINK;
	hp_timer_start(w->loop, &c->timer, think_ms, on_think);
}

/* Body bytes <p>[0..n) arrived. Returns true while the response is still
 * incomplete, false once it was completed or failed (as take_head()). */
static bool take_body(struct conn *c, const char *p, size_t n)
{
	if (c->body == HP_BODY_CLOSE || n == 0)
		return true;
	if (c->body == HP_BODY_LENGTH) {
		if (n > c->remaining) {
			conn_fail(c, HP_BERR_PARSE); /* bytes after the body: framing is off */
			return false;
		}
		c->remaining -= n;
		if (c->remaining == 0) {
			complete(c);
			return false;
		}
		return true;
	}
	bool done = false;
	ssize_t used = hp_http_chunked_feed(&c->chunked, p, n, &done, NULL, NULL);
	if (used < 0 || (done && (size_t)used != n)) {
		conn_fail(c, HP_BERR_PARSE);
		return false;
	}
	if (done)
		complete(c);
	return !done;
}

static int classify_cache(const struct hp_http_response *resp)
{
	const struct hp_http_header *h =
	    hp_http_find_header(resp->headers, resp->num_headers, "cache-status");
	if (h != NULL)
		return hp_bench_cache_class(h->value.ptr, h->value.len, true);
	h = hp_http_find_header(resp->headers, resp->num_headers, "x-cache");
	if (h != NULL)
		return hp_bench_cache_class(h->value.ptr, h->value.len, false);
	return -1;
}

/* Parse the head in buf and feed what follows it to the body. Returns true
 * while the response is still incomplete, false once it was completed or
 * failed (the connection may already carry the next request then). */
static bool take_head(struct conn *c)
{
	static const struct hp_http_limits lim = {
	    .max_request_line = READ_BUF_BYTES,
	    .max_head_bytes = READ_BUF_BYTES,
	    .max_headers = MAX_RESP_HEADERS,
	};
	struct hp_http_header headers[MAX_RESP_HEADERS];
	struct hp_http_response resp;
	for (;;) {
		int n = hp_http_parse_response(c->buf, c->head_len, &resp, headers, &lim,
					       c->w->methods[c->target]);
		if (n == HP_AGAIN && c->head_len < sizeof(c->buf))
			return true;
		if (n < 0) {
			conn_fail(c, HP_BERR_PARSE);
			return false;
		}
		/*
		 * resp's header values point into buf: read everything needed from
		 * them before the head is moved out, or the body bytes that came
		 * in the same read overwrite them (the cache status then reads as
		 * body bytes, and hits were miscounted).
		 */
		bool final = resp.status >= 200 || resp.status == 101;
		if (final) {
			c->status = resp.status;
			c->keep_alive = resp.keep_alive;
			c->body = resp.body;
			c->remaining = resp.content_length;
			c->chunked = (struct hp_http_chunked){0};
			int cls = classify_cache(&resp);
			c->cache_class = cls;
			c->w->st.cache_seen |= cls >= 0;
		}
		c->head_len -= (size_t)n;
		memmove(c->buf, c->buf + n, c->head_len);
		if (final)
			break;
		/* 1xx interim response: the final one follows. */
	}
	/* "Content-Length: 0" is framed as a body of length 0: nothing to wait for. */
	if (c->body == HP_BODY_NONE || (c->body == HP_BODY_LENGTH && c->remaining == 0)) {
		if (c->head_len > 0)
			conn_fail(c, HP_BERR_PARSE);
		else
			complete(c);
		return false;
	}
	c->state = C_BODY;
	return take_body(c, c->buf, c->head_len);
}

static void on_eof(struct conn *c)
{
	if (c->state == C_BODY && c->body == HP_BODY_CLOSE) {
		c->keep_alive = false;
		complete(c);
	} else {
		conn_fail(c, HP_BERR_READ);
	}
}

/*
 * A load generator only counts body bytes, so the part of a Content-Length
 * body that did not come in with the head is drained with MSG_TRUNC, which
 * on Linux TCP discards the bytes "rather than passed back in a
 * caller-supplied buffer" (tcp(7)): the kernel frees them uncopied. Measured
 * on Linux 6.18 over loopback: draining 4 GiB took 0.30 s of receiver CPU
 * with recv(MSG_TRUNC), 1.19 s with read(), the buffer was never written,
 * and the bytes queued after the discarded ones read back intact and in
 * order. The length asked for never exceeds the body, so bytes after it stay
 * queued for the next parse, as they would with read(). recv() still gets a
 * buffer as long as the length asked (w->sink, 1 MiB per worker), as its
 * contract wants and as sanitizers assume (they take its return value as
 * bytes written); no page of it is ever touched, so it costs address space,
 * not memory. Chunked and close-delimited bodies must be parsed or watched
 * for EOF: they copy, as everything does with --copy-body.
 */
static bool discards(const struct conn *c)
{
	return c->state == C_BODY && c->body == HP_BODY_LENGTH && !c->w->o->copy_body;
}

static ssize_t recv_some(struct conn *c, bool head, bool discard, size_t *room)
{
	if (discard) {
		*room = (size_t)HP_MIN(c->remaining, SINK_BYTES);
		return recv(c->io.fd, c->w->sink, *room, MSG_TRUNC | MSG_DONTWAIT);
	}
	char *dst = head ? c->buf + c->head_len : c->buf;
	*room = head ? sizeof(c->buf) - c->head_len : sizeof(c->buf);
	return read(c->io.fd, dst, *room);
}

static void read_response(struct conn *c)
{
	for (;;) {
		bool head = c->state == C_HEAD;
		bool discard = discards(c);
		size_t room;
		ssize_t n = recv_some(c, head, discard, &room);
		if (n > 0) {
			c->bytes += (uint64_t)n;
			c->discarded += discard ? (uint64_t)n : 0;
			/*
			 * A short read drained the socket, so when it completes the
			 * response we skip the read that would only return EAGAIN before
			 * the next request: new bytes raise a new edge, and a FIN that
			 * came in with the data makes our next write draw a reset, which
			 * raises one too. While the response is incomplete we read on:
			 * that FIN would otherwise go unnoticed. A discard that takes the
			 * last body byte is never short (it asks for exactly the rest),
			 * so it cannot tell; it skips that read too. What it may leave is
			 * bytes the server sent unasked before the body ended (one request
			 * is in flight per connection): the next response's parse then
			 * fails on them, or with nothing more coming the next request
			 * times out. Either way an error is counted, as with read().
			 */
			if ((size_t)n < room || (discard && (uint64_t)n == c->remaining))
				c->rd_ready = false;
			if (head)
				c->head_len += (size_t)n;
			bool more = head ? take_head(c) : take_body(c, c->buf, (size_t)n);
			if (!more)
				return;
			c->rd_ready = true;
		} else if (n == 0) {
			on_eof(c);
			return;
		} else if (errno == EAGAIN) {
			c->rd_ready = false;
			return;
		} else if (errno != EINTR) {
			conn_fail(c, HP_BERR_READ);
			return;
		}
	}
}

/* A keep-alive connection with no request became readable: the server
 * closed it (normal after its idle timeout) or sent garbage. Either way
 * the socket is done; the next request reconnects without an error. */
static void check_idle(struct conn *c)
{
	char b[64];
	ssize_t n = read(c->io.fd, b, sizeof(b));
	if (n < 0 && errno == EAGAIN) {
		c->rd_ready = false;
		return;
	}
	conn_close(c);
}

static void on_io(struct hp_io *io, unsigned events)
{
	struct conn *c = HP_CONTAINER_OF(io, struct conn, io);
	HP_CHECK_OBJ(c, CONN_MAGIC);
	if (events & (HP_IO_READ | HP_IO_ERROR))
		c->rd_ready = true;
	if (events & (HP_IO_WRITE | HP_IO_ERROR))
		c->wr_ready = true;
	switch (c->state) {
	case C_IDLE:
	case C_THINK:
		if (c->rd_ready && c->io.fd >= 0)
			check_idle(c);
		break;
	case C_CONNECTING:
		if (c->wr_ready)
			finish_connect(c);
		break;
	case C_WRITING:
		if (c->wr_ready)
			write_request(c);
		break;
	case C_HEAD:
	case C_BODY:
		if (c->rd_ready)
			read_response(c);
		break;
	}
}

/* ==== Dispatcher ==== */

/* The rate asked of this worker <t_ns> into the measured part. */
static double rate_at(const struct worker *w, uint64_t now)
{
	const struct hp_bench_opts *o = w->o;
	if (o->nstages == 0 || o->stages_are_conns)
		return w->rate;
	uint64_t t = now > w->measure_ns ? now - w->measure_ns : 0;
	return hp_bench_stage_value(o->stages, o->nstages, t) / o->threads;
}

/*
 * Move the ticket on by one request at the current rate. Rates ramp, so
 * integrate in steps of at most 1 ms; a stage at rate 0 just lets time pass.
 */
static void advance_ticket(struct worker *w)
{
	double need = 1.0;
	uint64_t t = w->next_ticket_ns;
	while (need > 0 && t < w->end_ns) {
		double r = rate_at(w, t);
		if (r > 0 && need / r * 1e9 <= 1e6) {
			t += (uint64_t)(need / r * 1e9);
			break;
		}
		need -= r * 1e-3;
		t += 1000000;
	}
	w->next_ticket_ns = t;
}

/* Connections this worker may keep busy now (connection stages). */
static unsigned allowed_busy(const struct worker *w, uint64_t now)
{
	const struct hp_bench_opts *o = w->o;
	if (o->nstages == 0 || !o->stages_are_conns)
		return w->nconns;
	uint64_t t = now > w->measure_ns ? now - w->measure_ns : 0;
	double total = hp_bench_stage_value(o->stages, o->nstages, t);
	return (unsigned)llround(total * w->nconns / o->conns);
}

static void on_sched(struct hp_timer *t)
{
	dispatch(HP_CONTAINER_OF(t, struct worker, sched));
}

static void dispatch(struct worker *w)
{
	uint64_t now = hp_clock_mono_ns();
	while (!w->stopping && !hp_list_empty(&w->idle) && w->budget > 0) {
		uint64_t intended = 0;
		if (w->open) {
			if (w->next_ticket_ns >= w->end_ns)
				return;
			/*
			 * Timers have 1 ms resolution. Waiting for the next whole ms would
			 * charge up to 1 ms of our own lateness to the server, so a ticket
			 * due within the coming ms is sent now and its latency counted
			 * from the actual send (never before the intended time).
			 */
			if (w->next_ticket_ns > now + 1000000) {
				uint64_t ms = (w->next_ticket_ns - now) / 1000000;
				hp_timer_start(w->loop, &w->sched, ms, on_sched);
				return;
			}
			intended = HP_MIN(w->next_ticket_ns, now);
			advance_ticket(w);
		} else if (w->busy >= allowed_busy(w, now)) {
			return;
		}
		struct conn *c = HP_LIST_FIRST(&w->idle, struct conn, idle_link);
		hp_list_unlink(&c->idle_link);
		if (now >= w->measure_ns && w->o->requests)
			w->budget--;
		start_request(c, intended);
	}
}

/* ==== Worker ==== */

static void publish_snapshot(struct worker *w)
{
	pthread_mutex_lock(&w->snap_lock);
	hp_hist_reset(&w->snap);
	hp_hist_merge(&w->snap, &w->st.lat);
	pthread_mutex_unlock(&w->snap_lock);
}

static void on_tick(struct hp_timer *t)
{
	struct worker *w = HP_CONTAINER_OF(t, struct worker, tick);
	HP_CHECK_OBJ(w, WORKER_MAGIC);
	uint64_t now = hp_clock_mono_ns();
	bool finished = w->o->requests && w->budget == 0 && w->busy == 0;
	if (now >= w->end_ns || finished || atomic_load(&w->run->abort)) {
		w->stopping = true;
		hp_loop_stop(w->loop);
		return;
	}
	if (now - w->last_publish_ns >= NS_PER_S / 2) {
		publish_snapshot(w);
		w->last_publish_ns = now;
	}
	dispatch(w);
	hp_timer_start(w->loop, &w->tick, TICK_MS, on_tick);
}

static void worker_init(struct worker *w, struct run *run, unsigned idx, unsigned nconns,
			double rate, uint64_t budget)
{
	const struct hp_bench_opts *o = run->o;
	*w = (struct worker){.magic = WORKER_MAGIC, .run = run, .o = o, .nconns = nconns};
	w->loop = hp_loop_create();
	/* Each block-and-wake in epoll_wait adds to a round trip; spinning
	 * (--spin-us) saves it but burns the core while waiting, which a server
	 * on the same machine pays for. Off unless asked: see opts_defaults(). */
	hp_loop_set_spin(w->loop, w->o->spin_us);
	w->conns = hp_xcalloc(nconns, sizeof(*w->conns));
	w->sink = hp_xmalloc(SINK_BYTES);
	hp_list_init(&w->idle);
	for (unsigned i = 0; i < nconns; i++) {
		/* Fields one by one: assigning a whole struct would write (and make
		 * resident) every page of the read buffer, which calloc left
		 * untouched; a short response only ever touches its first page. */
		struct conn *c = &w->conns[i];
		c->magic = CONN_MAGIC;
		c->w = w;
		c->io.fd = -1;
		hp_list_link_tail(&w->idle, &c->idle_link);
	}
	w->methods = hp_xcalloc(o->ntargets, sizeof(*w->methods));
	w->cum_weight = hp_xcalloc(o->ntargets, sizeof(*w->cum_weight));
	for (size_t i = 0; i < o->ntargets; i++) {
		const char *req = o->targets[i].req;
		struct hp_str m = {req, strcspn(req, " ")};
		w->methods[i] = hp_http_method_from(m);
		w->cum_weight[i] = (i ? w->cum_weight[i - 1] : 0) + o->targets[i].weight;
	}
	w->rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)idx << 32 | 1);
	w->rate = rate / o->threads;
	w->open = rate > 0 || (o->nstages > 0 && !o->stages_are_conns);
	w->budget = budget;
	hp_bench_stats_init(&w->st, o->ntargets);
	hp_hist_init(&w->snap, HP_BENCH_HIST_MAX_US, HP_BENCH_HIST_DIGITS);
	pthread_mutex_init(&w->snap_lock, NULL);
}

static void worker_fini(struct worker *w)
{
	for (unsigned i = 0; i < w->nconns; i++) {
		hp_timer_stop(w->loop, &w->conns[i].timer);
		hp_io_close(&w->conns[i].io);
	}
	hp_timer_stop(w->loop, &w->tick);
	hp_timer_stop(w->loop, &w->sched);
	hp_loop_destroy(w->loop);
	free(w->conns);
	free(w->sink);
	free(w->methods);
	free(w->cum_weight);
	hp_bench_stats_fini(&w->st);
	hp_hist_fini(&w->snap);
	pthread_mutex_destroy(&w->snap_lock);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	hp_loop_update_time(w->loop);
	hp_timer_start(w->loop, &w->tick, TICK_MS, on_tick);
	dispatch(w);
	int rc = hp_loop_run(w->loop);
	if (rc < 0)
		hp_log_error("bench: event loop failed: %s", strerror(-rc));
	atomic_store(&w->done, true);
	return NULL;
}

/* ==== Run ==== */

struct progress {
	uint64_t last_responses;
	uint64_t last_ns;
	struct hp_hist merged;
};

static void print_progress(struct worker *ws, unsigned n, uint64_t start_ns, struct progress *p)
{
	uint64_t now = hp_clock_mono_ns();
	uint64_t responses = 0;
	uint64_t errors = 0;
	hp_hist_reset(&p->merged);
	for (unsigned i = 0; i < n; i++) {
		responses += atomic_load_explicit(&ws[i].pub_responses, memory_order_relaxed);
		errors += atomic_load_explicit(&ws[i].pub_errors, memory_order_relaxed);
		pthread_mutex_lock(&ws[i].snap_lock);
		hp_hist_merge(&p->merged, &ws[i].snap);
		pthread_mutex_unlock(&ws[i].snap_lock);
	}
	double dt = (double)(now - p->last_ns) / 1e9;
	double rps = dt > 0 ? (double)(responses - p->last_responses) / dt : 0;
	char p99[32];
	hp_bench_fmt_us((double)hp_hist_percentile(&p->merged, 99), p99, sizeof(p99));
	fprintf(stderr, "\r\033[K  %6.1fs  %10.0f req/s  p99 %s  errors %llu",
		(double)(now - start_ns) / 1e9, rps, p99, (unsigned long long)errors);
	fflush(stderr);
	p->last_responses = responses;
	p->last_ns = now;
}

static bool all_stopped(struct worker *ws, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!atomic_load(&ws[i].done))
			return false;
	return true;
}

/*
 * Announce every stage that has begun and was not announced yet; returns
 * the nanoseconds until the next stage begins (UINT64_MAX if none), so the
 * caller wakes up on time and a line comes out as its stage starts (within
 * the main thread's scheduling delay), however short the stage. The plan as
 * a whole is printed before the run (bench.c).
 */
static uint64_t announce_stages(const struct hp_bench_opts *o, uint64_t measure_ns, size_t *next,
				bool progress, FILE *out)
{
	uint64_t now = hp_clock_mono_ns();
	if (out == NULL || o->nstages == 0)
		return UINT64_MAX;
	if (now < measure_ns)
		return measure_ns - now;
	uint64_t t = now - measure_ns;
	size_t cur = hp_bench_stage_at(o->stages, o->nstages, t);
	for (; *next <= cur && *next < o->nstages; (*next)++) {
		char what[128];
		hp_bench_stage_describe(o->stages, *next, o->stages_are_conns, what, sizeof(what));
		if (progress)
			fputs("\r\033[K", stderr);
		fprintf(out, "stage %zu/%zu: %s\n", *next + 1, o->nstages, what);
		fflush(out);
	}
	uint64_t begin = 0;
	for (size_t i = 0; i < *next && i < o->nstages; i++)
		begin += o->stages[i].duration_ns;
	return *next < o->nstages && begin > t ? begin - t : UINT64_MAX;
}

static void wait_workers(struct worker *ws, unsigned n, uint64_t start_ns, bool progress,
			 FILE *stage_out)
{
	struct progress p = {.last_ns = start_ns};
	hp_hist_init(&p.merged, HP_BENCH_HIST_MAX_US, HP_BENCH_HIST_DIGITS);
	uint64_t next_print = start_ns + NS_PER_S;
	size_t next_stage = 0;
	while (!all_stopped(ws, n)) {
		uint64_t due = announce_stages(ws[0].o, ws[0].measure_ns, &next_stage, progress,
					       stage_out);
		uint64_t nap = HP_MIN(due, 50ull * 1000 * 1000);
		struct timespec ts = {0, (long)nap};
		nanosleep(&ts, NULL);
		if (progress && hp_clock_mono_ns() >= next_print) {
			print_progress(ws, n, start_ns, &p);
			next_print += NS_PER_S;
		}
	}
	(void)announce_stages(ws[0].o, ws[0].measure_ns, &next_stage, progress, stage_out);
	if (progress)
		fputs("\r\033[K", stderr);
	hp_hist_fini(&p.merged);
}

static void collect(struct worker *ws, unsigned n, struct run *run, struct hp_bench_result *r)
{
	uint64_t last = 0;
	uint64_t stop = hp_clock_mono_ns();
	for (unsigned i = 0; i < n; i++) {
		hp_bench_stats_merge(&r->st, &ws[i].st);
		last = HP_MAX(last, ws[i].last_done_ns);
	}
	uint64_t measure = ws[0].measure_ns;
	uint64_t end = run->o->requests ? last : HP_MIN(stop, ws[0].end_ns);
	r->elapsed_s = end > measure ? (double)(end - measure) / 1e9 : 0;
	r->unreachable = atomic_load(&run->abort);
	snprintf(r->unreachable_reason, sizeof(r->unreachable_reason), "%s", run->reason);
}

static double cpu_seconds(void)
{
	struct rusage ru;
	HP_AZ(getrusage(RUSAGE_SELF, &ru));
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

void hp_bench_run(const struct hp_bench_opts *o, double rate, bool progress, FILE *stage_out,
		  struct hp_bench_result *r)
{
	double cpu0 = cpu_seconds();
	struct run run = {.o = o};
	pthread_mutex_init(&run.lock, NULL);
	unsigned n = o->threads;
	struct worker *ws = hp_xcalloc(n, sizeof(*ws));
	uint64_t start = hp_clock_mono_ns();
	for (unsigned i = 0; i < n; i++) {
		uint64_t share = o->requests / n + (i < o->requests % n);
		struct worker *w = &ws[i];
		worker_init(w, &run, i, o->conns / n + (i < o->conns % n), rate,
			    o->requests ? share : UINT64_MAX);
		w->start_ns = start;
		w->measure_ns = start + o->warmup_ns;
		w->end_ns = o->requests ? UINT64_MAX : w->measure_ns + o->duration_ns;
		/* Stagger the workers' tickets so they do not fire in bursts. */
		w->next_ticket_ns = start + (rate > 0 ? (uint64_t)(1e9 / rate * i) : 0);
	}
	for (unsigned i = 0; i < n; i++)
		HP_AZ(pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]));
	wait_workers(ws, n, start, progress, stage_out);
	for (unsigned i = 0; i < n; i++)
		HP_AZ(pthread_join(ws[i].tid, NULL));
	/* Before the merge, whose cost is the report's, not the load's. */
	double cpu = cpu_seconds() - cpu0;
	double wall = (double)(hp_clock_mono_ns() - start) / 1e9;
	hp_bench_stats_init(&r->st, o->ntargets);
	r->rate = rate;
	collect(ws, n, &run, r);
	r->cpu_s = cpu;
	r->wall_s = wall;
	for (unsigned i = 0; i < n; i++)
		worker_fini(&ws[i]);
	free(ws);
	pthread_mutex_destroy(&run.lock);
}
