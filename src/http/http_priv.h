/* SPDX-License-Identifier: MIT */
/*
 * http_priv.h - what the files of src/http/ share and nobody else uses: the
 * byte-class table, the field-line and line-end scanners used by both head
 * parsers and by the chunked trailer, and Transfer-Encoding classification.
 */
#ifndef HP_HTTP_HTTP_PRIV_H
#define HP_HTTP_HTTP_PRIV_H

#include "http/http.h"

/* Byte classes, bits of hp_http_ctype[]. */
#define HP_CT_TCHAR 0x01  /* token character (RFC 9110 §5.6.2) */
#define HP_CT_VALUE 0x02  /* field-value byte: VCHAR, SP, HTAB, obs-text */
#define HP_CT_TARGET 0x04 /* request-target byte: VCHAR (no CTL, SP, DEL, >= 0x80) */
#define HP_CT_HEX 0x08    /* HEXDIG */
#define HP_CT_HOST 0x10   /* reg-name byte: unreserved / sub-delims (not '%') */

extern const unsigned char hp_http_ctype[256];

#define HP_IS(c, cls) ((hp_http_ctype[(unsigned char)(c)] & (cls)) != 0)

/* An error found while parsing: the status a server should answer with. */
struct hp_http_err {
	int status;         /* 400, 414, 431, 501 or 505 */
	const char *reason; /* short static text */
};

/* Returns HP_ERR after recording <status> and <reason> in *<err>. */
int hp_http_fail(struct hp_http_err *err, int status, const char *reason);

/*
 * Consume a line end (CRLF or bare LF) at *<pp>. Returns HP_OK and advances,
 * HP_AGAIN if *<pp> == <end> or only the CR has arrived, HP_ERR (400) if the
 * byte there is not a line end or the CR is not followed by LF.
 */
int hp_http_parse_eol(const char **pp, const char *end, struct hp_http_err *err);

/*
 * Parse the field lines starting at *<pp> up to and including the empty line
 * that ends the section, storing at most <max> of them in <headers>. Returns
 * HP_OK with *<pp> past the empty line and *<num> set, HP_AGAIN if <end> is
 * reached first, HP_ERR with *<err> set (431 for a field beyond <max>).
 */
int hp_http_parse_fields(const char **pp, const char *end, struct hp_http_header *headers,
			 size_t max, size_t *num, struct hp_http_err *err);

/* How the Transfer-Encoding fields of a message frame it (RFC 9112 §6.1). */
enum hp_http_te {
	HP_TE_NONE,          /* no Transfer-Encoding field */
	HP_TE_CHUNKED,       /* exactly "chunked" */
	HP_TE_CODED_CHUNKED, /* other codings, then a final "chunked" */
	HP_TE_NOT_FINAL,     /* the final coding is not "chunked" */
	HP_TE_INVALID,       /* empty list, or "chunked" applied twice */
};

/*
 * Framing fields of a head, collected in one pass over the parsed fields
 * by hp_http_scan_framing(): HP_OK with *<f> filled, or HP_ERR with *<err>
 * set (400) for several Content-Length fields or an invalid value.
 */
struct hp_http_framing {
	enum hp_http_te te;
	bool has_length;          /* one valid Content-Length field */
	uint64_t content_length;  /* bytes, when has_length */
	bool conn_close;          /* "close" in a Connection field */
	bool conn_keep_alive;     /* "keep-alive" in a Connection field */
	const struct hp_http_header *host; /* the first Host field, or NULL */
	unsigned host_count;      /* Host fields seen */
	bool expect_continue;     /* "Expect: 100-continue" */
};

int hp_http_scan_framing(const struct hp_http_header *h, size_t n,
			 struct hp_http_framing *f, struct hp_http_err *err);

/* Parse "HTTP/" DIGIT "." DIGIT at *<pp>: HP_OK with the digits, HP_AGAIN, or HP_ERR. */
int hp_http_parse_version(const char **pp, const char *end, int *major, int *minor,
			  struct hp_http_err *err);

#endif
