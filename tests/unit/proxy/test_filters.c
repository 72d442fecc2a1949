/* SPDX-License-Identifier: MIT */
/*
 * test_filters.c - the body filters of filter.h, each put in front of a
 * capture filter that records what reaches it and can be told to take only
 * a few bytes of stable input per call (a full socket). Inputs are cut at
 * every pair of byte boundaries and fed one byte at a time; each piece is
 * a heap copy freed after the call, so a filter that keeps a pointer into
 * unstable input is caught by ASan. Then the chain itself (filter.c) and
 * the client writer on a socketpair with a minimal worker and snapshot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache.h"
#include "config/config.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/core.h"
#include "http/http.h"
#include "net/net.h"
#include "proxy/filter.h"
#include "proxy/proxy_priv.h"
#include "proxy/snap.h"

/* ==== The capture filter ==== */

#define CAP_MAX 8192

/* Start, end and abort of every capture, in call order: "a:S b:E c:A ". */
static char events[512];

static void event(const char *tag, char what)
{
	size_t n = strlen(events);
	snprintf(events + n, sizeof(events) - n, "%s:%c ", tag, what);
}

struct capture {
	struct hp_filter base;
	const char *tag;               /* name in events */
	char got[CAP_MAX];             /* bytes taken, in order */
	size_t len;
	size_t budget;                 /* stable bytes taken per call; SIZE_MAX = all */
	unsigned calls;                /* data calls */
	unsigned stable_seen;          /* stable vectors offered */
	int end_rc;                    /* what end returns */
	bool fail;                     /* data returns HP_ERR */
};

static void cap_start(struct hp_filter *f)
{
	event(((struct capture *)f)->tag, 'S');
}

/* Takes every unstable vector whole and at most <budget> bytes of stable
 * ones, stopping at the first vector it did not take whole. With a next
 * filter it is a probe: it records and passes everything on. */
static ssize_t cap_data(struct hp_filter *f, const struct hp_bvec *v, size_t n)
{
	struct capture *cap = (struct capture *)f;
	cap->calls++;
	if (cap->fail)
		return HP_ERR;
	size_t budget = cap->budget;
	uint64_t taken = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = v[i].len;
		if (v[i].stable) {
			cap->stable_seen++;
			if (k > budget)
				k = budget;
			budget -= k;
		}
		assert_true(cap->len + k <= CAP_MAX);
		if (v[i].ptr != NULL) {
			memcpy(cap->got + cap->len, v[i].ptr, k);
		} else {
			assert_true(v[i].fd >= 0);
			assert_int_equal(pread(v[i].fd, cap->got + cap->len, k, (off_t)v[i].off),
					 (ssize_t)k);
		}
		cap->len += k;
		taken += k;
		if (k < v[i].len)
			break;
	}
	if (f->next != NULL)
		return hp_filter_next(f, v, n);
	return (ssize_t)taken;
}

static int cap_end(struct hp_filter *f)
{
	struct capture *cap = (struct capture *)f;
	event(cap->tag, 'E');
	return cap->end_rc;
}

static void cap_abort(struct hp_filter *f)
{
	event(((struct capture *)f)->tag, 'A');
}

static const struct hp_filter_ops cap_ops = {
	.name = "capture",
	.start = cap_start,
	.data = cap_data,
	.end = cap_end,
	.abort = cap_abort,
};

static struct capture caps[3];

static struct capture *cap_reset(unsigned i, const char *tag)
{
	caps[i] = (struct capture){.base = {.ops = &cap_ops}, .tag = tag, .budget = SIZE_MAX};
	return &caps[i];
}

#define CAP_IS(cap, s) \
	do { \
		assert_int_equal((cap)->len, strlen(s)); \
		assert_memory_equal((cap)->got, (s), (cap)->len); \
	} while (0)

/* ==== Feeding ==== */

/* One piece as unstable memory that dies after the call. */
static ssize_t feed_piece(struct hp_filter_chain *ch, const char *p, size_t len)
{
	char *copy = malloc(len + 1);
	memcpy(copy, p, len);
	ssize_t r = hp_filter_bytes(ch, copy, len);
	memset(copy, 'Z', len);
	free(copy);
	return r;
}

/* Feed <in> cut at <cuts>[0..ncuts) (ascending). Returns HP_ERR at the first
 * refusal (nothing more is fed), else the bytes taken, checking that every
 * piece was taken whole (unstable input). */
static ssize_t feed_cut(struct hp_filter_chain *ch, const char *in, size_t len,
			const size_t *cuts, size_t ncuts)
{
	size_t at = 0;
	for (size_t i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : len;
		ssize_t r = feed_piece(ch, in + at, to - at);
		if (r < 0)
			return HP_ERR;
		assert_int_equal(r, (ssize_t)(to - at));
		at = to;
	}
	return (ssize_t)len;
}

/* The ways an input of <len> bytes is cut: every pair of boundaries i <= j
 * (so also no cut and one cut), then one byte at a time. Returns false when
 * <idx> is past the last way. */
static bool cut_plan(size_t len, size_t idx, size_t *cuts, size_t *ncuts)
{
	size_t pairs = (len + 1) * (len + 2) / 2;
	if (idx < pairs) {
		size_t i = 0;
		while (idx > len - i) {
			idx -= len - i + 1;
			i++;
		}
		cuts[0] = i;
		cuts[1] = i + idx;
		*ncuts = 2;
		return true;
	}
	if (idx == pairs) {
		for (size_t k = 1; k < len; k++)
			cuts[k - 1] = k;
		*ncuts = len > 0 ? len - 1 : 0;
		return true;
	}
	return false;
}

#define CUTS_MAX 1024

static void test_cut_plan_covers_every_pair(void **state)
{
	(void)state;
	size_t cuts[CUTS_MAX];
	size_t n;
	bool seen[4][4] = {{false}};
	size_t way = 0;
	for (; way < 10; way++) {
		assert_true(cut_plan(3, way, cuts, &n));
		assert_int_equal(n, 2);
		assert_true(cuts[0] <= cuts[1] && cuts[1] <= 3);
		seen[cuts[0]][cuts[1]] = true;
	}
	for (size_t i = 0; i <= 3; i++)
		for (size_t j = i; j <= 3; j++)
			assert_true(seen[i][j]);
	/* Then one byte at a time. */
	assert_true(cut_plan(3, way, cuts, &n));
	assert_int_equal(n, 2);
	assert_int_equal(cuts[0], 1);
	assert_int_equal(cuts[1], 2);
	assert_false(cut_plan(3, way + 1, cuts, &n));
}

