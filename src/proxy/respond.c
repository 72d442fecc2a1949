/* SPDX-License-Identifier: MIT */
/*
 * respond.c - the responses hotpath makes itself: errors with a short
 * plain-text reason ("bad gateway: upstream timed out"), and the small
 * pieces every response head is written with (status line, a field, the
 * cached Date value of the current second).
 */
#include <stdio.h>
#include <string.h>

#include "proxy/proxy_priv.h"

void hp_put_status_line_start(struct hp_buf *b, int status)
{
	char line[] = "HTTP/1.1 000 ";
	HP_ASSERT(status >= 100 && status <= 999);
	line[9] = (char)('0' + status / 100);
	line[10] = (char)('0' + status / 10 % 10);
	line[11] = (char)('0' + status % 10);
	hp_buf_append(b, line, sizeof(line) - 1);
}

void hp_put_field(struct hp_buf *b, struct hp_str name, struct hp_str value)
{
	hp_buf_append(b, name.ptr, name.len);
	HP_BUF_APPEND_LIT(b, ": ");
	hp_buf_append(b, value.ptr, value.len);
	HP_BUF_APPEND_LIT(b, "\r\n");
}

void hp_worker_date(struct hp_worker *w, char *out)
{
	time_t now = hp_clock_wall_s();
	if (now != w->date_s) {
		w->date_s = now;
		hp_http_date_format(now, w->date);
	}
	memcpy(out, w->date, HP_HTTP_DATE_LEN + 1);
}

/* "bad gateway: upstream timed out": the status in words, then why. */
static int error_body(char *body, size_t size, int status, const char *reason)
{
	if (status < 400)
		return snprintf(body, size, "%s\n", reason);
	char phrase[64];
	snprintf(phrase, sizeof(phrase), "%s", hp_http_status_reason(status));
	for (char *p = phrase; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	return snprintf(body, size, "%s: %s\n", phrase, reason);
}

enum hp_step hp_respond_error(struct hp_client *c, int status, const char *reason)
{
	return hp_respond_error_fields(c, status, reason, "");
}

/* Seconds, rounded up: a client told to come back in 0 would hammer. */
static uint64_t ceil_s(uint64_t ns)
{
	return (ns + 999999999) / 1000000000;
}

/*
 * draft-ietf-httpapi-ratelimit-headers-11: the policy (quota q per window
 * w seconds) and the state (r requests remaining now, t seconds until the
 * key is back to a full burst, or, when refused, until it may retry).
 */
size_t hp_respond_limit_fields(const struct hp_txn *t, char *out, size_t size)
{
	const struct hp_config_rate_limit *rl = t->limit.conf;
	const struct hp_ratelimit_verdict *v = &t->limit.verdict;
	if (rl == NULL) {
		out[0] = '\0';
		return 0;
	}
	int n = snprintf(out, size,
			 "RateLimit-Policy: \"%s\";q=%u;w=%u\r\nRateLimit: \"%s\";r=%u;t=%llu\r\n",
			 rl->name, rl->quota, rl->window_s, rl->name, v->remaining,
			 (unsigned long long)ceil_s(v->allowed ? v->reset_ns : v->retry_ns));
	if (n < 0 || (size_t)n >= size) {
		out[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

enum hp_step hp_respond_error_fields(struct hp_client *c, int status, const char *reason,
				     const char *fields)
{
	struct hp_txn *t = c->t;
	if (t->resp.started) {
		hp_client_close(c);
		return HP_STEP_DONE;
	}
	hp_txn_abort_work(c);
	if (t->req.head_len > 0) {
		hp_buf_consume(&c->in, t->req.head_len);
		t->req.head_len = 0;
	}
	/* After a protocol error the framing is unknown, and after an error
	 * with unread body bytes they would be taken for the next request. A
	 * 429 comes after a whole head was read: the connection may stay. */
	bool body_pending = t->req.body != HP_BODY_NONE && !t->req.body_done;
	if ((status >= 400 && status < 500 && status != 429) || body_pending || !t->req.keep_alive)
		c->close_after = true;
	char date[HP_HTTP_DATE_LEN + 1];
	hp_worker_date(c->w, date);
	char body[256];
	int blen = error_body(body, sizeof(body), status, reason);
	char head[1024];
	int hlen = snprintf(head, sizeof(head),
			    "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: hotpath\r\n"
			    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n"
			    "%s%s\r\n",
			    status, hp_http_status_reason(status), date, blen, fields,
			    c->close_after ? "Connection: close\r\n" : "");
	HP_ASSERT(hlen > 0 && (size_t)hlen < sizeof(head));
	hp_buf_append(&c->t->out, head, (size_t)hlen);
	bool with_body = t->req.method != HP_METHOD_HEAD;
	if (with_body)
		hp_buf_append(&c->t->out, body, (size_t)blen);
	t->resp.status = status;
	t->resp.started = true;
	t->resp.source = HP_SRC_DONE;
	t->resp.bytes_out = (size_t)hlen + (with_body ? (size_t)blen : 0);
	if (t->req.start_ns == 0)
		t->req.start_ns = hp_clock_mono_ns();
	if (c->timer_kind != CT_SEND)
		hp_client_disarm_timer(c);
	return HP_STEP_deliver;
}
