/* SPDX-License-Identifier: MIT */
/*
 * demo_origin.c - a deliberately slow JSON API to put hotpath in front of.
 *
 * Every /api/ response is held back by --delay (2 s by default) on a timer,
 * never a sleep, so one thread keeps thousands of requests waiting at once,
 * which is the user's problem: a 2 s endpoint that must serve 1000 req/s.
 * /health and /stats answer at once; /stats counts requests per path so
 * tests can tell how many requests reached the origin.
 *
 * One event loop (src/net) and the project's HTTP parser (src/http);
 * keep-alive and pipelining work, and a request is answered in order.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xxhash.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/core.h"
#include "http/http.h"
#include "net/net.h"

#define CONN_MAGIC 0xd3a0c0deu
#define MAX_HEADERS 64
#define MAX_HEAD_BYTES 65536u
#define MAX_BODY_BYTES (8u << 20)
#define MAX_INPUT_BYTES (256u << 10) /* read no further ahead while busy */
#define IDLE_TIMEOUT_MS 60000u
#define MAX_SLOW_MS 600000u
#define NUM_PRODUCTS 20
#define MAX_STAT_PATHS 4096 /* distinct paths counted; the rest go to "(other)" */

enum state { ST_HEAD, ST_BODY, ST_DELAY, ST_WRITE };
enum step { MORE, WAIT, CLOSE };

struct conn {
	unsigned magic;
	struct hp_io io;
	struct hp_timer delay;        /* holds the response back */
	struct hp_timer idle;         /* keep-alive idle limit */
	struct hp_deferred free_later;
	enum state state;
	bool read_paused;             /* stopped reading at MAX_INPUT_BYTES */
	bool peer_eof;                /* the client shut down its side */
	struct hp_buf in;             /* bytes read, not yet parsed */
	struct hp_buf out;            /* response bytes not yet sent */
	/* The request being served, copied out of <in> (which may move). */
	enum hp_http_method method;
	char method_name[16];
	char path[512];
	char query[256];
	char if_none_match[256];
	char content_type[128];
	int minor_version;
	bool keep_alive;
	enum hp_http_body body_kind;
	uint64_t body_left;           /* bytes of a Content-Length body still to read */
	struct hp_http_chunked chunked;
	struct hp_buf body;           /* decoded request body */
	int status;                   /* for the log line */
	uint64_t start_ms;            /* request head parsed, loop clock */
};

struct stat_entry {
	char *path;
	uint64_t count;
};

static struct {
	struct hp_loop *loop;
	struct hp_io listener;
	uint64_t delay_ms;
	bool quiet;
	char *products;               /* the /api/products body */
	char products_etag[24];       /* "\"<16 hex>\"" */
	struct stat_entry *stats;
	size_t nstats;
	uint64_t total;
} g;

static const struct hp_http_limits limits = {
	.max_request_line = 8192,
	.max_head_bytes = MAX_HEAD_BYTES,
	.max_headers = MAX_HEADERS,
};

/* ==== Statistics and canned data ==== */

static void count_path(const char *path)
{
	g.total++;
	for (size_t i = 0; i < g.nstats; i++) {
		if (strcmp(g.stats[i].path, path) == 0) {
			g.stats[i].count++;
			return;
		}
	}
	if (g.nstats == MAX_STAT_PATHS)
		path = "(other)";
	g.stats = hp_xrealloc(g.stats, (g.nstats + 1) * sizeof(*g.stats));
	g.stats[g.nstats].path = hp_xstrdup(path);
	g.stats[g.nstats].count = 1;
	g.nstats++;
}

/* A malloc'd compact JSON text of <j>, which is released. */
static char *json_take(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	HP_AN(s);
	json_decref(j);
	return s;
}

static char *stats_json(void)
{
	json_t *paths = json_object();
	for (size_t i = 0; i < g.nstats; i++)
		json_object_set_new(paths, g.stats[i].path,
				    json_integer((json_int_t)g.stats[i].count));
	return json_take(json_pack("{s:I, s:o}", "total", (json_int_t)g.total, "paths", paths));
}

static json_t *product(int id)
{
	char name[32];
	snprintf(name, sizeof(name), "Product %d", id);
	json_t *p = json_pack("{s:i, s:s, s:i, s:b}", "id", id, "name", name, "price_cents",
			      (id * 3701) % 10000 + 99, "in_stock", id % 4 != 0);
	HP_AN(p);
	return p;
}

