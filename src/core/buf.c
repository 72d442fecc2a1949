/* SPDX-License-Identifier: MIT */
/*
 * buf.c - growable byte buffers. Growth doubles, so appending n bytes one
 * at a time costs O(n) copies in total.
 */
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

#include "core/core.h"

void hp_buf_fini(struct hp_buf *b)
{
	free(b->base);
	*b = (struct hp_buf){0};
}

void hp_buf_compact(struct hp_buf *b)
{
	if (b->off == 0)
		return;
	if (b->len > 0)
		memmove(b->base, b->base + b->off, b->len);
	b->off = 0;
}

void hp_buf_reserve(struct hp_buf *b, size_t n)
{
	if (hp_buf_room(b) >= n)
		return;
	hp_buf_compact(b);
	if (b->size - b->len >= n)
		return;
	size_t want = b->size ? b->size : 256;
	while (want - b->len < n)
		want *= 2;
	b->base = hp_xrealloc(b->base, want);
	b->size = want;
}

void hp_buf_append(struct hp_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	hp_buf_reserve(b, n);
	memcpy(hp_buf_tail(b), p, n);
	b->len += n;
}

void hp_buf_append_str(struct hp_buf *b, const char *s)
{
	hp_buf_append(b, s, strlen(s));
}

void hp_buf_consume(struct hp_buf *b, size_t n)
{
	HP_ASSERT(n <= b->len);
	b->off += n;
	b->len -= n;
	if (b->len == 0)
		b->off = 0;
}

void hp_buf_validate(const struct hp_buf *b)
{
	HP_ASSERT(b->off + b->len <= b->size);
	HP_ASSERT(b->base != NULL || b->size == 0);
}