/* ==== Dechunk ==== */

static const struct {
	const char *in;                /* a chunked body */
	const char *out;               /* its payload (for a bad one: up to the fault) */
	bool bad;                      /* some piece is refused with HP_ERR */
	const char *what;
} dechunk_cases[] = {
	{"5\r\nhello\r\n0\r\n\r\n", "hello", false, "one chunk"},
	{"0\r\n\r\n", "", false, "empty body"},
	{"3;name=val\r\nabc\r\n2;x;y=\"q s\"\r\nde\r\n0\r\n\r\n", "abcde", false, "extensions"},
	{"4\r\nwiki\r\n5\r\npedia\r\n0\r\nX-Trailer: 1\r\nY: two\r\n\r\n", "wikipedia", false,
	 "trailers"},
	{"a\r\n0123456789\r\nB;e\r\nabcdefghijk\r\n0;last\r\nT: v\r\n\r\n",
	 "0123456789abcdefghijk", false, "hex sizes, extension on the last chunk"},
	{"5\r\nhelloX\r\n0\r\n\r\n", "hello", true, "data longer than its size"},
	{"3\r\nabc\r\nzz\r\nxx\r\n0\r\n\r\n", "abc", true, "non-hex size mid-body"},
	{"3\r\nabc\r\n2\rde\r\n0\r\n\r\n", "abc", true, "bare CR after a size"},
	{"2\r\nab\r\n0\r\nBad Field: x\r\n\r\n", "ab", true, "invalid trailer field"},
	{"3\r\nabc\r\n1ffffffffffffffffff\r\n", "abc", true, "size overflow"},
	{"3\r\nabc\r\n 1\r\nd\r\n0\r\n\r\n", "abc", true, "space before a size"},
};

static void run_dechunk(size_t c, const size_t *cuts, size_t ncuts)
{
	const char *in = dechunk_cases[c].in;
	const char *out = dechunk_cases[c].out;
	struct hp_arena a;
	hp_arena_init(&a, 0);
	struct hp_filter_chain ch = {0};
	struct capture *cap = cap_reset(0, "cap");
	hp_filter_add(&ch, hp_filter_dechunk(&a, NULL));
	hp_filter_add(&ch, &cap->base);
	hp_filter_start(&ch);
	ssize_t r = feed_cut(&ch, in, strlen(in), cuts, ncuts);
	if (dechunk_cases[c].bad) {
		if (r != HP_ERR)
			fail_msg("%s: accepted", dechunk_cases[c].what);
		/* What went on before the fault is a part of the good payload. */
		assert_true(cap->len <= strlen(out));
		assert_memory_equal(cap->got, out, cap->len);
		/* The decoder stays failed. */
		assert_int_equal(feed_piece(&ch, "0\r\n\r\n", 5), HP_ERR);
		hp_filter_abort(&ch);
	} else {
		if (r != (ssize_t)strlen(in))
			fail_msg("%s: refused", dechunk_cases[c].what);
		if (cap->len != strlen(out) || memcmp(cap->got, out, cap->len) != 0)
			fail_msg("%s: got \"%.*s\"", dechunk_cases[c].what, (int)cap->len,
				 cap->got);
		/* Only payload goes on, never empty vectors from the framing. */
		assert_true(cap->calls <= strlen(out));
		assert_int_equal(hp_filter_end(&ch), 0);
	}
	hp_arena_fini(&a);
}

static void test_dechunk_split_at_every_boundary(void **state)
{
	(void)state;
	size_t cuts[CUTS_MAX];
	size_t n;
	for (size_t c = 0; c < HP_ARRAY_SIZE(dechunk_cases); c++)
		for (size_t way = 0; cut_plan(strlen(dechunk_cases[c].in), way, cuts, &n); way++)
			run_dechunk(c, cuts, n);
}

static void test_dechunk_many_chunks_in_one_input(void **state)
{
	(void)state;
	/* More decoded slices than the filter gathers per call (32). */
	char in[400];
	char want[64];
	size_t len = 0;
	for (int i = 0; i < 50; i++) {
		want[i] = (char)('A' + i % 26);
		len += (size_t)snprintf(in + len, sizeof(in) - len, "1\r\n%c\r\n", want[i]);
	}
	len += (size_t)snprintf(in + len, sizeof(in) - len, "0\r\n\r\n");
	struct hp_arena a;
	hp_arena_init(&a, 0);
	struct hp_filter_chain ch = {0};
	struct capture *cap = cap_reset(0, "cap");
	hp_filter_add(&ch, hp_filter_dechunk(&a, NULL));
	hp_filter_add(&ch, &cap->base);
	assert_int_equal(feed_piece(&ch, in, len), (ssize_t)len);
	assert_int_equal(cap->len, 50);
	assert_memory_equal(cap->got, want, 50);
	assert_int_equal(hp_filter_end(&ch), 0);
	hp_arena_fini(&a);
}

/* A body that ends before its last chunk is cut short: end says so (and
 * the filters after it are aborted, not ended). */
static void test_dechunk_end_without_last_chunk_is_an_error(void **state)
{
	(void)state;
	struct hp_arena a;
	hp_arena_init(&a, 0);
	struct hp_filter_chain ch = {0};
	struct capture *cap = cap_reset(0, "cap");
	hp_filter_add(&ch, hp_filter_dechunk(&a, NULL));
	hp_filter_add(&ch, &cap->base);
	assert_int_equal(feed_piece(&ch, "3\r\nabc\r\n", 8), 8);
	assert_int_equal(hp_filter_end(&ch), HP_ERR);
	hp_arena_fini(&a);

	hp_arena_init(&a, 0);
	ch = (struct hp_filter_chain){0};
	cap = cap_reset(0, "cap");
	hp_filter_add(&ch, hp_filter_dechunk(&a, NULL));
	hp_filter_add(&ch, &cap->base);
	assert_int_equal(feed_piece(&ch, "3\r\nabc\r\n0\r\n\r\n", 13), 13);
	assert_int_equal(hp_filter_end(&ch), 0);
	hp_arena_fini(&a);
}