static void make_products(void)
{
	json_t *list = json_array();
	for (int id = 1; id <= NUM_PRODUCTS; id++)
		json_array_append_new(list, product(id));
	g.products = json_take(list);
	snprintf(g.products_etag, sizeof(g.products_etag), "\"%016llx\"",
		 (unsigned long long)XXH64(g.products, strlen(g.products), 0));
}

/* ==== Responses ==== */

static bool no_body_status(int status)
{
	return status < 200 || status == 204 || status == 304;
}

/*
 * Status line and fields. <len> is the Content-Length, or -1 for a chunked
 * body. <extra> holds preformatted "Name: value\r\n" lines, or is "".
 */
static void put_head(struct conn *c, int status, const char *ctype, int64_t len,
		     const char *extra)
{
	char date[HP_HTTP_DATE_LEN + 1];
	char line[512];
	hp_http_date_format(hp_clock_wall_s(), date);
	int n = snprintf(line, sizeof(line),
			 "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: demo-origin\r\n", status,
			 hp_http_status_reason(status), date);
	hp_buf_append(&c->out, line, (size_t)n);
	if (ctype != NULL && !no_body_status(status)) {
		hp_buf_append_str(&c->out, "Content-Type: ");
		hp_buf_append_str(&c->out, ctype);
		hp_buf_append_str(&c->out, "\r\n");
	}
	if (len < 0) {
		hp_buf_append_str(&c->out, "Transfer-Encoding: chunked\r\n");
	} else if (!no_body_status(status)) {
		n = snprintf(line, sizeof(line), "Content-Length: %" PRId64 "\r\n", len);
		hp_buf_append(&c->out, line, (size_t)n);
	}
	if (!c->keep_alive)
		hp_buf_append_str(&c->out, "Connection: close\r\n");
	else if (c->minor_version == 0)
		hp_buf_append_str(&c->out, "Connection: keep-alive\r\n");
	hp_buf_append_str(&c->out, extra);
	hp_buf_append_str(&c->out, "\r\n");
	c->status = status;
}

static void reply(struct conn *c, int status, const char *ctype, const char *extra,
		  const char *body, size_t len)
{
	put_head(c, status, ctype, (int64_t)len, extra);
	if (c->method != HP_METHOD_HEAD && !no_body_status(status))
		hp_buf_append(&c->out, body, len);
}

static void reply_text(struct conn *c, int status, const char *extra, const char *text)
{
	reply(c, status, "text/plain; charset=utf-8", extra, text, strlen(text));
}

/* Reply with <json> (malloc'd; freed here). */
static void reply_json(struct conn *c, const char *cache_control, const char *extra, char *json)
{
	char fields[512];
	snprintf(fields, sizeof(fields), "Cache-Control: %s\r\n%s", cache_control, extra);
	reply(c, 200, "application/json", fields, json, strlen(json));
	free(json);
}

/* Weak comparison (RFC 9110 §13.1.2): "W/" prefixes are ignored. */
static bool etag_listed(const char *if_none_match, const char *etag)
{
	struct hp_str list = {if_none_match, strlen(if_none_match)};
	struct hp_str tag;
	size_t pos = 0;
	while (hp_str_next_token(list, &pos, &tag)) {
		if (tag.len >= 2 && tag.ptr[0] == 'W' && tag.ptr[1] == '/') {
			tag.ptr += 2;
			tag.len -= 2;
		}
		if (hp_str_eq(tag, "*") || hp_str_eq(tag, etag))
			return true;
	}
	return false;
}

static void serve_products(struct conn *c)
{
	char fields[128];
	snprintf(fields, sizeof(fields), "Cache-Control: public, max-age=60\r\nETag: %s\r\n",
		 g.products_etag);
	if (c->if_none_match[0] != '\0' && etag_listed(c->if_none_match, g.products_etag))
		reply(c, 304, NULL, fields, "", 0);
	else
		reply(c, 200, "application/json", fields, g.products, strlen(g.products));
}

static void serve_product(struct conn *c, const char *id_text)
{
	uint64_t id;
	if (!hp_str_to_u64((struct hp_str){id_text, strlen(id_text)}, NUM_PRODUCTS, &id) ||
	    id == 0) {
		reply_text(c, 404, "Cache-Control: max-age=10\r\n", "no such product\n");
		return;
	}
	char tags[64];
	snprintf(tags, sizeof(tags), "Cache-Tag: products, product-%" PRIu64 "\r\n", id);
	reply_json(c, "public, max-age=30, stale-while-revalidate=30", tags,
		   json_take(product((int)id)));
}

