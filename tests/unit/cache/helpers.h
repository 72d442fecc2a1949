/* SPDX-License-Identifier: MIT */
/*
 * helpers.h - compact field lists and one-call object storage for the cache
 * tests, so that each table row stays one line.
 *
 * Field lists are written "Name: value|Name: value"; "@N" in a value becomes
 * the HTTP date of T0 + N seconds (N may be negative).
 */
#ifndef HP_TESTS_CACHE_HELPERS_H
#define HP_TESTS_CACHE_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "cache/cache.h"
#include "core/clock.h"

#define T0 ((time_t)1700000000)

struct fields {
	struct hp_http_header h[32];
	size_t n;
	char store[4096];
};

static inline void fields_parse(struct fields *f, const char *spec)
{
	size_t used = 0;

	f->n = 0;
	if (spec == NULL || *spec == '\0')
		return;
	for (const char *p = spec; *p != '\0';) {
		const char *end = strchr(p, '|');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *line = f->store + used;
		size_t k = 0;
		for (size_t i = 0; i < len; i++) {
			if (p[i] == '@') {
				char *e;
				long off = strtol(p + i + 1, &e, 10);
				hp_http_date_format(T0 + off, line + k);
				k += HP_HTTP_DATE_LEN;
				i = (size_t)(e - p) - 1;
			} else {
				line[k++] = p[i];
			}
		}
		char *colon = memchr(line, ':', k);
		if (colon == NULL)
			abort();
		struct hp_http_header *h = &f->h[f->n++];
		h->name = (struct hp_str){line, (size_t)(colon - line)};
		h->value = hp_str_trim((struct hp_str){colon + 1, k - (size_t)(colon - line) - 1});
		used += k;
		p += len;
		if (*p == '|')
			p++;
	}
}

static inline struct hp_cache *test_cache(uint64_t max_memory, unsigned shards)
{
	struct hp_cache_conf conf = {.max_memory = max_memory, .shards = shards};

	return hp_cache_create(&conf);
}

/* Fill <key> with a response as the proxy would; false if it was refused. */
static inline bool fill_obj(struct hp_cache *c, const char *key, int status, const char *resp,
			    const char *req, time_t req_t, time_t resp_t,
			    const struct hp_cache_policy *pol, const char *body)
{
	struct fields rf;
	struct fields qf;
	struct hp_cache_fill *fill;
	struct hp_cache_waiter w = {0};
	size_t klen = strlen(key);
	uint64_t hash = XXH3_64bits(key, klen);

	fields_parse(&rf, resp);
	fields_parse(&qf, req);
	if (hp_cache_begin_fill(c, key, klen, hash, &fill, &w, resp_t) != HP_CACHE_FILLER)
		abort();
	if (!hp_cache_fill_head(fill, status, rf.h, rf.n, qf.h, qf.n, req_t, resp_t, pol)) {
		hp_cache_fill_abort(fill, false);
		return false;
	}
	if (body != NULL && !hp_cache_fill_append(fill, body, strlen(body))) {
		hp_cache_fill_abort(fill, false);
		return false;
	}
	hp_cache_fill_commit(fill);
	return true;
}

/*
 * Store a response under <key> and look it up again with <req>: returns the
 * object with a reference taken, or NULL if the fill refused to store it.
 * The lookup counts as a hit for eviction.
 */
static inline struct hp_cache_obj *store_obj(struct hp_cache *c, const char *key, int status,
					     const char *resp, const char *req, time_t req_t,
					     time_t resp_t, const struct hp_cache_policy *pol,
					     const char *body)
{
	struct fields qf;

	if (!fill_obj(c, key, status, resp, req, req_t, resp_t, pol, body))
		return NULL;
	fields_parse(&qf, req);
	return hp_cache_lookup(c, key, strlen(key), XXH3_64bits(key, strlen(key)), qf.h, qf.n,
			       resp_t);
}

static inline uint64_t key_hash(const char *key)
{
	return XXH3_64bits(key, strlen(key));
}

#endif
