/* SPDX-License-Identifier: MIT */
/*
 * ratelimit.h - request rate limits: GCRA over a bounded, sharded key table.
 *
 * GCRA (the generic cell rate algorithm, the arithmetic behind nginx's
 * limit_req and redis-cell) keeps one number per key, its theoretical
 * arrival time (TAT). With an emission interval T (1 s / rate) and a burst
 * of B, a request at time now is accepted when TAT - now <= B * T, and then
 * TAT becomes max(TAT, now) + T. So a fresh key accepts exactly B + 1
 * requests at once and then one per T, whatever the arrival pattern.
 *
 * The key table holds at most max_keys keys, split over shards with one
 * mutex each so that every worker shares it; when a shard is full the key
 * seen least recently is dropped (a dropped key starts afresh, which is
 * what a key idle for a burst's time would have anyway), so a flood of
 * distinct (spoofed) keys costs bounded memory. Keys are stored as a
 * seeded 64-bit hash: two keys that collide share a limit.
 *
 * A table is reference-counted so that a configuration reload can hand it
 * to the new route table when the policy is unchanged: the keys and their
 * counts carry over, and the old table is freed when its last holder
 * lets go.
 *
 * The same table counts what is in flight per key (concurrent requests,
 * or connections): hp_ratelimit_enter() admits one more while fewer than a
 * maximum are, and hp_ratelimit_leave() ends it. A key with something in
 * flight is never dropped to make room; if a whole shard is in flight, a
 * new key passes uncounted rather than be refused for another's sake.
 *
 * Times are monotonic nanoseconds given by the caller, so tests drive the
 * clock. A clock that steps backwards never locks a key out for longer
 * than one interval past a full burst.
 */
#ifndef HP_RATELIMIT_RATELIMIT_H
#define HP_RATELIMIT_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hp_ratelimit;
struct sockaddr;

/* The outcome of one request. */
struct hp_ratelimit_verdict {
	bool allowed;
	uint32_t remaining;        /* requests that would be accepted right now, after this one */
	uint64_t retry_ns;         /* when refused: wait at least this long (else 0) */
	uint64_t reset_ns;         /* until the key is back to a full burst */
	uint64_t delay_ns;         /* when accepted: how late it is due at the rate itself,
				      so a caller that delays it by this much smooths the
				      burst into one request per interval (<= burst * T) */
};

/* One GCRA decision on <*tat> at <now_ns> for <interval_ns> (>= 1) and
 * <burst>; updates <*tat> when the request is accepted. A <*tat> of 0 is a
 * fresh key. Fills <v> and returns v->allowed. */
bool hp_ratelimit_gcra(uint64_t *tat, uint64_t now_ns, uint64_t interval_ns, uint32_t burst,
		       struct hp_ratelimit_verdict *v);

/* A table of at most <max_keys> (>= 1) keys limited to one request per
 * <interval_ns> (>= 1) with <burst>, holding one reference (the caller's).
 * Never NULL (aborts on OOM). */
struct hp_ratelimit *hp_ratelimit_create(uint64_t interval_ns, uint32_t burst, size_t max_keys);
/* Take one more reference to <rl>. Any thread. */
struct hp_ratelimit *hp_ratelimit_fetch(struct hp_ratelimit *rl);
/* Drop a reference; the last one frees the table. NULL is allowed. */
void hp_ratelimit_release(struct hp_ratelimit *rl);
/* The same as hp_ratelimit_release(): for a table only its creator holds. */
void hp_ratelimit_destroy(struct hp_ratelimit *rl);

/* Decide for the request of key <key> (<len> bytes, any bytes) at <now_ns>;
 * thread-safe. Fills <v> and returns v->allowed. */
bool hp_ratelimit_take(struct hp_ratelimit *rl, const void *key, size_t len, uint64_t now_ns,
		       struct hp_ratelimit_verdict *v);

/* Admit one more in flight for <key> (<len> bytes) if fewer than <max>
 * are; thread-safe. True: admitted, and <*token> is what
 * hp_ratelimit_leave() takes when it ends (0 when the table had no room
 * to count it: admitted uncounted). False: <max> are in flight already. */
bool hp_ratelimit_enter(struct hp_ratelimit *rl, const void *key, size_t len, uint32_t max,
			uint64_t *token);
/* End what hp_ratelimit_enter() admitted with <token> (0: nothing). */
void hp_ratelimit_leave(struct hp_ratelimit *rl, uint64_t token);
/* In flight now for <key> (for tests). */
uint32_t hp_ratelimit_inflight(struct hp_ratelimit *rl, const void *key, size_t len);

/* The longest key hp_ratelimit_address_key() writes. */
#define HP_RATELIMIT_ADDR_KEY_MAX 18

/* Write the key of client address <sa> (AF_INET or AF_INET6) into <out>
 * and return its length: a zero byte (so it never equals a header or
 * cookie value, which hold no NUL), the IP version, and the address, IPv6
 * cut to its first <v6_prefix> (1..128) bits. IPv4-mapped IPv6 addresses
 * give the key of the IPv4 address. */
size_t hp_ratelimit_address_key(const struct sockaddr *sa, unsigned v6_prefix,
				uint8_t out[HP_RATELIMIT_ADDR_KEY_MAX]);

/* Keys held now (for tests and metrics); takes every shard's lock. */
size_t hp_ratelimit_count(struct hp_ratelimit *rl);

/* The most keys the table holds. */
size_t hp_ratelimit_capacity(const struct hp_ratelimit *rl);

#endif