/* The body goes back as it came: chunked if the request was chunked (and
 * the client speaks HTTP/1.1), with a length otherwise. */
static void serve_echo(struct conn *c)
{
	if (c->method != HP_METHOD_POST) {
		reply_text(c, 405, "Allow: POST\r\n", "method not allowed: use POST\n");
		return;
	}
	const char *ctype = c->content_type[0] ? c->content_type : "application/octet-stream";
	size_t len = c->body.len;
	if (c->body_kind != HP_BODY_CHUNKED || c->minor_version == 0) {
		reply(c, 200, ctype, "Cache-Control: no-store\r\n", hp_buf_data(&c->body), len);
		return;
	}
	put_head(c, 200, ctype, -1, "Cache-Control: no-store\r\n");
	char size[32];
	if (len > 0) {
		int n = snprintf(size, sizeof(size), "%zx\r\n", len);
		hp_buf_append(&c->out, size, (size_t)n);
		hp_buf_append(&c->out, hp_buf_data(&c->body), len);
		hp_buf_append_str(&c->out, "\r\n");
	}
	hp_buf_append_str(&c->out, "0\r\n\r\n");
}

static void serve_status(struct conn *c, const char *code_text)
{
	uint64_t code;
	if (!hp_str_to_u64((struct hp_str){code_text, strlen(code_text)}, 599, &code) ||
	    code < 200) {
		reply_text(c, 400, "", "status must be 200..599\n");
		return;
	}
	char text[64];
	snprintf(text, sizeof(text), "status %d\n", (int)code);
	reply_text(c, (int)code, "Cache-Control: no-store\r\n", text);
}

/* Value of <name>= in the query, or NULL. */
static const char *query_param(const char *query, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = query; p != NULL; p = strchr(p, '&')) {
		if (*p == '&')
			p++;
		if (strncmp(p, name, n) == 0 && p[n] == '=')
			return p + n + 1;
	}
	return NULL;
}

static uint64_t slow_ms(const struct conn *c)
{
	const char *v = query_param(c->query, "ms");
	if (v == NULL)
		return g.delay_ms;
	uint64_t ms = strtoull(v, NULL, 10);
	return HP_MIN(ms, MAX_SLOW_MS);
}

static void serve_api(struct conn *c)
{
	const char *p = c->path + strlen("/api/");
	bool read_only = c->method == HP_METHOD_GET || c->method == HP_METHOD_HEAD;
	if (strcmp(p, "echo") == 0) {
		serve_echo(c);
	} else if (!read_only) {
		reply_text(c, 405, "Allow: GET, HEAD\r\n", "method not allowed\n");
	} else if (strcmp(p, "products") == 0) {
		serve_products(c);
	} else if (strncmp(p, "products/", 9) == 0) {
		serve_product(c, p + 9);
	} else if (strcmp(p, "user") == 0) {
		reply_json(c, "private", "", json_take(json_pack("{s:s, s:I}", "user", "demo",
				"requests", (json_int_t)g.total)));
	} else if (strcmp(p, "time") == 0) {
		reply_json(c, "no-store", "", json_take(json_pack("{s:I}", "now_ms",
				(json_int_t)hp_clock_wall_s() * 1000)));
	} else if (strcmp(p, "slow") == 0) {
		reply_json(c, "no-store", "", json_take(json_pack("{s:I}", "slept_ms",
				(json_int_t)slow_ms(c))));
	} else if (strncmp(p, "status/", 7) == 0) {
		serve_status(c, p + 7);
	} else {
		reply_text(c, 404, "", "not found\n");
	}
}

static void serve(struct conn *c)
{
	if (strncmp(c->path, "/api/", 5) == 0)
		serve_api(c);
	else if (strcmp(c->path, "/health") == 0)
		reply_text(c, 200, "Cache-Control: no-store\r\n", "ok\n");
	else if (strcmp(c->path, "/stats") == 0)
		reply_json(c, "no-store", "", stats_json());
	else
		reply_text(c, 404, "", "not found\n");
}

/* Only /api/ answers slowly: /health and /stats must stay usable while
 * thousands of slow requests are pending. */
static uint64_t delay_for(const struct conn *c)
{
	if (strcmp(c->path, "/api/slow") == 0)
		return slow_ms(c);
	return strncmp(c->path, "/api/", 5) == 0 ? g.delay_ms : 0;
}

