/* SPDX-License-Identifier: MIT */
/*
 * accesslog.c - one line per request, in the combined format (with
 * rt=, urt=, route=, cache=, up= and err= appended) or as JSON, with the
 * route's name, the cache status, the upstream server and, when the
 * exchange failed, why; buffered per worker and written with one write(2) when the buffer
 * passes FLUSH_BYTES or once a second, so logging costs no syscall per
 * request. Lines of one worker stay whole because O_APPEND writes of a
 * buffer are atomic with respect to other writers of the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/accesslog.h"
#include "proxy/proxy_priv.h"

#define FLUSH_BYTES (32 * 1024)
#define FLUSH_MS 1000

struct hp_accesslog {
	int fd;
	bool json;
	bool own_fd;   /* opened by us (not stdout) */
	char *path;    /* to open again on SIGUSR1 */
};

struct hp_accesslog *hp_accesslog_open(const struct hp_config_access_log *conf, char *err,
				       size_t errlen)
{
	struct hp_accesslog *log = hp_xcalloc(1, sizeof(*log));
	log->json = conf->format != NULL && strcmp(conf->format, "json") == 0;
	if (strcmp(conf->path, "-") == 0) {
		log->fd = STDOUT_FILENO;
		return log;
	}
	log->fd = open(conf->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (log->fd < 0) {
		snprintf(err, errlen, "access_log: cannot open %s: %s", conf->path,
			 strerror(errno));
		free(log);
		return NULL;
	}
	log->own_fd = true;
	log->path = hp_xstrdup(conf->path);
	return log;
}

/* The new file takes the old descriptor's number (dup2 swaps it in one
 * step), so a worker writing at that moment writes whole lines to one file
 * or the other, never to a closed descriptor. */
int hp_accesslog_reopen(struct hp_accesslog *log)
{
	if (!log->own_fd)
		return 0;
	int fd = open(log->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = dup3(fd, log->fd, O_CLOEXEC) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

void hp_accesslog_close(struct hp_accesslog *log)
{
	if (log == NULL)
		return;
	if (log->own_fd)
		close(log->fd);
	free(log->path);
	free(log);
}

void hp_accesslog_write(struct hp_accesslog *log, const char *p, size_t left)
{
	while (left > 0) {
		ssize_t n = write(log->fd, p, left);
		if (n <= 0)
			break;
		p += n;
		left -= (size_t)n;
	}
}

/* The worker's buffer goes to its current snapshot's log: lines of requests
 * that started before a reload land in the new file, which is where an
 * operator rotating by reload looks for them. */
void hp_accesslog_flush(struct hp_worker *w)
{
	struct hp_accesslog *log = w->ws != NULL ? w->ws->snap->alog : NULL;
	if (log != NULL && w->logbuf.len > 0)
		hp_accesslog_write(log, hp_buf_data(&w->logbuf), w->logbuf.len);
	hp_buf_reset(&w->logbuf);
}

static void on_log_timer(struct hp_timer *t)
{
	struct hp_worker *w = HP_CONTAINER_OF(t, struct hp_worker, log_timer);
	hp_accesslog_flush(w);
}

/* Append <s> as a JSON string body (without quotes), escaping as needed. */
static void put_json_escaped(struct hp_buf *b, const char *s)
{
	for (; s != NULL && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			char e[2] = {'\\', (char)ch};
			hp_buf_append(b, e, 2);
		} else if (ch < 0x20 || ch == 0x7f) {
			char e[8];
			snprintf(e, sizeof(e), "\\u%04x", ch);
			hp_buf_append(b, e, 6);
		} else {
			hp_buf_append(b, s, 1);
		}
	}
}

/* Combined format quotes fields; keep a quote or a control byte from
 * breaking the line. */
static void put_quoted_safe(struct hp_buf *b, const char *s)
{
	if (s == NULL || *s == '\0') {
		HP_BUF_APPEND_LIT(b, "-");
		return;
	}
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\' || ch < 0x20 || ch == 0x7f) {
			char e[8];
			snprintf(e, sizeof(e), "\\x%02x", ch);
			hp_buf_append(b, e, 4);
		} else {
			hp_buf_append(b, s, 1);
		}
	}
}

/* The X-Cache value in lower case, as /metrics labels it; "none" when the
 * cache took no part. */
static const char *cache_status(const struct hp_txn *t)
{
	const char *x = t->cache.x_cache;
	if (x == NULL)
		return "none";
	switch (x[0]) {
	case 'H': return "hit";
	case 'M': return "miss";
	case 'S': return "stale";
	case 'R': return "revalidated";
	case 'C': return "coalesced";
	case 'P': return "pass";
	default: return "none";
	}
}

static void format_now(char *out, size_t n, const char *fmt)
{
	time_t now = hp_clock_wall_s();
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(out, n, fmt, &tm);
}

