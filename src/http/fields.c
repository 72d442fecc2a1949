/* SPDX-License-Identifier: MIT */
/*
 * fields.c - small helpers over parsed fields and protocol tables: field
 * lookup, list tokens, hop-by-hop names, methods, status reasons and the
 * RFC 3986 host syntax used to validate Host and request authorities.
 */
#include "http/http_priv.h"

#include <arpa/inet.h>

const struct hp_http_header *hp_http_find_header(const struct hp_http_header *h, size_t n,
						 const char *name)
{
	struct hp_str want = {name, strlen(name)};

	for (size_t i = 0; i < n; i++)
		if (hp_str_ieq_str(h[i].name, want))
			return &h[i];
	return NULL;
}

bool hp_http_list_has(struct hp_str list, struct hp_str token)
{
	size_t pos = 0;
	struct hp_str elem;

	while (hp_str_next_token(list, &pos, &elem))
		if (hp_str_ieq_str(elem, token))
			return true;
	return false;
}

bool hp_http_has_token(struct hp_str value, const char *token)
{
	return hp_http_list_has(value, (struct hp_str){token, strlen(token)});
}

bool hp_http_is_hop_by_hop(struct hp_str name)
{
	switch (name.len) {
	case 2:
		return hp_str_ieq(name, "te");
	case 7:
		return hp_str_ieq(name, "upgrade") || hp_str_ieq(name, "trailer");
	case 10:
		return hp_str_ieq(name, "connection") || hp_str_ieq(name, "keep-alive");
	case 16:
		return hp_str_ieq(name, "proxy-connection");
	case 17:
		return hp_str_ieq(name, "transfer-encoding");
	default:
		return false;
	}
}

bool hp_http_connection_lists(const struct hp_http_header *h, size_t n, struct hp_str name)
{
	for (size_t i = 0; i < n; i++)
		if (hp_str_ieq(h[i].name, "connection") && hp_http_list_has(h[i].value, name))
			return true;
	return false;
}

/* ==== Methods ==== */

enum hp_http_method hp_http_method_from(struct hp_str m)
{
	/* Methods are case-sensitive (RFC 9110 §9.1): "get" is not GET. */
#define M(lit, id) \
	if (m.len == sizeof(lit) - 1 && memcmp(m.ptr, lit, sizeof(lit) - 1) == 0) \
		return id
	M("GET", HP_METHOD_GET);
	M("HEAD", HP_METHOD_HEAD);
	M("POST", HP_METHOD_POST);
	M("PUT", HP_METHOD_PUT);
	M("DELETE", HP_METHOD_DELETE);
	M("PATCH", HP_METHOD_PATCH);
	M("OPTIONS", HP_METHOD_OPTIONS);
	M("TRACE", HP_METHOD_TRACE);
	M("CONNECT", HP_METHOD_CONNECT);
	M("PURGE", HP_METHOD_PURGE);
#undef M
	return HP_METHOD_OTHER;
}

bool hp_http_method_is_safe(enum hp_http_method m)
{
	return m == HP_METHOD_GET || m == HP_METHOD_HEAD || m == HP_METHOD_OPTIONS ||
	       m == HP_METHOD_TRACE;
}

bool hp_http_method_is_idempotent(enum hp_http_method m)
{
	return hp_http_method_is_safe(m) || m == HP_METHOD_PUT || m == HP_METHOD_DELETE;
}

/* ==== Status reasons (RFC 9110 §15, plus 103, 429, 431, 451) ==== */

const char *hp_http_status_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 103: return "Early Hints";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 203: return "Non-Authoritative Information";
	case 204: return "No Content";
	case 205: return "Reset Content";
	case 206: return "Partial Content";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 305: return "Use Proxy";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Content";
	case 426: return "Upgrade Required";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 451: return "Unavailable For Legal Reasons";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* ==== Host syntax (RFC 3986 §3.2.2-3.2.3) ==== */

/* IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ) */
static bool valid_ipvfuture(const char *p, const char *end)
{
	const char *hex = ++p;

	while (p < end && HP_IS(*p, HP_CT_HEX))
		p++;
	if (p == hex || p == end || *p++ != '.' || p == end)
		return false;
	for (; p < end; p++)
		if (!HP_IS(*p, HP_CT_HOST) && *p != ':')
			return false;
	return true;
}

/* The inside of "[...]": an IPv6 address (checked by inet_pton) or IPvFuture. */
static bool valid_ip_literal(const char *p, const char *end)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr addr;
	size_t len = (size_t)(end - p);

	if (len > 0 && (*p == 'v' || *p == 'V'))
		return valid_ipvfuture(p, end);
	if (len == 0 || len >= sizeof(text))
		return false;
	memcpy(text, p, len);
	text[len] = '\0';
	return inet_pton(AF_INET6, text, &addr) == 1;
}

/* reg-name = *( unreserved / pct-encoded / sub-delims ); returns where it
 * stops, or NULL on a malformed %XX. IPv4 addresses are reg-names too. */
static const char *scan_reg_name(const char *p, const char *end)
{
	while (p < end) {
		if (HP_IS(*p, HP_CT_HOST)) {
			p++;
		} else if (*p == '%') {
			if (end - p < 3 || !HP_IS(p[1], HP_CT_HEX) || !HP_IS(p[2], HP_CT_HEX))
				return NULL;
			p += 3;
		} else {
			break;
		}
	}
	return p;
}

/* port = *DIGIT, and it must fit in 16 bits to mean anything. */
static bool valid_port(const char *p, const char *end)
{
	uint64_t port = 0;

	if (p == end)
		return true;
	return end - p <= 5 && hp_str_to_u64((struct hp_str){p, (size_t)(end - p)}, 65535, &port);
}

bool hp_http_valid_host(struct hp_str host)
{
	const char *p = host.ptr;
	const char *end = p + host.len;

	if (host.len == 0)
		return false;
	if (*p == '[') {
		const char *close = memchr(p, ']', host.len);
		if (close == NULL || !valid_ip_literal(p + 1, close))
			return false;
		p = close + 1;
	} else {
		p = scan_reg_name(p, end);
		if (p == NULL || p == host.ptr)
			return false;
	}
	if (p == end)
		return true;
	return *p == ':' && valid_port(p + 1, end);
}

/* ==== Bearer tokens ==== */

/* Equal in constant time for a given <b> length: every byte of <b> is
 * looked at whatever the first difference, and a length mismatch folds in
 * without an early return. */
static bool same_secret(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned diff = alen != blen;
	for (size_t i = 0; i < blen; i++)
		diff |= (unsigned char)(alen ? a[i % alen] : 0) ^ (unsigned char)b[i];
	return diff == 0;
}

enum hp_http_bearer hp_http_check_bearer(const struct hp_http_header *h, size_t n,
					 const char *token)
{
	enum hp_http_bearer verdict = HP_BEARER_ABSENT;
	for (size_t i = 0; i < n; i++) {
		if (!hp_str_ieq(h[i].name, "authorization"))
			continue;
		struct hp_str v = hp_str_trim(h[i].value);
		if (v.len < 7 || strncasecmp(v.ptr, "bearer ", 7) != 0)
			continue;
		struct hp_str cred = hp_str_trim((struct hp_str){v.ptr + 7, v.len - 7});
		if (same_secret(token, strlen(token), cred.ptr, cred.len))
			return HP_BEARER_OK;
		verdict = HP_BEARER_WRONG;
	}
	return verdict;
}
