/* SPDX-License-Identifier: MIT */
/*
 * format.c - one stored response as one Redis string. Fixed-width
 * little-endian integers and length-prefixed strings, in this order:
 *
 *   u8  version (HP_L2_FORMAT_VERSION)   u8 reserved (0)   u16 status
 *   i64 response_time   i64 initial_age_s   i64 expires   i64 swr_s   i64 sie_s
 *   u32 variant length, variant bytes
 *   u32 field count, then per field: u32 name length, name, u32 value length, value
 *   u64 body length, body bytes (nothing after them)
 *
 * The version byte comes first so that instances of another version see a
 * miss rather than garbage; any change of layout bumps it. Decoding never
 * copies: the views point into the Redis reply, which the caller keeps
 * while it uses them.
 */
#include <ctype.h>
#include <string.h>

#include "l2/l2.h"

/* ==== Encoding ==== */

static void put_u(struct hp_buf *out, uint64_t v, unsigned bytes)
{
	char b[8];
	for (unsigned i = 0; i < bytes; i++)
		b[i] = (char)(v >> (8 * i));
	hp_buf_append(out, b, bytes);
}

static void put_str(struct hp_buf *out, struct hp_str s)
{
	put_u(out, s.len, 4);
	hp_buf_append(out, s.ptr, s.len);
}

void hp_l2_encode_head(struct hp_buf *out, const struct hp_l2_object *o)
{
	put_u(out, HP_L2_FORMAT_VERSION, 1);
	put_u(out, 0, 1);
	put_u(out, (uint64_t)o->status, 2);
	put_u(out, (uint64_t)o->response_time, 8);
	put_u(out, (uint64_t)o->initial_age_s, 8);
	put_u(out, (uint64_t)o->expires, 8);
	put_u(out, (uint64_t)o->swr_s, 8);
	put_u(out, (uint64_t)o->sie_s, 8);
	put_str(out, o->variant);
	put_u(out, o->nfields, 4);
	for (size_t i = 0; i < o->nfields; i++) {
		put_str(out, o->fields[i].name);
		put_str(out, o->fields[i].value);
	}
	put_u(out, o->body_len, 8);
}

void hp_l2_encode(struct hp_buf *out, const struct hp_l2_object *o)
{
	hp_l2_encode_head(out, o);
	if (o->body_len > 0)
		hp_buf_append(out, o->body, (size_t)o->body_len);
}

/* ==== Decoding ==== */

struct reader {
	const unsigned char *p;
	size_t left;
	bool short_read;               /* a length ran past the end: stays set */
};

static uint64_t get_u(struct reader *r, unsigned bytes)
{
	if (r->short_read || r->left < bytes) {
		r->short_read = true;
		return 0;
	}
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += bytes;
	r->left -= bytes;
	return v;
}

static const char *get_bytes(struct reader *r, uint64_t n)
{
	if (r->short_read || r->left < n) {
		r->short_read = true;
		return NULL;
	}
	const char *at = (const char *)r->p;
	r->p += n;
	r->left -= (size_t)n;
	return at;
}

static struct hp_str get_str(struct reader *r)
{
	uint64_t n = get_u(r, 4);
	const char *at = get_bytes(r, n);
	return at != NULL ? (struct hp_str){at, (size_t)n} : (struct hp_str){"", 0};
}

enum hp_l2_decode hp_l2_decode(const char *p, size_t len, struct hp_l2_object *o,
			       struct hp_http_header *fields, size_t max_fields)
{
	struct reader r = {(const unsigned char *)p, len, false};
	*o = (struct hp_l2_object){0};
	uint64_t version = get_u(&r, 1);
	if (r.short_read)
		return HP_L2_DECODE_TRUNCATED;
	if (version != HP_L2_FORMAT_VERSION)
		return HP_L2_DECODE_VERSION;
	(void)get_u(&r, 1);
	o->status = (int)get_u(&r, 2);
	o->response_time = (int64_t)get_u(&r, 8);
	o->initial_age_s = (int64_t)get_u(&r, 8);
	o->expires = (int64_t)get_u(&r, 8);
	o->swr_s = (int64_t)get_u(&r, 8);
	o->sie_s = (int64_t)get_u(&r, 8);
	o->variant = get_str(&r);
	uint64_t n = get_u(&r, 4);
	if (r.short_read)
		return HP_L2_DECODE_TRUNCATED;
	if (n > max_fields)
		return HP_L2_DECODE_TOO_MANY_FIELDS;
	for (size_t i = 0; i < n; i++) {
		fields[i].name = get_str(&r);
		fields[i].value = get_str(&r);
	}
	o->fields = fields;
	o->nfields = (size_t)n;
	o->body_len = get_u(&r, 8);
	o->body = get_bytes(&r, o->body_len);
	if (r.short_read)
		return HP_L2_DECODE_TRUNCATED;
	return r.left == 0 ? HP_L2_DECODE_OK : HP_L2_DECODE_TRAILING;
}

