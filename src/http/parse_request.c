/* SPDX-License-Identifier: MIT */
/*
 * parse_request.c - the request head parser (RFC 9112 §2-3, §6).
 *
 * Syntax is checked byte by byte in one forward pass (request line, then
 * field lines); meaning (target form, Host, framing) is checked once the
 * head is complete, from the parsed fields. The two length limits are
 * enforced by clamping the end of the bytes a scanner may look at: a scanner
 * that runs into a clamped end instead of the real one means "too long".
 */
#include "http/http_priv.h"

#include <limits.h>

/* RFC 9112 §2.2 asks servers to skip "at least one" empty line before a
 * request; a few cover clients that add CRLF after a body. */
#define MAX_LEADING_EMPTY_LINES 4

/* The path of an absolute-form target with an empty path (RFC 9110 §4.2.1). */
static const char root_path[] = "/";

static int skip_empty_lines(const char **pp, const char *end, struct hp_http_err *err)
{
	for (int i = 0;; i++) {
		if (*pp == end)
			return HP_AGAIN;
		if (**pp != '\r' && **pp != '\n')
			return HP_OK;
		if (i == MAX_LEADING_EMPTY_LINES)
			return hp_http_fail(err, 400, "too many empty lines before request");
		int rv = hp_http_parse_eol(pp, end, err);
		if (rv != HP_OK)
			return rv;
	}
}

static int parse_method(const char **pp, const char *end, struct hp_http_request *req,
			struct hp_http_err *err)
{
	const char *p = *pp;

	while (p < end && HP_IS(*p, HP_CT_TCHAR))
		p++;
	if (p == end)
		return HP_AGAIN;
	if (p == *pp || *p != ' ')
		return hp_http_fail(err, 400, "invalid method");
	req->method = (struct hp_str){*pp, (size_t)(p - *pp)};
	req->method_id = hp_http_method_from(req->method);
	*pp = p + 1;
	return HP_OK;
}

static int parse_target(const char **pp, const char *end, struct hp_http_request *req,
			struct hp_http_err *err)
{
	const char *p = *pp;

	while (p < end && HP_IS(*p, HP_CT_TARGET))
		p++;
	if (p == end)
		return HP_AGAIN;
	if (*p != ' ')
		return hp_http_fail(err, 400, "invalid character in request target");
	if (p == *pp)
		return hp_http_fail(err, 400, "invalid request line");
	req->target = (struct hp_str){*pp, (size_t)(p - *pp)};
	*pp = p + 1;
	return HP_OK;
}

/*
 * request-line = method SP request-target SP HTTP-version, at most
 * <max_line> bytes before its line end. Past that point the line is too long
 * whatever comes next, so we answer 414 without waiting for the LF.
 */
static int parse_request_line(const char **pp, const char *end, size_t max_line,
			      struct hp_http_request *req, struct hp_http_err *err)
{
	const char *p = *pp;
	const char *lend = (size_t)(end - p) > max_line ? p + max_line : end;
	int major = 0;
	int minor = 0;

	int rv = parse_method(&p, lend, req, err);
	if (rv == HP_OK)
		rv = parse_target(&p, lend, req, err);
	if (rv == HP_OK)
		rv = hp_http_parse_version(&p, lend, &major, &minor, err);
	if (rv == HP_AGAIN && lend != end)
		return hp_http_fail(err, 414, "request line too long");
	if (rv == HP_OK && p < end && *p != '\r' && *p != '\n')
		return hp_http_fail(err, 400, "invalid HTTP version");
	if (rv == HP_OK)
		rv = hp_http_parse_eol(&p, end, err);
	if (rv != HP_OK)
		return rv;
	if (major != 1)
		return hp_http_fail(err, 505, "HTTP version not supported");
	req->minor_version = minor == 0 ? 0 : 1;
	*pp = p;
	return HP_OK;
}

/* ==== Request-target forms (RFC 9112 §3.2) ==== */

static void split_query(struct hp_http_request *req, struct hp_str pq)
{
	const char *q = memchr(pq.ptr, '?', pq.len);

	if (q == NULL) {
		req->path = pq;
		return;
	}
	req->path = (struct hp_str){pq.ptr, (size_t)(q - pq.ptr)};
	req->query = (struct hp_str){q + 1, pq.len - req->path.len - 1};
}

/* absolute-form: "http" or "https" "://" authority path-abempty [ "?" query ]. */
static int parse_absolute_form(struct hp_http_request *req, struct hp_http_err *err)
{
	struct hp_str t = req->target;
	size_t i = 0;

	/* Any token up to "://"; only two schemes are accepted below anyway. */
	while (i < t.len && HP_IS(t.ptr[i], HP_CT_TCHAR))
		i++;
	struct hp_str rest = {t.ptr + i, t.len - i};
	if (i == 0 || !hp_str_skip_prefix(&rest, "://"))
		return hp_http_fail(err, 400, "invalid request target");
	struct hp_str scheme = {t.ptr, i};
	if (!hp_str_ieq(scheme, "http") && !hp_str_ieq(scheme, "https"))
		return hp_http_fail(err, 400, "unsupported URI scheme");

	const char *auth = rest.ptr;
	const char *end = rest.ptr + rest.len;
	const char *p = auth;
	while (p < end && *p != '/' && *p != '?')
		p++;
	req->host = (struct hp_str){auth, (size_t)(p - auth)};
	if (!hp_http_valid_host(req->host))
		return hp_http_fail(err, 400, "invalid authority in request target");
	req->form = HP_TARGET_ABSOLUTE;
	if (p == end || *p == '?') {
		req->path = HP_STR(root_path);
		if (p < end)
			req->query = (struct hp_str){p + 1, (size_t)(end - p - 1)};
		return HP_OK;
	}
	split_query(req, (struct hp_str){p, (size_t)(end - p)});
	return HP_OK;
}

