/* SPDX-License-Identifier: MIT */
/*
 * group.c - upstream server groups: built once from the configuration,
 * with addresses resolved at start-up so no worker ever waits on DNS;
 * the choice among primaries, backups and ejected servers around the
 * balancer's pick (a half-open circuit's one probe); passive health
 * (ejection with a doubling back-off; circuit breaking is circuit.c's);
 * the retry budget.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "config/config.h"
#include "core/clock.h"
#include "core/log.h"
#include "upstream/upstream.h"
#include "upstream/upstream_priv.h"

#define MAX_SET_WORDS 16     /* the schema allows 1024 servers per group */
#define MAX_BACKOFF_SHIFT 4  /* an ejection lasts at most 16 fail_timeouts */
#define BUDGET_PERIOD_S 10   /* the window is this period and the last one */
#define BUDGET_FLOOR 10      /* retries always allowed per window */

static const struct hp_balancer_ops *find_balancer(const char *name)
{
	static const struct {
		const char *name;
		const struct hp_balancer_ops *ops;
	} table[] = {
		/* Smooth weighted round robin is plain rotation when weights are equal. */
		{"round_robin", &hp_balancer_round_robin},
		{"weighted_round_robin", &hp_balancer_round_robin},
		{"least_conn", &hp_balancer_least_conn},
		{"p2c", &hp_balancer_p2c},
		{"hash", &hp_balancer_hash},
		{"random", &hp_balancer_random},
	};
	if (name == NULL)
		return &hp_balancer_round_robin;
	for (size_t i = 0; i < HP_ARRAY_SIZE(table); i++) {
		if (strcmp(name, table[i].name) == 0)
			return table[i].ops;
	}
	return NULL;
}

struct hp_upstream_group *hp_upstream_group_create(const struct hp_config_upstream *conf,
						   char *err, size_t errlen)
{
	const struct hp_balancer_ops *ops = find_balancer(conf->balance);
	if (ops == NULL) {
		snprintf(err, errlen, "upstream %s: unknown balance '%s'", conf->name,
			 conf->balance);
		return NULL;
	}
	if (conf->nservers > MAX_SET_WORDS * 64) {
		snprintf(err, errlen, "upstream %s: more than %d servers", conf->name,
			 MAX_SET_WORDS * 64);
		return NULL;
	}
	struct hp_upstream_group *g = hp_xcalloc(1, sizeof(*g));
	g->conf = conf;
	pthread_mutex_init(&g->pools_lock, NULL);
	hp_list_init(&g->pools);
	atomic_init(&g->waiting, 0);
	g->nservers = conf->nservers;
	g->servers = hp_xcalloc(g->nservers, sizeof(*g->servers));
	for (size_t i = 0; i < g->nservers; i++) {
		struct hp_upstream_server *s = &g->servers[i];
		const struct hp_config_server *cs = &conf->servers[i];
		char rerr[256];
		if (hp_net_resolve(cs->hostport, &s->addr, &s->addrlen, rerr, sizeof(rerr)) < 0) {
			snprintf(err, errlen, "upstream %s: server %s: %s", conf->name, cs->url,
				 rerr);
			goto fail;
		}
		s->name = hp_xstrdup(cs->hostport);
		s->weight = cs->weight ? cs->weight : 1;
		s->max_connections = cs->max_conns ? cs->max_conns : conf->max_connections;
		s->backup = cs->backup;
		s->index = i;
		atomic_init(&s->active, 0);
		atomic_init(&s->connect_failures, 0);
		atomic_init(&s->timeouts, 0);
	}
	g->ops = ops;
	g->balancer = ops->create(g);
	if (conf->health.path != NULL) {
		g->health = hp_health_start(g, err, errlen);
		if (g->health == NULL)
			goto fail;
	}
	return g;
fail:
	hp_upstream_group_destroy(g);
	return NULL;
}

void hp_upstream_group_destroy(struct hp_upstream_group *g)
{
	if (g == NULL)
		return;
	HP_ASSERT(hp_list_empty(&g->pools));
	hp_health_stop(g->health);
	if (g->ops != NULL)
		g->ops->destroy(g->balancer);
	pthread_mutex_destroy(&g->pools_lock);
	for (size_t i = 0; i < g->nservers; i++)
		free(g->servers[i].name);
	free(g->servers);
	free(g);
}

