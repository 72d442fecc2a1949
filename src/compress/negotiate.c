/* SPDX-License-Identifier: MIT */
/*
 * negotiate.c - which coding a response gets (RFC 9110 §12.5.3), and
 * whether its media type is worth compressing.
 *
 * Accept-Encoding is a list of "coding [; q=value]" elements. Each coding
 * we know gets the q-value it is listed with, else the q of "*", else 0
 * (not acceptable); q=0 refuses, so "*;q=0" refuses everything not named.
 * The best q among the server's codings wins, ties going to the server's
 * order: "gzip, br" is br for a server that prefers br, as browsers
 * expect. identity wins only when listed with a higher q than that.
 * q-values are kept in thousandths, as their syntax has three decimals.
 */
#include <string.h>
#include <strings.h>

#include "compress/compress.h"

/* No q-value seen for a coding. */
#define Q_UNSET (-1)

struct accept {
	int q[HP_ENC_COUNT];           /* thousandths, or Q_UNSET */
	int star;                      /* q of "*", or Q_UNSET */
};

static bool is_ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths;
 * -1 if <v> is not one. */
static int parse_qvalue(struct hp_str v)
{
	if (v.len == 0 || (v.ptr[0] != '0' && v.ptr[0] != '1'))
		return -1;
	int q = (v.ptr[0] - '0') * 1000;
	if (v.len == 1)
		return q;
	if (v.ptr[1] != '.' || v.len > 5)
		return -1;
	int scale = 100;
	for (size_t i = 2; i < v.len; i++, scale /= 10) {
		if (v.ptr[i] < '0' || v.ptr[i] > '9')
			return -1;
		q += (v.ptr[i] - '0') * scale;
	}
	return q > 1000 ? -1 : q;
}

/* The q-value of one element's parameters "; q=0.5; x=y" (1000 if none);
 * -1 if its q is malformed. */
static int element_q(struct hp_str params)
{
	int q = 1000;
	while (params.len > 0) {
		const char *semi = memchr(params.ptr, ';', params.len);
		size_t plen = semi ? (size_t)(semi - params.ptr) : params.len;
		struct hp_str p = hp_str_trim((struct hp_str){params.ptr, plen});
		if (p.len >= 2 && (p.ptr[0] == 'q' || p.ptr[0] == 'Q') && p.ptr[1] == '=')
			q = parse_qvalue(hp_str_trim((struct hp_str){p.ptr + 2, p.len - 2}));
		if (q < 0)
			return -1;
		params.ptr += semi ? plen + 1 : plen;
		params.len -= semi ? plen + 1 : plen;
	}
	return q;
}

static void take_element(struct accept *a, struct hp_str el)
{
	const char *semi = memchr(el.ptr, ';', el.len);
	size_t tlen = semi ? (size_t)(semi - el.ptr) : el.len;
	struct hp_str token = hp_str_trim((struct hp_str){el.ptr, tlen});
	struct hp_str params = semi ? (struct hp_str){semi + 1, el.len - tlen - 1}
				    : (struct hp_str){NULL, 0};
	if (token.len == 0)
		return;
	int q = element_q(params);
	if (q < 0)
		return;
	if (token.len == 1 && token.ptr[0] == '*') {
		a->star = HP_MAX(a->star, q);
		return;
	}
	int enc = hp_compress_from_name(token);
	if (enc >= 0)
		a->q[enc] = HP_MAX(a->q[enc], q);
}

static void parse_accept(struct hp_str ae, struct accept *a)
{
	for (int i = 0; i < HP_ENC_COUNT; i++)
		a->q[i] = Q_UNSET;
	a->star = Q_UNSET;
	while (ae.len > 0) {
		const char *comma = memchr(ae.ptr, ',', ae.len);
		size_t elen = comma ? (size_t)(comma - ae.ptr) : ae.len;
		struct hp_str el = {ae.ptr, elen};
		while (el.len > 0 && is_ows(el.ptr[0])) {
			el.ptr++;
			el.len--;
		}
		take_element(a, el);
		ae.ptr += comma ? elen + 1 : elen;
		ae.len -= comma ? elen + 1 : elen;
	}
}

/* A coding's effective q: listed, else "*", else not acceptable. */
static int coding_q(const struct accept *a, enum hp_compress_enc enc)
{
	if (a->q[enc] != Q_UNSET)
		return a->q[enc];
	return a->star != Q_UNSET ? a->star : 0;
}

enum hp_compress_enc hp_compress_negotiate(struct hp_str ae, bool present,
					   const enum hp_compress_enc *prefs, size_t n)
{
	if (!present)
		return HP_ENC_IDENTITY;
	struct accept a;
	parse_accept(ae, &a);
	enum hp_compress_enc best = HP_ENC_IDENTITY;
	int best_q = 0;
	for (size_t i = 0; i < n; i++) {
		if (prefs[i] == HP_ENC_IDENTITY || (unsigned)prefs[i] >= HP_ENC_COUNT)
			continue;
		int q = coding_q(&a, prefs[i]);
		if (q > best_q) {
			best = prefs[i];
			best_q = q;
		}
	}
	if (best != HP_ENC_IDENTITY && a.q[HP_ENC_IDENTITY] > best_q)
		return HP_ENC_IDENTITY;
	return best;
}

bool hp_compress_accepts(struct hp_str ae, bool present, enum hp_compress_enc enc)
{
	if (enc == HP_ENC_IDENTITY)
		return true;
	if (!present)
		return false;
	struct accept a;
	parse_accept(ae, &a);
	return coding_q(&a, enc) > 0;
}

/* ==== Media types ==== */

static bool type_matches(struct hp_str mt, const char *pat)
{
	size_t plen = strlen(pat);
	if (plen >= 2 && pat[plen - 1] == '*' && pat[plen - 2] == '/')
		return mt.len > plen - 1 && strncasecmp(mt.ptr, pat, plen - 1) == 0;
	if (pat[0] == '+') {
		const char *slash = memchr(mt.ptr, '/', mt.len);
		return slash != NULL && mt.len > plen &&
		       (size_t)(slash - mt.ptr) < mt.len - plen &&
		       strncasecmp(mt.ptr + mt.len - plen, pat, plen) == 0;
	}
	return mt.len == plen && strncasecmp(mt.ptr, pat, plen) == 0;
}

bool hp_compress_type_matches(struct hp_str ct, char *const *types, size_t n)
{
	const char *semi = ct.ptr ? memchr(ct.ptr, ';', ct.len) : NULL;
	struct hp_str mt = hp_str_trim((struct hp_str){ct.ptr, semi ? (size_t)(semi - ct.ptr)
								  : ct.len});
	if (mt.len == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (types[i][0] != '\0' && type_matches(mt, types[i]))
			return true;
	return false;
}
