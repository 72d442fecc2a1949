/* SPDX-License-Identifier: MIT */
/*
 * core.c - allocation wrappers, panic and string-view helpers.
 */
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>

_Noreturn void hp_panic(const char *file, int line, const char *expr)
{
	fprintf(stderr, "hotpath: assertion failed at %s:%d: %s\n", file, line, expr);
	abort();
}

static _Noreturn void out_of_memory(size_t size)
{
	fprintf(stderr, "hotpath: out of memory allocating %zu bytes\n", size);
	abort();
}

void *hp_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (HP_UNLIKELY(p == NULL))
		out_of_memory(size);
	return p;
}

void *hp_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (HP_UNLIKELY(p == NULL))
		out_of_memory(n * size);
	return p;
}

void *hp_xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);
	if (HP_UNLIKELY(q == NULL))
		out_of_memory(size);
	return q;
}

char *hp_xstrdup(const char *s)
{
	return hp_xstrndup(s, strlen(s));
}

char *hp_xstrndup(const char *s, size_t n)
{
	char *p = hp_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static inline unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

bool hp_str_eq(struct hp_str a, const char *s)
{
	size_t n = strlen(s);
	/* An empty view may have a NULL pointer: memcmp must not see it. */
	return a.len == n && (n == 0 || memcmp(a.ptr, s, n) == 0);
}

bool hp_str_ieq_str(struct hp_str a, struct hp_str b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++)
		if (lower((unsigned char)a.ptr[i]) != lower((unsigned char)b.ptr[i]))
			return false;
	return true;
}

bool hp_str_ieq(struct hp_str a, const char *s)
{
	return hp_str_ieq_str(a, (struct hp_str){s, strlen(s)});
}

struct hp_str hp_str_trim(struct hp_str s)
{
	while (s.len > 0 && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
		s.ptr++;
		s.len--;
	}
	while (s.len > 0 && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
		s.len--;
	return s;
}

bool hp_str_istarts_with(struct hp_str s, const char *prefix)
{
	size_t n = strlen(prefix);
	return s.len >= n && hp_str_ieq((struct hp_str){s.ptr, n}, prefix);
}

bool hp_str_skip_prefix(struct hp_str *s, const char *prefix)
{
	size_t n = strlen(prefix);
	if (s->len < n || memcmp(s->ptr, prefix, n) != 0)
		return false;
	s->ptr += n;
	s->len -= n;
	return true;
}

bool hp_str_iskip_prefix(struct hp_str *s, const char *prefix)
{
	if (!hp_str_istarts_with(*s, prefix))
		return false;
	size_t n = strlen(prefix);
	s->ptr += n;
	s->len -= n;
	return true;
}

bool hp_str_drop_suffix(struct hp_str *s, const char *suffix)
{
	size_t n = strlen(suffix);
	if (s->len < n || memcmp(s->ptr + s->len - n, suffix, n) != 0)
		return false;
	s->len -= n;
	return true;
}

size_t hp_str_span_until(struct hp_str s, const char *stops)
{
	size_t i = 0;
	while (i < s.len && (s.ptr[i] == '\0' || strchr(stops, s.ptr[i]) == NULL))
		i++;
	return i;
}

int hp_hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

bool hp_str_to_u64(struct hp_str s, uint64_t max, uint64_t *out)
{
	if (s.len == 0)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < s.len; i++) {
		unsigned d = (unsigned char)s.ptr[i] - '0';
		if (d > 9)
			return false;
		if (d > max || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool hp_str_next_token(struct hp_str list, size_t *pos, struct hp_str *out)
{
	while (*pos < list.len) {
		size_t start = *pos;
		const char *comma = memchr(list.ptr + start, ',', list.len - start);
		size_t end = comma ? (size_t)(comma - list.ptr) : list.len;
		*pos = comma ? end + 1 : list.len;
		struct hp_str t = hp_str_trim((struct hp_str){list.ptr + start, end - start});
		if (t.len > 0) {
			*out = t;
			return true;
		}
	}
	return false;
}
