/* SPDX-License-Identifier: MIT */
/*
 * hist.h - a log-linear latency histogram in the style of HdrHistogram.
 *
 * Values are unsigned integers in a unit the caller picks (the load
 * generator and the metrics subsystem record microseconds). The range
 * [0, highest] is cut into octaves [2^k, 2^(k+1)), each split into the same
 * number of equal sub-buckets, so every recorded value is known to within
 * 1 part in 10^sig_digits while the table stays small: 1 us to 1 h at three
 * significant digits is 23 552 counters (184 KiB). Values above highest are
 * counted in the last bucket and still seen by max.
 *
 * Sum and sum of squares are kept exactly (as doubles) beside the buckets,
 * so mean and stdev carry no bucketing error; min and max are exact too.
 *
 * Not thread-safe: give each thread its own histogram and hp_hist_merge()
 * them. Two histograms merge only if they were initialised alike.
 */
#ifndef HP_CORE_HIST_H
#define HP_CORE_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Invariants: total == sum of counts[]; min <= max when total > 0. */
struct hp_hist {
	uint64_t *counts; /* num_counts counters */
	size_t num_counts;
	uint64_t highest;  /* largest value recorded exactly, in the caller's unit */
	unsigned sub_bits; /* log2 of the linear range; octaves hold 2^(sub_bits-1) */
	uint64_t total;	   /* values recorded */
	uint64_t min;	   /* smallest value, UINT64_MAX when empty */
	uint64_t max;	   /* largest value (before clamping), 0 when empty */
	double sum;	   /* sum of values */
	double sum_sq;	   /* sum of squared values, for stdev */
};

/* One non-empty bucket, as hp_hist_next() yields it. */
struct hp_hist_iter {
	size_t index;	/* next bucket to look at; start at 0 */
	uint64_t lo;	/* smallest value that lands in the bucket */
	uint64_t hi;	/* largest value that lands in the bucket */
	uint64_t count; /* values in the bucket */
};

/* Set up <h> for values 0..<highest> (>= 2) with <sig_digits> (1..5)
 * significant digits. Allocates (never fails); pair with hp_hist_fini(). */
void hp_hist_init(struct hp_hist *h, uint64_t highest, int sig_digits);
/* Free the counters; <h> may be initialised again. */
void hp_hist_fini(struct hp_hist *h);
/* Forget every value, keep the layout. */
void hp_hist_reset(struct hp_hist *h);
/* Record <value> once / <n> times. Values above highest land in the last bucket. */
void hp_hist_record(struct hp_hist *h, uint64_t value);
void hp_hist_record_n(struct hp_hist *h, uint64_t value, uint64_t n);
/* Add every value of <src> into <dst>; both must have the same layout. */
void hp_hist_merge(struct hp_hist *dst, const struct hp_hist *src);

/* The value at or below which <pct> percent (0..100) of the values lie: the
 * upper edge of the bucket holding that rank, clamped to [min, max]. 0 when
 * empty. hp_hist_percentile(h, 100) == max and hp_hist_percentile(h, 0) == min. */
uint64_t hp_hist_percentile(const struct hp_hist *h, double pct);
/* Exact mean and population standard deviation; 0 when empty. */
double hp_hist_mean(const struct hp_hist *h);
double hp_hist_stdev(const struct hp_hist *h);
/* Exact extremes; 0 when empty. */
uint64_t hp_hist_min(const struct hp_hist *h);
uint64_t hp_hist_max(const struct hp_hist *h);

/* Step <it> (zero-initialised first) to the next non-empty bucket in value
 * order. Returns false after the last one. */
bool hp_hist_next(const struct hp_hist *h, struct hp_hist_iter *it);
/* The index in counts[] of <value>'s bucket (values above highest: the
 * last). For owners that keep the counters elsewhere, e.g. as atomics
 * another thread reads, and copy them into counts[] to iterate. */
size_t hp_hist_index(const struct hp_hist *h, uint64_t value);
/* The range of values that share <value>'s bucket. */
void hp_hist_bucket_range(const struct hp_hist *h, uint64_t value, uint64_t *lo, uint64_t *hi);
/* Abort if the invariants do not hold (tests). */
void hp_hist_validate(const struct hp_hist *h);

#endif