static void test_dechunk_refused_by_next_is_an_error(void **state)
{
	(void)state;
	struct hp_arena a;
	hp_arena_init(&a, 0);
	struct hp_filter_chain ch = {0};
	struct capture *cap = cap_reset(0, "cap");
	cap->fail = true;
	hp_filter_add(&ch, hp_filter_dechunk(&a, NULL));
	hp_filter_add(&ch, &cap->base);
	/* Framing alone reaches nobody; a payload byte does. */
	assert_int_equal(feed_piece(&ch, "3\r\n", 3), 3);
	assert_int_equal(cap->calls, 0);
	assert_int_equal(feed_piece(&ch, "abc\r\n", 5), HP_ERR);
	assert_int_equal(cap->calls, 1);
	hp_arena_fini(&a);
}

/* ==== Rechunk ==== */

static void on_payload(void *arg, const char *data, size_t len)
{
	struct capture *cap = arg;
	assert_true(cap->len + len <= CAP_MAX);
	memcpy(cap->got + cap->len, data, len);
	cap->len += len;
}

/* <in> is a complete chunked body whose payload is <want>, both fed whole
 * and one byte at a time. */
static void assert_chunked_body(const char *in, size_t len, const char *want, size_t wlen)
{
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		struct hp_http_chunked st = {0};
		struct capture *cap = cap_reset(2, "dec");
		bool done = false;
		size_t step = bytewise ? 1 : len;
		for (size_t at = 0; at < len; at += step) {
			size_t k = HP_MIN(step, len - at);
			ssize_t r = hp_http_chunked_feed(&st, in + at, k, &done, on_payload, cap);
			assert_int_equal(r, (ssize_t)k);
		}
		assert_true(done);
		assert_int_equal(cap->len, wlen);
		assert_memory_equal(cap->got, want, wlen);
	}
}

static void test_rechunk_split_at_every_boundary(void **state)
{
	(void)state;
	static const char body[] = "Rechunked: every piece is one chunk.";
	size_t len = sizeof(body) - 1;
	size_t cuts[CUTS_MAX];
	size_t n;
	for (size_t way = 0; cut_plan(len, way, cuts, &n); way++) {
		struct hp_arena a;
		hp_arena_init(&a, 0);
		struct hp_filter_chain ch = {0};
		struct capture *cap = cap_reset(0, "cap");
		hp_filter_add(&ch, hp_filter_rechunk(&a, NULL));
		hp_filter_add(&ch, &cap->base);
		hp_filter_start(&ch);
		assert_int_equal(feed_cut(&ch, body, len, cuts, n), (ssize_t)len);
		assert_int_equal(hp_filter_end(&ch), 0);
		/* The framing: one chunk per non-empty piece, then the last chunk. */
		char want[CAP_MAX];
		size_t wlen = 0;
		size_t at = 0;
		for (size_t i = 0; i <= n; i++) {
			size_t to = i < n ? cuts[i] : len;
			if (to > at)
				wlen += (size_t)snprintf(want + wlen, sizeof(want) - wlen,
							 "%zx\r\n%.*s\r\n", to - at,
							 (int)(to - at), body + at);
			at = to;
		}
		wlen += (size_t)snprintf(want + wlen, sizeof(want) - wlen, "0\r\n\r\n");
		if (cap->len != wlen || memcmp(cap->got, want, wlen) != 0)
			fail_msg("way %zu: got \"%.*s\"", way, (int)cap->len, cap->got);
		char out[CAP_MAX];
		memcpy(out, cap->got, cap->len);
		assert_chunked_body(out, wlen, body, len);
		hp_arena_fini(&a);
	}
}

static void test_rechunk_batches_and_skips_empty_input(void **state)
{
	(void)state;
	struct hp_arena a;
	hp_arena_init(&a, 0);
	struct hp_filter_chain ch = {0};
	struct capture *cap = cap_reset(0, "cap");
	hp_filter_add(&ch, hp_filter_rechunk(&a, NULL));
	hp_filter_add(&ch, &cap->base);
	/* An empty vector must not become a last chunk in the middle. */
	struct hp_bvec empty = {.ptr = "", .fd = -1, .len = 0};
	assert_int_equal(hp_filter_data(&ch, &empty, 1), 0);
	assert_int_equal(cap->calls, 0);
	/* 20 one-byte vectors: more than one call's batch (16). */
	static const char twenty[] = "abcdefghijklmnopqrst";
	struct hp_bvec v[21];
	for (size_t i = 0; i < 20; i++)
		v[i] = (struct hp_bvec){.ptr = twenty + i, .fd = -1, .len = 1};
	v[20] = empty;
	assert_int_equal(hp_filter_data(&ch, v, 21), 20);
	assert_int_equal(hp_filter_end(&ch), 0);
	static const char want[] = "10\r\nabcdefghijklmnop\r\n4\r\nqrst\r\n0\r\n\r\n";
	CAP_IS(cap, want);
	assert_chunked_body(cap->got, cap->len, twenty, 20);
	hp_arena_fini(&a);
}

static void test_rechunk_refused_by_next_is_an_error(void **state)
{
	(void)state;
	struct hp_arena a;
	hp_arena_init(&a, 0);
	struct hp_filter_chain ch = {0};
	struct capture *cap = cap_reset(0, "cap");
	cap->fail = true;
	hp_filter_add(&ch, hp_filter_rechunk(&a, NULL));
	hp_filter_add(&ch, &cap->base);
	assert_int_equal(feed_piece(&ch, "abc", 3), HP_ERR);
	assert_int_equal(hp_filter_end(&ch), HP_ERR);
	hp_arena_fini(&a);
}

/* ==== Range ==== */

static const char range_body[] = "ABCDEFGHIJKLMNOPQRST"; /* 20 bytes: more than 16 slices */
#define RANGE_LEN (sizeof(range_body) - 1)

enum shape {
	SHAPE_WHOLE,    /* one vector: the rest of the body */
	SHAPE_BYTES,    /* one vector per byte */
	SHAPE_CUT,      /* two vectors, cut at body offset <cut> */
};

enum kind {
	KIND_MEMORY,    /* stable memory, as a stored object's segments */
	KIND_FILE,      /* a file range of a memfd */
	KIND_UNSTABLE,  /* unstable memory: taken whole */
};

