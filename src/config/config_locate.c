/* SPDX-License-Identifier: MIT */
/*
 * config_locate.c - find the line and column of a key path in JSON text.
 *
 * jansson reports positions for syntax errors only, so for "wrong type at
 * limits.max_body_size" we scan the text again. The text has already been
 * parsed successfully, which lets this scanner be small: it only has to
 * skip strings (with escapes) and nested values, and decode keys to
 * compare them with the path. Duplicate keys were rejected by the parser,
 * so the first match is the only one.
 */
#include "config/config_priv.h"

#include "core/buf.h"

#include <stdio.h>

struct scan {
	const char *p;
	const char *end;
};

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static bool at(const struct scan *s, char c)
{
	return s->p < s->end && *s->p == c;
}

/* At the opening quote; leaves <p> after the closing one. */
static void skip_string(struct scan *s)
{
	for (s->p++; s->p < s->end && *s->p != '"'; s->p++)
		if (*s->p == '\\')
			s->p++;
	if (s->p < s->end)
		s->p++;
}

/* At a value; leaves <p> just after it. Scalars end at a delimiter. */
static void skip_value(struct scan *s)
{
	unsigned depth = 0;

	while (s->p < s->end) {
		char c = *s->p;
		if (c == '"') {
			skip_string(s);
			if (depth == 0)
				return;
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return;
			if (--depth == 0) {
				s->p++;
				return;
			}
		} else if (depth == 0 && strchr(", \t\r\n", c)) {
			return;
		}
		s->p++;
	}
}

static unsigned hex4(const char *p)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

static void put_utf8(struct hp_buf *b, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	hp_buf_append(b, u, n);
}

/* At the opening quote of a valid string: decode it into <b> and skip it. */
static void decode_string(struct scan *s, struct hp_buf *b)
{
	static const char esc_in[] = "\"\\/bfnrt";
	static const char esc_out[] = "\"\\/\b\f\n\r\t";

	hp_buf_reset(b);
	for (s->p++; s->p < s->end && *s->p != '"'; s->p++) {
		if (*s->p != '\\') {
			hp_buf_append(b, s->p, 1);
			continue;
		}
		s->p++;
		if (*s->p != 'u') {
			hp_buf_append(b, &esc_out[strchr(esc_in, *s->p) - esc_in], 1);
			continue;
		}
		unsigned cp = hex4(s->p + 1);
		s->p += 4;
		/* The parser accepted it, so a high surrogate is followed by a low one. */
		if (cp >= 0xd800 && cp < 0xdc00) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(s->p + 3) - 0xdc00);
			s->p += 6;
		}
		put_utf8(b, cp);
	}
	s->p++;
}

/* Inside an object after '{': move to the value of <key>; <key_pos> gets
 * the position of its opening quote. */
static bool find_member(struct scan *s, const char *key, const char **key_pos, struct hp_buf *b)
{
	for (;;) {
		skip_ws(s);
		if (!at(s, '"'))
			return false;
		*key_pos = s->p;
		decode_string(s, b);
		skip_ws(s);
		s->p++; /* ':' */
		skip_ws(s);
		/* An empty key never allocated the buffer: do not touch its data. */
		if (b->len == strlen(key) && (b->len == 0 || memcmp(hp_buf_data(b), key, b->len) == 0))
			return true;
		skip_value(s);
		skip_ws(s);
		if (!at(s, ','))
			return false;
		s->p++;
	}
}

static bool find_element(struct scan *s, size_t index)
{
	for (size_t i = 0;; i++) {
		skip_ws(s);
		if (s->p >= s->end || at(s, ']'))
			return false;
		if (i == index)
			return true;
		skip_value(s);
		skip_ws(s);
		if (!at(s, ','))
			return false;
		s->p++;
	}
}

static void position(const char *text, const char *target, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (const char *p = text; p < target; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else if ((*p & 0xc0) != 0x80) {
			/* Count characters, not UTF-8 continuation bytes, as jansson does. */
			(*col)++;
		}
	}
}

bool hp_config_locate(const char *text, size_t len, const struct cfg_path *path, bool at_key,
		      unsigned *line, unsigned *col)
{
	struct scan s = {text, text + len};
	const char *key_pos = NULL;
	struct hp_buf b = {0};
	bool found = true;

	skip_ws(&s);
	for (unsigned i = 0; found && i < path->depth; i++) {
		if (path->comp[i].key) {
			found = at(&s, '{');
			s.p++;
			found = found && find_member(&s, path->comp[i].key, &key_pos, &b);
		} else {
			found = at(&s, '[');
			s.p++;
			found = found && find_element(&s, path->comp[i].index);
			key_pos = NULL;
		}
	}
	hp_buf_fini(&b);
	if (!found)
		return false;
	position(text, at_key && key_pos ? key_pos : s.p, line, col);
	return true;
}

/* ==== The key path at a syntax error ==== */

/*
 * jansson gives a syntax error's byte position but not where in the tree
 * it is, and the text from there on is invalid, so the scanner above (which
 * trusts the text) cannot be used. This one only moves forward from the
 * start to <offset>, keeping one frame per open object or array: the last
 * key read in an object (as written, escapes and all) or the index in an
 * array. Whatever follows the offset is never looked at.
 */
struct frame {
	bool is_object;
	bool key_done;     /* object: a key and its ':' were read */
	const char *key;   /* object: last key, raw, without quotes */
	size_t key_len;
	size_t index;      /* array: elements before the current one */
};

#define MAX_FRAMES 32

/* At an opening quote: skip to after the closing one, not past <end>.
 * Returns the content length. */
static size_t skip_raw_string(const char **p, const char *end)
{
	const char *start = ++*p;

	while (*p < end && **p != '"')
		*p += **p == '\\' ? 2 : 1;
	size_t len = (size_t)((*p < end ? *p : end) - start);
	if (*p < end)
		(*p)++;
	return len;
}

static void format_frames(const struct frame *f, unsigned depth, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < depth && len < size; i++) {
		int n = 0;
		if (f[i].is_object && f[i].key)
			n = snprintf(out + len, size - len, "%s%.*s", len ? "." : "",
				     (int)HP_MIN(f[i].key_len, 64), f[i].key);
		else if (!f[i].is_object)
			n = snprintf(out + len, size - len, "[%zu]", f[i].index);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

void hp_config_path_at(const char *text, size_t len, size_t offset, char *out, size_t size)
{
	struct frame f[MAX_FRAMES];
	unsigned depth = 0;
	const char *p = text;
	const char *end = text + HP_MIN(len, offset);

	while (p < end) {
		struct frame *top = depth ? &f[depth - 1] : NULL;
		char c = *p;
		if (c == '"') {
			const char *start = p + 1;
			size_t n = skip_raw_string(&p, end);
			if (top && top->is_object && !top->key_done) {
				top->key = start;
				top->key_len = n;
			}
			continue;
		}
		if ((c == '{' || c == '[') && depth < MAX_FRAMES)
			f[depth++] = (struct frame){.is_object = c == '{'};
		else if ((c == '}' || c == ']') && depth > 0)
			depth--;
		else if (c == ':' && top && top->is_object)
			top->key_done = true;
		else if (c == ',' && top && top->is_object)
			*top = (struct frame){.is_object = true};
		else if (c == ',' && top)
			top->index++;
		p++;
	}
	format_frames(f, depth, out, size);
}
