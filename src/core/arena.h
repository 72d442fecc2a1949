/* SPDX-License-Identifier: MIT */
/*
 * arena.h - per-request memory, released in one step.
 *
 * Anything that lives exactly as long as one request (rewritten headers,
 * log lines) is carved from its arena and never freed on its own. The first
 * block is kept across hp_arena_reset() so a keep-alive connection reuses it
 * request after request without touching malloc. Cleanup callbacks
 * registered with hp_arena_on_free() run, newest first, on reset and fini.
 */
#ifndef HP_CORE_ARENA_H
#define HP_CORE_ARENA_H

#include <stddef.h>

struct hp_arena_block;
struct hp_arena_cleanup;

typedef void hp_arena_cleanup_fn(void *arg);

struct hp_arena {
	struct hp_arena_block *_head;        /* current block, newest first */
	struct hp_arena_cleanup *_cleanups;  /* newest first */
	size_t _block_size;                  /* default size of a new block, bytes */
};

/* Set up an empty arena whose blocks are <block_size> bytes by default. */
void hp_arena_init(struct hp_arena *a, size_t block_size);
/* Run cleanups and free every block. */
void hp_arena_fini(struct hp_arena *a);
/* Run cleanups and free every block but the first, which is kept for reuse. */
void hp_arena_reset(struct hp_arena *a);
/* <n> bytes aligned for any type; never NULL. */
void *hp_arena_alloc(struct hp_arena *a, size_t n);
/* A NUL-terminated copy of <n> bytes from <s>. */
char *hp_arena_strndup(struct hp_arena *a, const char *s, size_t n);
/* printf into the arena. */
char *hp_arena_printf(struct hp_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Call <fn>(<arg>) when the arena is reset or finalized. */
void hp_arena_on_free(struct hp_arena *a, hp_arena_cleanup_fn *fn, void *arg);

#endif