/* authority-form, CONNECT only: uri-host ":" port, the port mandatory (RFC 9110 §9.3.6). */
static int parse_authority_form(struct hp_http_request *req, struct hp_http_err *err)
{
	struct hp_str t = req->target;
	const char *colon = memrchr(t.ptr, ':', t.len);
	const char *bracket = memrchr(t.ptr, ']', t.len);

	if (colon == NULL || colon + 1 == t.ptr + t.len || (bracket != NULL && bracket > colon) ||
	    !hp_http_valid_host(t))
		return hp_http_fail(err, 400, "CONNECT needs host:port");
	req->form = HP_TARGET_AUTHORITY;
	req->path = t;
	req->host = t;
	return HP_OK;
}

static int parse_target_form(struct hp_http_request *req, struct hp_http_err *err)
{
	struct hp_str t = req->target;

	if (req->method_id == HP_METHOD_CONNECT)
		return parse_authority_form(req, err);
	if (t.ptr[0] == '/') {
		req->form = HP_TARGET_ORIGIN;
		split_query(req, t);
		return HP_OK;
	}
	if (t.len == 1 && t.ptr[0] == '*') {
		if (req->method_id != HP_METHOD_OPTIONS)
			return hp_http_fail(err, 400, "asterisk-form is only for OPTIONS");
		req->form = HP_TARGET_ASTERISK;
		req->path = t;
		return HP_OK;
	}
	return parse_absolute_form(req, err);
}

/* ==== Meaning of the head ==== */

/* RFC 9112 §3.2: one valid Host field, mandatory in HTTP/1.1 unless the
 * target carries the authority (which then wins, §3.2.2). */
static int check_host(struct hp_http_request *req, const struct hp_http_framing *f,
		      struct hp_http_err *err)
{
	if (f->host_count > 1)
		return hp_http_fail(err, 400, "several Host fields");
	if (f->host != NULL && !hp_http_valid_host(f->host->value))
		return hp_http_fail(err, 400, "invalid Host");
	if (req->form == HP_TARGET_ABSOLUTE || req->form == HP_TARGET_AUTHORITY)
		return HP_OK;
	if (f->host != NULL)
		req->host = f->host->value;
	else if (req->minor_version == 1)
		return hp_http_fail(err, 400, "missing Host");
	return HP_OK;
}

/* RFC 9112 §6.1-6.3 for requests: only a lone, final "chunked" is a
 * Transfer-Encoding we can frame, and never together with Content-Length. */
static int set_body(struct hp_http_request *req, const struct hp_http_framing *f,
		    struct hp_http_err *err)
{
	if (f->te == HP_TE_NONE) {
		if (f->has_length) {
			req->body = HP_BODY_LENGTH;
			req->content_length = f->content_length;
		}
		return HP_OK;
	}
	if (f->has_length)
		return hp_http_fail(err, 400, "Content-Length with Transfer-Encoding");
	if (req->minor_version == 0)
		return hp_http_fail(err, 400, "Transfer-Encoding in HTTP/1.0");
	if (f->te == HP_TE_CODED_CHUNKED)
		return hp_http_fail(err, 501, "unsupported transfer coding");
	if (f->te != HP_TE_CHUNKED)
		return hp_http_fail(err, 400, "invalid Transfer-Encoding");
	req->body = HP_BODY_CHUNKED;
	return HP_OK;
}

static int check_request(struct hp_http_request *req, struct hp_http_err *err)
{
	struct hp_http_framing f;

	if (hp_http_scan_framing(req->headers, req->num_headers, &f, err) != HP_OK)
		return HP_ERR;
	if (parse_target_form(req, err) != HP_OK || check_host(req, &f, err) != HP_OK ||
	    set_body(req, &f, err) != HP_OK)
		return HP_ERR;
	if (req->minor_version == 1) {
		req->keep_alive = !f.conn_close;
		/* RFC 9110 §10.1.1: ignore 100-continue from an HTTP/1.0 client. */
		req->expect_continue = f.expect_continue;
	} else {
		req->keep_alive = f.conn_keep_alive && !f.conn_close;
	}
	return HP_OK;
}

int hp_http_parse_request(const char *buf, size_t len, struct hp_http_request *req,
			  struct hp_http_header *headers, const struct hp_http_limits *lim)
{
	struct hp_http_err err = {0, NULL};
	size_t max_head = HP_MIN(lim->max_head_bytes, (size_t)INT_MAX);
	const char *end = buf + HP_MIN(len, max_head);
	const char *p = buf;

	memset(req, 0, sizeof(*req));
	req->headers = headers;
	int rv = skip_empty_lines(&p, end, &err);
	if (rv == HP_OK)
		rv = parse_request_line(&p, end, lim->max_request_line, req, &err);
	if (rv == HP_OK)
		rv = hp_http_parse_fields(&p, end, headers, lim->max_headers, &req->num_headers,
					  &err);
	if (rv == HP_OK)
		rv = check_request(req, &err);
	if (rv == HP_AGAIN && len > max_head)
		rv = hp_http_fail(&err, 431, "request head too large");
	if (rv == HP_ERR) {
		req->error_status = err.status;
		req->error_reason = err.reason;
		return HP_ERR;
	}
	return rv == HP_AGAIN ? HP_AGAIN : (int)(p - buf);
}
