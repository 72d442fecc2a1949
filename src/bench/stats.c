/* SPDX-License-Identifier: MIT */
/*
 * stats.c - per-thread counters of a load test and the figures derived
 * from them (definitions in stats.h). A 4xx counts as neither success nor
 * error: it is the client's doing and usually what the test intended.
 *
 * Per-second histograms are initialised only as the timeline grows into a
 * second, so a long run pays for the seconds it has lived, not for the
 * capacity the array was doubled to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench/stats.h"
#include "core/core.h"

const char *const hp_bench_err_names[HP_BENCH_ERR_N] = {
    "connect", "read", "write", "timeout", "parse",
};
const char *const hp_bench_cache_names[HP_BCACHE_N] = {"hit", "miss", "stale"};

const char *hp_bench_fmt_us(double us, char *buf, size_t n)
{
	if (us < 1000)
		snprintf(buf, n, "%.0fus", us);
	else if (us < 1e6)
		snprintf(buf, n, "%.2fms", us / 1e3);
	else
		snprintf(buf, n, "%.2fs", us / 1e6);
	return buf;
}

void hp_bench_stats_init(struct hp_bench_stats *s, size_t nreqs)
{
	HP_ASSERT(nreqs >= 1);
	*s = (struct hp_bench_stats){0};
	hp_hist_init(&s->lat, HP_BENCH_HIST_MAX_US, HP_BENCH_HIST_DIGITS);
	for (int i = 0; i < HP_BCACHE_N; i++)
		hp_hist_init(&s->cache[i].lat, HP_BENCH_HIST_MAX_US, HP_BENCH_HIST_DIGITS);
	s->reqs = hp_xcalloc(nreqs, sizeof(*s->reqs));
	s->nreqs = nreqs;
	for (size_t i = 0; i < nreqs; i++)
		hp_hist_init(&s->reqs[i].lat, HP_BENCH_HIST_MAX_US, HP_BENCH_HIST_DIGITS);
}

void hp_bench_stats_fini(struct hp_bench_stats *s)
{
	hp_hist_fini(&s->lat);
	for (int i = 0; i < HP_BCACHE_N; i++)
		hp_hist_fini(&s->cache[i].lat);
	for (size_t i = 0; i < s->nreqs; i++)
		hp_hist_fini(&s->reqs[i].lat);
	free(s->reqs);
	for (size_t i = 0; i < s->seconds; i++)
		hp_hist_fini(&s->timeline[i].lat);
	free(s->timeline);
	*s = (struct hp_bench_stats){0};
}

struct hp_bench_second *hp_bench_stats_second(struct hp_bench_stats *s, size_t idx)
{
	if (idx >= s->seconds_cap) {
		size_t cap = HP_MAX(s->seconds_cap * 2, 64);
		while (cap <= idx)
			cap *= 2;
		s->timeline = hp_xrealloc(s->timeline, cap * sizeof(*s->timeline));
		memset(s->timeline + s->seconds_cap, 0,
		       (cap - s->seconds_cap) * sizeof(*s->timeline));
		s->seconds_cap = cap;
	}
	for (; s->seconds <= idx; s->seconds++)
		hp_hist_init(&s->timeline[s->seconds].lat, HP_BENCH_HIST_MAX_US,
			     HP_BENCH_SECOND_DIGITS);
	return &s->timeline[idx];
}

static void merge_timeline(struct hp_bench_stats *dst, const struct hp_bench_stats *src)
{
	for (size_t i = 0; i < src->seconds; i++) {
		const struct hp_bench_second *a = &src->timeline[i];
		struct hp_bench_second *b = hp_bench_stats_second(dst, i);
		b->responses += a->responses;
		b->errors += a->errors;
		b->bytes += a->bytes;
		b->lat_sum_us += a->lat_sum_us;
		b->lat_max_us = HP_MAX(b->lat_max_us, a->lat_max_us);
		hp_hist_merge(&b->lat, &a->lat);
	}
}

static void merge_reqs(struct hp_bench_stats *dst, const struct hp_bench_stats *src)
{
	HP_ASSERT(dst->nreqs == src->nreqs);
	for (size_t i = 0; i < src->nreqs; i++) {
		const struct hp_bench_req_stats *a = &src->reqs[i];
		struct hp_bench_req_stats *b = &dst->reqs[i];
		b->responses += a->responses;
		b->errors += a->errors;
		for (size_t k = 0; k < HP_ARRAY_SIZE(a->status); k++)
			b->status[k] += a->status[k];
		for (int k = 0; k < HP_BCACHE_N; k++)
			b->cache[k] += a->cache[k];
		hp_hist_merge(&b->lat, &a->lat);
	}
}

void hp_bench_stats_merge(struct hp_bench_stats *dst, const struct hp_bench_stats *src)
{
	hp_hist_merge(&dst->lat, &src->lat);
	for (size_t i = 0; i < HP_ARRAY_SIZE(dst->status); i++)
		dst->status[i] += src->status[i];
	for (int i = 0; i < HP_BENCH_ERR_N; i++)
		dst->errors[i] += src->errors[i];
	dst->responses += src->responses;
	dst->bytes += src->bytes;
	dst->discarded += src->discarded;
	dst->connects += src->connects;
	dst->cache_seen |= src->cache_seen;
	for (int i = 0; i < HP_BCACHE_N; i++) {
		dst->cache[i].responses += src->cache[i].responses;
		dst->cache[i].bytes += src->cache[i].bytes;
		hp_hist_merge(&dst->cache[i].lat, &src->cache[i].lat);
	}
	merge_timeline(dst, src);
	merge_reqs(dst, src);
}

void hp_bench_result_fini(struct hp_bench_result *r)
{
	hp_bench_stats_fini(&r->st);
}

uint64_t hp_bench_errors_total(const struct hp_bench_stats *s)
{
	uint64_t n = 0;
	for (int i = 0; i < HP_BENCH_ERR_N; i++)
		n += s->errors[i];
	return n;
}

double hp_bench_rps(const struct hp_bench_result *r)
{
	return r->elapsed_s > 0 ? (double)r->st.responses / r->elapsed_s : 0;
}

static double attempts(const struct hp_bench_result *r)
{
	return (double)(r->st.responses + hp_bench_errors_total(&r->st));
}

double hp_bench_success_pct(const struct hp_bench_result *r)
{
	double n = attempts(r);
	return n > 0 ? 100.0 * (double)(r->st.status[2] + r->st.status[3]) / n : 0;
}

double hp_bench_error_pct(const struct hp_bench_result *r)
{
	double n = attempts(r);
	double bad = (double)(hp_bench_errors_total(&r->st) + r->st.status[5]);
	return n > 0 ? 100.0 * bad / n : 0;
}

double hp_bench_hit_pct(const struct hp_bench_result *r)
{
	uint64_t n = 0;
	for (int i = 0; i < HP_BCACHE_N; i++)
		n += r->st.cache[i].responses;
	return n ? 100.0 * (double)r->st.cache[HP_BCACHE_HIT].responses / (double)n : 0;
}

double hp_bench_cpu_pct(const struct hp_bench_result *r)
{
	return r->wall_s > 0 ? 100.0 * r->cpu_s / r->wall_s : 0;
}

static bool contains_word(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);
	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(s + i, word, n) == 0)
			return true;
	return false;
}

/*
 * RFC 9211: the last list member is the cache nearest to us. "hit" means
 * served from cache, with a negative ttl when served stale; "fwd=stale"
 * means the cache went to the origin to revalidate. X-Cache has no
 * standard, so look for the words, stale first ("STALE" would not contain
 * "HIT", but "HIT-STALE" variants exist).
 */
int hp_bench_cache_class(const char *value, size_t len, bool rfc9211)
{
	if (rfc9211) {
		const char *last = value;
		for (size_t i = 0; i < len; i++)
			if (value[i] == ',')
				last = value + i + 1;
		len -= (size_t)(last - value);
		value = last;
		if (contains_word(value, len, "fwd=stale") || contains_word(value, len, "ttl=-"))
			return HP_BCACHE_STALE;
		if (contains_word(value, len, ";hit") || contains_word(value, len, "; hit"))
			return HP_BCACHE_HIT;
		if (contains_word(value, len, "fwd="))
			return HP_BCACHE_MISS;
		return -1;
	}
	if (contains_word(value, len, "stale"))
		return HP_BCACHE_STALE;
	if (contains_word(value, len, "hit"))
		return HP_BCACHE_HIT;
	if (contains_word(value, len, "miss"))
		return HP_BCACHE_MISS;
	return -1;
}
