/* SPDX-License-Identifier: MIT */
/*
 * circuit.c - circuit breaking on each server's error rate. Ejection
 * (group.c) counts failures in a row, so a server failing one request in
 * two is never ejected; the circuit looks at the share of errors (refused
 * or timed out connects, connections dead before a response, 5xx) among
 * the server's outcomes of the last `window`, once at least
 * `min_requests` of them are in it. Past `error_rate` the circuit opens:
 * the server takes no traffic for `open_for`. Then it is half-open: one
 * request at a time goes to it as a probe; a good outcome closes the
 * circuit (through slow start, with a fresh window), a bad one opens it
 * for another `open_for`.
 *
 * The window is ten buckets of a tenth of it each, in atomics on the
 * server shared by all workers: recording is two relaxed adds, and a
 * bucket whose slice of time passed is cleared by whoever wins the
 * exchange of its epoch. Counts racing with a clear may be lost: the rate
 * is approximate, as a breaker's may be.
 */
#include <inttypes.h>
#include <stdio.h>

#include "config/config.h"
#include "core/clock.h"
#include "core/log.h"
#include "upstream/upstream.h"
#include "upstream/upstream_priv.h"

static uint64_t slice_ns(const struct hp_config_circuit *cc)
{
	uint64_t ns = cc->window_ms * 1000000 / HP_CIRCUIT_BUCKETS;
	return ns > 0 ? ns : 1;
}

/* The bucket of slice <e>, cleared if it held an older slice. */
static unsigned bucket(struct hp_upstream_circuit *cb, uint64_t e)
{
	unsigned i = (unsigned)(e % HP_CIRCUIT_BUCKETS);
	uint64_t seen = atomic_load_explicit(&cb->epoch[i], memory_order_relaxed);
	if (seen != e && atomic_compare_exchange_strong(&cb->epoch[i], &seen, e)) {
		atomic_store_explicit(&cb->requests[i], 0, memory_order_relaxed);
		atomic_store_explicit(&cb->errors[i], 0, memory_order_relaxed);
	}
	return i;
}

/* Outcomes and errors of the window ending in slice <e>. */
static void window_sum(struct hp_upstream_circuit *cb, uint64_t e, unsigned *req, unsigned *err)
{
	*req = *err = 0;
	for (unsigned i = 0; i < HP_CIRCUIT_BUCKETS; i++) {
		uint64_t b = atomic_load_explicit(&cb->epoch[i], memory_order_relaxed);
		if (b <= e && e - b < HP_CIRCUIT_BUCKETS) {
			*req += atomic_load_explicit(&cb->requests[i], memory_order_relaxed);
			*err += atomic_load_explicit(&cb->errors[i], memory_order_relaxed);
		}
	}
}

static void window_clear(struct hp_upstream_circuit *cb)
{
	for (unsigned i = 0; i < HP_CIRCUIT_BUCKETS; i++) {
		atomic_store(&cb->requests[i], 0);
		atomic_store(&cb->errors[i], 0);
	}
}

enum hp_circuit_state hp_upstream_circuit_state(const struct hp_upstream_server *s,
						uint64_t now_ns)
{
	const struct hp_upstream_circuit *cb = &s->circuit;
	if (!atomic_load_explicit(&cb->open, memory_order_relaxed))
		return HP_CIRCUIT_CLOSED;
	return now_ns < atomic_load_explicit(&cb->open_until_ns, memory_order_relaxed)
		       ? HP_CIRCUIT_OPEN
		       : HP_CIRCUIT_HALF_OPEN;
}

const char *hp_upstream_circuit_name(enum hp_circuit_state st)
{
	switch (st) {
	case HP_CIRCUIT_CLOSED:
		return "closed";
	case HP_CIRCUIT_OPEN:
		return "open";
	case HP_CIRCUIT_HALF_OPEN:
		return "half-open";
	}
	return "?";
}

