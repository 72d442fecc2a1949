/* SPDX-License-Identifier: MIT */
/*
 * cache_control.c - Cache-Control parsing (RFC 9111 §5.2, RFC 5861, RFC 8246).
 *
 *   Cache-Control   = #cache-directive
 *   cache-directive = token [ "=" ( token / quoted-string ) ]
 *
 * Directives from every Cache-Control field are read left to right. Junk is
 * skipped up to the next comma outside a quoted string, so one bad directive
 * never hides the ones after it (a hidden no-store would be a privacy bug).
 *
 * Targeted fields (RFC 9213: CDN-Cache-Control and the like) are Structured
 * Field Dictionaries (RFC 8941) with the same directives; they are parsed
 * strictly, since an invalid one must be ignored as a whole.
 */
#include "http/http_priv.h"

/* RFC 9111 §1.2.2: delta-seconds beyond 2^31 are read as 2^31. */
#define DELTA_SECONDS_MAX 2147483648LL

struct directive {
	struct hp_str name;
	struct hp_str arg; /* without the quotes of a quoted-string */
	bool has_arg;      /* "=" was present */
	bool arg_ok;       /* the argument is a token or a closed quoted-string */
};

static const char *skip_quoted(const char *p, const char *end, bool *closed)
{
	for (p++; p < end; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		else if (*p == '"')
			break;
	}
	*closed = p < end;
	return *closed ? p + 1 : end;
}

/* Read one directive at *pp; false at the end of the value. */
static bool next_directive(const char **pp, const char *end, struct directive *d)
{
	const char *p = *pp;

	while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
		p++;
	if (p == end)
		return false;
	memset(d, 0, sizeof(*d));
	const char *name = p;
	while (p < end && HP_IS(*p, HP_CT_TCHAR))
		p++;
	d->name = (struct hp_str){name, (size_t)(p - name)};
	if (p < end && *p == '=') {
		d->has_arg = true;
		const char *arg = ++p;
		if (p < end && *p == '"') {
			p = skip_quoted(p, end, &d->arg_ok);
			d->arg = (struct hp_str){arg + 1, d->arg_ok ? (size_t)(p - arg - 2) : 0};
		} else {
			while (p < end && HP_IS(*p, HP_CT_TCHAR))
				p++;
			d->arg = (struct hp_str){arg, (size_t)(p - arg)};
			d->arg_ok = d->arg.len > 0;
		}
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && *p != ',') {
		/* Junk before the next comma makes the argument invalid: the
		 * directive still counts, which errs towards not caching
		 * (no-store, no-cache), or it is dropped (s-maxage, max-stale). */
		bool closed;
		d->has_arg = true;
		d->arg_ok = false;
		while (p < end && *p != ',')
			p = *p == '"' ? skip_quoted(p, end, &closed) : p + 1;
	}
	*pp = p;
	return true;
}

/* delta-seconds = 1*DIGIT; -1 if <arg> is not one. */
static int64_t delta_seconds(struct hp_str arg)
{
	uint64_t v = 0;

	if (arg.len == 0)
		return -1;
	for (size_t i = 0; i < arg.len; i++) {
		unsigned d = (unsigned char)arg.ptr[i] - '0';
		if (d > 9)
			return -1;
		v = HP_MIN(v * 10 + d, (uint64_t)DELTA_SECONDS_MAX);
	}
	return (int64_t)v;
}

static void set_seconds(int64_t *field, const struct directive *d, int64_t if_invalid)
{
	if (*field != -1)
		return; /* the first occurrence wins */
	int64_t v = d->has_arg && d->arg_ok ? delta_seconds(d->arg) : -1;
	*field = v >= 0 ? v : if_invalid;
}

/* no-cache and private: bare, or with a quoted list of field names. An
 * unqualified one is the stronger statement, so it clears any list. */
static void set_qualified(bool *flag, struct hp_str *fields, bool *bare,
			  const struct directive *d)
{
	*flag = true;
	if (!d->has_arg) {
		*bare = true;
		fields->len = 0;
	} else if (d->arg_ok && !*bare && fields->len == 0) {
		*fields = d->arg;
	}
}

