/* SPDX-License-Identifier: MIT */
/*
 * core.h - the few things every hotpath file uses: allocation that never
 * returns NULL, cheap always-on assertions, string views, intrusive lists
 * and the return conventions shared by parsers and I/O.
 *
 * Return conventions (see STYLE.md):
 *   - syscall-like functions return 0 or -errno;
 *   - incremental parsers and I/O return >0 (bytes), HP_AGAIN or HP_ERR;
 *   - predicates return bool; lookups return a pointer or NULL (not found).
 * Memory limits are enforced by accounting, so hp_xmalloc() aborts on OOM
 * and callers never test its result.
 */
#ifndef HP_CORE_CORE_H
#define HP_CORE_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The release: `hotpath version` and hotpath_build_info show it. */
#define HOTPATH_VERSION "0.1.0"

#define HP_OK 0
#define HP_ERR (-1)   /* malformed input */
#define HP_AGAIN (-2) /* need more input, or the operation would block */

#define HP_LIKELY(x) __builtin_expect(!!(x), 1)
#define HP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HP_MIN(a, b) ((a) < (b) ? (a) : (b))
#define HP_MAX(a, b) ((a) > (b) ? (a) : (b))
#define HP_CONTAINER_OF(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Print <expr> with its location and abort. Used by the assertion macros. */
_Noreturn void hp_panic(const char *file, int line, const char *expr);

/* Always on and cheap: these guard invariants, not input. */
#define HP_ASSERT(e) (HP_LIKELY(e) ? (void)0 : hp_panic(__FILE__, __LINE__, #e))
#define HP_AN(x) HP_ASSERT((x) != 0)
#define HP_AZ(x) HP_ASSERT((x) == 0)
/* Objects passed through void * carry `unsigned magic` as first field. */
#define HP_CHECK_OBJ(p, m) HP_ASSERT((p) != NULL && (p)->magic == (m))

/* Allocation that aborts on failure; the result is never NULL. */
void *hp_xmalloc(size_t size);
void *hp_xcalloc(size_t n, size_t size);
void *hp_xrealloc(void *p, size_t size);
char *hp_xstrdup(const char *s);
char *hp_xstrndup(const char *s, size_t n);

/* A read-only view of bytes owned by someone else (usually a buffer). */
struct hp_str {
	const char *ptr;
	size_t len;
};

#define HP_STR(lit) ((struct hp_str){(lit), sizeof(lit) - 1})

/* Byte equality with a NUL-terminated string. */
bool hp_str_eq(struct hp_str a, const char *s);
/* ASCII case-insensitive equality with a NUL-terminated string. */
bool hp_str_ieq(struct hp_str a, const char *s);
/* ASCII case-insensitive equality of two views. */
bool hp_str_ieq_str(struct hp_str a, struct hp_str b);
/* Remove leading and trailing spaces and tabs (OWS). */
struct hp_str hp_str_trim(struct hp_str s);
/* Does <s> start with <prefix>, ignoring ASCII case? */
bool hp_str_istarts_with(struct hp_str s, const char *prefix);
/* If *<s> starts with <prefix> (exact bytes; ASCII case ignored by the _i
 * form), drop it from *<s> and return true; otherwise leave *<s> and return
 * false. Saves counting the prefix's length by hand. */
bool hp_str_skip_prefix(struct hp_str *s, const char *prefix);
bool hp_str_iskip_prefix(struct hp_str *s, const char *prefix);
/* If *<s> ends with <suffix> (exact bytes), drop it and return true;
 * otherwise leave *<s> and return false. */
bool hp_str_drop_suffix(struct hp_str *s, const char *suffix);
/* Bytes of <s> before the first byte that is one of <stops> (all of them
 * if none is). */
size_t hp_str_span_until(struct hp_str s, const char *stops);
/* The value of hexadecimal digit <ch>, or -1. */
int hp_hex_digit(char ch);
/* Parse a non-negative decimal number with no sign, no spaces and no
 * overflow past <max>. Returns false on anything else. */
bool hp_str_to_u64(struct hp_str s, uint64_t max, uint64_t *out);

/*
 * Comma-separated list iteration (RFC 9110 §5.6.1): yields each trimmed,
 * non-empty element of <list> in turn. <pos> starts at 0.
 * Returns false when there are no more elements.
 */
bool hp_str_next_token(struct hp_str list, size_t *pos, struct hp_str *out);

/* ==== Intrusive doubly linked list (circular, with a head node) ==== */

struct hp_list {
	struct hp_list *prev;
	struct hp_list *next;
};

static inline void hp_list_init(struct hp_list *head);
static inline bool hp_list_empty(const struct hp_list *head);
static inline bool hp_list_linked(const struct hp_list *node);
static inline void hp_list_link_tail(struct hp_list *head, struct hp_list *node);
static inline void hp_list_link_head(struct hp_list *head, struct hp_list *node);
static inline void hp_list_unlink(struct hp_list *node);

#define HP_LIST_FIRST(head, type, member) \
	(hp_list_empty(head) ? NULL : HP_CONTAINER_OF((head)->next, type, member))
#define HP_LIST_LAST(head, type, member) \
	(hp_list_empty(head) ? NULL : HP_CONTAINER_OF((head)->prev, type, member))

/* inline definitions */

static inline void hp_list_init(struct hp_list *head)
{
	head->prev = head;
	head->next = head;
}

static inline bool hp_list_empty(const struct hp_list *head)
{
	return head->next == head;
}

/* A node that is not in a list has both links NULL (zero-initialised). */
static inline bool hp_list_linked(const struct hp_list *node)
{
	return node->next != NULL;
}

static inline void hp_list_link_tail(struct hp_list *head, struct hp_list *node)
{
	node->prev = head->prev;
	node->next = head;
	head->prev->next = node;
	head->prev = node;
}

static inline void hp_list_link_head(struct hp_list *head, struct hp_list *node)
{
	node->next = head->next;
	node->prev = head;
	head->next->prev = node;
	head->next = node;
}

static inline void hp_list_unlink(struct hp_list *node)
{
	if (node->next == NULL)
		return;
	node->prev->next = node->next;
	node->next->prev = node->prev;
	node->prev = NULL;
	node->next = NULL;
}

#endif