const struct hp_config_upstream *hp_upstream_group_conf(const struct hp_upstream_group *g)
{
	return g->conf;
}

size_t hp_upstream_group_size(const struct hp_upstream_group *g)
{
	return g->nservers;
}

struct hp_upstream_server *hp_upstream_group_server(struct hp_upstream_group *g, size_t i)
{
	HP_ASSERT(i < g->nservers);
	return &g->servers[i];
}

size_t hp_upstream_set_words(const struct hp_upstream_group *g)
{
	size_t words = (g->nservers + 63) / 64;
	return words > 0 ? words : 1;
}

uint64_t hp_upstream_hash(const void *data, size_t len)
{
	return XXH3_64bits(data, len);
}

uint64_t hp_upstream_random(void)
{
	static _Thread_local uint64_t x;
	if (x == 0)
		x = hp_clock_mono_ns() ^ ((uint64_t)(uintptr_t)&x << 17) ^ 0x9e3779b97f4a7c15ull;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

/* ==== Picking ==== */

/* <ex>: <tried>, plus the servers <pass> leaves out: pass 0 keeps in
 * service primaries, pass 1 in service backups, pass 2 anything. */
static void exclusions(const struct hp_upstream_group *g, const uint64_t *tried, int pass,
		       uint64_t now, uint64_t *ex, size_t words)
{
	for (size_t w = 0; w < words; w++)
		ex[w] = tried != NULL ? tried[w] : 0;
	if (pass == 2)
		return;
	for (size_t i = 0; i < g->nservers; i++) {
		const struct hp_upstream_server *s = &g->servers[i];
		if (s->backup != (pass == 1) || hp_upstream_server_down(s, now))
			hp_upstream_set_add(ex, i);
	}
}

struct hp_upstream_server *hp_upstream_pick_except(struct hp_upstream_group *g,
						   const uint64_t *tried, uint64_t key)
{
	uint64_t ex[MAX_SET_WORDS];
	size_t words = hp_upstream_set_words(g);
	uint64_t now = hp_clock_mono_ns();
	for (int pass = 0; pass < 3; pass++) {
		exclusions(g, tried, pass, now, ex, words);
		struct hp_upstream_server *s;
		/* A half-open circuit takes one probe at a time: a server
		 * whose probe is out is left out, and the pick tried again. */
		while ((s = g->ops->pick(g->balancer, g, ex, key)) != NULL) {
			if (pass == 2 || hp_upstream_circuit_admit(g, s, now))
				return s;
			hp_upstream_set_add(ex, s->index);
		}
	}
	return NULL;
}

/* ==== Passive health ==== */

bool hp_upstream_server_down(const struct hp_upstream_server *s, uint64_t now_ns)
{
	if (atomic_load_explicit(&s->check_down, memory_order_relaxed))
		return true;
	uint64_t until = atomic_load_explicit(&s->down_until_ns, memory_order_relaxed);
	if (until != 0 && now_ns < until)
		return true;
	return hp_upstream_circuit_state(s, now_ns) == HP_CIRCUIT_OPEN;
}

bool hp_upstream_group_available(const struct hp_upstream_group *g)
{
	uint64_t now = hp_clock_mono_ns();
	for (size_t i = 0; i < g->nservers; i++) {
		if (!hp_upstream_server_down(&g->servers[i], now))
			return true;
	}
	return false;
}

uint32_t hp_upstream_weight(const struct hp_upstream_group *g,
			    const struct hp_upstream_server *s, uint64_t now_ns)
{
	uint32_t full = s->weight * HP_UPSTREAM_WEIGHT_SCALE;
	uint64_t ramp = g->conf->slow_start_ms * 1000000;
	uint64_t since = atomic_load_explicit(&s->up_since_ns, memory_order_relaxed);
	if (ramp == 0 || since == 0 || now_ns >= since + ramp)
		return full;
	if (now_ns <= since)
		return full / 10 > 0 ? full / 10 : 1;
	/* From a tenth to all of it, linearly. */
	uint64_t w = full / 10 + (full - full / 10) * (now_ns - since) / ramp;
	return w > 0 ? (uint32_t)w : 1;
}

static void eject(struct hp_upstream_group *g, struct hp_upstream_server *s, const char *reason)
{
	unsigned n = atomic_fetch_add(&s->ejections, 1);
	uint64_t ms = g->conf->fail_timeout_ms << (n < MAX_BACKOFF_SHIFT ? n : MAX_BACKOFF_SHIFT);
	uint64_t until = hp_clock_mono_ns() + ms * 1000000;
	atomic_store(&s->down_until_ns, until);
	atomic_store(&s->up_since_ns, until); /* slow start from there */
	atomic_fetch_add(&s->total_ejections, 1);
	hp_log_warn("upstream %s: server %s ejected for %llu ms after %u failures in a row "
		    "(last: %s)",
		    g->conf->name, s->name, (unsigned long long)ms, g->conf->max_fails, reason);
}

/* Consecutive failures and ejection. */
static void passive_report(struct hp_upstream_group *g, struct hp_upstream_server *s, bool ok,
			   const char *reason)
{
	if (ok) {
		if (atomic_load_explicit(&s->fails, memory_order_relaxed) != 0)
			atomic_store(&s->fails, 0);
		uint64_t until = atomic_load_explicit(&s->down_until_ns, memory_order_relaxed);
		if (until != 0 &&
		    atomic_compare_exchange_strong(&s->down_until_ns, &until, (uint64_t)0)) {
			atomic_store(&s->ejections, 0);
			hp_log_info("upstream %s: server %s back in service (%s)", g->conf->name,
				    s->name, reason);
		}
		return;
	}
	unsigned max = g->conf->max_fails;
	/* Failures of requests still in flight when it was ejected do not
	 * count: they would extend the ejection for what it already paid. */
	if (max == 0 || hp_upstream_server_down(s, hp_clock_mono_ns()))
		return;
	if (atomic_fetch_add(&s->fails, 1) + 1 == max) {
		atomic_store(&s->fails, 0);
		eject(g, s, reason);
	}
}

void hp_upstream_report(struct hp_upstream_group *g, struct hp_upstream_server *s, bool ok,
			const char *reason)
{
	hp_upstream_circuit_record(g, s, !ok, reason);
	passive_report(g, s, ok, reason);
}

void hp_upstream_report_status(struct hp_upstream_group *g, struct hp_upstream_server *s,
			       int status)
{
	/* Every response comes here: nothing is formatted unless a circuit
	 * may log it. */
	if (g->conf->circuit.error_rate_pct != 0) {
		char reason[32];
		snprintf(reason, sizeof(reason), "status %d", status);
		hp_upstream_circuit_record(g, s, status >= 500, reason);
	}
	passive_report(g, s, true, "a response came");
}

/* ==== The retry budget ==== */

/* The counters of the current period, rolling the window forward when a
 * period ended. Two threads may roll at once; one wins the exchange and
 * clears, a count racing with it may be lost: the budget is approximate. */
static unsigned budget_slot(struct hp_upstream_group *g)
{
	uint64_t period = hp_clock_mono_ns() / (BUDGET_PERIOD_S * 1000000000ull);
	uint64_t seen = atomic_load_explicit(&g->budget_period, memory_order_relaxed);
	if (seen != period && atomic_compare_exchange_strong(&g->budget_period, &seen, period)) {
		unsigned cur = period & 1;
		atomic_store(&g->budget_req[cur], 0);
		atomic_store(&g->budget_retry[cur], 0);
		if (period - seen > 1) {
			atomic_store(&g->budget_req[cur ^ 1], 0);
			atomic_store(&g->budget_retry[cur ^ 1], 0);
		}
	}
	return period & 1;
}

void hp_upstream_count_request(struct hp_upstream_group *g)
{
	atomic_fetch_add_explicit(&g->budget_req[budget_slot(g)], 1, memory_order_relaxed);
}

bool hp_upstream_retry_take(struct hp_upstream_group *g)
{
	unsigned cur = budget_slot(g);
	uint64_t req = atomic_load(&g->budget_req[0]) + atomic_load(&g->budget_req[1]);
	uint64_t retry = atomic_load(&g->budget_retry[0]) + atomic_load(&g->budget_retry[1]);
	if (retry >= BUDGET_FLOOR + req * g->conf->retry_budget / 100)
		return false;
	atomic_fetch_add(&g->budget_retry[cur], 1);
	return true;
}
