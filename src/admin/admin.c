/* SPDX-License-Identifier: MIT */
/*
 * admin.c - the admin listener's server: its thread and loop, connections
 * (one request at a time, keep-alive, a 10 s idle limit, at most
 * MAX_CONNS), and the endpoints, which call into the proxy and the cache.
 *
 * It is deliberately plain: requests are small and rare, so a connection
 * reads a whole head into a fixed buffer, answers it with one write, and
 * takes no request body. A reload runs synchronously on this thread: the
 * workers keep serving meanwhile, and other admin requests wait, which is
 * what an operator expects of an endpoint that answers with the verdict.
 *
 * Who may ask: first the address (admin.allow, else 403), then, when a
 * bearer token is configured, "Authorization: Bearer <token>" (else 401)
 * for the requests that change state (/purge, /reload) or, with
 * admin.token_scope "all", for every request.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin.h"
#include "admin/admin_priv.h"
#include "cache/cache.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/cidr.h"
#include "core/clock.h"
#include "core/log.h"
#include "http/http.h"
#include "net/net.h"
#include "proxy/listeners.h"
#include "proxy/proxy.h"

#define HEAD_MAX 8192      /* an admin request head; larger is a 431 */
#define MAX_FIELDS 32
#define MAX_CONNS 64
#define IDLE_MS 10000      /* idle or slow connections are closed after this */
#define ADMIN_CONN_MAGIC 0x61646d63u

struct admin_listener {
	struct hp_io io;
	struct hp_admin *admin;
};

struct admin_conn {
	unsigned magic;
	struct hp_io io;
	struct hp_timer timer;
	struct hp_deferred free_later;
	struct hp_list link;          /* in admin->conns */
	struct hp_admin *admin;
	struct sockaddr_storage peer;
	char in[HEAD_MAX];
	size_t in_len;
	struct hp_buf out;
	bool close_after;
	bool closed;
};

struct hp_admin {
	struct hp_cidr *allow;        /* copy of admin.allow: a reload may free the config */
	size_t nallow;
	char token[HP_CONFIG_TOKEN_MAX + 1]; /* bearer token; "" = none (admin.token_*) */
	bool token_all;               /* every request needs it, not only the changes */
	hp_admin_reload_fn *reload;   /* NULL: POST /reload answers 503 */
	void *reload_arg;
	struct hp_proxy *px;          /* borrowed */
	struct hp_loop *loop;
	struct hp_post handover_post;  /* hp_admin_handover() -> handover, on its loop */
	struct admin_listener *listeners;
	size_t nlisteners;
	struct hp_list conns;
	size_t nconns;
	pthread_t thread;
	bool started;
};

/* ==== Answers ==== */

/* <extra>: one more header field line without its CRLF ("Allow: GET"), or NULL. */
static void put_head(struct admin_conn *c, int status, const char *type, size_t body_len,
		     const char *extra)
{
	char date[HP_HTTP_DATE_LEN + 1];
	hp_http_date_format(hp_clock_wall_s(), date);
	char head[512];
	int k = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: hotpath\r\n"
			 "Content-Type: %s\r\nCache-Control: no-store\r\n"
			 "Content-Length: %zu\r\n%s%s%s\r\n",
			 status, hp_http_status_reason(status), date, type, body_len,
			 extra ? extra : "", extra ? "\r\n" : "",
			 c->close_after ? "Connection: close\r\n" : "");
	hp_buf_append(&c->out, head, (size_t)k);
}

static void put_response(struct admin_conn *c, int status, const char *json, bool head_only,
			 const char *allow)
{
	size_t body_len = strlen(json);
	put_head(c, status, "application/json", body_len, allow);
	if (!head_only)
		hp_buf_append(&c->out, json, body_len);
}

/* <s> as the inside of a JSON string: configuration errors quote keys and
 * values, so they may hold '"', '\\' or control characters. */
