/* SPDX-License-Identifier: MIT */
/*
 * arena.c - bump allocation over a chain of blocks. Large requests get a
 * block of their own so one big header does not waste a default block.
 */
#include "core/arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

struct hp_arena_block {
	struct hp_arena_block *next; /* older block */
	size_t size;                 /* usable bytes in data */
	size_t used;                 /* bytes handed out */
	_Alignas(16) char data[];
};

struct hp_arena_cleanup {
	struct hp_arena_cleanup *next;
	hp_arena_cleanup_fn *fn;
	void *arg;
};

void hp_arena_init(struct hp_arena *a, size_t block_size)
{
	a->_head = NULL;
	a->_cleanups = NULL;
	a->_block_size = block_size ? block_size : 4096;
}

static void run_cleanups(struct hp_arena *a)
{
	while (a->_cleanups != NULL) {
		struct hp_arena_cleanup *c = a->_cleanups;
		a->_cleanups = c->next;
		c->fn(c->arg);
	}
}

static void free_blocks_after(struct hp_arena_block *b)
{
	while (b != NULL) {
		struct hp_arena_block *next = b->next;
		free(b);
		b = next;
	}
}

void hp_arena_fini(struct hp_arena *a)
{
	run_cleanups(a);
	free_blocks_after(a->_head);
	a->_head = NULL;
}

void hp_arena_reset(struct hp_arena *a)
{
	run_cleanups(a);
	if (a->_head == NULL)
		return;
	/* Keep the oldest block: it is the one of the default size. */
	struct hp_arena_block *first = a->_head;
	while (first->next != NULL) {
		struct hp_arena_block *next = first->next;
		free(first);
		first = next;
	}
	first->used = 0;
	a->_head = first;
}

void *hp_arena_alloc(struct hp_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct hp_arena_block *b = a->_head;
	if (b == NULL || b->size - b->used < n) {
		size_t size = n > a->_block_size ? n : a->_block_size;
		b = hp_xmalloc(sizeof(*b) + size);
		b->size = size;
		b->used = 0;
		b->next = a->_head;
		a->_head = b;
	}
	void *p = b->data + b->used;
	b->used += n;
	return p;
}

char *hp_arena_strndup(struct hp_arena *a, const char *s, size_t n)
{
	char *p = hp_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *hp_arena_printf(struct hp_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	HP_ASSERT(n >= 0);
	char *p = hp_arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void hp_arena_on_free(struct hp_arena *a, hp_arena_cleanup_fn *fn, void *arg)
{
	struct hp_arena_cleanup *c = hp_arena_alloc(a, sizeof(*c));
	c->fn = fn;
	c->arg = arg;
	c->next = a->_cleanups;
	a->_cleanups = c;
}
