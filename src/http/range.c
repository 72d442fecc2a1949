/* SPDX-License-Identifier: MIT */
/*
 * range.c - the Range request field (RFC 9110 §14.1.2), evaluated against a
 * stored representation of known length, for serving 206 from the cache.
 *
 * Only a single byte range is honoured: multipart/byteranges responses are
 * rare in practice and §14.2 lets a server answer the whole representation
 * instead, which is always correct.
 */
#include "http/http.h"

/* A run of digits at <*pos> into <*out>; false if none, or on overflow. */
static bool take_number(struct hp_str s, size_t *pos, uint64_t *out)
{
	size_t start = *pos;
	uint64_t v = 0;
	while (*pos < s.len && s.ptr[*pos] >= '0' && s.ptr[*pos] <= '9') {
		unsigned d = (unsigned)(s.ptr[*pos] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		(*pos)++;
	}
	*out = v;
	return *pos > start;
}

/* One range-spec (already trimmed) against <len>. */
static enum hp_http_range one_range(struct hp_str spec, uint64_t len, uint64_t *first,
				    uint64_t *last)
{
	size_t pos = 0;
	uint64_t a, b;
	if (spec.len > 0 && spec.ptr[0] == '-') {
		pos = 1;
		if (!take_number(spec, &pos, &b) || pos != spec.len)
			return HP_RANGE_IGNORE;
		if (b == 0 || len == 0)
			return HP_RANGE_UNSATISFIABLE;
		*first = b >= len ? 0 : len - b;
		*last = len - 1;
		return HP_RANGE_OK;
	}
	if (!take_number(spec, &pos, &a) || pos >= spec.len || spec.ptr[pos] != '-')
		return HP_RANGE_IGNORE;
	pos++;
	b = UINT64_MAX;
	if (pos < spec.len && (!take_number(spec, &pos, &b) || pos != spec.len))
		return HP_RANGE_IGNORE;
	if (b < a)
		return HP_RANGE_IGNORE; /* invalid: §14.1.1 */
	if (a >= len)
		return HP_RANGE_UNSATISFIABLE;
	*first = a;
	*last = b >= len ? len - 1 : b;
	return HP_RANGE_OK;
}

enum hp_http_range hp_http_parse_range(struct hp_str v, uint64_t len, uint64_t *first,
				       uint64_t *last)
{
	v = hp_str_trim(v);
	struct hp_str set = v;
	if (!hp_str_iskip_prefix(&set, "bytes="))
		return HP_RANGE_IGNORE;
	size_t pos = 0;
	struct hp_str spec;
	if (!hp_str_next_token(set, &pos, &spec))
		return HP_RANGE_IGNORE;
	struct hp_str another;
	if (hp_str_next_token(set, &pos, &another))
		return HP_RANGE_IGNORE; /* several ranges: the whole body instead */
	return one_range(spec, len, first, last);
}