static void json_escape(const char *s, char *out, size_t n)
{
	size_t k = 0;
	for (; *s != '\0' && k + 7 < n; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			out[k++] = '\\';
			out[k++] = (char)ch;
		} else if (ch < 0x20) {
			k += (size_t)snprintf(out + k, n - k, "\\u%04x", ch);
		} else {
			out[k++] = (char)ch;
		}
	}
	out[k] = '\0';
}

static void put_error(struct admin_conn *c, int status, const char *why, bool head_only,
		      const char *allow)
{
	char esc[1200];
	char json[1300];
	json_escape(why, esc, sizeof(esc));
	snprintf(json, sizeof(json), "{\"error\": \"%s\"}\n", esc);
	put_response(c, status, json, head_only, allow);
}

static void answer_cache_stats(struct admin_conn *c, bool head_only)
{
	struct hp_cache *cache = hp_proxy_cache(c->admin->px);
	if (cache == NULL) {
		put_error(c, 404, "the cache is disabled", head_only, NULL);
		return;
	}
	struct hp_cache_stats st;
	hp_cache_get_stats(cache, &st);
	char json[512];
	snprintf(json, sizeof(json),
		 "{\"objects\": %llu, \"bytes\": %llu, \"max_bytes\": %llu, \"inserts\": %llu, "
		 "\"evictions\": %llu, \"purges\": %llu, \"hit_for_pass\": %llu}\n",
		 (unsigned long long)st.objects, (unsigned long long)st.bytes,
		 (unsigned long long)st.max_bytes, (unsigned long long)st.inserts,
		 (unsigned long long)st.evictions, (unsigned long long)st.purges,
		 (unsigned long long)st.hit_for_pass);
	put_response(c, 200, json, head_only, NULL);
}

/* The exposition is built whole (a few hundred KiB with hundreds of
 * routes) so that its length goes in the head; the connection's output
 * buffer then drains it at the client's pace. */
static void answer_metrics(struct admin_conn *c, bool head_only)
{
	struct hp_buf body = {0};
	hp_proxy_metrics(c->admin->px, &body);
	put_head(c, 200, "text/plain; version=0.0.4; charset=utf-8", body.len, NULL);
	if (!head_only)
		hp_buf_append(&c->out, hp_buf_data(&body), body.len);
	hp_buf_fini(&body);
}

static void answer_status(struct admin_conn *c, bool head_only)
{
	struct hp_buf body = {0};
	hp_proxy_status(c->admin->px, &body);
	put_head(c, 200, "application/json", body.len, NULL);
	if (!head_only)
		hp_buf_append(&c->out, hp_buf_data(&body), body.len);
	hp_buf_fini(&body);
}

/* Returns the number of objects purged, or -1 if the URL is not cached by
 * any route (nothing to purge there). */
static long long run_purge(struct hp_cache *cache, struct hp_proxy *px,
			   const struct hp_admin_request *r)
{
	size_t n = 0;
	const struct hp_str none = {"", 0};
	switch (r->purge) {
	case HP_ADMIN_PURGE_URL: {
		struct hp_buf key = {0};
		uint64_t hash;
		bool ok = hp_proxy_cache_key(px, r->host, r->path, r->query, &key, &hash);
		if (ok) {
			n = hp_cache_purge_key(cache, hp_buf_data(&key), key.len, hash, r->soft);
			hp_proxy_publish_purge(px, 'k', (struct hp_str){hp_buf_data(&key), key.len},
					       none, r->soft);
		}
		hp_buf_fini(&key);
		return ok ? (long long)n : -1;
	}
	case HP_ADMIN_PURGE_PREFIX:
		hp_proxy_publish_purge(px, 'p', r->host, r->path, r->soft);
		return (long long)hp_cache_purge_prefix(cache, r->host, r->path, r->soft);
	case HP_ADMIN_PURGE_TAG: {
		size_t pos = 0;
		struct hp_str tag;
		while (hp_str_next_token(r->tags, &pos, &tag)) {
			n += hp_cache_purge_tag(cache, tag, r->soft);
			hp_proxy_publish_purge(px, 't', tag, none, r->soft);
		}
		return (long long)n;
	}
	case HP_ADMIN_PURGE_ALL:
		hp_proxy_publish_purge(px, 'a', none, none, false);
		return (long long)hp_cache_purge_all(cache);
	}
	return 0;
}