/* ==== Connections ==== */

static void free_conn(struct hp_deferred *d)
{
	struct conn *c = HP_CONTAINER_OF(d, struct conn, free_later);
	HP_CHECK_OBJ(c, CONN_MAGIC);
	hp_buf_fini(&c->in);
	hp_buf_fini(&c->out);
	hp_buf_fini(&c->body);
	c->magic = 0;
	free(c);
}

/* Stop everything now, free after the current batch of events. */
static void close_conn(struct conn *c)
{
	if (c->io.fd < 0)
		return;
	hp_io_close(&c->io);
	hp_timer_stop(g.loop, &c->delay);
	hp_timer_stop(g.loop, &c->idle);
	hp_loop_defer(g.loop, &c->free_later, free_conn);
}

/* Read until EAGAIN, or until MAX_INPUT_BYTES are waiting: a pipelining
 * client must not make us buffer without bound while a response is held. */
static void read_input(struct conn *c)
{
	c->read_paused = false;
	while (!c->peer_eof) {
		if (c->in.len >= MAX_INPUT_BYTES) {
			c->read_paused = true;
			return;
		}
		hp_buf_reserve(&c->in, 16384);
		ssize_t n = read(c->io.fd, hp_buf_tail(&c->in), hp_buf_room(&c->in));
		if (n > 0)
			hp_buf_commit(&c->in, (size_t)n);
		else if (n == 0 || (errno != EINTR && errno != EAGAIN))
			c->peer_eof = true;
		else if (errno == EAGAIN)
			return;
	}
}

/* Send what <out> holds. Returns false while some of it is still pending. */
static bool send_output(struct conn *c)
{
	while (c->out.len > 0) {
		ssize_t n = send(c->io.fd, hp_buf_data(&c->out), c->out.len, MSG_NOSIGNAL);
		if (n > 0) {
			hp_buf_consume(&c->out, (size_t)n);
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			return false;
		} else {
			c->keep_alive = false; /* the client is gone: drop the rest */
			hp_buf_reset(&c->out);
		}
	}
	return true;
}

static void log_request(const struct conn *c)
{
	if (g.quiet)
		return;
	uint64_t ms = hp_loop_now_ms(g.loop) - c->start_ms;
	printf("%s %s%s%s %d %" PRIu64 "ms\n", c->method_name, c->path, c->query[0] ? "?" : "",
	       c->query, c->status, ms);
}

/* A request that cannot be served: answer and close, as RFC 9112 asks
 * after a framing error (the rest of the input cannot be trusted). */
static enum step refuse(struct conn *c, int status, const char *reason)
{
	char text[160];
	snprintf(text, sizeof(text), "%s: %s\n", hp_http_status_reason(status), reason);
	c->keep_alive = false;
	reply_text(c, status, "", text);
	c->state = ST_WRITE;
	return MORE;
}

static void copy_str(char *dst, size_t size, struct hp_str s)
{
	size_t n = HP_MIN(s.len, size - 1);
	if (n > 0) /* an absent part is {NULL, 0}, and memcpy must not see NULL */
		memcpy(dst, s.ptr, n);
	dst[n] = '\0';
}

static void copy_field(char *dst, size_t size, const struct hp_http_request *req,
		       const char *name)
{
	const struct hp_http_header *h = hp_http_find_header(req->headers, req->num_headers, name);
	copy_str(dst, size, h != NULL ? h->value : (struct hp_str){"", 0});
}