struct cc_state {
	struct hp_http_cache_control *cc;
	bool bare_no_cache; /* an unqualified no-cache was seen */
	bool bare_private;  /* an unqualified private was seen */
};

static void apply(struct cc_state *st, const struct directive *d)
{
	struct hp_http_cache_control *cc = st->cc;
	struct hp_str n = d->name;

	if (n.len == 0)
		return;
	if (hp_str_ieq(n, "max-age"))
		set_seconds(&cc->max_age, d, 0);
	else if (hp_str_ieq(n, "no-cache"))
		set_qualified(&cc->no_cache, &cc->no_cache_fields, &st->bare_no_cache, d);
	else if (hp_str_ieq(n, "no-store"))
		cc->no_store = true;
	else if (hp_str_ieq(n, "private"))
		set_qualified(&cc->private_, &cc->private_fields, &st->bare_private, d);
	else if (hp_str_ieq(n, "public"))
		cc->public_ = true;
	else if (hp_str_ieq(n, "s-maxage"))
		set_seconds(&cc->s_maxage, d, -1);
	else if (hp_str_ieq(n, "must-revalidate"))
		cc->must_revalidate = true;
	else if (hp_str_ieq(n, "proxy-revalidate"))
		cc->proxy_revalidate = true;
	else if (hp_str_ieq(n, "immutable"))
		cc->immutable = true;
	else if (hp_str_ieq(n, "stale-while-revalidate"))
		set_seconds(&cc->stale_while_revalidate, d, -1);
	else if (hp_str_ieq(n, "stale-if-error"))
		set_seconds(&cc->stale_if_error, d, -1);
	else if (hp_str_ieq(n, "min-fresh"))
		set_seconds(&cc->min_fresh, d, -1);
	else if (hp_str_ieq(n, "max-stale"))
		set_seconds(&cc->max_stale, d, d->has_arg ? -1 : INT64_MAX);
	else if (hp_str_ieq(n, "only-if-cached"))
		cc->only_if_cached = true;
	else if (hp_str_ieq(n, "no-transform"))
		cc->no_transform = true;
	else if (hp_str_ieq(n, "must-understand"))
		cc->must_understand = true;
}

void hp_http_parse_cache_control(const struct hp_http_header *h, size_t n,
				 struct hp_http_cache_control *out)
{
	struct cc_state st = {out, false, false};
	struct directive d;

	memset(out, 0, sizeof(*out));
	out->max_age = out->s_maxage = out->min_fresh = -1;
	out->stale_while_revalidate = out->stale_if_error = out->max_stale = -1;
	for (size_t i = 0; i < n; i++) {
		if (!hp_str_ieq(h[i].name, "cache-control"))
			continue;
		const char *p = h[i].value.ptr;
		const char *end = p + h[i].value.len;
		while (next_directive(&p, end, &d))
			apply(&st, &d);
	}
}

/* ==== Targeted fields (RFC 9213) ==== */

static bool is_lcalpha(char ch)
{
	return ch >= 'a' && ch <= 'z';
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ) */
static bool sf_key(const char **pp, const char *end, struct hp_str *key)
{
	const char *p = *pp;
	if (p == end || !(is_lcalpha(*p) || *p == '*'))
		return false;
	while (p < end && (is_lcalpha(*p) || is_digit(*p) || *p == '_' || *p == '-' ||
			   *p == '.' || *p == '*'))
		p++;
	*key = (struct hp_str){*pp, (size_t)(p - *pp)};
	*pp = p;
	return true;
}

/* A bare item: integer or decimal, string, token, byte sequence or boolean.
 * <arg> gets a directive's view of it: the digits of a non-negative integer,
 * a string's contents, a token; <truth> is false only for ?0. */