bool hp_upstream_circuit_admit(struct hp_upstream_group *g, struct hp_upstream_server *s,
			       uint64_t now_ns)
{
	struct hp_upstream_circuit *cb = &s->circuit;
	if (hp_upstream_circuit_state(s, now_ns) != HP_CIRCUIT_HALF_OPEN)
		return true;
	uint64_t probe = atomic_load(&cb->probe_ns);
	if (probe != 0 && now_ns - probe < g->conf->circuit.open_for_ms * 1000000)
		return false;
	if (!atomic_compare_exchange_strong(&cb->probe_ns, &probe, now_ns))
		return false;
	if (probe == 0)
		hp_log_warn("upstream %s: server %s circuit half-open: sending a probe",
			    g->conf->name, s->name);
	return true;
}

static void open_circuit(struct hp_upstream_group *g, struct hp_upstream_server *s,
			 uint64_t now, unsigned req, unsigned err, const char *reason)
{
	const struct hp_config_circuit *cc = &g->conf->circuit;
	struct hp_upstream_circuit *cb = &s->circuit;
	bool was = false;
	/* One thread opens it; the others' outcomes were counted already. */
	atomic_store(&cb->open_until_ns, now + cc->open_for_ms * 1000000);
	atomic_store(&cb->probe_ns, 0);
	if (!atomic_compare_exchange_strong(&cb->open, &was, true))
		return;
	window_clear(cb);
	atomic_fetch_add(&cb->opens, 1);
	hp_log_warn("upstream %s: server %s circuit open for %" PRIu64 " ms: %u errors in %u "
		    "requests over the last %" PRIu64 " ms (last: %s)",
		    g->conf->name, s->name, cc->open_for_ms, err, req, cc->window_ms, reason);
}

/* Half-open: the probe's outcome (or an outcome of a request close to it). */
static void probe_outcome(struct hp_upstream_group *g, struct hp_upstream_server *s,
			  uint64_t now, bool error, const char *reason)
{
	const struct hp_config_circuit *cc = &g->conf->circuit;
	struct hp_upstream_circuit *cb = &s->circuit;
	if (error) {
		uint64_t until = atomic_load(&cb->open_until_ns);
		if (now < until ||
		    !atomic_compare_exchange_strong(&cb->open_until_ns, &until,
						    now + cc->open_for_ms * 1000000))
			return;
		atomic_store(&cb->probe_ns, 0);
		atomic_fetch_add(&cb->opens, 1);
		hp_log_warn("upstream %s: server %s circuit open again for %" PRIu64 " ms: the "
			    "probe failed (%s)", g->conf->name, s->name, cc->open_for_ms, reason);
		return;
	}
	bool was = true;
	if (!atomic_compare_exchange_strong(&cb->open, &was, false))
		return;
	window_clear(cb);
	atomic_store(&cb->probe_ns, 0);
	atomic_store(&s->up_since_ns, now); /* slow start from here */
	hp_log_warn("upstream %s: server %s circuit closed: the probe succeeded (%s)",
		    g->conf->name, s->name, reason);
}

void hp_upstream_circuit_record(struct hp_upstream_group *g, struct hp_upstream_server *s,
				bool error, const char *reason)
{
	const struct hp_config_circuit *cc = &g->conf->circuit;
	if (cc->error_rate_pct == 0)
		return;
	struct hp_upstream_circuit *cb = &s->circuit;
	uint64_t now = hp_clock_mono_ns();
	switch (hp_upstream_circuit_state(s, now)) {
	case HP_CIRCUIT_OPEN:
		return; /* requests sent before it opened: already judged */
	case HP_CIRCUIT_HALF_OPEN:
		probe_outcome(g, s, now, error, reason);
		return;
	case HP_CIRCUIT_CLOSED:
		break;
	}
	uint64_t e = now / slice_ns(cc);
	unsigned i = bucket(cb, e);
	atomic_fetch_add_explicit(&cb->requests[i], 1, memory_order_relaxed);
	if (!error)
		return;
	atomic_fetch_add_explicit(&cb->errors[i], 1, memory_order_relaxed);
	unsigned req, err;
	window_sum(cb, e, &req, &err);
	if (req >= cc->min_requests && (uint64_t)err * 100 >= (uint64_t)cc->error_rate_pct * req)
		open_circuit(g, s, now, req, err, reason);
}