/* Keep what serving needs: <in> may move while the response is delayed. */
static enum step take_request(struct conn *c, const struct hp_http_request *req)
{
	if (req->path.len >= sizeof(c->path))
		return refuse(c, 414, "path too long for the demo");
	c->method = req->method_id;
	copy_str(c->method_name, sizeof(c->method_name), req->method);
	copy_str(c->path, sizeof(c->path), req->path);
	copy_str(c->query, sizeof(c->query), req->query);
	copy_field(c->if_none_match, sizeof(c->if_none_match), req, "If-None-Match");
	copy_field(c->content_type, sizeof(c->content_type), req, "Content-Type");
	c->minor_version = req->minor_version;
	c->keep_alive = req->keep_alive;
	c->body_kind = req->body;
	c->body_left = req->content_length;
	memset(&c->chunked, 0, sizeof(c->chunked));
	hp_buf_reset(&c->body);
	if (req->body == HP_BODY_LENGTH && req->content_length > MAX_BODY_BYTES)
		return refuse(c, 413, "body larger than 8 MiB");
	if (req->expect_continue && req->body != HP_BODY_NONE && req->minor_version == 1)
		hp_buf_append_str(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
	c->state = ST_BODY;
	return MORE;
}

static void on_idle(struct hp_timer *t);

static enum step step_head(struct conn *c)
{
	if (c->read_paused)
		read_input(c);
	struct hp_http_header headers[MAX_HEADERS];
	struct hp_http_request req;
	int r = hp_http_parse_request(hp_buf_data(&c->in), c->in.len, &req, headers, &limits);
	if (r == HP_AGAIN) {
		if (c->peer_eof)
			return CLOSE;
		hp_timer_start(g.loop, &c->idle, IDLE_TIMEOUT_MS, on_idle);
		return WAIT;
	}
	hp_timer_stop(g.loop, &c->idle);
	c->start_ms = hp_loop_now_ms(g.loop);
	snprintf(c->method_name, sizeof(c->method_name), "-");
	snprintf(c->path, sizeof(c->path), "-");
	c->query[0] = '\0';
	if (r == HP_ERR)
		return refuse(c, req.error_status, req.error_reason);
	enum step s = take_request(c, &req);
	hp_buf_consume(&c->in, (size_t)r);
	send_output(c); /* a 100 Continue goes out before we wait for the body */
	return s;
}

static void on_delay(struct hp_timer *t);

static void collect_body(void *arg, const char *data, size_t len)
{
	struct conn *c = arg;
	if (c->body.len + len <= MAX_BODY_BYTES)
		hp_buf_append(&c->body, data, len);
	else
		c->body_left = UINT64_MAX; /* marks "too large" for step_body */
}

/* Waiting for more body: if reading stopped at MAX_INPUT_BYTES, the socket
 * still holds bytes and no new edge will come, so go round and read again. */
static enum step body_wait(const struct conn *c)
{
	if (c->read_paused)
		return MORE;
	return c->peer_eof ? CLOSE : WAIT;
}

static enum step step_body(struct conn *c)
{
	if (c->read_paused)
		read_input(c);
	if (c->body_kind == HP_BODY_LENGTH) {
		size_t n = (size_t)HP_MIN(c->body_left, (uint64_t)c->in.len);
		hp_buf_append(&c->body, hp_buf_data(&c->in), n);
		hp_buf_consume(&c->in, n);
		c->body_left -= n;
		if (c->body_left > 0)
			return body_wait(c);
	} else if (c->body_kind == HP_BODY_CHUNKED) {
		bool done = false;
		c->body_left = 0;
		ssize_t n = hp_http_chunked_feed(&c->chunked, hp_buf_data(&c->in), c->in.len,
						 &done, collect_body, c);
		if (n < 0)
			return refuse(c, 400, "invalid chunked body");
		if (c->body_left == UINT64_MAX)
			return refuse(c, 413, "body larger than 8 MiB");
		hp_buf_consume(&c->in, (size_t)n);
		if (!done)
			return body_wait(c);
	}
	count_path(c->path);
	uint64_t ms = delay_for(c);
	if (ms == 0) {
		serve(c);
		c->state = ST_WRITE;
		return MORE;
	}
	c->state = ST_DELAY;
	hp_timer_start(g.loop, &c->delay, ms, on_delay);
	return WAIT;
}

static enum step step_write(struct conn *c)
{
	if (!send_output(c))
		return WAIT;
	log_request(c);
	if (!c->keep_alive)
		return CLOSE;
	c->state = ST_HEAD;
	return MORE;
}

/*
 * The connection's state machine: ST_HEAD (parse a request head) ->
 * ST_BODY (read its body) -> ST_DELAY (the timer holds the response) ->
 * ST_WRITE (send it) -> ST_HEAD again for keep-alive and pipelining.
 */
static void drive(struct conn *c)
{
	HP_CHECK_OBJ(c, CONN_MAGIC);
	enum step s = MORE;
	while (s == MORE && c->io.fd >= 0) {
		switch (c->state) {
		case ST_HEAD:
			s = step_head(c);
			break;
		case ST_BODY:
			s = step_body(c);
			break;
		case ST_DELAY:
			s = WAIT;
			break;
		case ST_WRITE:
			s = step_write(c);
			break;
		}
	}
	if (s == CLOSE)
		close_conn(c);
}

static void on_delay(struct hp_timer *t)
{
	struct conn *c = HP_CONTAINER_OF(t, struct conn, delay);
	serve(c);
	c->state = ST_WRITE;
	drive(c);
}

static void on_idle(struct hp_timer *t)
{
	close_conn(HP_CONTAINER_OF(t, struct conn, idle));
}

static void on_conn_io(struct hp_io *io, unsigned events)
{
	struct conn *c = HP_CONTAINER_OF(io, struct conn, io);
	HP_CHECK_OBJ(c, CONN_MAGIC);
	if (events & (HP_IO_READ | HP_IO_ERROR))
		read_input(c);
	drive(c);
}

static void on_accept(struct hp_io *io, unsigned events)
{
	(void)events;
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd = hp_net_accept(io->fd, &peer, &len);
		if (fd == -EAGAIN)
			return;
		if (fd < 0) {
			/* EMFILE and friends: the next connection may succeed. */
			fprintf(stderr, "demo_origin: accept: %s\n", strerror(-fd));
			return;
		}
		struct conn *c = hp_xcalloc(1, sizeof(*c));
		c->magic = CONN_MAGIC;
		c->io.fd = -1;
		if (hp_io_start(g.loop, &c->io, fd, on_conn_io) < 0) {
			close(fd);
			free(c);
			continue;
		}
		hp_timer_start(g.loop, &c->idle, IDLE_TIMEOUT_MS, on_idle);
	}
}

