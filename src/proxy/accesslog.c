/* SPDX-License-Identifier: MIT */
/*
 * accesslog.c - one line per request, in the combined format (with
 * rt=, urt=, route=, cache=, up= and err= appended) or as JSON, with the
 * route's name, the cache status, the upstream server and, when the
 * exchange failed, why; buffered per worker and written with one write(2) when the buffer
 * passes FLUSH_BYTES or once a second, so logging costs no syscall per
 * request. Formatting avoids stdio on the request path (numbers and times
 * are written by hand, the date string made once a second per worker):
 * printf's float formatting was most of the log's CPU cost on cache hits. Lines of one worker stay whole because O_APPEND writes of a
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

static const char hex_digits[] = "0123456789abcdef";

/* Whether <ch> must be escaped in a log field: quotes, backslashes and
 * control bytes would break the line's syntax. */
static bool needs_escape(unsigned char ch)
{
	return ch == '"' || ch == '\\' || ch < 0x20 || ch == 0x7f;
}

/* Append the run of <s> that needs no escape; returns where it stopped. */
static const char *put_plain_run(struct hp_buf *b, const char *s)
{
	const char *p = s;
	while (*p && !needs_escape((unsigned char)*p))
		p++;
	if (p > s)
		hp_buf_append(b, s, (size_t)(p - s));
	return p;
}

/* Append <s> as a JSON string body (without quotes), escaping as needed. */
static void put_json_escaped(struct hp_buf *b, const char *s)
{
	if (s == NULL)
		return;
	while (*(s = put_plain_run(b, s))) {
		unsigned char ch = (unsigned char)*s++;
		if (ch == '"' || ch == '\\') {
			char e[2] = {'\\', (char)ch};
			hp_buf_append(b, e, 2);
		} else {
			char e[6] = {'\\', 'u', '0', '0', hex_digits[ch >> 4], hex_digits[ch & 15]};
			hp_buf_append(b, e, 6);
		}
	}
}