static const char *const purge_kind_names[] = {"url", "prefix", "tag", "all"};

static void answer_purge(struct admin_conn *c, const struct hp_admin_request *r)
{
	struct hp_cache *cache = hp_proxy_cache(c->admin->px);
	if (cache == NULL) {
		put_error(c, 404, "the cache is disabled", false, NULL);
		return;
	}
	long long n = run_purge(cache, c->admin->px, r);
	if (n < 0) {
		put_error(c, 404, "no caching route serves this URL", false, NULL);
		return;
	}
	bool soft = r->soft && r->purge != HP_ADMIN_PURGE_ALL;
	char json[128];
	snprintf(json, sizeof(json), "{\"purged\": %lld, \"kind\": \"%s\", \"soft\": %s}\n", n,
		 purge_kind_names[r->purge], soft ? "true" : "false");
	hp_log_info("admin: purge %s%s: %lld objects", purge_kind_names[r->purge],
		    soft ? " (soft)" : "", n);
	put_response(c, 200, json, false, NULL);
}

static void answer_reload(struct admin_conn *c)
{
	struct hp_admin *a = c->admin;
	if (a->reload == NULL) {
		put_error(c, 503, "reload is not available here", false, NULL);
		return;
	}
	char msg[1024] = "";
	int status = a->reload(a->reload_arg, msg, sizeof(msg));
	if (status != 0) {
		put_error(c, status, msg, false, NULL);
		return;
	}
	char esc[1200];
	char json[1300];
	json_escape(msg, esc, sizeof(esc));
	snprintf(json, sizeof(json), "{\"reloaded\": true, \"config\": \"%s\"}\n", esc);
	put_response(c, 200, json, false, NULL);
}

static const char *allowed_methods(const struct hp_admin_request *r)
{
	if (r->action == HP_ADMIN_PURGE)
		return "Allow: POST, PURGE";
	return r->action == HP_ADMIN_RELOAD ? "Allow: POST" : "Allow: GET, HEAD";
}

/* The token, when one is configured and <action> needs it (<action> < 0:
 * the request is not parsed yet). False after answering 401. */
static bool authorized(struct admin_conn *c, const struct hp_http_request *req, int action)
{
	const struct hp_admin *a = c->admin;
	if (a->token[0] == '\0')
		return true;
	bool changes = action == HP_ADMIN_PURGE || action == HP_ADMIN_RELOAD;
	if (!a->token_all && !changes)
		return true;
	bool head_only = req->method_id == HP_METHOD_HEAD;
	switch (hp_http_check_bearer(req->headers, req->num_headers, a->token)) {
	case HP_BEARER_OK:
		return true;
	case HP_BEARER_WRONG:
		hp_log_info("admin: wrong bearer token for %.*s", (int)req->target.len,
			    req->target.ptr);
		put_error(c, 401, "wrong bearer token", head_only,
			  "WWW-Authenticate: Bearer realm=\"hotpath\", error=\"invalid_token\"");
		return false;
	default:
		put_error(c, 401, "a bearer token is required", head_only,
			  "WWW-Authenticate: Bearer realm=\"hotpath\"");
		return false;
	}
}