/* ==== Start-up ==== */

static void usage(FILE *f)
{
	fprintf(f, "usage: demo_origin [--listen ADDR:PORT] [--delay DURATION] [--quiet]\n"
		   "  --listen  where to listen (default 127.0.0.1:9000)\n"
		   "  --delay   how long every /api/ response is held back: 2s, 250ms, 0\n"
		   "            (default 2s)\n"
		   "  --quiet   no line per request\n"
		   "endpoints: /api/products /api/products/<id> /api/user /api/time\n"
		   "           /api/slow?ms=N /api/echo (POST) /api/status/<code>\n"
		   "           /health /stats\n");
}

/* "2s", "1.5s", "250ms", "1m" or "0" into milliseconds: the configuration's
 * rule (config.h), so a bare "2" is refused here as everywhere else. */
static bool parse_duration(const char *s, uint64_t *ms)
{
	return hp_config_parse_duration(s, ms) && *ms <= 86400000;
}

static int parse_args(int argc, char **argv, const char **listen)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--quiet") == 0) {
			g.quiet = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "--listen") == 0 && i + 1 < argc) {
			*listen = argv[++i];
		} else if (strcmp(a, "--delay") == 0 && i + 1 < argc) {
			if (!parse_duration(argv[++i], &g.delay_ms)) {
				fprintf(stderr, "demo_origin: --delay: expected a duration like "
						"2s or 250ms, got \"%s\"\n", argv[i]);
				return -1;
			}
		} else {
			fprintf(stderr, "demo_origin: unknown or incomplete option \"%s\"\n", a);
			usage(stderr);
			return -1;
		}
	}
	return 0;
}

static int start_listener(const char *listen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256];
	if (hp_net_resolve(listen, &ss, &len, err, sizeof(err)) < 0) {
		fprintf(stderr, "demo_origin: --listen %s: %s\n", listen, err);
		return -1;
	}
	int fd = hp_net_listen((struct sockaddr *)&ss, len, false, 4096);
	if (fd < 0) {
		fprintf(stderr, "demo_origin: cannot listen on %s: %s\n", listen, strerror(-fd));
		return -1;
	}
	g.listener.fd = -1;
	HP_AZ(hp_io_start(g.loop, &g.listener, fd, on_accept));
	return 0;
}

int main(int argc, char **argv)
{
	const char *listen = "127.0.0.1:9000";
	g.delay_ms = 2000;
	if (parse_args(argc, argv, &listen) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	make_products();
	g.loop = hp_loop_create();
	if (start_listener(listen) < 0)
		return 1;
	printf("demo_origin: listening on %s, /api/ responses delayed %" PRIu64 " ms\n", listen,
	       g.delay_ms);
	int r = hp_loop_run(g.loop);
	if (r < 0)
		fprintf(stderr, "demo_origin: event loop: %s\n", strerror(-r));
	return r < 0 ? 1 : 0;
}
