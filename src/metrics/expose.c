/* SPDX-License-Identifier: MIT */
/*
 * expose.c - the scrape: merge the workers' shards by route name and write
 * the Prometheus text format (0.0.4), one block per row of metrics_tbl.h;
 * the same rows give the reference table of docs/metrics.md. Also the
 * process figures, read from /proc when scraped.
 *
 * A scrape allocates (the merged routes) and may take a millisecond with
 * a few hundred routes; it runs on the admin thread, never on a worker.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/core.h"
#include "metrics/metrics_priv.h"

/*
 * The exported `le` bounds, in microseconds. The OpenTelemetry HTTP
 * semantic conventions advise 5, 10, 25, 50, 75, 100, 250, 500, 750 ms and
 * 1, 2.5, 5, 7.5, 10 s for http.server.request.duration: roughly 1-2.5-5
 * steps per decade, with 75 ms and 7.5 s where SLOs tend to sit. We keep
 * them and extend the same steps down to 100 us, because a cache hit is
 * served in tens to hundreds of microseconds, below the advised first
 * bound, and up to 60 s (30 s is the default upstream connect timeout).
 * A value is counted under the first bound at or above the lower edge of
 * its log-linear bucket, so a value within 1/128 above a bound may be
 * counted under it.
 */
static const uint64_t le_us[] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 75000, 100000, 250000,
	500000, 750000, 1000000, 2500000, 5000000, 7500000, 10000000, 30000000, 60000000,
};
#define NLE HP_ARRAY_SIZE(le_us)

static const char *const method_names[HP_METRICS_NMETHODS] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OTHER",
};
static const char *const limit_names[HP_METRICS_NLIMIT] = {
	NULL, "rejected", "delayed", "concurrency",
};
static const char *const cache_names[HP_METRICS_NCACHE] = {
	"hit", "miss", "stale", "coalesced", "revalidated", "pass", "none",
};

/* ==== Merging ==== */

/* A histogram summed over shards, already in `le` buckets (not cumulative). */
struct le_counts {
	uint64_t bucket[NLE + 1];      /* the last one is above every bound (+Inf only) */
	uint64_t count;
	uint64_t sum_us;
};

/* One route name's series summed over shards. */
struct merged {
	const char *name;              /* a shard's slot name: lives as long as the shard */
	uint64_t requests[HP_METRICS_NMETHODS][HP_METRICS_NSTATUS][HP_METRICS_NCACHE];
#define HP_METRIC(field, name_, type, kind, labels, help) HP_METRICS_MERGED_##kind(field)
#define HP_METRICS_MERGED_ROUTE_REQ(field)
#define HP_METRICS_MERGED_ROUTE_HIST(field) struct le_counts field;
#define HP_METRICS_MERGED_WORKER(field)
#define HP_METRICS_MERGED_SCRAPE(field)
#define HP_METRICS_MERGED_INFO(field)
#define HP_METRICS_MERGED_ALERT(field)
#define HP_METRICS_MERGED_ROUTE_LIMIT(field) uint64_t field[HP_METRICS_NLIMIT];
#define HP_METRICS_MERGED_UPSTREAM(field)
#define HP_METRICS_MERGED_UPSTREAM_GROUP(field)
#include "metrics/metrics_tbl.h"
#undef HP_METRIC
};

struct merge {
	struct merged *routes;
	size_t nroutes;
	size_t cap;
	struct hp_hist scratch;        /* one slot's counters, copied to be iterated */
};

static struct merged *merged_named(struct merge *m, const char *name)
{
	for (size_t i = 0; i < m->nroutes; i++)
		if (strcmp(m->routes[i].name, name) == 0)
			return &m->routes[i];
	if (m->nroutes == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 16;
		m->routes = hp_xrealloc(m->routes, m->cap * sizeof(*m->routes));
	}
	struct merged *r = &m->routes[m->nroutes++];
	memset(r, 0, sizeof(*r));
	r->name = name;
	return r;
}

/* Add one slot's histogram into <dst>'s `le` buckets, through the scratch
 * hp_hist so that bucket edges come from the histogram's own layout. */
