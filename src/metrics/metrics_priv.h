/* SPDX-License-Identifier: MIT */
/*
 * metrics_priv.h - the shard's layout, shared by shard.c (the owner's
 * writes) and expose.c (the scrape's reads).
 *
 * Every counter another thread reads is an _Atomic uint64_t that only the
 * owner stores to, with relaxed order: the owner's load-add-store is not a
 * shared read-modify-write, and a scraper's relaxed load sees some value
 * the owner stored. Slots are published with a release store of nslots
 * after their name and counters exist, and read after an acquire load, so
 * a scraper never reads a slot being built; slots are freed only with the
 * shard.
 */
#ifndef HP_METRICS_METRICS_PRIV_H
#define HP_METRICS_METRICS_PRIV_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/hist.h"
#include "metrics/metrics.h"

/* Latency histograms record microseconds, two significant digits (a
 * bucket is at most 1/128 of its value wide), up to two minutes; longer
 * durations land in the last bucket, which lies above every `le`. */
#define HP_METRICS_HIST_HIGHEST_US 120000000u
#define HP_METRICS_HIST_DIGITS 2
#define HP_METRICS_NSTATUS 5 /* 1xx..5xx */

/* A latency histogram with hp_hist's layout whose counters a scrape may read. */
struct hp_metrics_hist {
	_Atomic uint64_t *counts;      /* the shard's layout.num_counts counters */
	_Atomic uint64_t sum_us;       /* sum of the values recorded, us */
};

/* One route name's series on one worker. */
struct hp_metrics_slot {
	char name[HP_METRICS_NAME_MAX]; /* immutable once published */
	_Atomic uint64_t requests[HP_METRICS_NMETHODS][HP_METRICS_NSTATUS][HP_METRICS_NCACHE];
#define HP_METRIC(field, name, type, kind, labels, help) HP_METRICS_SLOT_##kind(field)
#define HP_METRICS_SLOT_ROUTE_REQ(field)
#define HP_METRICS_SLOT_ROUTE_HIST(field) struct hp_metrics_hist field;
#define HP_METRICS_SLOT_WORKER(field)
#define HP_METRICS_SLOT_SCRAPE(field)
#define HP_METRICS_SLOT_INFO(field)
#define HP_METRICS_SLOT_ALERT(field)
#define HP_METRICS_SLOT_ROUTE_LIMIT(field) _Atomic uint64_t field[HP_METRICS_NLIMIT];
#define HP_METRICS_SLOT_UPSTREAM(field)
#define HP_METRICS_SLOT_UPSTREAM_GROUP(field)
#include "metrics/metrics_tbl.h"
#undef HP_METRIC
};

struct hp_metrics_shard {
	struct hp_hist layout;         /* never recorded into: the bucket index of a value */
	_Atomic size_t nslots;         /* published slots (release / acquire) */
	struct hp_metrics_slot *slots[HP_METRICS_MAX_ROUTES];
#define HP_METRIC(field, name, type, kind, labels, help) HP_METRICS_SHARD_##kind(field)
#define HP_METRICS_SHARD_ROUTE_REQ(field)
#define HP_METRICS_SHARD_ROUTE_HIST(field)
#define HP_METRICS_SHARD_WORKER(field) _Atomic uint64_t field;
#define HP_METRICS_SHARD_SCRAPE(field)
#define HP_METRICS_SHARD_INFO(field)
#define HP_METRICS_SHARD_ALERT(field)
#define HP_METRICS_SHARD_ROUTE_LIMIT(field)
#define HP_METRICS_SHARD_UPSTREAM(field)
#define HP_METRICS_SHARD_UPSTREAM_GROUP(field)
#include "metrics/metrics_tbl.h"
#undef HP_METRIC
};

#endif
