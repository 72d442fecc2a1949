/* SPDX-License-Identifier: MIT */
/*
 * http.h - HTTP/1.1 message parsing: request and response heads, the chunked
 * body decoder, field helpers and Cache-Control.
 *
 * The head parsers follow picohttpparser's contract: they never allocate or
 * copy, every struct hp_str they return is a view into the caller's buffer,
 * header fields go into an array the caller supplies, and a partial head is
 * simply parsed again from the start once more bytes arrived (heads are small).
 * They return the head length (>0), HP_AGAIN or HP_ERR.
 *
 * This is the security boundary against request smuggling, so parsing is
 * strict per RFC 9112/9110: anything ambiguous about message framing (CL+TE,
 * duplicate Content-Length, obs-fold, bare CR, whitespace before a colon, ...)
 * is an error rather than a guess. Every decision depends only on the bytes
 * before it: when a prefix of the input already gives HP_ERR or a length, any
 * longer input gives the same answer, so byte-by-byte feeding and one-shot
 * parsing always agree. Lines may end in CRLF or a bare LF (RFC 9112 §2.2).
 */
#ifndef HP_HTTP_HTTP_H
#define HP_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/core.h"

struct hp_cidr;
struct sockaddr_storage;

enum hp_http_method {
	HP_METHOD_OTHER,
	HP_METHOD_GET,
	HP_METHOD_HEAD,
	HP_METHOD_POST,
	HP_METHOD_PUT,
	HP_METHOD_DELETE,
	HP_METHOD_PATCH,
	HP_METHOD_OPTIONS,
	HP_METHOD_TRACE,
	HP_METHOD_CONNECT,
	HP_METHOD_PURGE,
};

enum hp_http_body {
	HP_BODY_NONE,
	HP_BODY_LENGTH,
	HP_BODY_CHUNKED,
	HP_BODY_CLOSE, /* response only: delimited by the connection closing */
};

/* The request-target forms of RFC 9112 §3.2. */
enum hp_http_target_form {
	HP_TARGET_ORIGIN,    /* "/path?query" */
	HP_TARGET_ABSOLUTE,  /* "http://host/path?query" */
	HP_TARGET_AUTHORITY, /* "host:port", CONNECT only */
	HP_TARGET_ASTERISK,  /* "*", OPTIONS only */
};

struct hp_http_header {
	struct hp_str name;  /* field name as sent (a token, case preserved) */
	struct hp_str value; /* without leading and trailing whitespace */
};

struct hp_http_limits {
	size_t max_request_line; /* bytes without the line end; longer -> 414 */
	size_t max_head_bytes;   /* bytes of the whole head; exceeded -> HP_ERR 431 (requests)
				    or HP_ERR (responses) even if the head is still incomplete */
	size_t max_headers;      /* capacity of the caller's header array; more fields -> 431 */
};

struct hp_http_request {
	struct hp_str method;            /* the method token, case-sensitive */
	enum hp_http_method method_id;   /* HP_METHOD_OTHER when not a known method */
	struct hp_str target;            /* request-target exactly as sent */
	enum hp_http_target_form form;   /* how <target> is written */
	struct hp_str path;              /* origin-form path, or taken from absolute-form (a
					    static "/" when the absolute URI has no path);
					    the authority for CONNECT, "*" for asterisk-form */
	struct hp_str query;             /* after '?', without it; len 0 when absent */
	int minor_version;               /* 0 or 1 (HTTP/1.2..1.9 are read as 1.1) */
	struct hp_http_header *headers;  /* = the caller's array */
	size_t num_headers;              /* fields stored in <headers> */
	struct hp_str host;              /* Host value, or the authority of an absolute-form or
					    CONNECT target; len 0 for HTTP/1.0 without Host */
	enum hp_http_body body;          /* NONE, LENGTH or CHUNKED */
	uint64_t content_length;         /* bytes, when body == HP_BODY_LENGTH */
	bool keep_alive;                 /* 1.1: unless "Connection: close"; 1.0: only with
					    "Connection: keep-alive" */
	bool expect_continue;            /* HTTP/1.1 with "Expect: 100-continue" */
	int error_status;                /* on HP_ERR: 400, 414, 431, 501 or 505 */
	const char *error_reason;        /* on HP_ERR: short static text */
};

/*
 * Parse a request head from <buf>[0..<len>). Returns the head length in bytes
 * (>0, the final empty line included; pipelined bytes after it are not looked
 * at) when the head is complete, HP_AGAIN when more bytes are needed, HP_ERR
 * when malformed (error_status and error_reason set). Views in *<req> point
 * into <buf>; <headers> must hold <lim>->max_headers entries. Apart from the
 * error fields, *<req> is meaningful only after a positive return.
 */
int hp_http_parse_request(const char *buf, size_t len, struct hp_http_request *req,
			  struct hp_http_header *headers, const struct hp_http_limits *lim);

