/* SPDX-License-Identifier: MIT */
/*
 * head.c - the pieces both head parsers share: the byte-class table, line
 * ends, the HTTP version, field lines and the scan of framing fields.
 *
 * Scanners take a cursor and an end and return HP_OK (cursor advanced),
 * HP_AGAIN (the end was reached before a decision) or HP_ERR. They decide
 * on each byte as soon as it is seen and never look past <end>, which is
 * what makes one-shot and byte-by-byte parsing agree and lets callers clamp
 * <end> to enforce a length limit.
 */
#include "http/http_priv.h"

/*
 * Bits: 0x01 tchar, 0x02 field-value byte, 0x04 request-target byte,
 * 0x08 HEXDIG, 0x10 reg-name byte (unreserved / sub-delims).
 * CR and LF are in no class: every scanner stops on them.
 */
const unsigned char hp_http_ctype[256] = {
	/* 00 */  0,  0,  0,  0,  0,  0,  0,  0,  0,  2,  0,  0,  0,  0,  0,  0,
	/* 10 */  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	/* 20 */  2, 23,  6,  7, 23,  7, 23, 23, 22, 22, 23, 23, 22, 23, 23,  6,
	/* 30 */ 31, 31, 31, 31, 31, 31, 31, 31, 31, 31,  6, 22,  6, 22,  6,  6,
	/* 40 */  6, 31, 31, 31, 31, 31, 31, 23, 23, 23, 23, 23, 23, 23, 23, 23,
	/* 50 */ 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23,  6,  6,  6,  7, 23,
	/* 60 */  7, 31, 31, 31, 31, 31, 31, 23, 23, 23, 23, 23, 23, 23, 23, 23,
	/* 70 */ 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23,  6,  7,  6, 23,  0,
	/* 80 */  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
	/* 90 */  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
	/* a0 */  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
	/* b0 */  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
	/* c0 */  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
	/* d0 */  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
	/* e0 */  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
	/* f0 */  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
};

int hp_http_fail(struct hp_http_err *err, int status, const char *reason)
{
	err->status = status;
	err->reason = reason;
	return HP_ERR;
}

int hp_http_parse_eol(const char **pp, const char *end, struct hp_http_err *err)
{
	const char *p = *pp;

	if (p == end)
		return HP_AGAIN;
	if (*p == '\n') {
		*pp = p + 1;
		return HP_OK;
	}
	if (*p != '\r')
		return hp_http_fail(err, 400, "invalid line end");
	if (p + 1 == end)
		return HP_AGAIN;
	if (p[1] != '\n')
		return hp_http_fail(err, 400, "bare CR");
	*pp = p + 2;
	return HP_OK;
}

int hp_http_parse_version(const char **pp, const char *end, int *major, int *minor,
			  struct hp_http_err *err)
{
	static const char pattern[] = "HTTP/0.0"; /* '0' stands for any digit */
	const char *p = *pp;

	for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
		if (p + i == end)
			return HP_AGAIN;
		bool ok = pattern[i] == '0' ? (p[i] >= '0' && p[i] <= '9') : p[i] == pattern[i];
		if (!ok)
			return hp_http_fail(err, 400, "invalid HTTP version");
	}
	*major = p[5] - '0';
	*minor = p[7] - '0';
	*pp = p + sizeof(pattern) - 1;
	return HP_OK;
}

/* ==== Field lines ==== */

/*
 * Whether none of the 8 bytes in <x> is below 0x20 or equal to 0x7f, the
 * bytes a field value may not hold (HTAB aside). The "has a byte less than
 * n" test is exact for n <= 128 (Anderson's bit hacks), whatever the byte
 * order, so a word that passes needs no further look.
 */
static bool word_is_value(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull;
	const uint64_t highs = 0x8080808080808080ull;
	uint64_t del = x ^ (ones * 0x7f);

	return (((x - ones * 0x20) & ~x) | ((del - ones) & ~del)) & highs ? false : true;
}

/* The first byte at or after <p> that cannot be in a field value. Values
 * are the bulk of a head (cookies, user agents), so they are checked a word
 * at a time; a word that fails, perhaps only for an HTAB, goes through the
 * table byte by byte. */
static const char *scan_value(const char *p, const char *end)
{
	for (;;) {
		uint64_t x;
		while (end - p >= 8 && (memcpy(&x, p, 8), word_is_value(x)))
			p += 8;
		const char *stop = end - p >= 8 ? p + 8 : end;
		for (; p < stop; p++)
			if (!HP_IS(*p, HP_CT_VALUE))
				return p;
		if (p == end)
			return p;
	}
}

/* Why a field name starting at <name> stopped at <p>, which is not ':'. */
static int bad_name(const char *name, const char *p, struct hp_http_err *err)
{
	bool ws = *p == ' ' || *p == '\t';

	if (p == name && ws)
		return hp_http_fail(err, 400, "obs-fold or line starting with whitespace");
	if (ws)
		return hp_http_fail(err, 400, "whitespace before colon");
	if (*p == '\r' || *p == '\n')
		return hp_http_fail(err, 400, "field line without colon");
	return hp_http_fail(err, 400, "invalid character in field name");
}

