/* SPDX-License-Identifier: MIT */
/*
 * buf.h - a growable byte buffer with a consumed prefix.
 *
 * Invariant (checked by hp_buf_validate): off + len <= size.
 * Data lives in [base + off, base + off + len); free room is at the tail.
 * Parsers keep zero-copy views into the data, so a buffer is compacted or
 * grown only when its owner knows no view into it is live.
 */
#ifndef HP_CORE_BUF_H
#define HP_CORE_BUF_H

#include <stddef.h>

struct hp_buf {
	char *base;  /* allocation, or NULL before the first reserve */
	size_t size; /* bytes allocated at base */
	size_t off;  /* bytes consumed at the front */
	size_t len;  /* bytes of data after off */
};

/* Release the memory; the buffer is empty and may be reused. */
void hp_buf_fini(struct hp_buf *b);
/* Make at least <n> bytes of room at the tail, compacting first and growing
 * only if needed. Moves the data: views into it are invalidated. */
void hp_buf_reserve(struct hp_buf *b, size_t n);
/* Append <n> bytes from <p>, reserving as needed. */
void hp_buf_append(struct hp_buf *b, const void *p, size_t n);
/* Append a NUL-terminated string. */
void hp_buf_append_str(struct hp_buf *b, const char *s);
/* Append one byte <ch> (a NUL separator, a delimiter). */
static inline void hp_buf_append_byte(struct hp_buf *b, char ch);
/* Append string literal <lit> without its NUL, its length computed at
 * compile time (a non-literal does not compile). */
#define HP_BUF_APPEND_LIT(b, lit) hp_buf_append((b), "" lit, sizeof(lit) - 1)
/* Drop <n> bytes from the front (n <= len). */
void hp_buf_consume(struct hp_buf *b, size_t n);
/* Move the data to the start of the allocation. */
void hp_buf_compact(struct hp_buf *b);
/* Abort if the invariant does not hold. */
void hp_buf_validate(const struct hp_buf *b);

static inline char *hp_buf_data(const struct hp_buf *b);
static inline char *hp_buf_tail(const struct hp_buf *b);
static inline size_t hp_buf_room(const struct hp_buf *b);
static inline void hp_buf_commit(struct hp_buf *b, size_t n);
static inline void hp_buf_reset(struct hp_buf *b);

/* inline definitions */

/* NULL for a buffer never allocated (NULL + 0 is undefined behaviour). */
static inline char *hp_buf_data(const struct hp_buf *b)
{
	return b->base ? b->base + b->off : NULL;
}

static inline char *hp_buf_tail(const struct hp_buf *b)
{
	return b->base ? b->base + b->off + b->len : NULL;
}

static inline size_t hp_buf_room(const struct hp_buf *b)
{
	return b->size - b->off - b->len;
}

/* Account <n> bytes written at the tail (after a read() into it). */
static inline void hp_buf_commit(struct hp_buf *b, size_t n)
{
	b->len += n;
}

static inline void hp_buf_reset(struct hp_buf *b)
{
	b->off = 0;
	b->len = 0;
}

static inline void hp_buf_append_byte(struct hp_buf *b, char ch)
{
	hp_buf_append(b, &ch, 1);
}

#endif
