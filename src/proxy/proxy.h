/* SPDX-License-Identifier: MIT */
/*
 * proxy.h - the accelerator: workers that accept client connections, read
 * requests, route them to an upstream group and stream the responses back.
 *
 * The proxy is the only module that knows all the others. Its life cycle:
 * hp_proxy_create() resolves and binds everything that can fail (listening
 * sockets, upstream addresses) so errors surface before any thread starts;
 * hp_proxy_start() runs one thread per worker, each with its own loop and
 * its own SO_REUSEPORT listeners; hp_proxy_drain() stops accepting and lets
 * in-flight requests finish within limits.drain_timeout; hp_proxy_wait()
 * joins the workers. Signals are the caller's business (cli/serve).
 *
 * The configuration is a snapshot (src/proxy/snap.h) that
 * hp_proxy_reload() replaces while the workers run: requests in flight
 * finish on the snapshot they started with, new ones start on the new
 * one; the cache, the listening sockets and the idle keep-alive
 * connections to servers that stay configured survive.
 */
#ifndef HP_PROXY_PROXY_H
#define HP_PROXY_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/core.h"

struct hp_cache;
struct hp_config;
struct hp_proxy;

/* Build a proxy from <cfg> (borrowed: it must outlive the proxy; it stays
 * the source of what only a restart changes: listen, workers). Binds the
 * listening sockets. Returns NULL with a one-line reason in <err>. */
struct hp_proxy *hp_proxy_create(const struct hp_config *cfg, char *err, size_t errlen);
/* Start the worker threads. Returns 0 or -errno. */
int hp_proxy_start(struct hp_proxy *px);
/* Graceful stop: close listeners, finish in-flight requests, then stop
 * the workers (at most limits.drain_timeout later). Thread-safe. */
void hp_proxy_drain(struct hp_proxy *px);
/* Stop the workers now, closing every connection. Thread-safe. */
void hp_proxy_stop(struct hp_proxy *px);
/* Wait until every worker has stopped. */
void hp_proxy_wait(struct hp_proxy *px);
void hp_proxy_destroy(struct hp_proxy *px);
/* Main or admin thread. Replace the configuration new requests see by
 * <cfg>, which is taken (freed by the proxy). In-flight requests finish on
 * the old one. Returns 0, or -1 with a one-line reason in <err> (cfg is
 * then freed and the old configuration keeps serving). Logs what changed.
 * Serialised internally. */
int hp_proxy_reload(struct hp_proxy *px, struct hp_config *cfg, char *err, size_t errlen);

/* Replace the configuration new requests see by <cfg>, which is taken
 * (freed by the proxy, on failure too). Resolves upstream hosts and opens
 * the access log on the calling thread, never on a worker; requests in
 * flight finish on the old configuration. Returns 0, or -1 with a
 * one-line reason in <err>, the old configuration still serving. Logs
 * what changed, and warns about keys only a restart applies (listen,
 * workers, admin.listen, cache.max_object_size). Any thread but a
 * worker's; reloads are serialised. */
int hp_proxy_reload(struct hp_proxy *px, struct hp_config *cfg, char *err, size_t errlen);
/* The current configuration's number: 1 at start, +1 per reload. */
uint64_t hp_proxy_generation(struct hp_proxy *px);
/* Open the access log file again (after a rotation moved it); the error
 * is logged. Any thread but a worker's. */
void hp_proxy_reopen_logs(struct hp_proxy *px);
/* Record the outcome of a reload attempt, whether the file failed to load
 * or hp_proxy_reload() refused it (for /metrics). Any thread. */
void hp_proxy_note_reload(struct hp_proxy *px, bool ok);

/* ==== For the admin listener (any thread) ==== */

/* Append the Prometheus exposition (metrics.h, text format 0.0.4) to
 * <out>: every worker's shard merged, the cache's counters, client
 * connections, reloads, build and process figures. Never blocks a worker. */
void hp_proxy_metrics(struct hp_proxy *px, struct hp_buf *out);
/* Append the /status JSON object to <out>: request figures over the last
 * one and five minutes (total and per route name), process, cache and
 * upstream pool figures (docs/admin.md). Never blocks a worker. */
void hp_proxy_status(struct hp_proxy *px, struct hp_buf *out);
/* True from hp_proxy_drain() on. */
bool hp_proxy_draining(const struct hp_proxy *px);
/* Whether some route sends to an upstream group with no server in
 * service (all ejected or failing their checks); its name into <name>
 * (<len> bytes) if so. For /ready. */
bool hp_proxy_group_unavailable(const struct hp_proxy *px, char *name, size_t len);
/*
 * Tell the other instances sharing Redis about a purge just made here (the
 * invalidation bus, docs/l2.md); a no-op without l2. <kind>: 'k' the cache
 * key <a> (an URL), 'p' host <a> and path prefix <b>, 't' the tag <a>, 'a'
 * everything. Never blocks: published soon by worker 0. Any thread.
 */
void hp_proxy_publish_purge(struct hp_proxy *px, char kind, struct hp_str a, struct hp_str b,
			    bool soft);
/* The shared cache, or NULL when cache.enabled is false. */
struct hp_cache *hp_proxy_cache(const struct hp_proxy *px);
/* The cache key of a GET for host/path?query, as the route that would serve
 * it builds it (namespace, query rules; no key_headers values), appended to
 * <out>, with its hash in <*hash>. False when no route matches or the route
 * does not cache. */
bool hp_proxy_cache_key(const struct hp_proxy *px, struct hp_str host, struct hp_str path,
			struct hp_str query, struct hp_buf *out, uint64_t *hash);

#endif