static void answer(struct admin_conn *c, const struct hp_http_request *req)
{
	bool head_only = req->method_id == HP_METHOD_HEAD;
	if (!hp_cidr_match(c->admin->allow, c->admin->nallow, (const struct sockaddr *)&c->peer)) {
		put_error(c, 403, "not allowed from this address", head_only, NULL);
		return;
	}
	if (c->admin->token_all && !authorized(c, req, -1))
		return;
	char scratch[HEAD_MAX];
	struct hp_admin_request r;
	int status = hp_admin_parse(req->method, req->target, scratch, &r);
	if (status == 0 && !c->admin->token_all && !authorized(c, req, (int)r.action))
		return;
	if (status != 0) {
		const char *allow = status != 405 ? NULL : allowed_methods(&r);
		put_error(c, status, r.error, head_only, allow);
		return;
	}
	switch (r.action) {
	case HP_ADMIN_HEALTH:
		put_response(c, 200, "{\"status\": \"ok\"}\n", head_only, NULL);
		break;
	case HP_ADMIN_READY: {
		char group[128], body[256];
		if (hp_proxy_draining(c->admin->px)) {
			put_response(c, 503, "{\"status\": \"draining\"}\n", head_only, NULL);
		} else if (hp_proxy_group_unavailable(c->admin->px, group, sizeof(group))) {
			/* Group names are letters, digits, '-', '_' and '.': no escaping. */
			snprintf(body, sizeof(body),
				 "{\"status\": \"no server in service\", \"upstream\": \"%s\"}\n",
				 group);
			put_response(c, 503, body, head_only, NULL);
		} else {
			put_response(c, 200, "{\"status\": \"ready\"}\n", head_only, NULL);
		}
		break;
	}
	case HP_ADMIN_CACHE_STATS:
		answer_cache_stats(c, head_only);
		break;
	case HP_ADMIN_METRICS:
		answer_metrics(c, head_only);
		break;
	case HP_ADMIN_PURGE:
		answer_purge(c, &r);
		break;
	case HP_ADMIN_RELOAD:
		answer_reload(c);
		break;
	case HP_ADMIN_STATUS:
		answer_status(c, head_only);
		break;
	case HP_ADMIN_DASHBOARD:
		put_head(c, 200, "text/html; charset=utf-8", hp_admin_dashboard_len(), NULL);
		if (!head_only)
			hp_buf_append(&c->out, hp_admin_dashboard_html, hp_admin_dashboard_len());
		break;
	}
}

/* ==== Connections ==== */

static void free_conn(struct hp_deferred *d)
{
	struct admin_conn *c = HP_CONTAINER_OF(d, struct admin_conn, free_later);
	HP_CHECK_OBJ(c, ADMIN_CONN_MAGIC);
	hp_buf_fini(&c->out);
	c->magic = 0;
	free(c);
}

static void close_conn(struct admin_conn *c)
{
	if (c->closed)
		return;
	c->closed = true;
	hp_timer_stop(c->admin->loop, &c->timer);
	hp_io_close(&c->io);
	hp_list_unlink(&c->link);
	c->admin->nconns--;
	hp_loop_defer(c->admin->loop, &c->free_later, free_conn);
}