/* The request's client (trusted_proxies), else the connection's peer. */
static const char *client_ip(const struct hp_client *c)
{
	return c->t->req.client_ip != NULL ? c->t->req.client_ip : c->peer_ip;
}

static void format_combined(struct hp_buf *b, const struct hp_client *c, double total_s,
			    double up_s)
{
	const struct hp_txn *t = c->t;
	char when[64];
	format_now(when, sizeof(when), "%d/%b/%Y:%H:%M:%S +0000");
	char head[256];
	snprintf(head, sizeof(head), "%s - - [%s] \"", client_ip(c), when);
	hp_buf_append_str(b, head);
	put_quoted_safe(b, t->req.log_method);
	HP_BUF_APPEND_LIT(b, " ");
	put_quoted_safe(b, t->req.log_target);
	char mid[160];
	snprintf(mid, sizeof(mid), " HTTP/1.%d\" %d %llu \"", t->req.minor_version, t->resp.status,
		 (unsigned long long)t->resp.bytes_out);
	hp_buf_append_str(b, mid);
	put_quoted_safe(b, t->req.log_referer);
	HP_BUF_APPEND_LIT(b, "\" \"");
	put_quoted_safe(b, t->req.log_ua);
	char tail[96];
	snprintf(tail, sizeof(tail), "\" rt=%.6f urt=%.6f route=\"", total_s, up_s);
	hp_buf_append_str(b, tail);
	put_quoted_safe(b, t->route ? t->route->name : "-");
	HP_BUF_APPEND_LIT(b, "\" cache=");
	hp_buf_append_str(b, cache_status(t));
	HP_BUF_APPEND_LIT(b, " up=");
	hp_buf_append_str(b, t->up.server ? t->up.server->name : "-");
	HP_BUF_APPEND_LIT(b, " err=\"");
	put_quoted_safe(b, t->up.fail ? t->up.fail : "-");
	HP_BUF_APPEND_LIT(b, "\"\n");
}

static void put_json_field(struct hp_buf *b, const char *key, const char *value, bool comma)
{
	if (comma)
		HP_BUF_APPEND_LIT(b, ",");
	HP_BUF_APPEND_LIT(b, "\"");
	hp_buf_append_str(b, key);
	HP_BUF_APPEND_LIT(b, "\":\"");
	put_json_escaped(b, value ? value : "");
	HP_BUF_APPEND_LIT(b, "\"");
}

static void format_json(struct hp_buf *b, const struct hp_client *c, double total_s,
			double up_s)
{
	const struct hp_txn *t = c->t;
	char when[64];
	format_now(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ");
	HP_BUF_APPEND_LIT(b, "{");
	put_json_field(b, "time", when, false);
	put_json_field(b, "client", client_ip(c), true);
	put_json_field(b, "method", t->req.log_method, true);
	put_json_field(b, "target", t->req.log_target, true);
	put_json_field(b, "host", t->req.log_host, true);
	put_json_field(b, "user_agent", t->req.log_ua, true);
	put_json_field(b, "referer", t->req.log_referer, true);
	put_json_field(b, "route", t->route ? t->route->name : NULL, true);
	put_json_field(b, "cache", cache_status(t), true);
	put_json_field(b, "upstream", t->up.server ? t->up.server->name : NULL, true);
	put_json_field(b, "error", t->up.fail, true);
	char nums[256];
	snprintf(nums, sizeof(nums),
		 ",\"protocol\":\"HTTP/1.%d\",\"status\":%d,\"bytes\":%llu,"
		 "\"duration_s\":%.6f,\"upstream_s\":%.6f}\n",
		 t->req.minor_version, t->resp.status, (unsigned long long)t->resp.bytes_out, total_s, up_s);
	hp_buf_append_str(b, nums);
}

void hp_accesslog_record(struct hp_client *c)
{
	struct hp_worker *w = c->w;
	const struct hp_txn *t = c->t;
	if (t->ws == NULL || t->ws->snap->alog == NULL)
		return;
	struct hp_accesslog *log = t->ws->snap->alog;
	uint64_t now = hp_clock_mono_ns();
	double total_s = t->req.start_ns ? (double)(now - t->req.start_ns) / 1e9 : 0.0;
	double up_s = t->up.start_ns && t->up.head_ns > t->up.start_ns
		? (double)(t->up.head_ns - t->up.start_ns) / 1e9 : 0.0;
	if (log->json)
		format_json(&w->logbuf, c, total_s, up_s);
	else
		format_combined(&w->logbuf, c, total_s, up_s);
	if (w->logbuf.len >= FLUSH_BYTES)
		hp_accesslog_flush(w);
	else if (!hp_timer_active(&w->log_timer))
		hp_timer_start(w->loop, &w->log_timer, FLUSH_MS, on_log_timer);
}