/* The vectors a stored-object source offers from body offset <off>. */
static size_t offer(struct hp_bvec *v, uint64_t off, enum shape shape, size_t cut, enum kind kind,
		    int fd)
{
	size_t n = 0;
	uint64_t bounds[RANGE_LEN + 1];
	size_t nb = 0;
	bounds[nb++] = off;
	if (shape == SHAPE_BYTES)
		for (uint64_t b = off + 1; b < RANGE_LEN; b++)
			bounds[nb++] = b;
	if (shape == SHAPE_CUT && cut > off && cut < RANGE_LEN)
		bounds[nb++] = cut;
	bounds[nb] = RANGE_LEN;
	for (size_t i = 0; i < nb; i++) {
		size_t len = (size_t)(bounds[i + 1] - bounds[i]);
		if (kind == KIND_FILE)
			v[n++] = (struct hp_bvec){.fd = fd, .off = bounds[i], .len = len,
						  .stable = true};
		else
			v[n++] = (struct hp_bvec){.ptr = range_body + bounds[i], .fd = -1,
						  .len = len, .stable = kind == KIND_MEMORY};
	}
	return n;
}

/* A source loop as deliver.c runs it: offer the rest from the resume
 * offset, move on by what the chain took, until the end of the body. */
static void run_range(uint64_t first, uint64_t last, enum shape shape, size_t cut,
		      enum kind kind, size_t budget, int fd)
{
	struct hp_arena a;
	hp_arena_init(&a, 0);
	struct hp_filter_chain ch = {0};
	struct capture *cap = cap_reset(0, "cap");
	cap->budget = budget;
	hp_filter_add(&ch, hp_filter_range(&a, NULL, first, last));
	hp_filter_add(&ch, &cap->base);
	hp_filter_start(&ch);
	uint64_t off = first;
	unsigned rounds = 0;
	while (off < RANGE_LEN) {
		struct hp_bvec v[RANGE_LEN];
		size_t n = offer(v, off, shape, cut, kind, fd);
		ssize_t taken = hp_filter_data(&ch, v, n);
		if (taken <= 0 || off + (uint64_t)taken > RANGE_LEN)
			fail_msg("[%llu,%llu] shape %d cut %zu kind %d budget %zu: "
				 "took %zd at %llu",
				 (unsigned long long)first, (unsigned long long)last, shape, cut,
				 kind, budget, taken, (unsigned long long)off);
		off += (uint64_t)taken;
		assert_true(++rounds <= 2 * RANGE_LEN);
	}
	assert_int_equal(hp_filter_end(&ch), 0);
	size_t wlen = (size_t)(last - first + 1);
	if (cap->len != wlen || memcmp(cap->got, range_body + first, wlen) != 0)
		fail_msg("[%llu,%llu] shape %d cut %zu kind %d budget %zu: got \"%.*s\"",
			 (unsigned long long)first, (unsigned long long)last, shape, cut, kind,
			 budget, (int)cap->len, cap->got);
	if (kind != KIND_UNSTABLE)
		assert_true(cap->stable_seen > 0);
	hp_arena_fini(&a);
}

static int body_memfd(const char *body, size_t len)
{
	int fd = memfd_create("body", 0);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, len), (ssize_t)len);
	return fd;
}

static void test_range_every_range_every_split(void **state)
{
	(void)state;
	static const size_t budgets[] = {1, 2, 3, 7, SIZE_MAX};
	int fd = body_memfd(range_body, RANGE_LEN);
	for (uint64_t first = 0; first < RANGE_LEN; first++) {
		for (uint64_t last = first; last < RANGE_LEN; last++) {
			for (int kind = KIND_MEMORY; kind <= KIND_UNSTABLE; kind++) {
				for (size_t b = 0; b < HP_ARRAY_SIZE(budgets); b++) {
					/* Unstable input is always taken whole. */
					size_t budget = budgets[b];
					if (kind == KIND_UNSTABLE && budget != SIZE_MAX)
						continue;
					run_range(first, last, SHAPE_WHOLE, 0, kind, budget, fd);
					run_range(first, last, SHAPE_BYTES, 0, kind, budget, fd);
					for (size_t cut = 1; cut < RANGE_LEN; cut++)
						run_range(first, last, SHAPE_CUT, cut, kind, budget,
							  fd);
				}
			}
		}
	}
	close(fd);
}

static void test_range_reports_how_far_a_partial_take_reaches(void **state)
{
	(void)state;
	/* Range [5, 14] of vectors [0,8) [8,20) offered from 5: the capture
	 * takes 4 bytes (5..8 and 8), so the source resumes at 9. */
	struct hp_arena a;
	hp_arena_init(&a, 0);
	struct hp_filter_chain ch = {0};
	struct capture *cap = cap_reset(0, "cap");
	cap->budget = 4;
	hp_filter_add(&ch, hp_filter_range(&a, NULL, 5, 14));
	hp_filter_add(&ch, &cap->base);
	struct hp_bvec v[2];
	size_t n = offer(v, 5, SHAPE_CUT, 8, KIND_MEMORY, -1);
	assert_int_equal(n, 2);
	assert_int_equal(hp_filter_data(&ch, v, n), 4);
	CAP_IS(cap, "FGHI");
	n = offer(v, 9, SHAPE_WHOLE, 0, KIND_MEMORY, -1);
	cap->budget = SIZE_MAX;
	/* The rest of the range goes on, the bytes after it are dropped. */
	assert_int_equal(hp_filter_data(&ch, v, n), (ssize_t)(RANGE_LEN - 9));
	CAP_IS(cap, "FGHIJKLMNO");
	hp_arena_fini(&a);
}

/* ==== Fill ==== */

#define FILL_KEY_MAX 64

static uint64_t hash_of(const char *key)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = key; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

static const struct hp_cache_policy fill_pol = {0};

/* Become the filler of <key> and give the fill a storable head. */
static struct hp_cache_fill *fill_begin(struct hp_cache *cache, const char *key)
{
	struct hp_cache_fill *fill = NULL;
	struct hp_cache_waiter w = {0};
	time_t now = time(NULL);
	assert_int_equal(hp_cache_begin_fill(cache, key, strlen(key), hash_of(key), &fill, &w, now),
			 HP_CACHE_FILLER);
	struct hp_http_header resp[] = {
		{HP_STR("Cache-Control"), HP_STR("max-age=600")},
		{HP_STR("Content-Type"), HP_STR("text/plain")},
	};
	assert_true(hp_cache_fill_head(fill, 200, resp, HP_ARRAY_SIZE(resp), NULL, 0, now, now,
				       &fill_pol));
	return fill;
}

