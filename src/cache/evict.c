/* SPDX-License-Identifier: MIT */
/*
 * evict.c - keeping each shard within its byte budget: S3-FIFO by default,
 * plain LRU as a switch for comparison.
 *
 * S3-FIFO (Yang et al., SOSP 2023): new objects enter a small FIFO holding
 * ~10 % of the bytes; one that was hit while there moves to the main FIFO,
 * one that was not is evicted and its key is remembered as a ghost, so that
 * its next insert goes straight to main. Main is a FIFO with a 2-bit access
 * counter as second chance (CLOCK-like). One-hit wonders and scans thus
 * only churn the small queue and never flush the popular set, which LRU
 * lets them do. A hit costs one increment under the shard lock we already
 * hold for the lookup; nothing is moved on a hit.
 *
 * Ghosts are idle index entries (struct kentry without variants), bounded
 * in count by the number of live objects and charged to the budget.
 *
 * This file only orders the queues and names the next victim; store.c,
 * which lies above it, unlinks the victim and keeps the shard within its
 * budget. That keeps the dependency one way: evicting never calls back
 * into the index.
 */
#include <stdlib.h>

#include "cache/cache_priv.h"

#define SMALL_PERCENT 10
#define PROMOTE_FREQ 1   /* hits in the small queue that earn a place in main */

void hp_cache_queue_insert(struct hp_cache *c, struct shard *sh, struct hp_cache_obj *obj,
			   const struct hp_cache_obj *replaced)
{
	bool to_main = c->conf.eviction == HP_CACHE_EVICT_LRU || obj->ke->ghost ||
		       (replaced != NULL && replaced->queue == Q_MAIN);

	obj->freq = replaced != NULL ? replaced->freq : 0;
	obj->ke->ghost = false;
	obj->queue = to_main ? Q_MAIN : Q_SMALL;
	hp_list_link_tail(to_main ? &sh->main : &sh->small, &obj->qlink);
	if (!to_main)
		sh->small_bytes += obj->charge_bytes;
}

void hp_cache_queue_hit(struct hp_cache *c, struct shard *sh, struct hp_cache_obj *obj)
{
	if (c->conf.eviction == HP_CACHE_EVICT_LRU) {
		hp_list_unlink(&obj->qlink);
		hp_list_link_tail(&sh->main, &obj->qlink);
		return;
	}
	if (obj->freq < FREQ_MAX)
		obj->freq++;
}

void hp_cache_queue_remove(struct shard *sh, struct hp_cache_obj *obj)
{
	if (obj->queue == Q_SMALL)
		sh->small_bytes -= obj->charge_bytes;
	hp_list_unlink(&obj->qlink);
	obj->queue = Q_NONE;
}

static void move_to_main(struct shard *sh, struct hp_cache_obj *obj, uint8_t freq)
{
	hp_cache_queue_remove(sh, obj);
	obj->freq = freq;
	obj->queue = Q_MAIN;
	hp_list_link_tail(&sh->main, &obj->qlink);
}

/*
 * The next object to evict, still linked, or NULL if the queues are empty.
 * Terminates: every pass over a main object lowers its counter, every pass
 * over a small one moves it to main or returns it. A small-queue victim's
 * key is marked a ghost first, so that unlinking keeps the key as one.
 */
struct hp_cache_obj *hp_cache_evict_next(struct hp_cache *c, struct shard *sh)
{
	uint64_t small_target = sh->budget_bytes / 100 * SMALL_PERCENT;

	for (;;) {
		struct hp_cache_obj *obj;
		if (c->conf.eviction == HP_CACHE_EVICT_LRU)
			return HP_LIST_FIRST(&sh->main, struct hp_cache_obj, qlink);
		if (!hp_list_empty(&sh->small) &&
		    (sh->small_bytes >= small_target || hp_list_empty(&sh->main))) {
			obj = HP_LIST_FIRST(&sh->small, struct hp_cache_obj, qlink);
			if (obj->freq >= PROMOTE_FREQ) {
				/* Keep what is left after paying for the move: otherwise,
				 * after warm-up, the hottest early objects would sit at the
				 * head of main with nothing to tell them apart. */
				move_to_main(sh, obj, (uint8_t)(obj->freq - PROMOTE_FREQ));
				continue;
			}
			obj->ke->ghost = true;
			return obj;
		}
		obj = HP_LIST_FIRST(&sh->main, struct hp_cache_obj, qlink);
		if (obj == NULL || obj->freq == 0)
			return obj;
		move_to_main(sh, obj, (uint8_t)(obj->freq - 1));
	}
}