struct hp_http_response {
	int minor_version;              /* 0 or 1 */
	int status;                     /* 100..999 */
	struct hp_str reason;           /* reason phrase, possibly empty */
	struct hp_http_header *headers; /* = the caller's array */
	size_t num_headers;             /* fields stored in <headers> */
	enum hp_http_body body;         /* framing per RFC 9112 §6.3 given the request method */
	uint64_t content_length;        /* bytes, when body == HP_BODY_LENGTH */
	bool keep_alive;                /* the connection may be reused after this response */
	const char *error_reason;       /* on HP_ERR: short static text */
};

/*
 * Parse a response head to a request with method <req_method>, which decides
 * the framing: no body after HEAD, for 1xx, 204 and 304, and for a 2xx to
 * CONNECT (the connection becomes a tunnel, so keep_alive is false). A final
 * "chunked" coding gives HP_BODY_CHUNKED (codings before it are not decoded),
 * any other Transfer-Encoding or no framing field at all HP_BODY_CLOSE.
 * Transfer-Encoding with Content-Length, several or invalid Content-Length
 * fields are HP_ERR: a proxy must not forward such a response. Same return
 * convention and views as hp_http_parse_request(). A status line without a
 * reason phrase and without its SP ("HTTP/1.1 200\r\n") is accepted.
 */
int hp_http_parse_response(const char *buf, size_t len, struct hp_http_response *resp,
			   struct hp_http_header *headers, const struct hp_http_limits *lim,
			   enum hp_http_method req_method);

/* Incremental chunked-body decoder (RFC 9112 §7.1); zero-initialise it before the first
 * call. Chunk extensions are checked for characters and bounded in length but not
 * interpreted; trailer fields are validated like header fields, then dropped. Lenient
 * by default (a bare LF ends a line, as in heads), which suits responses; <strict>,
 * set before the first call, makes every line end CRLF, as a request body forwarded
 * to an origin must be (an origin that reads the framing differently would see
 * another request in the body). */
struct hp_http_chunked {
	bool strict;         /* CRLF only: a bare LF is an error */
	/* private */
	int _state;          /* enum chunk_state in chunked.c */
	uint64_t _remaining; /* bytes of the current chunk still to come, or its size so far */
	size_t _count;       /* bytes of the current chunk-ext, or of the trailer section */
};

typedef void hp_http_chunk_fn(void *arg, const char *data, size_t len);

/*
 * Feed <len> bytes of a chunked body. Returns how many bytes belong to the
 * chunked body (<= <len>; all of them unless the body ended): when the last
 * chunk and the trailer section are complete, *<done> is set true and the
 * bytes after the returned count belong to the next message. Returns HP_ERR
 * on malformed input (non-hex or overflowing size, missing CRLF, bare CR, a bare
 * LF when strict, bad
 * trailer field, chunk-ext over 4 KiB or trailer section over 16 KiB); the
 * decoder then stays failed. <on_data> (may be NULL) receives each run of
 * decoded payload bytes, a view into <buf>. Any split of the input gives the
 * same result and the same payload bytes.
 */
ssize_t hp_http_chunked_feed(struct hp_http_chunked *c, const char *buf, size_t len,
			     bool *done, hp_http_chunk_fn *on_data, void *arg);

/* ==== Field helpers ==== */

/* What an Authorization field says against an expected bearer token. */
enum hp_http_bearer {
	HP_BEARER_ABSENT,    /* no Authorization: Bearer field */
	HP_BEARER_WRONG,     /* a bearer token, not the one expected */
	HP_BEARER_OK,
};
/*
 * Check the Authorization fields of h[0..n) for "Bearer <token>" (RFC 6750
 * §2.1; the scheme case-insensitive). The comparison takes the same time
 * whatever the bytes of the presented token, so timing tells an attacker
 * nothing of how much of a guess was right.
 */
enum hp_http_bearer hp_http_check_bearer(const struct hp_http_header *h, size_t n,
					 const char *token);

/* The client address behind trusted proxies (nginx realip with
 * real_ip_recursive on): when <*addr> (the connection's peer) is one of
 * the <ntrusted> <trusted> ranges, the right-most address of the
 * X-Forwarded-For fields of h[0..n) that is not trusted, or the left-most
 * one when all are; an element that is not an address ends the walk at
 * the address before it. Ports after an address are ignored. Replaces
 * <*addr> and returns true when that gives another address. */
bool hp_http_forwarded_client(const struct hp_http_header *h, size_t n,
			      const struct hp_cidr *trusted, size_t ntrusted,
			      struct sockaddr_storage *addr);

/* The first field of h[0..n) named <name> (ASCII case-insensitive), or NULL. */
const struct hp_http_header *hp_http_find_header(const struct hp_http_header *h, size_t n,
						 const char *name);
/* Whether the comma-separated list <value> has an element equal to <token>,
 * ASCII case-insensitive (e.g. "close" in a Connection value). */
