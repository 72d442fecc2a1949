/* SPDX-License-Identifier: MIT */
/*
 * pool.c - the codings' table and each worker's pool of idle streams.
 * A stream given back keeps its codec state; the next take resets it,
 * which for zlib and zstd keeps the memory it already touched. Only a
 * codec that cannot reset (brotli) is destroyed and made again. The pool
 * holds at most <max_idle> streams per coding, so a burst of concurrent
 * compressed responses does not pin its peak memory forever.
 */
#include <stdlib.h>

#include "compress/compress.h"
#include "compress/compress_priv.h"

/* The gunzip decoder's slot, after the codings. */
#define SLOT_GUNZIP HP_ENC_COUNT

static const struct hp_compress_codec *const codecs[HP_ENC_COUNT + 1] = {
	[HP_ENC_IDENTITY] = NULL,
	[HP_ENC_GZIP] = &hp_compress_gzip,
	[HP_ENC_BR] = &hp_compress_br,
	[HP_ENC_ZSTD] = &hp_compress_zstd,
	[SLOT_GUNZIP] = &hp_compress_gunzip,
};

const struct hp_compress_codec *hp_compress_codec(enum hp_compress_enc enc)
{
	return (unsigned)enc < HP_ENC_COUNT ? codecs[enc] : NULL;
}

const char *hp_compress_name(enum hp_compress_enc enc)
{
	const struct hp_compress_codec *c = hp_compress_codec(enc);
	return c != NULL ? c->name : "identity";
}

int hp_compress_from_name(struct hp_str s)
{
	if (hp_str_ieq(s, "identity"))
		return HP_ENC_IDENTITY;
	if (hp_str_ieq(s, "x-gzip"))
		return HP_ENC_GZIP;
	for (int e = HP_ENC_GZIP; e < HP_ENC_COUNT; e++)
		if (hp_str_ieq(s, codecs[e]->name))
			return e;
	return -1;
}

/* ==== Streams ==== */

struct hp_compress_stream {
	const struct hp_compress_codec *codec;
	void *st;                      /* the codec's state */
	unsigned slot;                 /* coding, or SLOT_GUNZIP */
	int level;
	bool ended;                    /* fed with <last>: nothing more may come */
	struct hp_compress_stream *next; /* in the pool while idle */
};

struct hp_compress_pool {
	struct hp_compress_stream *idle[HP_ENC_COUNT + 1]; /* per slot, a stack */
	unsigned nidle[HP_ENC_COUNT + 1];
	unsigned max_idle;             /* per slot */
	unsigned long created;         /* codec states made, for tests and docs */
};

struct hp_compress_pool *hp_compress_pool_create(unsigned max_idle)
{
	struct hp_compress_pool *p = hp_xcalloc(1, sizeof(*p));
	p->max_idle = max_idle;
	return p;
}

static void stream_free(struct hp_compress_stream *s)
{
	if (s->st != NULL)
		s->codec->destroy(s->st);
	free(s);
}

void hp_compress_pool_destroy(struct hp_compress_pool *p)
{
	if (p == NULL)
		return;
	for (unsigned i = 0; i <= HP_ENC_COUNT; i++) {
		while (p->idle[i] != NULL) {
			struct hp_compress_stream *s = p->idle[i];
			p->idle[i] = s->next;
			stream_free(s);
		}
	}
	free(p);
}

static struct hp_compress_stream *take_slot(struct hp_compress_pool *p, unsigned slot, int level)
{
	const struct hp_compress_codec *codec = codecs[slot];
	HP_ASSERT(codec != NULL);
	level = HP_MAX(codec->min_level, HP_MIN(codec->max_level, level));
	struct hp_compress_stream *s = p->idle[slot];
	if (s != NULL) {
		p->idle[slot] = s->next;
		p->nidle[slot]--;
		if (!codec->reset(s->st, level)) {
			codec->destroy(s->st);
			s->st = NULL;
		}
	} else {
		s = hp_xcalloc(1, sizeof(*s));
		s->codec = codec;
		s->slot = slot;
	}
	if (s->st == NULL) {
		s->st = codec->create(level);
		p->created++;
	}
	s->level = level;
	s->ended = false;
	s->next = NULL;
	return s;
}

struct hp_compress_stream *hp_compress_take(struct hp_compress_pool *p, enum hp_compress_enc enc,
					    int level)
{
	HP_ASSERT(enc > HP_ENC_IDENTITY && enc < HP_ENC_COUNT);
	return take_slot(p, (unsigned)enc, level);
}

struct hp_compress_stream *hp_compress_take_gunzip(struct hp_compress_pool *p)
{
	return take_slot(p, SLOT_GUNZIP, 0);
}

void hp_compress_give(struct hp_compress_pool *p, struct hp_compress_stream *s)
{
	if (p->nidle[s->slot] >= p->max_idle) {
		stream_free(s);
		return;
	}
	s->next = p->idle[s->slot];
	p->idle[s->slot] = s;
	p->nidle[s->slot]++;
}

int hp_compress_feed(struct hp_compress_stream *s, const void *in, size_t len, bool last,
		     struct hp_buf *out)
{
	if (s->ended)
		return len > 0 || !last ? HP_ERR : 0;
	s->ended = last;
	return s->codec->feed(s->st, in, len, last, out);
}

unsigned long hp_compress_pool_created(const struct hp_compress_pool *p)
{
	return p->created;
}
