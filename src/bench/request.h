/* SPDX-License-Identifier: MIT */
/*
 * request.h - one request the bench sends: its URL resolved once, its bytes
 * serialised once (head and body), its weight and think time. The command
 * line (opts.c) and scenario files (scenario.c) both build them here, so a
 * request from either source is byte for byte the same.
 */
#ifndef HP_BENCH_REQUEST_H
#define HP_BENCH_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* What a request is made of, before serialisation. Borrowed pointers. */
struct hp_bench_req_spec {
	const char *method;	    /* "GET", "POST", ... */
	const char *const *headers; /* "Name: value" lines, no CRLF */
	size_t nheaders;
	const char *body; /* NULL for none (no Content-Length sent) */
	size_t body_len;
	bool keepalive; /* false adds "Connection: close" */
};

/* One request to load, with its bytes serialised once. */
struct hp_bench_target {
	char *name;		      /* for reports: the scenario name, or the URL */
	char *url;		      /* http://host[:port]/path */
	char *hostport;		      /* "host:port" for the connection */
	struct sockaddr_storage addr; /* resolved hostport */
	socklen_t addrlen;
	unsigned weight;   /* share of requests, >= 1 */
	uint64_t think_ns; /* pause after each response (closed model), 0 none */
	char *req;	   /* the whole request: head and body, NUL after */
	size_t req_len;	   /* bytes at req */
};

/* Resolve <url> ("http://host[:port][/path]") and serialise the request
 * <spec> describes into <t>, named <name> (NULL: the URL). Weight 1, no
 * think time. Returns 0, or -1 with the reason in <err>; either way <t>
 * owns memory: pair with hp_bench_target_fini(). */
int hp_bench_target_init(struct hp_bench_target *t, const char *name, const char *url,
			 const struct hp_bench_req_spec *spec, char *err, size_t errlen);
void hp_bench_target_fini(struct hp_bench_target *t);
/* Is <h> a "Name: value" header line a request may carry? */
bool hp_bench_header_valid(const char *h);

#endif