static int parse_field_line(const char **pp, const char *end, struct hp_http_header *h,
			    struct hp_http_err *err)
{
	const char *p = *pp;
	const char *name = p;

	while (p < end && HP_IS(*p, HP_CT_TCHAR))
		p++;
	if (p == end)
		return HP_AGAIN;
	if (*p != ':')
		return bad_name(name, p, err);
	if (p == name)
		return hp_http_fail(err, 400, "empty field name");
	h->name = (struct hp_str){name, (size_t)(p - name)};

	p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	const char *value = p;
	p = scan_value(p, end);
	if (p == end)
		return HP_AGAIN;
	if (*p != '\r' && *p != '\n')
		return hp_http_fail(err, 400, "invalid character in field value");
	const char *vend = p;
	while (vend > value && (vend[-1] == ' ' || vend[-1] == '\t'))
		vend--;
	h->value = (struct hp_str){value, (size_t)(vend - value)};
	int rv = hp_http_parse_eol(&p, end, err);
	if (rv == HP_OK)
		*pp = p;
	return rv;
}

int hp_http_parse_fields(const char **pp, const char *end, struct hp_http_header *headers,
			 size_t max, size_t *num, struct hp_http_err *err)
{
	const char *p = *pp;
	size_t n = 0;

	for (;;) {
		if (p == end)
			return HP_AGAIN;
		if (*p == '\r' || *p == '\n')
			break;
		if (n == max)
			return hp_http_fail(err, 431, "too many header fields");
		int rv = parse_field_line(&p, end, &headers[n], err);
		if (rv != HP_OK)
			return rv;
		n++;
	}
	int rv = hp_http_parse_eol(&p, end, err);
	if (rv != HP_OK)
		return rv;
	*pp = p;
	*num = n;
	return HP_OK;
}

/* ==== Framing fields ==== */

/*
 * Compare a field name with a lowercase literal of the same length. Names
 * are tokens, and the only byte that OR 0x20 maps onto a token character
 * without being one is CR ('-'), which a name never holds.
 */
static bool name_is(struct hp_str name, const char *lit, size_t len)
{
	if (name.len != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((name.ptr[i] | 0x20) != lit[i])
			return false;
	return true;
}

#define NAME_IS(name, lit) name_is((name), (lit), sizeof(lit) - 1)

/* Transfer-Encoding elements seen so far, over all fields of the head. */
struct te_state {
	bool seen;           /* a Transfer-Encoding field exists */
	unsigned elements;   /* codings listed */
	unsigned chunked;    /* of which "chunked" */
	bool last_chunked;   /* the last coding listed is "chunked" */
};

static void add_te(struct te_state *te, struct hp_str value)
{
	size_t pos = 0;
	struct hp_str coding;

	te->seen = true;
	while (hp_str_next_token(value, &pos, &coding)) {
		te->elements++;
		te->last_chunked = hp_str_ieq(coding, "chunked");
		te->chunked += te->last_chunked;
	}
}

static enum hp_http_te classify_te(const struct te_state *te)
{
	if (!te->seen)
		return HP_TE_NONE;
	if (te->elements == 0 || te->chunked > 1)
		return HP_TE_INVALID;
	if (!te->last_chunked)
		return HP_TE_NOT_FINAL;
	return te->elements == 1 ? HP_TE_CHUNKED : HP_TE_CODED_CHUNKED;
}

static int add_length(struct hp_http_framing *f, struct hp_str value, struct hp_http_err *err)
{
	/* RFC 9110 §8.6 lets identical duplicates through; we do not, since a
	 * peer that merges them differently is exactly how smuggling starts. */
	if (f->has_length)
		return hp_http_fail(err, 400, "several Content-Length fields");
	if (!hp_str_to_u64(value, INT64_MAX, &f->content_length))
		return hp_http_fail(err, 400, "invalid Content-Length");
	f->has_length = true;
	return HP_OK;
}

int hp_http_scan_framing(const struct hp_http_header *h, size_t n,
			 struct hp_http_framing *f, struct hp_http_err *err)
{
	struct te_state te = {0};

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < n; i++) {
		struct hp_str name = h[i].name;
		struct hp_str value = h[i].value;

		if (NAME_IS(name, "host")) {
			if (f->host_count++ == 0)
				f->host = &h[i];
		} else if (NAME_IS(name, "content-length")) {
			if (add_length(f, value, err) != HP_OK)
				return HP_ERR;
		} else if (NAME_IS(name, "transfer-encoding")) {
			add_te(&te, value);
		} else if (NAME_IS(name, "connection")) {
			f->conn_close |= hp_http_has_token(value, "close");
			f->conn_keep_alive |= hp_http_has_token(value, "keep-alive");
		} else if (NAME_IS(name, "expect")) {
			f->expect_continue |= hp_str_ieq(value, "100-continue");
		}
	}
	f->te = classify_te(&te);
	return HP_OK;
}
