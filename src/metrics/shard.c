/* SPDX-License-Identifier: MIT */
/*
 * shard.c - a worker's metrics: route-name slots and the recording of one
 * finished request. Only the owning worker writes here; see
 * metrics_priv.h for why its plain load-then-store of an atomic is enough
 * and how slots are published to a concurrent scrape.
 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "metrics/metrics_priv.h"

static const char slot_none[] = "none";
static const char slot_other[] = "other";

/* Owner-only increment: no other thread stores to <c>, so a relaxed load
 * and store cannot lose an update, and cost what a plain add does. */
static inline void bump(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static void hist_init(struct hp_metrics_hist *h, const struct hp_hist *layout)
{
	h->counts = hp_xcalloc(layout->num_counts, sizeof(*h->counts));
	atomic_init(&h->sum_us, 0);
}

static void hist_record(struct hp_metrics_hist *h, const struct hp_hist *layout, uint64_t us)
{
	bump(&h->counts[hp_hist_index(layout, us)], 1);
	bump(&h->sum_us, us);
}

static size_t add_slot(struct hp_metrics_shard *s, const char *name)
{
	struct hp_metrics_slot *slot = hp_xcalloc(1, sizeof(*slot));
	size_t len = strnlen(name, HP_METRICS_NAME_MAX - 1);
	memcpy(slot->name, name, len);
#define HP_METRIC(field, name_, type, kind, labels, help) HP_METRICS_INIT_##kind(field)
#define HP_METRICS_INIT_ROUTE_REQ(field)
#define HP_METRICS_INIT_ROUTE_HIST(field) hist_init(&slot->field, &s->layout);
#define HP_METRICS_INIT_WORKER(field)
#define HP_METRICS_INIT_SCRAPE(field)
#define HP_METRICS_INIT_INFO(field)
#define HP_METRICS_INIT_ALERT(field)
#define HP_METRICS_INIT_ROUTE_LIMIT(field)
#define HP_METRICS_INIT_UPSTREAM(field)
#define HP_METRICS_INIT_UPSTREAM_GROUP(field)
#include "metrics/metrics_tbl.h"
#undef HP_METRIC
	size_t i = atomic_load_explicit(&s->nslots, memory_order_relaxed);
	s->slots[i] = slot;
	/* Publish: a scraper that sees nslots > i sees the slot whole. */
	atomic_store_explicit(&s->nslots, i + 1, memory_order_release);
	return i;
}

struct hp_metrics_shard *hp_metrics_shard_create(void)
{
	struct hp_metrics_shard *s = hp_xcalloc(1, sizeof(*s));
	hp_hist_init(&s->layout, HP_METRICS_HIST_HIGHEST_US, HP_METRICS_HIST_DIGITS);
	(void)add_slot(s, slot_none);
	return s;
}

void hp_metrics_shard_destroy(struct hp_metrics_shard *s)
{
	if (s == NULL)
		return;
	size_t n = atomic_load_explicit(&s->nslots, memory_order_relaxed);
	for (size_t i = 0; i < n; i++) {
		struct hp_metrics_slot *slot = s->slots[i];
#define HP_METRIC(field, name, type, kind, labels, help) HP_METRICS_FREE_##kind(field)
#define HP_METRICS_FREE_ROUTE_REQ(field)
#define HP_METRICS_FREE_ROUTE_HIST(field) free(slot->field.counts);
#define HP_METRICS_FREE_WORKER(field)
#define HP_METRICS_FREE_SCRAPE(field)
#define HP_METRICS_FREE_INFO(field)
#define HP_METRICS_FREE_ALERT(field)
#define HP_METRICS_FREE_ROUTE_LIMIT(field)
#define HP_METRICS_FREE_UPSTREAM(field)
#define HP_METRICS_FREE_UPSTREAM_GROUP(field)
#include "metrics/metrics_tbl.h"
#undef HP_METRIC
		free(slot);
	}
	hp_hist_fini(&s->layout);
	free(s);
}

unsigned hp_metrics_route(struct hp_metrics_shard *s, const char *name)
{
	size_t n = atomic_load_explicit(&s->nslots, memory_order_relaxed);
	char key[HP_METRICS_NAME_MAX] = {0};
	memcpy(key, name, strnlen(name, HP_METRICS_NAME_MAX - 1));
	/* Linear: called once per route per adopted table, never per request. */
	for (size_t i = 0; i < n; i++)
		if (strcmp(s->slots[i]->name, key) == 0)
			return (unsigned)i;
	if (n < HP_METRICS_MAX_ROUTES - 1)
		return (unsigned)add_slot(s, key);
	/* Full: the last slot is "other", for this name and every later one. */
	if (n == HP_METRICS_MAX_ROUTES - 1)
		return (unsigned)add_slot(s, slot_other);
	return HP_METRICS_MAX_ROUTES - 1;
}

static unsigned status_class(int status)
{
	if (status < 200)
		return 0;
	if (status >= 500)
		return 4;
	return (unsigned)(status / 100 - 1);
}

void hp_metrics_record(struct hp_metrics_shard *s, const struct hp_metrics_request *r)
{
	HP_ASSERT(r->route < atomic_load_explicit(&s->nslots, memory_order_relaxed));
	HP_ASSERT(r->method < HP_METRICS_NMETHODS && r->cache < HP_METRICS_NCACHE);
	HP_ASSERT(r->limit < HP_METRICS_NLIMIT);
	struct hp_metrics_slot *slot = s->slots[r->route];
	bump(&slot->requests[r->method][status_class(r->status)][r->cache], 1);
	hist_record(&slot->request_duration, &s->layout, r->duration_us);
	if (r->upstream)
		hist_record(&slot->upstream_duration, &s->layout, r->upstream_us);
	if (r->cache == HP_METRICS_HIT || r->cache == HP_METRICS_STALE)
		hist_record(&slot->hit_duration, &s->layout, r->duration_us);
	bump(&s->response_bytes, r->bytes_out);
	if (r->limit != HP_METRICS_LIMIT_NONE)
		bump(&slot->ratelimit[r->limit], 1);
	if (r->compress_in > 0) {
		bump(&s->compress_input_bytes, r->compress_in);
		bump(&s->compress_output_bytes, r->compress_out);
	}
}

void hp_metrics_count_conn_rejected(struct hp_metrics_shard *s)
{
	bump(&s->client_conns_rejected, 1);
}

void hp_metrics_count_bytes_in(struct hp_metrics_shard *s, uint64_t n)
{
	bump(&s->request_bytes, n);
}
