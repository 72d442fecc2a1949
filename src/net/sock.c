/* SPDX-License-Identifier: MIT */
/*
 * sock.c - socket helpers: address resolution (configuration time only),
 * listening with SO_REUSEPORT, accept and non-blocking connect.
 */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void set_err(char *err, size_t n, const char *fmt, const char *a, const char *b)
{
	if (err != NULL && n > 0)
		snprintf(err, n, fmt, a, b);
}

int hp_net_resolve(const char *hostport, struct sockaddr_storage *ss, socklen_t *len,
		   char *err, size_t errlen)
{
	char host[256];
	const char *port;
	if (hostport[0] == '[') {
		const char *end = strchr(hostport, ']');
		if (end == NULL || end[1] != ':' || (size_t)(end - hostport - 1) >= sizeof(host)) {
			set_err(err, errlen, "invalid address '%s'%s", hostport, "");
			return -EINVAL;
		}
		memcpy(host, hostport + 1, (size_t)(end - hostport - 1));
		host[end - hostport - 1] = '\0';
		port = end + 2;
	} else {
		const char *colon = strrchr(hostport, ':');
		if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host)) {
			set_err(err, errlen, "invalid address '%s': expected host:port%s", hostport, "");
			return -EINVAL;
		}
		memcpy(host, hostport, (size_t)(colon - hostport));
		host[colon - hostport] = '\0';
		port = colon + 1;
	}
	char *endp;
	long p = strtol(port, &endp, 10);
	if (*port == '\0' || *endp != '\0' || p < 0 || p > 65535) {
		set_err(err, errlen, "invalid port in '%s'%s", hostport, "");
		return -EINVAL;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	if (host[0] == '\0' || strcmp(host, "*") == 0) {
		hints.ai_flags |= AI_PASSIVE;
		hints.ai_family = AF_INET;
	}
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host[0] && strcmp(host, "*") ? host : NULL, port, &hints, &res);
	if (rc != 0 || res == NULL) {
		set_err(err, errlen, "cannot resolve '%s': %s", hostport, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int hp_net_listen(const struct sockaddr *sa, socklen_t len, bool reuseport, int backlog)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	if (sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, sa, len) < 0 || listen(fd, backlog) < 0)
		goto fail;
	return fd;
fail:;
	int err = errno;
	close(fd);
	return -err;
}

int hp_net_accept(int lfd, struct sockaddr_storage *peer, socklen_t *peerlen)
{
	int fd;
	do {
		*peerlen = sizeof(*peer);
		fd = accept4(lfd, (struct sockaddr *)peer, peerlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		/* A connection reset before we took it, or a signal: the next one
		 * may be waiting, and with edge-triggered epoll no new event says so. */
	} while (fd < 0 && (errno == EINTR || errno == ECONNABORTED || errno == EPROTO));
	if (fd < 0)
		return -errno;
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int hp_net_connect(const struct sockaddr *sa, socklen_t len)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, sa, len) < 0 && errno != EINPROGRESS) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

int hp_net_socket_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

void hp_net_reset_on_close(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};
	/* Best effort: without it the close is a FIN, which is still no
	 * complete request to a peer that checks the framing. */
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

void hp_net_format_ip(const struct sockaddr *sa, char *out, size_t n)
{
	if (n == 0)
		return;
	/* inet_ntop leaves <out> untouched when it does not fit. */
	out[0] = '\0';
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  (socklen_t)n);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
		/* Show IPv4-mapped clients as plain IPv4, as logs and X-Forwarded-For expect. */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], out, (socklen_t)n);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, out, (socklen_t)n);
	} else {
		snprintf(out, n, "unknown");
	}
}

void hp_net_format_addr(const struct sockaddr *sa, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN];
	hp_net_format_ip(sa, ip, sizeof(ip));
	unsigned port = 0;
	if (sa->sa_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
	else if (sa->sa_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	if (sa->sa_family == AF_INET6 && strchr(ip, ':') != NULL)
		snprintf(out, n, "[%s]:%u", ip, port);
	else
		snprintf(out, n, "%s:%u", ip, port);
}