static void merge_hist(struct merge *m, const struct hp_metrics_hist *h, struct le_counts *dst)
{
	struct hp_hist *sc = &m->scratch;
	hp_hist_reset(sc);
	for (size_t i = 0; i < sc->num_counts; i++)
		sc->counts[i] = atomic_load_explicit(&h->counts[i], memory_order_relaxed);
	struct hp_hist_iter it = {0};
	size_t b = 0;
	while (hp_hist_next(sc, &it)) {
		while (b < NLE && it.lo > le_us[b])
			b++;
		dst->bucket[b] += it.count;
		dst->count += it.count;
	}
	dst->sum_us += atomic_load_explicit(&h->sum_us, memory_order_relaxed);
}

static void merge_slot(struct merge *m, const struct hp_metrics_slot *slot)
{
	struct merged *r = merged_named(m, slot->name);
	for (size_t a = 0; a < HP_METRICS_NMETHODS; a++)
		for (size_t b = 0; b < HP_METRICS_NSTATUS; b++)
			for (size_t c = 0; c < HP_METRICS_NCACHE; c++)
				r->requests[a][b][c] += atomic_load_explicit(
					&slot->requests[a][b][c], memory_order_relaxed);
#define HP_METRIC(field, name_, type, kind, labels, help) HP_METRICS_MERGE_##kind(field)
#define HP_METRICS_MERGE_ROUTE_REQ(field)
#define HP_METRICS_MERGE_ROUTE_HIST(field) merge_hist(m, &slot->field, &r->field);
#define HP_METRICS_MERGE_WORKER(field)
#define HP_METRICS_MERGE_SCRAPE(field)
#define HP_METRICS_MERGE_INFO(field)
#define HP_METRICS_MERGE_ALERT(field)
#define HP_METRICS_MERGE_ROUTE_LIMIT(field)                                          \
	for (size_t k = 0; k < HP_METRICS_NLIMIT; k++)                               \
		r->field[k] += atomic_load_explicit(&slot->field[k], memory_order_relaxed);
#define HP_METRICS_MERGE_UPSTREAM(field)
#define HP_METRICS_MERGE_UPSTREAM_GROUP(field)
#include "metrics/metrics_tbl.h"
#undef HP_METRIC
}

static void merge_shards(struct merge *m, struct hp_metrics_shard *const *shards, size_t n)
{
	for (size_t s = 0; s < n; s++) {
		size_t nslots = atomic_load_explicit(&shards[s]->nslots, memory_order_acquire);
		for (size_t i = 0; i < nslots; i++)
			merge_slot(m, shards[s]->slots[i]);
	}
}

/* ==== Text format ==== */

static void appendf(struct hp_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void appendf(struct hp_buf *out, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	HP_ASSERT(k >= 0 && (size_t)k < sizeof(line));
	hp_buf_append(out, line, (size_t)k);
}

/* A label value with '\\', '"' and newlines escaped, as the format requires. */
static void append_label(struct hp_buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			hp_buf_append_byte(out, '\\');
		if (*s == '\n')
			HP_BUF_APPEND_LIT(out, "\\n");
		else
			hp_buf_append_byte(out, *s);
	}
}

static void write_head(struct hp_buf *out, const char *name, const char *type, const char *help)
{
	appendf(out, "# HELP %s ", name);
	hp_buf_append_str(out, help); /* help texts hold no '\\' or newline */
	appendf(out, "\n# TYPE %s %s\n", name, type);
}

/* Only the combinations seen: once non-zero a counter stays so, so the set
 * of series only grows, and an idle route costs no lines. */
static void write_requests(struct hp_buf *out, const char *name, const struct merge *m)
{
	for (size_t i = 0; i < m->nroutes; i++) {
		const struct merged *r = &m->routes[i];
		for (size_t a = 0; a < HP_METRICS_NMETHODS; a++)
			for (size_t b = 0; b < HP_METRICS_NSTATUS; b++)
				for (size_t c = 0; c < HP_METRICS_NCACHE; c++) {
					if (r->requests[a][b][c] == 0)
						continue;
					appendf(out, "%s{route=\"", name);
					append_label(out, r->name);
					appendf(out, "\",method=\"%s\",status=\"%zuxx\",cache=\"%s\"} %llu\n",
						method_names[a], b + 1, cache_names[c],
						(unsigned long long)r->requests[a][b][c]);
				}
	}
}