const char *hp_l2_decode_strerror(enum hp_l2_decode r)
{
	switch (r) {
	case HP_L2_DECODE_OK:
		return "ok";
	case HP_L2_DECODE_TRUNCATED:
		return "truncated";
	case HP_L2_DECODE_VERSION:
		return "another format version";
	case HP_L2_DECODE_TOO_MANY_FIELDS:
		return "too many fields";
	case HP_L2_DECODE_TRAILING:
		return "bytes after the body";
	}
	return "?";
}

/* ==== Variant key ==== */

static void append_lower(struct hp_buf *out, struct hp_str s)
{
	for (size_t i = 0; i < s.len; i++)
		hp_buf_append_byte(out, (char)tolower((unsigned char)s.ptr[i]));
}

/* Each name of one Vary value (a comma-separated list). */
static bool add_vary_list(struct hp_buf *out, struct hp_str list,
			  const struct hp_http_header *req, size_t nreq)
{
	size_t i = 0;
	while (i < list.len) {
		size_t j = i;
		while (j < list.len && list.ptr[j] != ',')
			j++;
		struct hp_str name = hp_str_trim((struct hp_str){list.ptr + i, j - i});
		i = j + 1;
		if (name.len == 0)
			continue;
		if (name.len == 1 && name.ptr[0] == '*')
			return false;
		append_lower(out, name);
		hp_buf_append_byte(out, ':');
		/* Several fields of the name are one list, joined as the cache does. */
		bool first = true;
		for (size_t k = 0; k < nreq; k++) {
			if (!hp_str_ieq_str(req[k].name, name))
				continue;
			if (!first)
				hp_buf_append_byte(out, ',');
			hp_buf_append(out, req[k].value.ptr, req[k].value.len);
			first = false;
		}
		hp_buf_append_byte(out, '\n');
	}
	return true;
}

bool hp_l2_variant_key(struct hp_buf *out, const struct hp_http_header *resp, size_t nresp,
		       const struct hp_http_header *req, size_t nreq)
{
	for (size_t i = 0; i < nresp; i++) {
		if (hp_str_ieq(resp[i].name, "vary") && !add_vary_list(out, resp[i].value, req, nreq))
			return false;
	}
	return true;
}

/* ==== Invalidation messages ==== */

/* "HP1 " instance " " kind soft " " u32 length of a, a, b. */
void hp_l2_purge_encode(struct hp_buf *out, const struct hp_l2_purge *p)
{
	HP_BUF_APPEND_LIT(out, "HP1 ");
	hp_buf_append(out, p->instance.ptr, p->instance.len);
	hp_buf_append_byte(out, ' ');
	hp_buf_append_byte(out, p->kind);
	hp_buf_append_byte(out, p->soft ? '1' : '0');
	hp_buf_append_byte(out, ' ');
	put_u(out, p->a.len, 4);
	hp_buf_append(out, p->a.ptr, p->a.len);
	hp_buf_append(out, p->b.ptr, p->b.len);
}

bool hp_l2_purge_decode(const char *msg, size_t len, struct hp_l2_purge *p)
{
	*p = (struct hp_l2_purge){0};
	if (len < 4 || memcmp(msg, "HP1 ", 4) != 0)
		return false;
	const char *at = msg + 4, *end = msg + len;
	const char *sp = memchr(at, ' ', (size_t)(end - at));
	if (sp == NULL || end - sp < 4 + 4 || sp[3] != ' ')
		return false;
	p->instance = (struct hp_str){at, (size_t)(sp - at)};
	p->kind = sp[1];
	p->soft = sp[2] == '1';
	if (strchr("kpta", p->kind) == NULL || p->kind == '\0')
		return false;
	struct reader r = {(const unsigned char *)sp + 4, (size_t)(end - sp - 4), false};
	uint64_t alen = get_u(&r, 4);
	const char *a = get_bytes(&r, alen);
	if (r.short_read)
		return false;
	p->a = (struct hp_str){a, (size_t)alen};
	p->b = (struct hp_str){(const char *)r.p, r.left};
	return true;
}

/* ==== The purge journal ==== */

/* u64 wall time of the purge, then its message. */
void hp_l2_journal_entry(struct hp_buf *out, int64_t at, const char *msg, size_t len)
{
	put_u(out, (uint64_t)at, 8);
	hp_buf_append(out, msg, len);
}

bool hp_l2_journal_entry_decode(const char *e, size_t len, int64_t *at, struct hp_l2_purge *p)
{
	struct reader r = {(const unsigned char *)e, len, false};
	*at = (int64_t)get_u(&r, 8);
	return !r.short_read && hp_l2_purge_decode((const char *)r.p, r.left, p);
}

void hp_l2_journal_pack(struct hp_buf *out, const char *entry, size_t len)
{
	put_str(out, (struct hp_str){entry, len});
}

bool hp_l2_journal_unpack(const char **cur, const char *end, struct hp_str *entry)
{
	struct reader r = {(const unsigned char *)*cur, (size_t)(end - *cur), false};
	if (r.left == 0)
		return false;
	*entry = get_str(&r);
	if (r.short_read)
		return false;
	*cur = (const char *)r.p;
	return true;
}
