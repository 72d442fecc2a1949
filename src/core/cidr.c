/* SPDX-License-Identifier: MIT */
/*
 * cidr.c - parsing and matching of address ranges.
 *
 * Addresses are kept as raw network-order bytes so a match is a byte
 * compare over the whole prefix bytes plus one masked byte; inet_pton does
 * the parsing, which keeps us strict about what an address looks like.
 */
#include "core/cidr.h"
#include "core/core.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

static void clear_host_bits(struct hp_cidr *c)
{
	size_t nbytes = c->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < nbytes; i++) {
		unsigned bit = (unsigned)i * 8;
		if (bit >= c->prefix)
			c->addr[i] = 0;
		else if (c->prefix - bit < 8)
			c->addr[i] &= (uint8_t)(0xff << (8 - (c->prefix - bit)));
	}
}

bool hp_cidr_parse(const char *s, struct hp_cidr *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t hostlen = slash ? (size_t)(slash - s) : strlen(s);

	if (hostlen == 0 || hostlen >= sizeof(host))
		return false;
	memcpy(host, s, hostlen);
	host[hostlen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, host, out->addr) == 1)
		out->family = AF_INET6;
	else
		return false;

	uint64_t max = out->family == AF_INET ? 32 : 128;
	uint64_t prefix = max;
	/* hp_str_to_u64 rejects signs, spaces and the empty string ("10.0.0.0/"). */
	if (slash && !hp_str_to_u64((struct hp_str){slash + 1, strlen(slash + 1)}, max, &prefix))
		return false;
	out->prefix = (uint8_t)prefix;
	clear_host_bits(out);
	return true;
}

static bool prefix_equal(const uint8_t *net, const uint8_t *addr, unsigned prefix)
{
	unsigned whole = prefix / 8;
	unsigned rest = prefix % 8;

	if (memcmp(net, addr, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (addr[whole] & mask) == net[whole];
}

bool hp_cidr_match(const struct hp_cidr *list, size_t n, const struct sockaddr *sa)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const uint8_t *v4 = NULL;
	const uint8_t *v6 = NULL;

	if (sa->sa_family == AF_INET) {
		v4 = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		v6 = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		if (memcmp(v6, v4mapped, sizeof(v4mapped)) == 0)
			v4 = v6 + 12;
	} else {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const struct hp_cidr *c = &list[i];
		if (c->family == AF_INET && v4 && prefix_equal(c->addr, v4, c->prefix))
			return true;
		if (c->family == AF_INET6 && v6 && prefix_equal(c->addr, v6, c->prefix))
			return true;
	}
	return false;
}

char *hp_cidr_format(const struct hp_cidr *c, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	if (inet_ntop(c->family, c->addr, host, sizeof(host)) == NULL)
		snprintf(host, sizeof(host), "?");
	snprintf(out, size, "%s/%u", host, (unsigned)c->prefix);
	return out;
}