/* The stored body of <key>, or false when nothing is stored. */
static bool stored_body(struct hp_cache *cache, const char *key, char *out, size_t *len)
{
	struct hp_cache_obj *obj = hp_cache_lookup(cache, key, strlen(key), hash_of(key), NULL, 0,
						   time(NULL));
	if (obj == NULL)
		return false;
	*len = 0;
	struct iovec iov[16];
	int k;
	while ((k = hp_cache_obj_body_iov(obj, *len, iov, 16)) > 0)
		for (int i = 0; i < k; i++) {
			assert_true(*len + iov[i].iov_len <= CAP_MAX);
			memcpy(out + *len, iov[i].iov_base, iov[i].iov_len);
			*len += iov[i].iov_len;
		}
	assert_int_equal(*len, hp_cache_obj_body_len(obj));
	hp_cache_obj_release(obj);
	return true;
}

/* A client with only what the fill filter touches. */
static struct hp_client *bare_client(void)
{
	struct hp_client *c = calloc(1, sizeof(*c));
	c->magic = HP_CLIENT_MAGIC;
	c->io.fd = -1;
	c->t = calloc(1, sizeof(*c->t));
	c->t->client = c;
	c->t->cache.storing = true;
	return c;
}

static const struct {
	const char *in;                /* the body as the upstream sends it */
	bool chunked;
	const char *stored;            /* what the cache must hold */
} fill_cases[] = {
	{"plain bytes, stored as they come", false, "plain bytes, stored as they come"},
	{"", false, ""},
	{"4;ext=1\r\nwiki\r\n5\r\npedia\r\n0\r\nTrailer: t\r\n\r\n", true, "wikipedia"},
	{"0\r\n\r\n", true, ""},
};

static void test_fill_split_at_every_boundary(void **state)
{
	(void)state;
	struct hp_cache_conf conf = {0};
	struct hp_cache *cache = hp_cache_create(&conf);
	struct hp_client *c = bare_client();
	size_t cuts[CUTS_MAX];
	size_t n;
	unsigned runs = 0;
	for (size_t fc = 0; fc < HP_ARRAY_SIZE(fill_cases); fc++) {
		const char *in = fill_cases[fc].in;
		size_t len = strlen(in);
		for (size_t way = 0; cut_plan(len, way, cuts, &n); way++) {
			char key[FILL_KEY_MAX];
			snprintf(key, sizeof(key), "k/%u", runs++);
			struct hp_arena a;
			hp_arena_init(&a, 0);
			struct hp_filter_chain ch = {0};
			struct capture *cap = cap_reset(0, "cap");
			c->t->cache.storing = true;
			hp_filter_add(&ch, hp_filter_fill(&a, c, fill_begin(cache, key),
							  fill_cases[fc].chunked));
			hp_filter_add(&ch, &cap->base);
			hp_filter_start(&ch);
			assert_int_equal(feed_cut(&ch, in, len, cuts, n), (ssize_t)len);
			/* The bytes go on unchanged, framing and all. */
			CAP_IS(cap, in);
			char body[CAP_MAX];
			size_t blen;
			assert_false(stored_body(cache, key, body, &blen));
			assert_int_equal(hp_filter_end(&ch), 0);
			assert_true(c->t->cache.storing);
			assert_true(stored_body(cache, key, body, &blen));
			assert_int_equal(blen, strlen(fill_cases[fc].stored));
			assert_memory_equal(body, fill_cases[fc].stored, blen);
			hp_arena_fini(&a);
		}
	}
	free(c->t);
	free(c);
	hp_cache_destroy(cache);
}

static void test_fill_abort_drops_the_object(void **state)
{
	(void)state;
	struct hp_cache_conf conf = {0};
	struct hp_cache *cache = hp_cache_create(&conf);
	struct hp_client *c = bare_client();
	struct hp_arena a;
	hp_arena_init(&a, 0);
	struct hp_filter_chain ch = {0};
	struct capture *cap = cap_reset(0, "cap");
	hp_filter_add(&ch, hp_filter_fill(&a, c, fill_begin(cache, "abort"), false));
	hp_filter_add(&ch, &cap->base);
	assert_int_equal(feed_piece(&ch, "half a bo", 9), 9);
	hp_filter_abort(&ch);
	hp_filter_abort(&ch);
	assert_string_equal(events, "cap:A ");
	char body[CAP_MAX];
	size_t blen;
	assert_false(stored_body(cache, "abort", body, &blen));
	/* Not hit-for-pass: the next request may fill again. */
	struct hp_cache_fill *again = fill_begin(cache, "abort");
	hp_cache_fill_abort(again, false);
	hp_arena_fini(&a);
	free(c->t);
	free(c);
	hp_cache_destroy(cache);
}

static void test_fill_oversized_body_passes_but_is_not_stored(void **state)
{
	(void)state;
	struct hp_cache_conf conf = {.max_object_size = 1024};
	struct hp_cache *cache = hp_cache_create(&conf);
	struct hp_client *c = bare_client();
	for (int chunked = 0; chunked < 2; chunked++) {
		const char *key = chunked ? "big/chunked" : "big/plain";
		struct hp_arena a;
		hp_arena_init(&a, 0);
		struct hp_filter_chain ch = {0};
		struct capture *cap = cap_reset(0, "cap");
		c->t->cache.storing = true;
		hp_filter_add(&ch, hp_filter_fill(&a, c, fill_begin(cache, key), chunked));
		hp_filter_add(&ch, &cap->base);
		char piece[120];
		memset(piece, 'x', sizeof(piece));
		if (chunked) {
			/* One chunk of 0x70 = 112 bytes per piece. */
			memcpy(piece, "70\r\n", 4);
			memcpy(piece + 116, "\r\n", 2);
		}
		size_t plen = chunked ? 118 : 100;
		size_t total = 0;
		for (int i = 0; i < 30; i++) {
			assert_int_equal(feed_piece(&ch, piece, plen), (ssize_t)plen);
			total += plen;
		}
		if (chunked) {
			assert_int_equal(feed_piece(&ch, "0\r\n\r\n", 5), 5);
			total += 5;
		}
		/* Every byte still reached the client. */
		assert_int_equal(cap->len, total);
		assert_false(c->t->cache.storing);
		assert_int_equal(hp_filter_end(&ch), 0);
		char body[CAP_MAX];
		size_t blen;
		assert_false(stored_body(cache, key, body, &blen));
		/* The key is now hit-for-pass. */
		struct hp_cache_fill *fill = NULL;
		struct hp_cache_waiter w = {0};
		enum hp_cache_begin b = hp_cache_begin_fill(cache, key, strlen(key), hash_of(key),
							    &fill, &w, time(NULL));
		assert_int_equal(b, HP_CACHE_PASS);
		hp_arena_fini(&a);
	}
	free(c->t);
	free(c);
	hp_cache_destroy(cache);
}

