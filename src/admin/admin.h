/* SPDX-License-Identifier: MIT */
/*
 * admin.h - the admin listener: a small HTTP/1.1 server for operators, on
 * its own thread and event loop, apart from the workers, so that it answers
 * while they are saturated and traffic never waits behind it.
 *
 * Endpoints (docs/admin.md), allowed only from admin.allow (403 otherwise):
 *   GET  /health   200 while the process runs
 *   GET  /ready    200 while accepting traffic, 503 while draining
 *   GET  /cache    the cache's counters, as JSON
 *   GET  /metrics  every metric in the Prometheus text format (docs/metrics.md)
 *   GET  /status   one- and five-minute figures, pools, process, as JSON
 *   GET  /         the live dashboard page (HTML) over /status
 *   POST /purge    ?url=URL | ?prefix=URL | ?tag=a,b | ?all, and &soft=1 to
 *                  mark stale instead of removing (PURGE works as POST)
 *   POST /reload   re-read the configuration file and apply it, through the
 *                  callback the caller gave at creation (the admin never
 *                  loads configuration itself: that is the cli's business)
 * Answers other than /metrics are JSON objects; errors are {"error": "..."} with 400, 403, 404,
 * 405, 413, 422, 431 or 503.
 *
 * The admin copies what it needs from the configuration (its addresses and
 * allow list) at creation, so a reload may free that configuration; a
 * change of admin.* takes a restart (or an upgrade).
 */
#ifndef HP_ADMIN_ADMIN_H
#define HP_ADMIN_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/core.h"

struct hp_admin;
struct hp_config;
struct hp_proxy;

/*
 * POST /reload, on the admin thread: load and apply the configuration.
 * Returns 0 with an optional one-line note in <msg> (the file applied), or
 * the HTTP status to answer (422: the file or its application was refused)
 * with the reason in <msg>, e.g. "c.json:3:14: routes[0].upstream: ...".
 */
typedef int hp_admin_reload_fn(void *arg, char *msg, size_t msglen);

/* Bind cfg->admin.listen (at least one address; a socket inherited across
 * an upgrade is adopted, see proxy/listeners.h) for <px>, which is borrowed
 * and must outlive the admin; <cfg> is only read here. <reload> (NULL: 503
 * for POST /reload) is called with <reload_arg>. Returns NULL with a
 * one-line reason in <err>. */
struct hp_admin *hp_admin_create(const struct hp_config *cfg, struct hp_proxy *px,
				 hp_admin_reload_fn *reload, void *reload_arg, char *err,
				 size_t errlen);
/* Start its thread. Returns 0 or -errno. */
int hp_admin_start(struct hp_admin *a);
/* Stop the thread (if started) and wait for it; close every connection. */
void hp_admin_stop(struct hp_admin *a);
/* Free; stops first if needed. NULL is allowed. */
void hp_admin_destroy(struct hp_admin *a);
/* Upgrade: the listening descriptors (at most <max>) into <fds>; returns
 * how many. Main thread, while the admin runs. */
size_t hp_admin_listen_fds(const struct hp_admin *a, int *fds, size_t max);
/* Upgrade done: stop accepting (the new process has the sockets) and
 * close our copies; open connections are still answered. Any thread. */
void hp_admin_handover(struct hp_admin *a);

/* ==== Requests (pure; exposed for tests and the fuzzer) ==== */

enum hp_admin_action {
	HP_ADMIN_HEALTH,
	HP_ADMIN_READY,
	HP_ADMIN_CACHE_STATS,
	HP_ADMIN_METRICS,
	HP_ADMIN_PURGE,
	HP_ADMIN_RELOAD,
	HP_ADMIN_STATUS,
	HP_ADMIN_DASHBOARD,
};

enum hp_admin_purge {
	HP_ADMIN_PURGE_URL,    /* every variant of one URL */
	HP_ADMIN_PURGE_PREFIX, /* every URL of a host under a path prefix */
	HP_ADMIN_PURGE_TAG,    /* every object carrying one of the tags */
	HP_ADMIN_PURGE_ALL,
};

struct hp_admin_request {
	enum hp_admin_action action;
	enum hp_admin_purge purge;
	bool soft;                /* mark stale instead of removing */
	struct hp_str host;       /* URL, PREFIX: the URL's host[:port] */
	struct hp_str path;       /* URL, PREFIX: its path, "/" when empty */
	struct hp_str query;      /* URL: its query, without '?' */
	struct hp_str tags;       /* TAG: comma-separated tags */
	const char *error;        /* when the parse fails: short static reason */
};

/*
 * Decide what <method> <target> (origin-form, as received) asks. Returns 0
 * with *<out> filled, or the HTTP status to answer (400, 404, 405) with
 * out->error set. Percent-decoded values are written to <scratch>, which
 * must hold target.len bytes; the views in *<out> point there or into
 * <target>.
 */
int hp_admin_parse(struct hp_str method, struct hp_str target, char *scratch,
		   struct hp_admin_request *out);

#endif
