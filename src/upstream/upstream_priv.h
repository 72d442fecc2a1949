/* SPDX-License-Identifier: MIT */
/*
 * upstream_priv.h - what the files of the upstream module share: the
 * group's layout, which balancers read, and the registry of the pools
 * that share it, through which a slot freed on one worker wakes the
 * waiters of another.
 */
#ifndef HP_UPSTREAM_UPSTREAM_PRIV_H
#define HP_UPSTREAM_UPSTREAM_PRIV_H

#include <pthread.h>
#include <stddef.h>

#include "upstream/upstream.h"

struct hp_upstream_group {
	const struct hp_config_upstream *conf; /* borrowed: outlives the group */
	struct hp_upstream_server *servers;    /* nservers entries */
	size_t nservers;
	const struct hp_balancer_ops *ops;
	void *balancer;                        /* ops' state */
	pthread_mutex_t pools_lock;            /* protects pools; pool.c's */
	struct hp_list pools;                  /* every worker's struct hp_upstream_pool */
	atomic_size_t waiting;                 /* waiters queued in all its pools */
	/* the retry budget's window: this period's counts and the last one's */
	_Atomic uint64_t budget_period;        /* monotonic seconds / BUDGET_PERIOD_S */
	atomic_ullong budget_req[2];           /* requests, by period parity */
	atomic_ullong budget_retry[2];         /* retries, by period parity */
	struct hp_health *health;              /* active checks' thread, or NULL */
};

/* Active health checks (health.c): a thread per group with checks. */
struct hp_health;
struct hp_health *hp_health_start(struct hp_upstream_group *g, char *err, size_t errlen);
/* Stop the thread at once (it never blocks past a poll) and free it. */
void hp_health_stop(struct hp_health *h);

/* Random numbers for the balancers: a per-thread xorshift, seeded once. */
uint64_t hp_upstream_random(void);

#endif
