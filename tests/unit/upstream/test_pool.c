/* SPDX-License-Identifier: MIT */
/*
 * test_pool.c - per-worker keep-alive pools against a real listening
 * socket on 127.0.0.1: a released connection is reused (same conn,
 * reused == true), connections the server closed or wrote to while idle
 * are dropped, max_idle and max_connections (-EBUSY) hold, the idle
 * timeout closes the socket, and a refused connect is reported. Requests
 * waiting for a slot are called in arrival order, from the deferred queue,
 * when a release, a close or a failed connect frees one, also when the slot
 * frees in another pool of the group.
 *
 * Every loop run waits for a condition polled by a 1 ms timer and is
 * bounded by a 5 s watchdog that fails the test. Connections freed through
 * the loop's deferred queue are flushed in teardown, so LeakSanitizer
 * checks that every path frees what it took.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "net/net.h"
#include "upstream/upstream.h"

#define WATCHDOG_MS 5000
#define WAIT_MS 2000
#define MAX_SERVER_FDS 16

static struct {
	struct hp_loop *loop;
	int lfd; /* the upstream server's listening socket */
	char hostport[32];
	struct hp_config_server server;
	struct hp_config_upstream conf;
	struct hp_upstream_group *group;
	struct hp_upstream_pool *pool;
	struct hp_upstream_server *s;
	int sfds[MAX_SERVER_FDS]; /* accepted server-side sockets */
	size_t nsfds;
	struct hp_timer watchdog;
	struct hp_timer poll;
	bool (*until)(void);
	bool timed_out;
	int connect_done; /* connects that completed or failed */
	int connect_rc;	  /* the last hp_upstream_conn_check_connected() */
} T;

/* ==== Fixture ==== */

static void on_watchdog(struct hp_timer *t)
{
	(void)t;
	T.timed_out = true;
	hp_loop_stop(T.loop);
}

static void on_poll(struct hp_timer *t)
{
	if (T.until())
		hp_loop_stop(T.loop);
	else
		hp_timer_start(T.loop, t, 1, on_poll);
}

/* Run the loop until <until>() holds; fail if the watchdog fires first. */
static void run_until(bool (*until)(void))
{
	T.until = until;
	hp_timer_start(T.loop, &T.watchdog, WATCHDOG_MS, on_watchdog);
	hp_timer_start(T.loop, &T.poll, 0, on_poll);
	assert_int_equal(hp_loop_run(T.loop), 0);
	hp_timer_stop(T.loop, &T.watchdog);
	hp_timer_stop(T.loop, &T.poll);
	assert_false(T.timed_out);
}

static void make_pool(uint32_t max_idle, uint32_t max_connections, uint64_t idle_timeout_ms)
{
	T.conf.max_idle = max_idle;
	T.conf.max_connections = max_connections;
	T.conf.idle_timeout_ms = idle_timeout_ms;
	char err[256] = "";
	T.group = hp_upstream_group_create(&T.conf, err, sizeof(err));
	if (T.group == NULL)
		fail_msg("group: %s", err);
	T.pool = hp_upstream_pool_create(T.loop, T.group);
	T.s = hp_upstream_group_server(T.group, 0);
	assert_ptr_equal(hp_upstream_pool_group(T.pool), T.group);
}

static int setup(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	T.loop = hp_loop_create();
	hp_loop_update_time(T.loop);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	T.lfd = hp_net_listen((struct sockaddr *)&sin, sizeof(sin), false, 64);
	assert_true(T.lfd >= 0);
	socklen_t len = sizeof(sin);
	assert_int_equal(getsockname(T.lfd, (struct sockaddr *)&sin, &len), 0);
	snprintf(T.hostport, sizeof(T.hostport), "127.0.0.1:%u", ntohs(sin.sin_port));
	T.server = (struct hp_config_server){
	    .url = T.hostport,
	    .host = "127.0.0.1",
	    .port = ntohs(sin.sin_port),
	    .hostport = T.hostport,
	    .weight = 1,
	};
	T.conf = (struct hp_config_upstream){
	    .name = "origin",
	    .servers = &T.server,
	    .nservers = 1,
	    .balance = "round_robin",
	    .connect_timeout_ms = 1000,
	    .retries = 1,
	};
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hp_timer_stop(T.loop, &T.watchdog);
	hp_timer_stop(T.loop, &T.poll);
	/* Connections closed by the pool are freed by the deferred queue. */
	hp_loop_flush(T.loop);
	hp_upstream_pool_destroy(T.pool);
	hp_upstream_group_destroy(T.group);
	for (size_t i = 0; i < T.nsfds; i++)
		if (T.sfds[i] >= 0)
			close(T.sfds[i]);
	if (T.lfd >= 0)
		close(T.lfd);
	hp_loop_destroy(T.loop);
	return 0;
}

