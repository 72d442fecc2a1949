/* SPDX-License-Identifier: MIT */
/*
 * cidr.h - IPv4/IPv6 address ranges ("10.0.0.0/8", "::1/128") and matching
 * a socket address against a list of them.
 *
 * Used for trusted proxies and the purge allow-list. A range is stored with
 * its host bits cleared, so two spellings of one network compare equal.
 * IPv4-mapped IPv6 peers (::ffff:a.b.c.d, what a dual-stack listener
 * reports) match IPv4 entries, which is what an operator writing
 * "127.0.0.1" means.
 */
#ifndef HP_CORE_CIDR_H
#define HP_CORE_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

struct hp_cidr {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network address, host bits zero; IPv4 uses 4 bytes */
	uint8_t prefix;   /* prefix length in bits: 0..32 or 0..128 */
};

/* Parse "a.b.c.d/n", "v6/n", or a bare address (a /32 or /128). Host bits
 * set below the prefix ("10.0.0.1/8") are accepted and cleared. Returns
 * false on anything else; <out> is then unspecified. */
bool hp_cidr_parse(const char *s, struct hp_cidr *out);

/* True if <sa> (AF_INET or AF_INET6) lies in any of the <n> ranges of
 * <list>. Other families never match. */
bool hp_cidr_match(const struct hp_cidr *list, size_t n, const struct sockaddr *sa);

/* Write <c> as "addr/prefix" into <out> (at least 50 bytes, the longest
 * form plus NUL). Returns <out>. */
char *hp_cidr_format(const struct hp_cidr *c, char *out, size_t size);

#endif