/* Write what is pending; false if the connection was closed. */
static bool flush_conn(struct admin_conn *c)
{
	while (c->out.len > 0) {
		ssize_t n = write(c->io.fd, hp_buf_data(&c->out), c->out.len);
		if (n > 0) {
			hp_buf_consume(&c->out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		close_conn(c);
		return false;
	}
	if (c->close_after) {
		close_conn(c);
		return false;
	}
	return true;
}

/* Answer every complete head in c->in. */
static void serve_heads(struct admin_conn *c)
{
	struct hp_http_limits lim = {
		.max_request_line = HEAD_MAX, .max_head_bytes = HEAD_MAX, .max_headers = MAX_FIELDS,
	};
	while (c->out.len == 0 && c->in_len > 0) {
		struct hp_http_header fields[MAX_FIELDS];
		struct hp_http_request req;
		int rc = hp_http_parse_request(c->in, c->in_len, &req, fields, &lim);
		if (rc == HP_AGAIN) {
			if (c->in_len == sizeof(c->in)) {
				c->close_after = true;
				put_error(c, 431, "request head too large", false, NULL);
			}
			break;
		}
		if (rc < 0) {
			c->close_after = true;
			put_error(c, req.error_status ? req.error_status : 400,
				  req.error_reason ? req.error_reason : "bad request", false, NULL);
			break;
		}
		c->close_after = !req.keep_alive;
		if (req.body != HP_BODY_NONE && !(req.body == HP_BODY_LENGTH &&
						  req.content_length == 0)) {
			c->close_after = true;
			put_error(c, 413, "the admin API takes its parameters in the query, no body",
				  false, NULL);
			break;
		}
		answer(c, &req);
		memmove(c->in, c->in + rc, c->in_len - (size_t)rc);
		c->in_len -= (size_t)rc;
	}
}

static void on_conn_timer(struct hp_timer *t)
{
	struct admin_conn *c = HP_CONTAINER_OF(t, struct admin_conn, timer);
	HP_CHECK_OBJ(c, ADMIN_CONN_MAGIC);
	close_conn(c);
}

static void on_conn_event(struct hp_io *io, unsigned events)
{
	struct admin_conn *c = HP_CONTAINER_OF(io, struct admin_conn, io);
	HP_CHECK_OBJ(c, ADMIN_CONN_MAGIC);
	(void)events;
	for (;;) {
		if (!flush_conn(c))
			return;
		size_t before = c->in_len;
		while (c->in_len < sizeof(c->in)) {
			ssize_t n = read(c->io.fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
			if (n > 0) {
				c->in_len += (size_t)n;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
				close_conn(c);
				return;
			}
			break;
		}
		if (c->in_len > before)
			hp_timer_start(c->admin->loop, &c->timer, IDLE_MS, on_conn_timer);
		serve_heads(c);
		if (c->out.len == 0 && c->in_len == before)
			return;
	}
}

static void accept_conn(struct hp_admin *a, int fd, const struct sockaddr_storage *peer)
{
	struct admin_conn *c = hp_xcalloc(1, sizeof(*c));
	c->magic = ADMIN_CONN_MAGIC;
	c->admin = a;
	c->peer = *peer;
	hp_list_link_tail(&a->conns, &c->link);
	a->nconns++;
	if (hp_io_start(a->loop, &c->io, fd, on_conn_event) < 0) {
		close(fd);
		c->closed = true;
		hp_list_unlink(&c->link);
		a->nconns--;
		free(c);
		return;
	}
	hp_timer_start(a->loop, &c->timer, IDLE_MS, on_conn_timer);
}

static void on_accept(struct hp_io *io, unsigned events)
{
	struct admin_listener *l = HP_CONTAINER_OF(io, struct admin_listener, io);
	(void)events;
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t len;
		int fd = hp_net_accept(io->fd, &peer, &len);
		if (fd < 0) {
			if (fd != -EAGAIN)
				hp_log_warn("admin accept: %s", strerror(-fd));
			return;
		}
		if (l->admin->nconns >= MAX_CONNS) {
			close(fd);
			continue;
		}
		accept_conn(l->admin, fd, &peer);
	}
}

/* ==== Life cycle ==== */

/* A socket handed over by the older binary on an upgrade, else a new one.
 * Returns the fd or -errno. */
static int admin_socket(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = hp_listeners_take_inherited(ss);
	if (fd >= 0)
		return fd;
	return hp_net_listen((const struct sockaddr *)ss, len, false, 64);
}

struct hp_admin *hp_admin_create(const struct hp_config *cfg, struct hp_proxy *px,
				 hp_admin_reload_fn *reload, void *reload_arg, char *err,
				 size_t errlen)
{
	struct hp_admin *a = hp_xcalloc(1, sizeof(*a));
	a->nallow = cfg->admin.nallow;
	a->allow = hp_xcalloc(a->nallow + 1, sizeof(*a->allow));
	memcpy(a->allow, cfg->admin.allow, a->nallow * sizeof(*a->allow));
	char terr[512];
	if (hp_config_admin_token(&cfg->admin, a->token, sizeof(a->token), terr,
				  sizeof(terr)) < 0) {
		snprintf(err, errlen, "admin: %s", terr);
		free(a->allow);
		free(a);
		return NULL;
	}
	a->token_all = a->token[0] != '\0' && strcmp(cfg->admin.token_scope, "all") == 0;
	a->reload = reload;
	a->reload_arg = reload_arg;
	a->px = px;
	a->loop = hp_loop_create();
	hp_list_init(&a->conns);
	a->listeners = hp_xcalloc(cfg->admin.nlisten, sizeof(*a->listeners));
	for (size_t i = 0; i < cfg->admin.nlisten; i++) {
		const char *name = cfg->admin.listen[i];
		struct sockaddr_storage ss;
		socklen_t len;
		char rerr[256];
		if (hp_net_resolve(name, &ss, &len, rerr, sizeof(rerr)) < 0) {
			snprintf(err, errlen, "admin.listen: %s", rerr);
			goto fail;
		}
		int fd = admin_socket(&ss, len);
		if (fd < 0) {
			snprintf(err, errlen, "admin.listen %s: %s", name, strerror(-fd));
			goto fail;
		}
		a->listeners[i].admin = a;
		a->nlisteners++;
		if (hp_io_start(a->loop, &a->listeners[i].io, fd, on_accept) < 0) {
			close(fd);
			snprintf(err, errlen, "admin.listen %s: cannot register", name);
			goto fail;
		}
	}
	return a;
fail:
	hp_admin_destroy(a);
	return NULL;
}

static void *admin_main(void *arg)
{
	struct hp_admin *a = arg;
	int rc = hp_loop_run(a->loop);
	if (rc < 0)
		hp_log_error("admin: event loop failed: %s", strerror(-rc));
	return NULL;
}

int hp_admin_start(struct hp_admin *a)
{
	int rc = pthread_create(&a->thread, NULL, admin_main, a);
	if (rc != 0)
		return -rc;
	a->started = true;
	return 0;
}

void hp_admin_stop(struct hp_admin *a)
{
	if (!a->started)
		return;
	hp_loop_stop(a->loop);
	pthread_join(a->thread, NULL);
	a->started = false;
}

void hp_admin_destroy(struct hp_admin *a)
{
	if (a == NULL)
		return;
	hp_admin_stop(a);
	while (!hp_list_empty(&a->conns))
		close_conn(HP_LIST_FIRST(&a->conns, struct admin_conn, link));
	for (size_t i = 0; i < a->nlisteners; i++)
		hp_io_close(&a->listeners[i].io);
	hp_loop_flush(a->loop);
	hp_loop_destroy(a->loop);
	free(a->listeners);
	free(a->allow);
	explicit_bzero(a->token, sizeof(a->token));
	free(a);
}

size_t hp_admin_listen_fds(const struct hp_admin *a, int *fds, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < a->nlisteners && n < max; i++)
		if (a->listeners[i].io.loop != NULL)
			fds[n++] = a->listeners[i].io.fd;
	return n;
}

static void handover(struct hp_post *p)
{
	struct hp_admin *a = HP_CONTAINER_OF(p, struct hp_admin, handover_post);
	for (size_t i = 0; i < a->nlisteners; i++) {
		/* Stop before close: the new process holds the same socket, so
		 * close() alone would leave it in our epoll set. */
		int fd = a->listeners[i].io.fd;
		if (a->listeners[i].io.loop == NULL)
			continue;
		hp_io_stop(&a->listeners[i].io);
		close(fd);
	}
}

void hp_admin_handover(struct hp_admin *a)
{
	hp_loop_post_node(a->loop, &a->handover_post, handover);
}