static unsigned active(void)
{
	return atomic_load(&T.s->active);
}

/* ==== Helpers ==== */

/* The owner's io callback while it holds a connection. */
static void on_conn_io(struct hp_io *io, unsigned events)
{
	struct hp_upstream_conn *c = HP_CONTAINER_OF(io, struct hp_upstream_conn, io);
	HP_CHECK_OBJ(c, HP_UPSTREAM_CONN_MAGIC);
	if (c->connected || !(events & HP_IO_WRITE))
		return;
	T.connect_rc = hp_upstream_conn_check_connected(c);
	T.connect_done++;
}

static int want_connects;

static bool connects_done(void)
{
	return T.connect_done >= want_connects;
}

/* A connected connection, handshake completed on the loop. */
static struct hp_upstream_conn *connect_one(void *owner)
{
	struct hp_upstream_conn *c = NULL;
	assert_int_equal(hp_upstream_connect(T.pool, T.s, owner, on_conn_io, &c), 0);
	assert_non_null(c);
	assert_ptr_equal(c->owner, owner);
	assert_ptr_equal(c->server, T.s);
	want_connects = T.connect_done + 1;
	run_until(connects_done);
	assert_int_equal(T.connect_rc, 0);
	assert_true(c->connected);
	assert_false(c->reused);
	return c;
}