/* Append <v> in decimal, at least <width> digits (zero-padded). */
static void put_uint(struct hp_buf *b, uint64_t v, int width)
{
	char d[24];
	int n = 0;
	do {
		d[sizeof(d) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 || n < width);
	hp_buf_append(b, &d[sizeof(d) - n], (size_t)n);
}

/* Append <ns> as seconds with six decimals, rounded to the microsecond
 * (what "%.6f" of the seconds gave). */
static void put_seconds(struct hp_buf *b, uint64_t ns)
{
	uint64_t us = (ns + 500) / 1000;
	put_uint(b, us / 1000000, 1);
	HP_BUF_APPEND_LIT(b, ".");
	put_uint(b, us % 1000000, 6);
}

/* Combined format quotes fields; keep a quote or a control byte from
 * breaking the line. */
static void put_quoted_safe(struct hp_buf *b, const char *s)
{
	if (s == NULL || *s == '\0') {
		HP_BUF_APPEND_LIT(b, "-");
		return;
	}
	while (*(s = put_plain_run(b, s))) {
		unsigned char ch = (unsigned char)*s++;
		char e[4] = {'\\', 'x', hex_digits[ch >> 4], hex_digits[ch & 15]};
		hp_buf_append(b, e, 4);
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

enum time_format { TIME_COMBINED, TIME_ISO, TIME_FORMATS };

/* The wall clock's second in format <f>, made once a second per worker
 * thread (the strings live in thread-local storage until the next call). */
static const char *format_now(enum time_format f)
{
	static const char *const fmts[TIME_FORMATS] = {"%d/%b/%Y:%H:%M:%S +0000",
						       "%Y-%m-%dT%H:%M:%SZ"};
	static _Thread_local struct {
		time_t sec;
		char text[40];
	} cached[TIME_FORMATS];
	time_t now = hp_clock_wall_s();
	if (cached[f].sec != now || cached[f].text[0] == '\0') {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(cached[f].text, sizeof(cached[f].text), fmts[f], &tm);
		cached[f].sec = now;
	}
	return cached[f].text;
}

/* The request's client (trusted_proxies), else the connection's peer. */
static const char *client_ip(const struct hp_client *c)
{
	return c->t->req.client_ip != NULL ? c->t->req.client_ip : c->peer_ip;
}

static void format_combined(struct hp_buf *b, const struct hp_client *c, uint64_t total_ns,
			    uint64_t up_ns)
{
	const struct hp_txn *t = c->t;
	hp_buf_append_str(b, client_ip(c));
	HP_BUF_APPEND_LIT(b, " - - [");
	hp_buf_append_str(b, format_now(TIME_COMBINED));
	HP_BUF_APPEND_LIT(b, "] \"");
	put_quoted_safe(b, t->req.log_method);
	HP_BUF_APPEND_LIT(b, " ");
	put_quoted_safe(b, t->req.log_target);
	HP_BUF_APPEND_LIT(b, " HTTP/1.");
	put_uint(b, (uint64_t)t->req.minor_version, 1);
	HP_BUF_APPEND_LIT(b, "\" ");
	put_uint(b, (uint64_t)t->resp.status, 1);
	HP_BUF_APPEND_LIT(b, " ");
	put_uint(b, t->resp.bytes_out, 1);
	HP_BUF_APPEND_LIT(b, " \"");
	put_quoted_safe(b, t->req.log_referer);
	HP_BUF_APPEND_LIT(b, "\" \"");
	put_quoted_safe(b, t->req.log_ua);
	HP_BUF_APPEND_LIT(b, "\" rt=");
	put_seconds(b, total_ns);
	HP_BUF_APPEND_LIT(b, " urt=");
	put_seconds(b, up_ns);
	HP_BUF_APPEND_LIT(b, " route=\"");
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

static void format_json(struct hp_buf *b, const struct hp_client *c, uint64_t total_ns,
			uint64_t up_ns)
{
	const struct hp_txn *t = c->t;
	HP_BUF_APPEND_LIT(b, "{");
	put_json_field(b, "time", format_now(TIME_ISO), false);
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
	HP_BUF_APPEND_LIT(b, ",\"protocol\":\"HTTP/1.");
	put_uint(b, (uint64_t)t->req.minor_version, 1);
	HP_BUF_APPEND_LIT(b, "\",\"status\":");
	put_uint(b, (uint64_t)t->resp.status, 1);
	HP_BUF_APPEND_LIT(b, ",\"bytes\":");
	put_uint(b, t->resp.bytes_out, 1);
	HP_BUF_APPEND_LIT(b, ",\"duration_s\":");
	put_seconds(b, total_ns);
	HP_BUF_APPEND_LIT(b, ",\"upstream_s\":");
	put_seconds(b, up_ns);
	HP_BUF_APPEND_LIT(b, "}\n");
}

void hp_accesslog_record(struct hp_client *c)
{
	struct hp_worker *w = c->w;
	const struct hp_txn *t = c->t;
	if (t->ws == NULL || t->ws->snap->alog == NULL)
		return;
	struct hp_accesslog *log = t->ws->snap->alog;
	uint64_t now = hp_clock_mono_ns();
	uint64_t total_ns = t->req.start_ns ? now - t->req.start_ns : 0;
	uint64_t up_ns = t->up.start_ns && t->up.head_ns > t->up.start_ns
		? t->up.head_ns - t->up.start_ns : 0;
	if (log->json)
		format_json(&w->logbuf, c, total_ns, up_ns);
	else
		format_combined(&w->logbuf, c, total_ns, up_ns);
	if (w->logbuf.len >= FLUSH_BYTES)
		hp_accesslog_flush(w);
	else if (!hp_timer_active(&w->log_timer))
		hp_timer_start(w->loop, &w->log_timer, FLUSH_MS, on_log_timer);
}