static bool sf_bare_item(const char **pp, const char *end, struct directive *d, bool *truth)
{
	const char *p = *pp;
	*truth = true;
	if (p == end)
		return false;
	if (*p == '-' || is_digit(*p)) {
		const char *start = p;
		if (*p == '-')
			p++;
		size_t digits = 0;
		while (p < end && is_digit(*p) && digits < 15) {
			p++;
			digits++;
		}
		if (digits == 0 || (p < end && is_digit(*p)))
			return false;
		bool decimal = p < end && *p == '.';
		if (decimal)
			for (p++; p < end && is_digit(*p);)
				p++;
		d->arg = (struct hp_str){start, (size_t)(p - start)};
		d->arg_ok = *start != '-' && !decimal;
	} else if (*p == '"') {
		const char *start = ++p;
		while (p < end && *p != '"') {
			if (*p == '\\' && (p + 1 == end || (p[1] != '"' && p[1] != '\\')))
				return false;
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				return false;
			p += *p == '\\' ? 2 : 1;
		}
		if (p == end)
			return false;
		d->arg = (struct hp_str){start, (size_t)(p - start)};
		d->arg_ok = true;
		p++;
	} else if (*p == '?') {
		if (p + 1 == end || (p[1] != '0' && p[1] != '1'))
			return false;
		*truth = p[1] == '1';
		p += 2;
	} else if (*p == ':') {
		for (p++; p < end && *p != ':'; p++)
			if (!(HP_IS(*p, HP_CT_TCHAR) || *p == '/' || *p == '='))
				return false;
		if (p == end)
			return false;
		p++;
	} else if ((*p >= 'A' && *p <= 'Z') || is_lcalpha(*p) || *p == '*') {
		const char *start = p;
		while (p < end && (HP_IS(*p, HP_CT_TCHAR) || *p == ':' || *p == '/'))
			p++;
		d->arg = (struct hp_str){start, (size_t)(p - start)};
		d->arg_ok = true;
	} else {
		return false;
	}
	*pp = p;
	return true;
}

/* *( ";" OWS key [ "=" bare-item ] ): read and ignored. */
static bool sf_params(const char **pp, const char *end)
{
	const char *p = *pp;
	while (p < end && *p == ';') {
		p++;
		while (p < end && *p == ' ')
			p++;
		struct hp_str key;
		if (!sf_key(&p, end, &key))
			return false;
		if (p < end && *p == '=') {
			struct directive ignored = {0};
			bool truth;
			p++;
			if (!sf_bare_item(&p, end, &ignored, &truth))
				return false;
		}
	}
	*pp = p;
	return true;
}

/* One field value as a dictionary; false if it is not one. Members apply as
 * Cache-Control directives (a ?0 member is absent). */
static bool sf_dictionary(struct hp_str v, struct cc_state *st, bool *members)
{
	const char *p = v.ptr;
	const char *end = v.ptr + v.len;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (p < end) {
		struct directive d = {0};
		bool truth = true;
		if (!sf_key(&p, end, &d.name))
			return false;
		if (p < end && *p == '=') {
			p++;
			d.has_arg = true;
			if (*p == '(')
				return false; /* inner lists: no directive takes one */
			if (!sf_bare_item(&p, end, &d, &truth))
				return false;
		}
		if (!sf_params(&p, end))
			return false;
		if (truth) {
			/* "?1" is a bare directive, as "no-store" is. */
			if (d.has_arg && d.arg.len == 0 && !d.arg_ok)
				d.has_arg = false;
			apply(st, &d);
		}
		*members = true;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		if (*p != ',')
			return false;
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			return false; /* a trailing comma */
	}
	return true;
}

bool hp_http_parse_targeted_cache_control(const struct hp_http_header *h, size_t n,
					  const char *name, struct hp_http_cache_control *out)
{
	struct cc_state st = {out, false, false};
	bool members = false;

	memset(out, 0, sizeof(*out));
	out->max_age = out->s_maxage = out->min_fresh = -1;
	out->stale_while_revalidate = out->stale_if_error = out->max_stale = -1;
	for (size_t i = 0; i < n; i++) {
		if (!hp_str_ieq(h[i].name, name))
			continue;
		if (!sf_dictionary(h[i].value, &st, &members))
			return false;
	}
	return members;
}
