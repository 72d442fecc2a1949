/* SPDX-License-Identifier: MIT */
/*
 * forwarded.c - the client address behind trusted proxies, from
 * X-Forwarded-For, as nginx's realip module finds it with
 * real_ip_recursive on.
 *
 * Each proxy appends the address it received the request from, so the
 * list reads left (the original client) to right (the proxy nearest to
 * us). Only the entries our trusted proxies appended can be believed:
 * walking from the right, every entry that is itself a trusted proxy
 * passes us on to the one before it, and the first untrusted entry is the
 * client. Anything to its left was written by that client and is never
 * read, so a client cannot choose its own address by sending the field.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "core/cidr.h"
#include "http/http.h"

/* One list element, spaces trimmed: "1.2.3.4", "1.2.3.4:80", "::1",
 * "[::1]" or "[::1]:80" (proxies that keep the client's port). */
static bool parse_element(const char *p, size_t len, struct sockaddr_storage *out)
{
	while (len > 0 && (*p == ' ' || *p == '\t'))
		p++, len--;
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	char buf[INET6_ADDRSTRLEN + 8];
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, p, len);
	buf[len] = '\0';
	char *a = buf;
	if (a[0] == '[') {
		char *end = strchr(a, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return false;
		*end = '\0';
		a++;
	} else if (strchr(a, ':') == strrchr(a, ':') && strchr(a, '.') != NULL) {
		char *colon = strchr(a, ':'); /* IPv4 with a port */
		if (colon != NULL)
			*colon = '\0';
	}
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)out;
	if (inet_pton(AF_INET, a, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return true;
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)out;
	if (inet_pton(AF_INET6, a, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return true;
	}
	return false;
}

/* Walk one field's elements from the right. Returns false once the walk
 * is over (an untrusted address was reached, or an element that is not
 * an address), true to go on to the field before. */
static bool walk_field(struct hp_str v, const struct hp_cidr *trusted, size_t ntrusted,
		       struct sockaddr_storage *addr)
{
	size_t end = v.len;
	while (end > 0) {
		size_t start = end;
		while (start > 0 && v.ptr[start - 1] != ',')
			start--;
		struct sockaddr_storage a;
		if (!parse_element(v.ptr + start, end - start, &a))
			return false;
		*addr = a;
		if (!hp_cidr_match(trusted, ntrusted, (const struct sockaddr *)addr))
			return false;
		end = start > 0 ? start - 1 : 0;
	}
	return true;
}

bool hp_http_forwarded_client(const struct hp_http_header *h, size_t n,
			      const struct hp_cidr *trusted, size_t ntrusted,
			      struct sockaddr_storage *addr)
{
	if (ntrusted == 0 || !hp_cidr_match(trusted, ntrusted, (const struct sockaddr *)addr))
		return false;
	bool changed = false;
	/* Several fields are one list, in order: the last field's last element
	 * is the right-most. */
	for (size_t i = n; i > 0; i--) {
		if (!hp_str_ieq(h[i - 1].name, "x-forwarded-for"))
			continue;
		struct sockaddr_storage before = *addr;
		bool more = walk_field(h[i - 1].value, trusted, ntrusted, addr);
		changed |= memcmp(&before, addr, sizeof(before)) != 0;
		if (!more)
			break;
	}
	return changed;
}
