/* SPDX-License-Identifier: MIT */
/*
 * parse_response.c - the response head parser (RFC 9112 §4, §6.3).
 *
 * Same shape as the request parser: one forward pass over the status line
 * and the field lines, then framing decided from the parsed fields and the
 * method of the request this response answers. A response the proxy could
 * not frame unambiguously is an error, never a guess.
 */
#include "http/http_priv.h"

#include <limits.h>

static int parse_status_code(const char **pp, const char *end, struct hp_http_response *resp,
			     struct hp_http_err *err)
{
	const char *p = *pp;

	for (int i = 0; i < 3; i++) {
		if (p + i == end)
			return HP_AGAIN;
		if (p[i] < '0' || p[i] > '9' || (i == 0 && p[i] == '0'))
			return hp_http_fail(err, 502, "invalid status code");
	}
	resp->status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	*pp = p + 3;
	return HP_OK;
}

/* status-line = HTTP-version SP status-code SP [ reason-phrase ]. Origins
 * that drop the second SP along with an empty reason are common and
 * harmless, so "HTTP/1.1 204\r\n" is accepted. */
static int parse_status_line(const char **pp, const char *end, struct hp_http_response *resp,
			     struct hp_http_err *err)
{
	const char *p = *pp;
	int major = 0;
	int minor = 0;

	int rv = hp_http_parse_version(&p, end, &major, &minor, err);
	if (rv != HP_OK)
		return rv;
	if (p == end)
		return HP_AGAIN;
	if (*p++ != ' ')
		return hp_http_fail(err, 502, "invalid status line");
	rv = parse_status_code(&p, end, resp, err);
	if (rv != HP_OK)
		return rv;
	if (p < end && *p == ' ') {
		const char *reason = ++p;
		while (p < end && HP_IS(*p, HP_CT_VALUE))
			p++;
		resp->reason = (struct hp_str){reason, (size_t)(p - reason)};
	}
	if (p < end && *p != '\r' && *p != '\n')
		return hp_http_fail(err, 502, "invalid status line");
	rv = hp_http_parse_eol(&p, end, err);
	if (rv != HP_OK)
		return rv;
	if (major != 1)
		return hp_http_fail(err, 502, "unsupported HTTP version");
	resp->minor_version = minor == 0 ? 0 : 1;
	*pp = p;
	return HP_OK;
}

static bool has_no_body(const struct hp_http_response *resp, enum hp_http_method req_method)
{
	return req_method == HP_METHOD_HEAD || resp->status < 200 || resp->status == 204 ||
	       resp->status == 304;
}

/* RFC 9112 §6.3, in its order. Content-Length and Transfer-Encoding are
 * checked even where they do not frame the body (HEAD, 304): a proxy
 * forwards them, and the next hop must not see them conflict. */
static int set_body(struct hp_http_response *resp, const struct hp_http_framing *f,
		    enum hp_http_method req_method, struct hp_http_err *err)
{
	if (f->te != HP_TE_NONE && f->has_length)
		return hp_http_fail(err, 502, "Content-Length with Transfer-Encoding");
	if (f->te == HP_TE_INVALID)
		return hp_http_fail(err, 502, "invalid Transfer-Encoding");
	if (has_no_body(resp, req_method))
		resp->body = HP_BODY_NONE;
	else if (req_method == HP_METHOD_CONNECT && resp->status < 300)
		resp->body = HP_BODY_NONE;
	else if (f->te == HP_TE_CHUNKED || f->te == HP_TE_CODED_CHUNKED)
		resp->body = HP_BODY_CHUNKED;
	else if (f->te == HP_TE_NOT_FINAL)
		resp->body = HP_BODY_CLOSE;
	else if (f->has_length)
		resp->body = HP_BODY_LENGTH;
	else
		resp->body = HP_BODY_CLOSE;
	if (resp->body == HP_BODY_LENGTH)
		resp->content_length = f->content_length;
	return HP_OK;
}

static int check_response(struct hp_http_response *resp, enum hp_http_method req_method,
			  struct hp_http_err *err)
{
	struct hp_http_framing f;

	if (hp_http_scan_framing(resp->headers, resp->num_headers, &f, err) != HP_OK)
		return HP_ERR;
	if (set_body(resp, &f, req_method, err) != HP_OK)
		return HP_ERR;
	bool ka = resp->minor_version == 1 ? !f.conn_close : f.conn_keep_alive && !f.conn_close;
	/* A 1.0 message with Transfer-Encoding may be misframed (RFC 9112 §6.1);
	 * after 101 or a CONNECT 2xx the connection no longer carries HTTP. */
	if (resp->body == HP_BODY_CLOSE || resp->status == 101 ||
	    (resp->minor_version == 0 && f.te != HP_TE_NONE) ||
	    (req_method == HP_METHOD_CONNECT && resp->status >= 200 && resp->status < 300))
		ka = false;
	resp->keep_alive = ka;
	return HP_OK;
}

int hp_http_parse_response(const char *buf, size_t len, struct hp_http_response *resp,
			   struct hp_http_header *headers, const struct hp_http_limits *lim,
			   enum hp_http_method req_method)
{
	struct hp_http_err err = {0, NULL};
	size_t max_head = HP_MIN(lim->max_head_bytes, (size_t)INT_MAX);
	const char *end = buf + HP_MIN(len, max_head);
	const char *p = buf;

	memset(resp, 0, sizeof(*resp));
	resp->headers = headers;
	int rv = parse_status_line(&p, end, resp, &err);
	if (rv == HP_OK)
		rv = hp_http_parse_fields(&p, end, headers, lim->max_headers, &resp->num_headers,
					  &err);
	if (rv == HP_OK)
		rv = check_response(resp, req_method, &err);
	if (rv == HP_AGAIN && len > max_head)
		rv = hp_http_fail(&err, 502, "response head too large");
	if (rv == HP_ERR) {
		resp->error_reason = err.reason;
		return HP_ERR;
	}
	return rv == HP_AGAIN ? HP_AGAIN : (int)(p - buf);
}