static void test_fill_broken_framing_stops_storing_only(void **state)
{
	(void)state;
	struct hp_cache_conf conf = {0};
	struct hp_cache *cache = hp_cache_create(&conf);
	struct hp_client *c = bare_client();
	struct hp_arena a;
	hp_arena_init(&a, 0);
	struct hp_filter_chain ch = {0};
	struct capture *cap = cap_reset(0, "cap");
	hp_filter_add(&ch, hp_filter_fill(&a, c, fill_begin(cache, "broken"), true));
	hp_filter_add(&ch, &cap->base);
	static const char in[] = "3\r\nabc\r\nzz\r\n";
	assert_int_equal(feed_piece(&ch, in, sizeof(in) - 1), (ssize_t)sizeof(in) - 1);
	CAP_IS(cap, in);
	assert_false(c->t->cache.storing);
	assert_int_equal(hp_filter_end(&ch), 0);
	char body[CAP_MAX];
	size_t blen;
	assert_false(stored_body(cache, "broken", body, &blen));
	/* Not the object's fault: no hit-for-pass. */
	hp_cache_fill_abort(fill_begin(cache, "broken"), false);
	hp_arena_fini(&a);
	free(c->t);
	free(c);
	hp_cache_destroy(cache);
}

/* ==== Discard ==== */

static void test_discard_takes_everything(void **state)
{
	(void)state;
	struct hp_arena a;
	hp_arena_init(&a, 0);
	struct hp_filter_chain ch = {0};
	hp_filter_add(&ch, hp_filter_discard(&a, NULL));
	hp_filter_start(&ch);
	struct hp_bvec v[] = {
		{.ptr = "abc", .fd = -1, .len = 3},
		{.fd = 99, .off = 7, .len = 1000, .stable = true},
		{.ptr = "de", .fd = -1, .len = 2, .stable = true},
	};
	assert_int_equal(hp_filter_data(&ch, v, 3), 1005);
	assert_int_equal(hp_filter_end(&ch), 0);
	hp_arena_fini(&a);
}

/* ==== The chain ==== */

static struct hp_filter_chain probes3(void)
{
	struct hp_filter_chain ch = {0};
	events[0] = '\0';
	hp_filter_add(&ch, &cap_reset(0, "a")->base);
	hp_filter_add(&ch, &cap_reset(1, "b")->base);
	hp_filter_add(&ch, &cap_reset(2, "c")->base);
	return ch;
}

static void test_chain_start_and_end_run_front_to_back(void **state)
{
	(void)state;
	struct hp_filter_chain ch = probes3();
	assert_ptr_equal(ch.head, &caps[0].base);
	assert_ptr_equal(ch.tail, &caps[2].base);
	assert_null(caps[2].base.next);
	hp_filter_start(&ch);
	assert_string_equal(events, "a:S b:S c:S ");
	assert_int_equal(hp_filter_bytes(&ch, "xy", 2), 2);
	CAP_IS(&caps[0], "xy");
	CAP_IS(&caps[2], "xy");
	events[0] = '\0';
	assert_int_equal(hp_filter_end(&ch), 0);
	assert_string_equal(events, "a:E b:E c:E ");
	assert_true(ch.ended);
	/* Spent: a second end and an abort do nothing. */
	assert_int_equal(hp_filter_end(&ch), 0);
	hp_filter_abort(&ch);
	assert_string_equal(events, "a:E b:E c:E ");
}

static void test_chain_end_error_aborts_later_filters(void **state)
{
	(void)state;
	struct hp_filter_chain ch = probes3();
	caps[1].end_rc = HP_ERR;
	assert_int_equal(hp_filter_end(&ch), HP_ERR);
	assert_string_equal(events, "a:E b:E c:A ");
	hp_filter_abort(&ch);
	assert_int_equal(hp_filter_end(&ch), 0);
	assert_string_equal(events, "a:E b:E c:A ");
}

static void test_chain_abort_is_idempotent(void **state)
{
	(void)state;
	struct hp_filter_chain ch = probes3();
	hp_filter_abort(&ch);
	hp_filter_abort(&ch);
	assert_int_equal(hp_filter_end(&ch), 0);
	assert_string_equal(events, "a:A b:A c:A ");
	/* An empty chain has nothing to abort. */
	struct hp_filter_chain empty = {0};
	hp_filter_abort(&empty);
	assert_false(empty.ended);
}

static void test_chain_data_after_abort_is_taken(void **state)
{
	(void)state;
	struct hp_filter_chain ch = probes3();
	hp_filter_abort(&ch);
	struct hp_bvec v[] = {
		{.ptr = "abc", .fd = -1, .len = 3},
		{.fd = 5, .off = 0, .len = 40, .stable = true},
	};
	assert_int_equal(hp_filter_data(&ch, v, 2), 43);
	assert_int_equal(hp_filter_bytes(&ch, "z", 1), 1);
	assert_int_equal(caps[0].calls, 0);
	/* Nothing to feed is nothing taken; an empty chain takes everything. */
	struct hp_filter_chain fresh = probes3();
	assert_int_equal(hp_filter_data(&fresh, v, 0), 0);
	assert_int_equal(hp_filter_bytes(&fresh, "", 0), 0);
	assert_int_equal(caps[0].calls, 0);
	struct hp_filter_chain empty = {0};
	assert_int_equal(hp_filter_data(&empty, v, 2), 43);
	assert_int_equal(hp_bvec_len(v, 2), 43);
}

static void test_chain_refusal_reaches_the_source(void **state)
{
	(void)state;
	struct hp_filter_chain ch = probes3();
	caps[2].fail = true;
	assert_int_equal(hp_filter_bytes(&ch, "abc", 3), HP_ERR);
	caps[2].fail = false;
	caps[2].budget = 1;
	struct hp_bvec v = {.ptr = "stable", .fd = -1, .len = 6, .stable = true};
	/* Probes pass on what the last one took. */
	assert_int_equal(hp_filter_data(&ch, &v, 1), 1);
}

/* ==== The client writer, on a socketpair ==== */

#define WRITER_CONFIG \
	"{\"upstreams\": {\"a\": {\"servers\": [\"http://127.0.0.1:9\"]}}, " \
	"\"routes\": [{\"upstream\": \"a\"}]}"

struct wfix {
	struct hp_loop *loop;
	struct hp_snap *snap;
	struct hp_wsnap ws;
	struct hp_worker w;
	struct hp_client *c;
	int peer;                      /* the client's end */
	struct hp_arena a;
	struct hp_filter_chain ch;
};

