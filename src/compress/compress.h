/* SPDX-License-Identifier: MIT */
/*
 * compress.h - response content codings: gzip (zlib), brotli and zstd
 * encoders behind one const table of function pointers (one file each),
 * a gzip decoder, the choice of a coding from a request's Accept-Encoding,
 * and the test of whether a media type is worth compressing.
 *
 * Streams are expensive to create (a zlib stream's window and hash tables
 * are fresh pages: creating and freeing one per response costs more in
 * page faults than compressing 64 KiB), so each worker keeps a pool of
 * streams and resets one for the next response instead. zlib and zstd
 * reset in place (deflateReset, ZSTD_CCtx_reset); brotli has no reset, so
 * its encoder is made anew per response (docs/compression.md measures it).
 *
 * Invariants: a pool belongs to one thread; every stream taken is given
 * back (finished or not) to the pool it came from; output is appended to
 * the caller's hp_buf, never held back past a call with <last> set.
 */
#ifndef HP_COMPRESS_COMPRESS_H
#define HP_COMPRESS_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/core.h"

/* Content codings, in no particular order; IDENTITY is "none". */
enum hp_compress_enc {
	HP_ENC_IDENTITY,
	HP_ENC_GZIP,
	HP_ENC_BR,
	HP_ENC_ZSTD,
	HP_ENC_COUNT,
};

/* An encoder implementation (compress_gzip.c, compress_br.c, compress_zstd.c). */
struct hp_compress_codec {
	const char *name;              /* token in Content-Encoding: "gzip", "br", "zstd" */
	int min_level, max_level;      /* accepted levels */
	/* A new encoder state at <level>; never NULL (aborts on OOM). */
	void *(*create)(int level);
	/* Make <st> ready for a new stream at <level>; false if it cannot be
	 * reused (the pool then destroys it and creates another). */
	bool (*reset)(void *st, int level);
	/* Compress <len> bytes at <in>, appending what comes out to <out>; with
	 * <last>, end the stream (all output is then in <out>). 0, or HP_ERR. */
	int (*feed)(void *st, const void *in, size_t len, bool last, struct hp_buf *out);
	void (*destroy)(void *st);
};

extern const struct hp_compress_codec hp_compress_gzip;
extern const struct hp_compress_codec hp_compress_br;
extern const struct hp_compress_codec hp_compress_zstd;

/* The codec of <enc> (NULL for IDENTITY), and a coding's token ("identity"
 * for IDENTITY). */
const struct hp_compress_codec *hp_compress_codec(enum hp_compress_enc enc);
const char *hp_compress_name(enum hp_compress_enc enc);
/* The coding named <s> (case-insensitive; "x-gzip" is gzip), or -1. */
int hp_compress_from_name(struct hp_str s);

/* ==== Streams and their pool (pool.c) ==== */

struct hp_compress_pool;   /* a worker's idle streams, one thread only */
struct hp_compress_stream; /* one response's encoder or gzip decoder */

/* A pool keeping up to <max_idle> idle streams per coding. */
struct hp_compress_pool *hp_compress_pool_create(unsigned max_idle);
/* Free the pool and its idle streams (every stream must have been given back). */
void hp_compress_pool_destroy(struct hp_compress_pool *p);
/* An encoder for <enc> (not IDENTITY) at <level> (clamped to the codec's
 * range), reset and ready; never NULL. */
struct hp_compress_stream *hp_compress_take(struct hp_compress_pool *p, enum hp_compress_enc enc,
					    int level);
/* A gzip decoder, reset and ready; never NULL. */
struct hp_compress_stream *hp_compress_take_gunzip(struct hp_compress_pool *p);
/* Put <s> back for the next response (also after an error or abort). */
void hp_compress_give(struct hp_compress_pool *p, struct hp_compress_stream *s);
/* Encode (or decode) <len> bytes, appending the output to <out>; <last>
 * ends the stream. 0, or HP_ERR (bad gzip input; a stream past its end). */
int hp_compress_feed(struct hp_compress_stream *s, const void *in, size_t len, bool last,
		     struct hp_buf *out);
/* Streams created so far by <p> (for tests: reuse means this stays put). */
unsigned long hp_compress_pool_created(const struct hp_compress_pool *p);

/* ==== Negotiation (negotiate.c) ==== */

/*
 * The coding for a response to a request whose Accept-Encoding value is
 * <ae> (<present> false: no such field, which gets IDENTITY), chosen among
 * <prefs>[0..n) (the server's order): the highest q-value wins, ties go to
 * the earlier in <prefs>; a coding not listed takes the q of "*", if any;
 * q=0 refuses. IDENTITY when nothing is acceptable, or when identity is
 * listed with a q-value higher than the best coding's. Malformed elements
 * are skipped; never fails.
 */
enum hp_compress_enc hp_compress_negotiate(struct hp_str ae, bool present,
					   const enum hp_compress_enc *prefs, size_t n);
/* Does <ae> accept <enc> (q > 0, named or by "*")? */
bool hp_compress_accepts(struct hp_str ae, bool present, enum hp_compress_enc enc);

/*
 * Is the Content-Type value <ct> one of <types>[0..n)? Parameters after
 * ';' are ignored, case is not. A pattern "text/" + "*" matches a whole top
 * level type, "+json" any structured-syntax suffix, anything else the
 * exact type.
 */
bool hp_compress_type_matches(struct hp_str ct, char *const *types, size_t n);

#endif
