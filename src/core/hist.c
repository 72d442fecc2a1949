/* SPDX-License-Identifier: MIT */
/*
 * hist.c - log-linear histogram. Values below 2^sub_bits map one to one
 * onto the first counters; above that, each octave [2^k, 2^(k+1)) gets
 * 2^(sub_bits-1) counters of width 2^(k-sub_bits+1). A value's index is
 * found with one count-leading-zeros and two shifts, so recording costs a
 * few instructions and no loop.
 */
#include "core/hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static unsigned top_bit(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

static size_t index_of(const struct hp_hist *h, uint64_t v)
{
	uint64_t linear = (uint64_t)1 << h->sub_bits;
	if (v < linear)
		return (size_t)v;
	unsigned k = top_bit(v);
	unsigned shift = k - h->sub_bits + 1;
	uint64_t half = linear >> 1;
	return (size_t)(linear + (k - h->sub_bits) * half + ((v >> shift) - half));
}

static void range_of(const struct hp_hist *h, size_t i, uint64_t *lo, uint64_t *hi)
{
	uint64_t linear = (uint64_t)1 << h->sub_bits;
	if (i < linear) {
		*lo = *hi = i;
		return;
	}
	uint64_t half = linear >> 1;
	uint64_t j = i - linear;
	unsigned shift = (unsigned)(j / half) + 1;
	*lo = (j % half + half) << shift;
	*hi = *lo + ((uint64_t)1 << shift) - 1;
}

void hp_hist_init(struct hp_hist *h, uint64_t highest, int sig_digits)
{
	HP_ASSERT(highest >= 2 && sig_digits >= 1 && sig_digits <= 5);
	/* Resolution 1/2^(sub_bits-1) must beat 10^-sig_digits. */
	uint64_t need = 2;
	for (int i = 0; i < sig_digits; i++)
		need *= 10;
	unsigned sub_bits = 1;
	while (((uint64_t)1 << sub_bits) < need)
		sub_bits++;
	*h = (struct hp_hist){.highest = highest, .sub_bits = sub_bits};
	h->num_counts = index_of(h, highest) + 1;
	h->counts = hp_xcalloc(h->num_counts, sizeof(*h->counts));
	h->min = UINT64_MAX;
}

void hp_hist_fini(struct hp_hist *h)
{
	free(h->counts);
	*h = (struct hp_hist){0};
}

void hp_hist_reset(struct hp_hist *h)
{
	memset(h->counts, 0, h->num_counts * sizeof(*h->counts));
	h->total = 0;
	h->min = UINT64_MAX;
	h->max = 0;
	h->sum = 0;
	h->sum_sq = 0;
}

void hp_hist_record_n(struct hp_hist *h, uint64_t value, uint64_t n)
{
	if (n == 0)
		return;
	size_t i = value > h->highest ? h->num_counts - 1 : index_of(h, value);
	h->counts[i] += n;
	h->total += n;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
	double v = (double)value;
	h->sum += v * (double)n;
	h->sum_sq += v * v * (double)n;
}

void hp_hist_record(struct hp_hist *h, uint64_t value)
{
	hp_hist_record_n(h, value, 1);
}

void hp_hist_merge(struct hp_hist *dst, const struct hp_hist *src)
{
	HP_ASSERT(dst->num_counts == src->num_counts && dst->sub_bits == src->sub_bits);
	if (src->total == 0)
		return;
	for (size_t i = 0; i < src->num_counts; i++)
		dst->counts[i] += src->counts[i];
	dst->total += src->total;
	dst->min = HP_MIN(dst->min, src->min);
	dst->max = HP_MAX(dst->max, src->max);
	dst->sum += src->sum;
	dst->sum_sq += src->sum_sq;
}

uint64_t hp_hist_percentile(const struct hp_hist *h, double pct)
{
	if (h->total == 0)
		return 0;
	if (pct >= 100.0)
		return h->max;
	if (pct <= 0.0)
		return h->min;
	uint64_t rank = (uint64_t)ceil(pct / 100.0 * (double)h->total);
	rank = HP_MAX(rank, 1);
	uint64_t seen = 0;
	for (size_t i = 0; i < h->num_counts; i++) {
		seen += h->counts[i];
		if (seen < rank)
			continue;
		uint64_t lo;
		uint64_t hi;
		range_of(h, i, &lo, &hi);
		return HP_MAX(HP_MIN(hi, h->max), h->min);
	}
	return h->max;
}

double hp_hist_mean(const struct hp_hist *h)
{
	return h->total ? h->sum / (double)h->total : 0.0;
}

double hp_hist_stdev(const struct hp_hist *h)
{
	if (h->total == 0)
		return 0.0;
	double mean = hp_hist_mean(h);
	double var = h->sum_sq / (double)h->total - mean * mean;
	/* Cancellation can leave a tiny negative variance for constant data. */
	return var > 0 ? sqrt(var) : 0.0;
}

uint64_t hp_hist_min(const struct hp_hist *h)
{
	return h->total ? h->min : 0;
}

uint64_t hp_hist_max(const struct hp_hist *h)
{
	return h->max;
}

bool hp_hist_next(const struct hp_hist *h, struct hp_hist_iter *it)
{
	while (it->index < h->num_counts) {
		size_t i = it->index++;
		if (h->counts[i] == 0)
			continue;
		range_of(h, i, &it->lo, &it->hi);
		it->count = h->counts[i];
		return true;
	}
	return false;
}

size_t hp_hist_index(const struct hp_hist *h, uint64_t value)
{
	return value > h->highest ? h->num_counts - 1 : index_of(h, value);
}

void hp_hist_bucket_range(const struct hp_hist *h, uint64_t value, uint64_t *lo, uint64_t *hi)
{
	size_t i = value > h->highest ? h->num_counts - 1 : index_of(h, value);
	range_of(h, i, lo, hi);
}

void hp_hist_validate(const struct hp_hist *h)
{
	HP_AN(h->counts);
	uint64_t total = 0;
	for (size_t i = 0; i < h->num_counts; i++)
		total += h->counts[i];
	HP_ASSERT(total == h->total);
	HP_ASSERT(h->total == 0 || h->min <= h->max);
	uint64_t lo;
	uint64_t hi;
	range_of(h, h->num_counts - 1, &lo, &hi);
	HP_ASSERT(lo <= h->highest && h->highest <= hi);
}