static void wfix_init(struct wfix *x)
{
	*x = (struct wfix){0};
	struct hp_config_error cerr;
	struct hp_config *cfg = hp_config_load_buffer("t.json", WRITER_CONFIG,
						      strlen(WRITER_CONFIG), NULL, NULL, &cerr);
	if (cfg == NULL)
		fail_msg("load: %s", cerr.msg);
	char err[256] = "";
	x->snap = hp_snap_create(cfg, true, NULL, NULL, 1, err, sizeof(err));
	if (x->snap == NULL)
		fail_msg("snapshot: %s", err);
	x->loop = hp_loop_create();
	x->ws = (struct hp_wsnap){.snap = x->snap, .refs = 1};
	x->w = (struct hp_worker){.magic = HP_WORKER_MAGIC, .loop = x->loop, .ws = &x->ws};
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	x->c = calloc(1, sizeof(*x->c));
	x->c->magic = HP_CLIENT_MAGIC;
	x->c->w = &x->w;
	x->c->io.fd = sv[0];
	x->c->writable = true;
	x->c->t = calloc(1, sizeof(*x->c->t));
	x->c->t->client = x->c;
	x->c->t->ws = &x->ws;
	x->peer = sv[1];
	hp_arena_init(&x->a, 0);
	hp_filter_add(&x->ch, hp_filter_writer(&x->a, x->c));
	hp_filter_start(&x->ch);
}

static void wfix_fini(struct wfix *x)
{
	hp_timer_stop(x->loop, &x->c->timer);
	hp_buf_fini(&x->c->t->out);
	close(x->c->io.fd);
	close(x->peer);
	free(x->c->t);
	free(x->c);
	hp_arena_fini(&x->a);
	hp_loop_destroy(x->loop);
	hp_snap_release(x->snap);
}

/* Everything the client's end can read now. */
static size_t drain(int fd, char *out, size_t max)
{
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, out + len, max - len);
		if (r <= 0) {
			assert_true(r == 0 || errno == EAGAIN);
			return len;
		}
		len += (size_t)r;
		assert_true(len < max);
	}
}

/* Fill the socket until it refuses; returns the bytes written. */
static size_t fill_socket(int fd)
{
	int small = 4096;
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	static char junk[1024];
	memset(junk, 'j', sizeof(junk));
	size_t total = 0;
	for (;;) {
		ssize_t w = write(fd, junk, sizeof(junk));
		if (w < 0) {
			assert_int_equal(errno, EAGAIN);
			return total;
		}
		total += (size_t)w;
	}
}

#define HEAD "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"

static void test_writer_writev_head_and_memory(void **state)
{
	(void)state;
	struct wfix x;
	wfix_init(&x);
	hp_buf_append_str(&x.c->t->out, HEAD);
	struct hp_bvec v[] = {
		{.ptr = "abc", .fd = -1, .len = 3},
		{.ptr = "defg", .fd = -1, .len = 4, .stable = true},
		{.ptr = "hi", .fd = -1, .len = 2},
	};
	assert_int_equal(hp_filter_data(&x.ch, v, 3), 9);
	assert_int_equal(x.c->t->out.len, 0);
	assert_int_equal(x.c->t->resp.bytes_out, 9);
	char got[256];
	size_t len = drain(x.peer, got, sizeof(got));
	assert_int_equal(len, strlen(HEAD "abcdefghi"));
	assert_memory_equal(got, HEAD "abcdefghi", len);
	assert_int_equal(hp_filter_end(&x.ch), 0);
	wfix_fini(&x);
}

static void test_writer_full_socket_keeps_unstable_leaves_stable(void **state)
{
	(void)state;
	struct wfix x;
	wfix_init(&x);
	size_t junk = fill_socket(x.c->io.fd);
	hp_buf_append_str(&x.c->t->out, HEAD);
	struct hp_bvec v[] = {
		{.ptr = "AAA", .fd = -1, .len = 3},
		{.ptr = "BBB", .fd = -1, .len = 3, .stable = true},
		{.ptr = "CCC", .fd = -1, .len = 3},
	};
	/* The unstable bytes are copied, the stable ones wait with the source. */
	assert_int_equal(hp_filter_data(&x.ch, v, 3), 3);
	assert_false(x.c->writable);
	assert_int_equal(x.c->timer_kind, CT_SEND);
	assert_int_equal(x.c->t->out.len, strlen(HEAD "AAA"));
	assert_memory_equal(hp_buf_data(&x.c->t->out), HEAD "AAA", x.c->t->out.len);
	/* Not writable: nothing is tried, unstable bytes still go to out. */
	struct hp_bvec more[] = {{.ptr = "ddd", .fd = -1, .len = 3}};
	assert_int_equal(hp_filter_data(&x.ch, more, 1), 3);
	assert_int_equal(hp_filter_data(&x.ch, v + 1, 2), 0);
	/* The client reads; the source offers the rest again. */
	static char got[1 << 20];
	size_t len = drain(x.peer, got, sizeof(got));
	assert_int_equal(len, junk);
	x.c->writable = true;
	assert_int_equal(hp_filter_data(&x.ch, v + 1, 2), 6);
	assert_int_equal(x.c->t->out.len, 0);
	len = drain(x.peer, got, sizeof(got));
	assert_int_equal(len, strlen(HEAD "AAAdddBBBCCC"));
	assert_memory_equal(got, HEAD "AAAdddBBBCCC", len);
	wfix_fini(&x);
}

static void test_writer_sends_file_ranges_after_the_head(void **state)
{
	(void)state;
	struct wfix x;
	wfix_init(&x);
	int fd = body_memfd(range_body, RANGE_LEN);
	hp_buf_append_str(&x.c->t->out, HEAD);
	struct hp_bvec v[] = {
		{.ptr = "<", .fd = -1, .len = 1},
		{.fd = fd, .off = 2, .len = 5, .stable = true},
		{.ptr = ">", .fd = -1, .len = 1},
		{.fd = fd, .off = 18, .len = 2, .stable = true},
	};
	assert_int_equal(hp_filter_data(&x.ch, v, 4), 9);
	assert_int_equal(x.c->t->resp.bytes_out, 9);
	char got[256];
	size_t len = drain(x.peer, got, sizeof(got));
	assert_int_equal(len, strlen(HEAD "<CDEFG>ST"));
	assert_memory_equal(got, HEAD "<CDEFG>ST", len);
	close(fd);
	wfix_fini(&x);
}