/* As requests: only outcomes seen, so routes without a limit add nothing. */
static void write_limits(struct hp_buf *out, const char *name, const struct merge *m,
			 size_t offset)
{
	for (size_t i = 0; i < m->nroutes; i++) {
		const struct merged *r = &m->routes[i];
		const uint64_t *counts = (const void *)((const char *)r + offset);
		for (size_t k = HP_METRICS_LIMIT_NONE + 1; k < HP_METRICS_NLIMIT; k++) {
			if (counts[k] == 0)
				continue;
			appendf(out, "%s{route=\"", name);
			append_label(out, r->name);
			appendf(out, "\",outcome=\"%s\"} %llu\n", limit_names[k],
				(unsigned long long)counts[k]);
		}
	}
}

static void write_hist(struct hp_buf *out, const char *name, const struct merge *m,
		       size_t offset)
{
	for (size_t i = 0; i < m->nroutes; i++) {
		const struct merged *r = &m->routes[i];
		const struct le_counts *h = (const void *)((const char *)r + offset);
		if (h->count == 0)
			continue;
		uint64_t cum = 0;
		for (size_t b = 0; b <= NLE; b++) {
			cum += h->bucket[b];
			appendf(out, "%s_bucket{route=\"", name);
			append_label(out, r->name);
			if (b < NLE)
				appendf(out, "\",le=\"%g\"} %llu\n", (double)le_us[b] / 1e6,
					(unsigned long long)cum);
			else
				appendf(out, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
		}
		appendf(out, "%s_sum{route=\"", name);
		append_label(out, r->name);
		appendf(out, "\"} %.6f\n", (double)h->sum_us / 1e6);
		appendf(out, "%s_count{route=\"", name);
		append_label(out, r->name);
		appendf(out, "\"} %llu\n", (unsigned long long)h->count);
	}
}

static void write_worker(struct hp_buf *out, const char *name,
			 struct hp_metrics_shard *const *shards, size_t n, size_t offset)
{
	uint64_t sum = 0;
	for (size_t s = 0; s < n; s++)
		sum += atomic_load_explicit((_Atomic uint64_t *)((char *)shards[s] + offset),
					    memory_order_relaxed);
	appendf(out, "%s %llu\n", name, (unsigned long long)sum);
}

/* One series per server, labelled with its group and address. */
static void write_upstream(struct hp_buf *out, const char *name, const struct hp_metrics_values *v,
			   size_t offset, bool per_group)
{
	for (size_t i = 0; i < v->nupstreams; i++) {
		const struct hp_metrics_upstream *u = &v->upstreams[i];
		if (per_group && i > 0 && strcmp(u->group, v->upstreams[i - 1].group) == 0)
			continue;
		appendf(out, "%s{group=\"", name);
		append_label(out, u->group);
		if (!per_group) {
			HP_BUF_APPEND_LIT(out, "\",server=\"");
			append_label(out, u->server);
		}
		appendf(out, "\"} %.15g\n", *(const double *)(const void *)((const char *)u + offset));
	}
}

static void write_alerts(struct hp_buf *out, const char *name, const struct hp_metrics_values *v)
{
	for (size_t i = 0; i < v->nalerts; i++) {
		appendf(out, "%s{alert=\"", name);
		append_label(out, v->alerts[i].name);
		appendf(out, "\"} %d\n", v->alerts[i].firing ? 1 : 0);
	}
}

void hp_metrics_write(struct hp_metrics_shard *const *shards, size_t n,
		      const struct hp_metrics_values *v, struct hp_buf *out)
{
	struct merge m = {0};
	hp_hist_init(&m.scratch, HP_METRICS_HIST_HIGHEST_US, HP_METRICS_HIST_DIGITS);
	merge_shards(&m, shards, n);
#define HP_METRIC(field, name, type, kind, labels, help) \
	write_head(out, name, #type, help);               \
	HP_METRICS_WRITE_##kind(field, name)
#define HP_METRICS_WRITE_ROUTE_REQ(field, name) write_requests(out, name, &m);
#define HP_METRICS_WRITE_ROUTE_HIST(field, name) \
	write_hist(out, name, &m, offsetof(struct merged, field));
#define HP_METRICS_WRITE_WORKER(field, name) \
	write_worker(out, name, shards, n, offsetof(struct hp_metrics_shard, field));
#define HP_METRICS_WRITE_SCRAPE(field, name) appendf(out, "%s %.15g\n", name, v->field);
#define HP_METRICS_WRITE_UPSTREAM(field, name) \
	write_upstream(out, name, v, offsetof(struct hp_metrics_upstream, field), false);
#define HP_METRICS_WRITE_UPSTREAM_GROUP(field, name) \
	write_upstream(out, name, v, offsetof(struct hp_metrics_upstream, field), true);
#define HP_METRICS_WRITE_ALERT(field, name) write_alerts(out, name, v);
#define HP_METRICS_WRITE_ROUTE_LIMIT(field, name) \
	write_limits(out, name, &m, offsetof(struct merged, field));
#define HP_METRICS_WRITE_INFO(field, name)           \
	appendf(out, "%s{version=\"", name);         \
	append_label(out, v->version ? v->version : ""); \
	HP_BUF_APPEND_LIT(out, "\"} 1\n");
#include "metrics/metrics_tbl.h"
#undef HP_METRIC
	free(m.routes);
	hp_hist_fini(&m.scratch);
}

void hp_metrics_route_limits(struct hp_metrics_shard *const *shards, size_t n, const char *name,
			     uint64_t out[HP_METRICS_NLIMIT])
{
	for (size_t k = 0; k < HP_METRICS_NLIMIT; k++)
		out[k] = 0;
	for (size_t s = 0; s < n; s++) {
		size_t nslots = atomic_load_explicit(&shards[s]->nslots, memory_order_acquire);
		for (size_t i = 0; i < nslots; i++) {
			const struct hp_metrics_slot *slot = shards[s]->slots[i];
			if (strcmp(slot->name, name) != 0)
				continue;
			for (size_t k = 0; k < HP_METRICS_NLIMIT; k++)
				out[k] += atomic_load_explicit(&slot->ratelimit[k],
							       memory_order_relaxed);
		}
	}
}

/* ==== The reference table ==== */

char *hp_metrics_doc(void)
{
	struct hp_buf b = {0};
	HP_BUF_APPEND_LIT(&b, "| metric | type | labels | meaning |\n|---|---|---|---|\n");
#define HP_METRIC(field, name, type, kind, labels, help) \
	appendf(&b, "| `%s` | %s | %s | ", name, #type, labels); \
	hp_buf_append_str(&b, help);                              \
	HP_BUF_APPEND_LIT(&b, " |\n");
#include "metrics/metrics_tbl.h"
#undef HP_METRIC
	char *s = hp_xmalloc(b.len + 1);
	memcpy(s, hp_buf_data(&b), b.len);
	s[b.len] = '\0';
	hp_buf_fini(&b);
	return s;
}

/* ==== Process figures ==== */

/* Seconds since the epoch at which the process started: its start in clock
 * ticks after boot (/proc/self/stat, field 22) plus the boot time. */
double hp_metrics_process_start_time(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	if (f == NULL)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and ')': fields follow the last ')'. */
	char *p = strrchr(buf, ')');
	unsigned long long ticks = 0;
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d "
				       "%*d %*d %*d %*d %*d %llu", &ticks) != 1)
		return 0;
	struct timespec up;
	struct timespec now;
	clock_gettime(CLOCK_BOOTTIME, &up);
	clock_gettime(CLOCK_REALTIME, &now);
	double boot = (double)now.tv_sec + now.tv_nsec / 1e9 - ((double)up.tv_sec + up.tv_nsec / 1e9);
	return boot + (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

static double resident_bytes(void)
{
	unsigned long long size = 0;
	unsigned long long resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f == NULL)
		return 0;
	int k = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	return k == 2 ? (double)resident * (double)sysconf(_SC_PAGESIZE) : 0;
}

static double open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return 0;
	size_t n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return (double)(n > 0 ? n - 1 : 0); /* the directory's own descriptor */
}

void hp_metrics_read_process(struct hp_metrics_values *v)
{
	struct rusage ru;
	v->process_cpu = 0;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		v->process_cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
				 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	v->process_start_time = hp_metrics_process_start_time();
	v->process_resident_memory = resident_bytes();
	v->process_open_fds = open_fds();
}