/* Accept the server side of the oldest pending connection. */
static int server_accept(void)
{
	struct pollfd p = {.fd = T.lfd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	struct sockaddr_storage peer;
	socklen_t len;
	int fd = hp_net_accept(T.lfd, &peer, &len);
	assert_true(fd >= 0);
	assert_true(T.nsfds < MAX_SERVER_FDS);
	T.sfds[T.nsfds++] = fd;
	return fd;
}

/* The server side sees the pool close its connection: EOF, or a reset
 * when the pool closed with unread bytes in its receive buffer. */
static void expect_server_eof(int sfd)
{
	struct pollfd p = {.fd = sfd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	char b[16];
	ssize_t n = read(sfd, b, sizeof(b));
	if (n != 0 && !(n < 0 && errno == ECONNRESET))
		fail_msg("server read %zd (%s), want EOF", n, n < 0 ? strerror(errno) : "data");
}

static bool pool_empty(void)
{
	return hp_upstream_pool_idle(T.pool) == 0;
}

/* ==== Tests ==== */

static void test_release_then_take(void **state)
{
	(void)state;
	make_pool(8, 100, 600000);
	int owner1;
	int owner2;
	struct hp_upstream_conn *c = connect_one(&owner1);
	assert_int_equal(active(), 1);
	assert_null(hp_upstream_take(T.pool, T.s, &owner2)); /* nothing idle yet */
	c->requests = 1;
	hp_upstream_release(c, true);
	assert_int_equal(hp_upstream_pool_idle(T.pool), 1);
	assert_int_equal(active(), 0);

	struct hp_upstream_conn *again = hp_upstream_take(T.pool, T.s, &owner2);
	assert_ptr_equal(again, c);
	assert_true(again->reused);
	assert_ptr_equal(again->owner, &owner2);
	assert_int_equal(again->requests, 1);
	assert_true(again->writable);
	assert_int_equal(hp_upstream_pool_idle(T.pool), 0);
	assert_int_equal(active(), 1);
	/* Only one was idle. */
	assert_null(hp_upstream_take(T.pool, T.s, &owner2));
	again->io.cb = on_conn_io;
	hp_upstream_release(again, false);
	assert_int_equal(hp_upstream_pool_idle(T.pool), 0);
	assert_int_equal(active(), 0);
}

/* The most recently released connection is taken first (the warmest). */
static void test_take_most_recent_first(void **state)
{
	(void)state;
	make_pool(8, 100, 600000);
	struct hp_upstream_conn *a = connect_one(NULL);
	struct hp_upstream_conn *b = connect_one(NULL);
	hp_upstream_release(a, true);
	hp_upstream_release(b, true);
	assert_int_equal(hp_upstream_pool_idle(T.pool), 2);
	assert_ptr_equal(hp_upstream_take(T.pool, T.s, NULL), b);
	assert_ptr_equal(hp_upstream_take(T.pool, T.s, NULL), a);
	hp_upstream_release(a, false);
	hp_upstream_release(b, false);
	assert_int_equal(active(), 0);
}

static void test_server_close_drops_idle(void **state)
{
	(void)state;
	make_pool(8, 100, 600000);
	struct hp_upstream_conn *c = connect_one(NULL);
	int sfd = server_accept();
	hp_upstream_release(c, true);
	assert_int_equal(hp_upstream_pool_idle(T.pool), 1);
	close(sfd);
	T.sfds[T.nsfds - 1] = -1;
	/* The loop sees the close on the idle socket and drops it. */
	run_until(pool_empty);
	assert_null(hp_upstream_take(T.pool, T.s, NULL));
	assert_int_equal(active(), 0);
}

static void test_server_close_seen_by_take(void **state)
{
	(void)state;
	make_pool(8, 100, 600000);
	struct hp_upstream_conn *c = connect_one(NULL);
	int cfd = c->io.fd;
	int sfd = server_accept();
	hp_upstream_release(c, true);
	close(sfd);
	T.sfds[T.nsfds - 1] = -1;
	/* Without running the loop: once the FIN is there, take must not hand
	 * out the dead connection. */
	struct pollfd p = {.fd = cfd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_null(hp_upstream_take(T.pool, T.s, NULL));
	assert_int_equal(hp_upstream_pool_idle(T.pool), 0);
	assert_int_equal(active(), 0);
}

static void test_unexpected_bytes_drop_idle(void **state)
{
	(void)state;
	make_pool(8, 100, 600000);
	struct hp_upstream_conn *c = connect_one(NULL);
	int sfd = server_accept();
	hp_upstream_release(c, true);
	/* A response nobody asked for: the connection is out of sync. */
	assert_int_equal(write(sfd, "HTTP/1.1 200 OK\r\n", 17), 17);
	run_until(pool_empty);
	expect_server_eof(sfd);
}

/* A response read to its end outside the conn's own callback (say, while
 * the client became writable) leaves a readiness edge behind; by the time
 * it is reported the data is gone, and the connection must stay pooled. */
static int ticks;

static bool some_ticks(void)
{
	return ++ticks >= 20;
}

static void test_consumed_response_stays_idle(void **state)
{
	(void)state;
	make_pool(8, 100, 600000);
	struct hp_upstream_conn *c = connect_one(NULL);
	int sfd = server_accept();
	assert_int_equal(write(sfd, "HTTP/1.1 204 No Content\r\n\r\n", 27), 27);
	struct pollfd p = {.fd = c->io.fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	char b[64];
	assert_int_equal(read(c->io.fd, b, sizeof(b)), 27);
	hp_upstream_release(c, true);
	ticks = 0;
	run_until(some_ticks);
	assert_int_equal(hp_upstream_pool_idle(T.pool), 1);
	assert_ptr_equal(hp_upstream_take(T.pool, T.s, NULL), c);
	hp_upstream_release(c, false);
}

static void test_not_reusable_closed(void **state)
{
	(void)state;
	make_pool(8, 100, 600000);
	/* Released as not reusable. */
	struct hp_upstream_conn *c = connect_one(NULL);
	int sfd = server_accept();
	hp_upstream_release(c, false);
	assert_int_equal(hp_upstream_pool_idle(T.pool), 0);
	expect_server_eof(sfd);
	/* Reusable, but unread response bytes are still buffered. */
	c = connect_one(NULL);
	sfd = server_accept();
	hp_buf_append_str(&c->in, "leftover");
	hp_upstream_release(c, true);
	assert_int_equal(hp_upstream_pool_idle(T.pool), 0);
	expect_server_eof(sfd);
	assert_int_equal(active(), 0);
}

static void test_max_idle(void **state)
{
	(void)state;
	make_pool(2, 100, 600000);
	struct hp_upstream_conn *c[3];
	int sfd[3];
	for (int i = 0; i < 3; i++) {
		c[i] = connect_one(NULL);
		sfd[i] = server_accept();
	}
	assert_int_equal(active(), 3);
	for (int i = 0; i < 3; i++)
		hp_upstream_release(c[i], true);
	assert_int_equal(hp_upstream_pool_idle(T.pool), 2);
	assert_int_equal(active(), 0);
	/* The one past max_idle was closed; the pooled ones were not. */
	expect_server_eof(sfd[2]);
	assert_ptr_equal(hp_upstream_take(T.pool, T.s, NULL), c[1]);
	assert_ptr_equal(hp_upstream_take(T.pool, T.s, NULL), c[0]);
	hp_upstream_release(c[0], false);
	hp_upstream_release(c[1], false);
}

static void test_max_idle_zero(void **state)
{
	(void)state;
	make_pool(0, 100, 600000);
	struct hp_upstream_conn *c = connect_one(NULL);
	int sfd = server_accept();
	hp_upstream_release(c, true);
	assert_int_equal(hp_upstream_pool_idle(T.pool), 0);
	expect_server_eof(sfd);
}

static void test_max_connections(void **state)
{
	(void)state;
	make_pool(8, 2, 600000);
	struct hp_upstream_conn *a = connect_one(NULL);
	struct hp_upstream_conn *b = connect_one(NULL);
	struct hp_upstream_conn *c = NULL;
	assert_int_equal(hp_upstream_connect(T.pool, T.s, NULL, on_conn_io, &c), -EBUSY);
	assert_null(c);
	assert_int_equal(active(), 2);
	/* A release, reusable or not, frees a slot. */
	hp_upstream_release(a, false);
	assert_int_equal(active(), 1);
	c = connect_one(NULL);
	assert_int_equal(active(), 2);
	assert_int_equal(hp_upstream_connect(T.pool, T.s, NULL, on_conn_io, &a), -EBUSY);
	hp_upstream_release(b, true);
	assert_int_equal(active(), 1);
	/* The idle one counts as not in use: taking it is within the limit. */
	b = hp_upstream_take(T.pool, T.s, NULL);
	assert_non_null(b);
	assert_int_equal(active(), 2);
	hp_upstream_release(b, false);
	hp_upstream_release(c, false);
	assert_int_equal(active(), 0);
}

static void test_take_at_limit_keeps_idle(void **state)
{
	(void)state;
	make_pool(8, 1, 600000);
	struct hp_upstream_conn *a = connect_one(NULL);
	hp_upstream_release(a, true);
	struct hp_upstream_conn *b = connect_one(NULL);
	assert_int_equal(active(), 1);
	/* At the limit: no idle connection may be handed out either... */
	assert_null(hp_upstream_take(T.pool, T.s, NULL));
	/* ...but it stays idle for later. */
	assert_int_equal(hp_upstream_pool_idle(T.pool), 1);
	assert_int_equal(active(), 1);
	hp_upstream_release(b, false);
	assert_ptr_equal(hp_upstream_take(T.pool, T.s, NULL), a);
	assert_int_equal(active(), 1);
	hp_upstream_release(a, false);
	assert_int_equal(active(), 0);
}

static void test_idle_timeout(void **state)
{
	(void)state;
	make_pool(8, 100, 5);
	struct hp_upstream_conn *c = connect_one(NULL);
	int sfd = server_accept();
	hp_upstream_release(c, true);
	assert_int_equal(hp_upstream_pool_idle(T.pool), 1);
	run_until(pool_empty);
	expect_server_eof(sfd);
	assert_int_equal(active(), 0);
}

/* Taking a connection disarms its idle timeout. */
static void test_take_stops_idle_timer(void **state)
{
	(void)state;
	make_pool(8, 100, 5);
	struct hp_upstream_conn *c = connect_one(NULL);
	int sfd = server_accept();
	hp_upstream_release(c, true);
	assert_ptr_equal(hp_upstream_take(T.pool, T.s, NULL), c);
	c->io.cb = on_conn_io;
	assert_false(hp_timer_active(&c->timer));
	/* Hold it well past the idle timeout: the socket stays open. */
	struct hp_upstream_conn *other = connect_one(NULL);
	(void)server_accept();
	hp_upstream_release(other, true);
	run_until(pool_empty); /* the other one times out meanwhile */
	assert_true(c->io.fd >= 0);
	assert_int_equal(write(c->io.fd, "x", 1), 1);
	struct pollfd p = {.fd = sfd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	char b;
	assert_int_equal(read(sfd, &b, 1), 1);
	hp_upstream_release(c, false);
}

static void test_connect_refused(void **state)
{
	(void)state;
	/* The server's port, now that nobody listens on it. */
	close(T.lfd);
	T.lfd = -1;
	make_pool(8, 100, 600000);
	struct hp_upstream_conn *c = NULL;
	int rc = hp_upstream_connect(T.pool, T.s, NULL, on_conn_io, &c);
	if (rc == 0) {
		want_connects = 1;
		run_until(connects_done);
		assert_int_equal(T.connect_rc, -ECONNREFUSED);
		assert_false(c->connected);
		/* A failed connection is never pooled. */
		hp_upstream_release(c, true);
	} else {
		assert_int_equal(rc, -ECONNREFUSED);
	}
	assert_int_equal(hp_upstream_pool_idle(T.pool), 0);
	assert_int_equal(active(), 0);
}

/* A reload builds a new group: idle connections to a server that stays
 * (same address) move to the new pool, those to a removed one close. */
static void test_adopt_idle_keeps_same_address(void **state)
{
	(void)state;
	make_pool(8, 100, 600000);
	struct hp_upstream_conn *c = connect_one(NULL);
	int sfd = server_accept();
	hp_upstream_release(c, true);
	assert_int_equal(hp_upstream_pool_idle(T.pool), 1);

	/* The new group lists a server that is gone first, then the same one. */
	struct hp_config_server servers[2] = {
	    {.url = "http://127.0.0.1:1", .host = "127.0.0.1", .port = 1,
	     .hostport = "127.0.0.1:1", .weight = 1},
	    T.server,
	};
	struct hp_config_upstream conf = T.conf;
	conf.servers = servers;
	conf.nservers = 2;
	char err[256] = "";
	struct hp_upstream_group *g2 = hp_upstream_group_create(&conf, err, sizeof(err));
	assert_non_null(g2);
	struct hp_upstream_pool *p2 = hp_upstream_pool_create(T.loop, g2);
	assert_int_equal(hp_upstream_pool_adopt_idle(p2, T.pool), 1);
	assert_int_equal(hp_upstream_pool_idle(T.pool), 0);
	assert_int_equal(hp_upstream_pool_idle(p2), 1);
	struct hp_upstream_server *s2 = hp_upstream_group_server(g2, 1);
	assert_null(hp_upstream_take(p2, hp_upstream_group_server(g2, 0), NULL));
	struct hp_upstream_conn *again = hp_upstream_take(p2, s2, NULL);
	assert_ptr_equal(again, c);
	assert_ptr_equal(again->server, s2);
	/* Still the same socket: the server sees the byte on its old connection. */
	assert_int_equal(write(again->io.fd, "x", 1), 1);
	struct pollfd pfd = {.fd = sfd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
	again->io.cb = on_conn_io;
	hp_upstream_release(again, false);
	hp_loop_flush(T.loop);
	hp_upstream_pool_destroy(p2);
	hp_upstream_group_destroy(g2);
}

/* A group without the server: its idle connection is closed, not moved. */
static void test_adopt_idle_closes_removed(void **state)
{
	(void)state;
	make_pool(8, 100, 600000);
	struct hp_upstream_conn *c = connect_one(NULL);
	int sfd = server_accept();
	hp_upstream_release(c, true);
	struct hp_config_server gone = {.url = "http://127.0.0.1:1", .host = "127.0.0.1",
					.port = 1, .hostport = "127.0.0.1:1", .weight = 1};
	struct hp_config_upstream conf = T.conf;
	conf.servers = &gone;
	char err[256] = "";
	struct hp_upstream_group *g2 = hp_upstream_group_create(&conf, err, sizeof(err));
	assert_non_null(g2);
	struct hp_upstream_pool *p2 = hp_upstream_pool_create(T.loop, g2);
	assert_int_equal(hp_upstream_pool_adopt_idle(p2, T.pool), 0);
	assert_int_equal(hp_upstream_pool_idle(p2), 0);
	hp_loop_flush(T.loop);
	expect_server_eof(sfd);
	hp_upstream_pool_destroy(p2);
	hp_upstream_group_destroy(g2);
}

/* ==== Waiting for a slot ==== */

/* A request waiting for a slot: on its turn it takes an idle connection or
 * connects, as the proxy does, and records the order. */
struct req {
	struct hp_upstream_waiter w;
	int id;
	struct hp_upstream_pool *pool;
	struct hp_upstream_conn *conn; /* what it got on its turn */
	int calls;
	struct hp_upstream_pool *thief; /* takes the slot first on the next turn */
	struct hp_upstream_conn *stolen;
};

static int wake_order[8];
static int nwoken;

static void on_turn(struct hp_upstream_waiter *w)
{
	struct req *r = HP_CONTAINER_OF(w, struct req, w);
	assert_false(hp_upstream_waiting(w));
	r->calls++;
	assert_true(nwoken < 8);
	wake_order[nwoken++] = r->id;
	if (r->thief != NULL) {
		/* Another worker wins the slot between the wake-up and the retry. */
		assert_int_equal(hp_upstream_connect(r->thief, T.s, NULL, on_conn_io, &r->stolen), 0);
		r->thief = NULL;
	}
	r->conn = hp_upstream_take(r->pool, T.s, r);
	if (r->conn != NULL)
		return;
	int rc = hp_upstream_connect(r->pool, T.s, r, on_conn_io, &r->conn);
	if (rc == -EBUSY)
		hp_upstream_pool_wait(r->pool, w, T.s, on_turn);
	else
		assert_int_equal(rc, 0);
}

static void queue_req(struct req *r, int id)
{
	*r = (struct req){.id = id, .pool = T.pool};
	struct hp_upstream_conn *c = NULL;
	assert_int_equal(hp_upstream_connect(T.pool, T.s, r, on_conn_io, &c), -EBUSY);
	hp_upstream_pool_wait(T.pool, &r->w, T.s, on_turn);
	assert_true(hp_upstream_waiting(&r->w));
}

static void test_wait_woken_in_order(void **state)
{
	(void)state;
	nwoken = 0;
	make_pool(8, 1, 600000);
	struct hp_upstream_conn *a = connect_one(NULL);
	struct req r[3];
	for (int i = 0; i < 3; i++)
		queue_req(&r[i], i + 1);
	assert_int_equal(hp_upstream_pool_waiters(T.pool), 3);
	/* Released to idle: nobody is called inside the release... */
	hp_upstream_release(a, true);
	assert_int_equal(nwoken, 0);
	/* ...but from the deferred queue, the oldest first, and only one: it
	 * takes the idle connection, which uses the slot up. */
	hp_loop_flush(T.loop);
	assert_int_equal(nwoken, 1);
	assert_int_equal(wake_order[0], 1);
	assert_ptr_equal(r[0].conn, a);
	assert_int_equal(hp_upstream_pool_waiters(T.pool), 2);
	/* Closed: the next in line connects. */
	hp_upstream_release(r[0].conn, false);
	hp_loop_flush(T.loop);
	assert_int_equal(nwoken, 2);
	assert_int_equal(wake_order[1], 2);
	assert_non_null(r[1].conn);
	/* A cancelled waiter is never called. */
	hp_upstream_pool_cancel_wait(&r[2].w);
	hp_upstream_pool_cancel_wait(&r[2].w);
	assert_false(hp_upstream_waiting(&r[2].w));
	hp_upstream_release(r[1].conn, false);
	hp_loop_flush(T.loop);
	assert_int_equal(nwoken, 2);
	assert_int_equal(r[2].calls, 0);
	assert_int_equal(active(), 0);
}

static void test_wait_slot_already_free(void **state)
{
	(void)state;
	nwoken = 0;
	make_pool(8, 1, 600000);
	/* The slot is free when the wait starts (as when another worker freed
	 * it after this one's -EBUSY): the wait looks, and defers the call. */
	struct req r = {.id = 1, .pool = T.pool};
	hp_upstream_pool_wait(T.pool, &r.w, NULL, on_turn);
	assert_int_equal(r.calls, 0);
	hp_loop_flush(T.loop);
	assert_int_equal(r.calls, 1);
	assert_non_null(r.conn);
	hp_upstream_release(r.conn, false);
	hp_loop_flush(T.loop);
	assert_int_equal(active(), 0);
}

static struct req *watched;

static bool watched_called_twice(void)
{
	return watched->calls >= 2;
}

/* Two pools of one group stand for two workers sharing the server's slots. */
static void test_wait_other_worker(void **state)
{
	(void)state;
	nwoken = 0;
	make_pool(8, 1, 600000);
	struct hp_upstream_pool *other = hp_upstream_pool_create(T.loop, T.group);
	struct hp_upstream_conn *a = connect_one(NULL);
	struct req r[2];
	queue_req(&r[0], 1);
	queue_req(&r[1], 2);
	r[0].thief = other;
	hp_upstream_release(a, false);
	hp_loop_flush(T.loop);
	/* 1 lost the slot to the other worker and waits again, still first. */
	assert_int_equal(nwoken, 1);
	assert_null(r[0].conn);
	assert_non_null(r[0].stolen);
	assert_true(hp_upstream_waiting(&r[0].w));
	assert_int_equal(r[1].calls, 0);
	/* The other worker's release reaches this pool through a post. */
	hp_upstream_release(r[0].stolen, false);
	assert_int_equal(r[0].calls, 1);
	watched = &r[0];
	run_until(watched_called_twice);
	assert_int_equal(wake_order[1], 1);
	assert_non_null(r[0].conn);
	assert_true(hp_upstream_waiting(&r[1].w));
	hp_upstream_pool_cancel_wait(&r[1].w);
	hp_upstream_release(r[0].conn, false);
	hp_loop_flush(T.loop);
	hp_upstream_pool_destroy(other);
	assert_int_equal(active(), 0);
}

static int refused_done;

static bool refused_conn_done(void)
{
	return T.connect_done >= refused_done;
}

static void test_wait_connect_failure_wakes(void **state)
{
	(void)state;
	nwoken = 0;
	make_pool(8, 1, 600000);
	close(T.lfd); /* nothing listens: connects are refused */
	T.lfd = -1;
	struct hp_upstream_conn *c = NULL;
	int rc = hp_upstream_connect(T.pool, T.s, NULL, on_conn_io, &c);
	if (rc != 0) {
		/* Refused at once: nothing held the slot. */
		assert_int_equal(rc, -ECONNREFUSED);
		skip();
	}
	struct req r;
	queue_req(&r, 1);
	refused_done = T.connect_done + 1;
	run_until(refused_conn_done);
	assert_true(T.connect_rc < 0);
	/* The failed connect gives its slot back; the waiter tries in turn. */
	hp_upstream_release(c, true);
	hp_loop_flush(T.loop);
	assert_int_equal(r.calls, 1);
	if (r.conn != NULL)
		hp_upstream_release(r.conn, false);
	hp_loop_flush(T.loop);
	assert_int_equal(active(), 0);
}

#define POOL_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    POOL_TEST(test_release_then_take),
	    POOL_TEST(test_adopt_idle_keeps_same_address),
	    POOL_TEST(test_adopt_idle_closes_removed),
	    POOL_TEST(test_take_most_recent_first),
	    POOL_TEST(test_server_close_drops_idle),
	    POOL_TEST(test_server_close_seen_by_take),
	    POOL_TEST(test_unexpected_bytes_drop_idle),
	    POOL_TEST(test_consumed_response_stays_idle),
	    POOL_TEST(test_not_reusable_closed),
	    POOL_TEST(test_max_idle),
	    POOL_TEST(test_max_idle_zero),
	    POOL_TEST(test_max_connections),
	    POOL_TEST(test_take_at_limit_keeps_idle),
	    POOL_TEST(test_idle_timeout),
	    POOL_TEST(test_take_stops_idle_timer),
	    POOL_TEST(test_connect_refused),
	    POOL_TEST(test_wait_woken_in_order),
	    POOL_TEST(test_wait_slot_already_free),
	    POOL_TEST(test_wait_other_worker),
	    POOL_TEST(test_wait_connect_failure_wakes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