static void test_writer_full_socket_leaves_file_ranges(void **state)
{
	(void)state;
	struct wfix x;
	wfix_init(&x);
	int fd = body_memfd(range_body, RANGE_LEN);
	size_t junk = fill_socket(x.c->io.fd);
	hp_buf_append_str(&x.c->t->out, HEAD);
	struct hp_bvec v = {.fd = fd, .off = 0, .len = RANGE_LEN, .stable = true};
	assert_int_equal(hp_filter_data(&x.ch, &v, 1), 0);
	assert_false(x.c->writable);
	/* The head stays queued, before the body. */
	assert_int_equal(x.c->t->out.len, strlen(HEAD));
	static char got[1 << 20];
	assert_int_equal(drain(x.peer, got, sizeof(got)), junk);
	x.c->writable = true;
	assert_int_equal(hp_filter_data(&x.ch, &v, 1), (ssize_t)RANGE_LEN);
	size_t len = drain(x.peer, got, sizeof(got));
	assert_int_equal(len, strlen(HEAD) + RANGE_LEN);
	assert_memory_equal(got, HEAD, strlen(HEAD));
	assert_memory_equal(got + strlen(HEAD), range_body, RANGE_LEN);
	close(fd);
	wfix_fini(&x);
}

/* A stored-object source feeding a slow client: offer the rest from the
 * resume offset; whenever the socket fills, the client reads and the
 * socket drains. Memory or file, the client gets every byte once. */
static void stable_source_loop(bool file)
{
	struct wfix x;
	wfix_init(&x);
	size_t len = 300 * 1000;
	char *body = malloc(len);
	for (size_t i = 0; i < len; i++)
		body[i] = (char)('a' + (i * 7 + i / 251) % 26);
	int fd = file ? body_memfd(body, len) : -1;
	int small = 8192;
	assert_int_equal(setsockopt(x.c->io.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	hp_buf_append_str(&x.c->t->out, HEAD);
	size_t want = strlen(HEAD) + len;
	char *got = malloc(want + 1);
	size_t glen = 0;
	uint64_t off = 0;
	unsigned partial = 0;
	unsigned rounds = 0;
	while (off < len) {
		struct hp_bvec v = {.ptr = file ? NULL : body + off, .fd = fd, .off = off,
				    .len = len - off, .stable = true};
		ssize_t taken = hp_filter_data(&x.ch, &v, 1);
		assert_true(taken >= 0 && (uint64_t)taken <= len - off);
		off += (uint64_t)taken;
		if (off < len) {
			/* Only a full socket leaves bytes to the source, and they
			 * are not copied. A short write leaves the socket writable
			 * until a write meets EAGAIN. */
			assert_true(x.c->t->out.len <= strlen(HEAD));
			partial++;
			if (!x.c->writable) {
				glen += drain(x.peer, got + glen, want + 1 - glen);
				x.c->writable = true;
			}
		}
		assert_true(++rounds < 10000);
	}
	assert_int_equal(x.c->t->resp.bytes_out, len);
	glen += drain(x.peer, got + glen, want + 1 - glen);
	assert_true(partial > 0);
	assert_int_equal(glen, want);
	assert_memory_equal(got, HEAD, strlen(HEAD));
	assert_memory_equal(got + strlen(HEAD), body, len);
	free(got);
	free(body);
	if (fd >= 0)
		close(fd);
	wfix_fini(&x);
}

static void test_writer_stable_memory_resumes_where_the_socket_stopped(void **state)
{
	(void)state;
	stable_source_loop(false);
}

static void test_writer_file_range_resumes_where_the_socket_stopped(void **state)
{
	(void)state;
	stable_source_loop(true);
}

static void test_writer_closed_client_takes_everything(void **state)
{
	(void)state;
	struct wfix x;
	wfix_init(&x);
	hp_buf_append_str(&x.c->t->out, HEAD);
	x.c->closed = true;
	struct hp_bvec v[] = {
		{.ptr = "abc", .fd = -1, .len = 3, .stable = true},
		{.fd = 12345, .off = 0, .len = 100, .stable = true},
	};
	assert_int_equal(hp_filter_data(&x.ch, v, 2), 103);
	assert_int_equal(x.c->t->out.len, 0);
	char got[64];
	assert_int_equal(drain(x.peer, got, sizeof(got)), 0);
	wfix_fini(&x);
}

static int reset_events(void **state)
{
	(void)state;
	events[0] = '\0';
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cut_plan_covers_every_pair),
		cmocka_unit_test(test_dechunk_split_at_every_boundary),
		cmocka_unit_test(test_dechunk_many_chunks_in_one_input),
		cmocka_unit_test(test_dechunk_refused_by_next_is_an_error),
		cmocka_unit_test(test_dechunk_end_without_last_chunk_is_an_error),
		cmocka_unit_test(test_rechunk_split_at_every_boundary),
		cmocka_unit_test(test_rechunk_batches_and_skips_empty_input),
		cmocka_unit_test(test_rechunk_refused_by_next_is_an_error),
		cmocka_unit_test(test_range_every_range_every_split),
		cmocka_unit_test(test_range_reports_how_far_a_partial_take_reaches),
		cmocka_unit_test(test_fill_split_at_every_boundary),
		cmocka_unit_test_setup(test_fill_abort_drops_the_object, reset_events),
		cmocka_unit_test(test_fill_oversized_body_passes_but_is_not_stored),
		cmocka_unit_test(test_fill_broken_framing_stops_storing_only),
		cmocka_unit_test(test_discard_takes_everything),
		cmocka_unit_test(test_chain_start_and_end_run_front_to_back),
		cmocka_unit_test(test_chain_end_error_aborts_later_filters),
		cmocka_unit_test(test_chain_abort_is_idempotent),
		cmocka_unit_test(test_chain_data_after_abort_is_taken),
		cmocka_unit_test(test_chain_refusal_reaches_the_source),
		cmocka_unit_test(test_writer_writev_head_and_memory),
		cmocka_unit_test(test_writer_full_socket_keeps_unstable_leaves_stable),
		cmocka_unit_test(test_writer_sends_file_ranges_after_the_head),
		cmocka_unit_test(test_writer_full_socket_leaves_file_ranges),
		cmocka_unit_test(test_writer_stable_memory_resumes_where_the_socket_stopped),
		cmocka_unit_test(test_writer_file_range_resumes_where_the_socket_stopped),
		cmocka_unit_test(test_writer_closed_client_takes_everything),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
