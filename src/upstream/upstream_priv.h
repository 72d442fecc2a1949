/* SPDX-License-Identifier: MIT */
/*
 * upstream_priv.h - what the files of the upstream module share: the
 * group's layout, which balancers read.
 */
#ifndef HP_UPSTREAM_UPSTREAM_PRIV_H
#define HP_UPSTREAM_UPSTREAM_PRIV_H

#include "upstream/upstream.h"

struct hp_upstream_group {
	const struct hp_config_upstream *conf; /* borrowed: outlives the group */
	struct hp_upstream_server *servers;    /* nservers entries */
	size_t nservers;
	const struct hp_balancer_ops *ops;
	void *balancer;                        /* ops' state */
};

/* Is server <i> excluded by the bitmask? */
static inline bool hp_upstream_excluded(uint64_t exclude, size_t i)
{
	return i < 64 && (exclude & ((uint64_t)1 << i)) != 0;
}

#endif