bool hp_http_has_token(struct hp_str value, const char *token);
/* The same, for a token that is itself a view (a field name, say). */
bool hp_http_list_has(struct hp_str list, struct hp_str token);
/* Whether <name> is a hop-by-hop field a proxy must not forward: Connection,
 * Keep-Alive, Proxy-Connection, TE, Transfer-Encoding, Upgrade, Trailer
 * (RFC 9110 §7.6.1). Fields named by Connection: see below. */
bool hp_http_is_hop_by_hop(struct hp_str name);
/* Whether <name> is listed in any Connection field of h[0..n), which makes it
 * hop-by-hop too. */
bool hp_http_connection_lists(const struct hp_http_header *h, size_t n, struct hp_str name);
/* The reason phrase of <status> ("Not Found"); "Unknown" if it has none. */
const char *hp_http_status_reason(int status);
/* The id of a method token (case-sensitive, RFC 9110 §9.1); HP_METHOD_OTHER if unknown. */
enum hp_http_method hp_http_method_from(struct hp_str method);
/* RFC 9110 §9.2.1: GET, HEAD, OPTIONS, TRACE. */
bool hp_http_method_is_safe(enum hp_http_method m);
/* RFC 9110 §9.2.2: the safe methods, PUT and DELETE. */
bool hp_http_method_is_idempotent(enum hp_http_method m);
/* Whether <host> is uri-host [ ":" port ] per RFC 3986: a reg-name (unreserved,
 * sub-delims, %XX), an IPv4 address or a bracketed IPv6/IPvFuture literal,
 * then an optional port of at most 65535. No userinfo; an empty host is
 * refused, since a proxy cannot route it. */
bool hp_http_valid_host(struct hp_str host);

/* ==== Cache-Control (RFC 9111 §5.2) ==== */

struct hp_http_cache_control {
	bool no_store, no_cache, private_, public_, must_revalidate, proxy_revalidate,
	     only_if_cached, no_transform, immutable, must_understand;
	struct hp_str no_cache_fields; /* qualified no-cache="a, b" (len 0 if unqualified) */
	struct hp_str private_fields;  /* qualified private="a" (len 0 if unqualified) */
	int64_t max_age;               /* seconds, -1 absent */
	int64_t s_maxage;              /* seconds, -1 absent */
	int64_t min_fresh;             /* seconds, -1 absent */
	int64_t stale_while_revalidate;/* seconds, -1 absent (RFC 5861) */
	int64_t stale_if_error;        /* seconds, -1 absent (RFC 5861) */
	int64_t max_stale;             /* seconds, -1 absent, INT64_MAX for bare max-stale */
};

/*
 * Parse all Cache-Control fields of h[0..n) together into *<out>. Directive
 * names are case-insensitive; unknown directives are ignored; the first
 * occurrence of a directive wins, except that an unqualified no-cache or
 * private overrides a qualified one. Seconds accept the token or the quoted
 * form and saturate at 2^31 (§1.2.2). A directive with an invalid argument is
 * treated as absent, except that an invalid max-age gives max_age = 0 (stale,
 * §4.2.1). Field lists are raw views into the header values (quoted-pair
 * escapes kept).
 */
void hp_http_parse_cache_control(const struct hp_http_header *h, size_t n,
				 struct hp_http_cache_control *out);
/*
 * Parse the targeted cache-control fields called <name> in h[0..n) (RFC 9213,
 * e.g. CDN-Cache-Control): an RFC 8941 Dictionary whose members are the
 * Cache-Control directives (max-age=60, no-store, private, s-maxage,
 * stale-while-revalidate...; a ?0 member counts as absent, a negative or
 * decimal number as an invalid argument). Returns true with *<out> filled
 * when the fields are present, valid and not empty; false otherwise, when the
 * cache must behave as if there were none (§2.1), and *<out> is then unusable.
 */
bool hp_http_parse_targeted_cache_control(const struct hp_http_header *h, size_t n,
					  const char *name, struct hp_http_cache_control *out);

/* ==== Range (RFC 9110 §14) ==== */

enum hp_http_range {
	HP_RANGE_IGNORE,        /* no usable single byte range: send the whole representation */
	HP_RANGE_OK,            /* send bytes [*first, *last] with 206 */
	HP_RANGE_UNSATISFIABLE, /* answer 416 with Content-Range: bytes * / <len> */
};
/*
 * Evaluate the Range field value <v> against a representation of <len>
 * bytes. Only one "bytes" range is served ("a-b", "a-", "-n"); several
 * ranges, another unit or bad syntax are ignored, as §14.2 allows. A last
 * position past the end is clipped; a suffix longer than the body means all
 * of it.
 */
enum hp_http_range hp_http_parse_range(struct hp_str v, uint64_t len, uint64_t *first,
				       uint64_t *last);

#endif
